"""A bounded workload for tests/python/test_analyze.py and test_metrics.py: each user runs ANALYZE_ROUNDS rounds of
three pushes, a pop of depth 1 (one item) and a pop of depth 3 that finds two items left (so items and requests
differ), under a request name with a comma and quotes; every fourth round (unless ANALYZE_FAILING=0) it requests a
path that 404s. Then it stops, and when the last user has stopped the run ends itself, once the file ANALYZE_RELEASE
exists (when given; a minute at most: a test reads the live run meanwhile) and Locust's _stats.csv (rewritten once a
second, and not at exit) holds the final figures: the test's -t is only an upper bound."""

from __future__ import annotations

import os
import time

import gevent
from locust import constant, task
from locust.exception import StopUser
from locust.stats import CSV_STATS_INTERVAL_SEC

from pushpop_load import PushPopUser

ROUNDS = int(os.environ.get("ANALYZE_ROUNDS", "20"))
FAILING = os.environ.get("ANALYZE_FAILING", "1") == "1"
RELEASE = os.environ.get("ANALYZE_RELEASE", "")
ODD_NAME = 'pop "deep", depth=3'


def _quit_when_released(environment: object) -> None:
    deadline = time.monotonic() + 60
    while RELEASE and not os.path.exists(RELEASE) and time.monotonic() < deadline:
        gevent.sleep(0.1)
    # the CSV writer's timer is due within CSV_STATS_INTERVAL_SEC, before this one: the hub fires timers in the
    # order of their deadlines, so it has rewritten the files (after the last request) when this one wakes
    gevent.sleep(2 * CSV_STATS_INTERVAL_SEC + 0.5)
    environment.runner.quit()  # type: ignore[attr-defined]


class AnalyzeUser(PushPopUser):
    wait_time = constant(0.01)
    finished = 0

    def on_start(self) -> None:
        self.rounds = 0

    @task
    def round(self) -> None:
        if self.rounds >= ROUNDS:
            AnalyzeUser.finished += 1
            if AnalyzeUser.finished == self.environment.parsed_options.num_users:
                gevent.spawn(_quit_when_released, self.environment)
            raise StopUser()
        self.rounds += 1
        for _ in range(3):
            self.push_item()
        self.pop_items(depth=1)
        self.pop_items(depth=3, name=ODD_NAME)
        if FAILING and self.rounds % 4 == 0:
            self.client.get("/nowhere", name="/nowhere")
