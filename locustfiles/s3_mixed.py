"""S3 mixed push/pop workloads (the seed's `scenarios/s3_mixed.py`).

S3a, ``MixedWorkloadUser``: balanced 50/50 push/pop of small items on the user's own queue, priorities 0-2, pop
depth 1; each user paces itself at one task per second, so the seed's 50 users give its 50 RPS target.

The other S3 variants come with the scenarios (issue 4).
"""

from __future__ import annotations

import random

from locust import constant_throughput, task

from pushpop_load import PushPopUser


class MixedWorkloadUser(PushPopUser):
    """S3a: balanced push/pop on the user's own queue."""

    wait_time = constant_throughput(1)
    item_size = "small"

    @task
    def push(self) -> None:
        self.push_item(priority=random.randint(0, 2))

    @task
    def pop(self) -> None:
        self.pop_items(depth=1)
