"""Pushes and pops as fast as the users can, so that the monitored target and its PostgreSQL have work to show."""

from __future__ import annotations

from locust import constant, task

from pushpop_load import PushPopUser


class Loader(PushPopUser):
    wait_time = constant(0)

    @task(2)
    def push(self) -> None:
        self.push_item()

    @task(1)
    def pop(self) -> None:
        self.pop_items(depth=2)
