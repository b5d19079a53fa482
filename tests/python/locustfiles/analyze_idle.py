"""A run that makes no request at all: Locust writes its CSVs with only an Aggregated row of N/A percentiles."""

from __future__ import annotations

from locust import User, constant, task


class IdleUser(User):
    wait_time = constant(0.5)

    @task
    def nothing(self) -> None:
        pass
