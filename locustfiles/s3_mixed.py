"""S3 mixed push/pop workloads (the seed's `scenarios/s3_mixed.py`).

S3a, ``MixedWorkloadUser``: balanced 50/50 push/pop of small items on a per-user queue; each user paces itself at
one task per second, so the seed's 50 users give its 50 RPS target.

The users run on pushpop-load's native client (``NativeHttpUser``); the other S3 variants come with the scenarios.
"""

from __future__ import annotations

import random
import string
import time

from locust import constant_throughput, task

from pushpop_load import NativeHttpUser


def queue_id(prefix: str = "load-test") -> str:
    """A queue id in the toolkit's form, ``<prefix>-<8 random [a-z0-9]>``."""
    return f"{prefix}-{''.join(random.choices(string.ascii_lowercase + string.digits, k=8))}"


def small_item() -> dict:
    """About 100 bytes, the seed's small payload."""
    return {"data": "x" * 50, "timestamp": time.time(), "id": random.randint(0, 1_000_000)}


class MixedWorkloadUser(NativeHttpUser):
    """S3a: balanced push/pop on the user's own queue, priorities 0-2, pop depth 1."""

    wait_time = constant_throughput(1)

    def on_start(self) -> None:
        self.queue = queue_id()

    @task
    def push(self) -> None:
        self.client.post(
            f"/queue/{self.queue}/push",
            json={"item": small_item(), "priority": random.randint(0, 2)},
            name="/queue/[id]/push",
        )

    @task
    def pop(self) -> None:
        self.client.post(f"/queue/{self.queue}/pop?depth=1", name="/queue/[id]/pop")
