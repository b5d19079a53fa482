"""A bounded workload for tests/python/test_metrics.py: each user runs ROUNDS rounds of three pushes, a pop of depth
1 and a pop of depth 3, and every fourth round a request that 404s. Then it stops; the run waits (up to a minute)
until the test has read Prometheus and creates the file METRICS_RELEASE, and ends once Locust's _stats.csv
(rewritten once a second, not at exit) holds the final figures: the test's -t is only an upper bound."""

from __future__ import annotations

import os
import time

import gevent
from locust import constant, task
from locust.exception import StopUser
from locust.stats import CSV_STATS_INTERVAL_SEC

from pushpop_load import PushPopUser

ROUNDS = int(os.environ.get("METRICS_ROUNDS", "30"))
RELEASE = os.environ.get("METRICS_RELEASE", "")


def _quit_when_released(environment: object) -> None:
    deadline = time.monotonic() + 60
    while RELEASE and not os.path.exists(RELEASE) and time.monotonic() < deadline:
        gevent.sleep(0.1)
    # the CSV writer's timer fires before this one wakes: _stats.csv then holds every request
    gevent.sleep(2 * CSV_STATS_INTERVAL_SEC + 0.5)
    environment.runner.quit()  # type: ignore[attr-defined]


class MetricsUser(PushPopUser):
    wait_time = constant(0.005)
    finished = 0

    def on_start(self) -> None:
        self.rounds = 0

    @task
    def round(self) -> None:
        if self.rounds >= ROUNDS:
            MetricsUser.finished += 1
            if MetricsUser.finished == self.environment.parsed_options.num_users:
                gevent.spawn(_quit_when_released, self.environment)
            raise StopUser()
        self.rounds += 1
        for _ in range(3):
            self.push_item()
        self.pop_items(depth=1)
        self.pop_items(depth=3, name="pop depth=3")
        if self.rounds % 4 == 0:
            self.client.get("/nowhere", name="/nowhere")
