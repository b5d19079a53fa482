"""A bounded workload for tests/python/test_analyze.py: each user runs ROUNDS rounds of three pushes, a pop of depth 1 (one
item) and a pop of depth 3 that finds two items left (so items and requests differ), under a request name with a
comma and quotes; every fourth round it requests a path that 404s. Then it stops. Bounded, so that Locust's _stats.csv (rewritten once a second) holds the final figures when the run
ends a few seconds later."""

from __future__ import annotations

import os

from locust import constant, task
from locust.exception import StopUser

from pushpop_load import PushPopUser

ROUNDS = int(os.environ.get("ANALYZE_ROUNDS", "20"))
FAILING = os.environ.get("ANALYZE_FAILING", "1") == "1"
ODD_NAME = 'pop "deep", depth=3'


class AnalyzeUser(PushPopUser):
    wait_time = constant(0.01)

    def on_start(self) -> None:
        self.rounds = 0

    @task
    def round(self) -> None:
        if self.rounds >= ROUNDS:
            raise StopUser()
        self.rounds += 1
        for _ in range(3):
            self.push_item()
        self.pop_items(depth=1)
        self.pop_items(depth=3, name=ODD_NAME)
        if FAILING and self.rounds % 4 == 0:
            self.client.get("/nowhere", name="/nowhere")
