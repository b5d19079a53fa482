"""S5 queue depth impact: pop latency with 0, 1K, 10K and 100K items waiting (``scenarios/s5_queue_depth.py``).

Each class has one shared queue, filled before users start; users pop 10 items at a time at 50 RPS and push the
same number back (``… (refill)`` entries), so the queue stays at its depth for the whole run instead of draining
at 500 items/s. Pops are named after the depth (``/queue/[id]/pop (depth 10K)``), so the four classes compare in
one table, whether run together or one at a time.

| class | seed | prepopulated | pop depth | swarm rate (pops) |
|---|---|---|---|---|
| ``EmptyQueueUser`` | S5a | 0 (baseline) | 10 | 50 RPS |
| ``ThousandItemsUser`` | S5b | 1K | 10 | 50 RPS |
| ``TenThousandItemsUser`` | S5c | 10K | 10 | 50 RPS |
| ``HundredThousandItemsUser`` | S5d | 100K | 10 | 50 RPS |
"""

from __future__ import annotations

from locust import task

from pushpop_load.payloads import POP_NAME, PUSH_NAME
from pushpop_load.scenario import ScenarioUser


def _label(items: int) -> str:
    return f"{items // 1000}K" if items >= 1000 and items % 1000 == 0 else str(items)


class _DepthUser(ScenarioUser):
    abstract = True
    rate = "constant:rate=50"
    shared_queues = 1
    pop_depth = 10
    refill = True
    """Push back as many items as each pop took, so the queue keeps its depth."""

    @task
    def pop_and_refill(self) -> None:
        label = _label(self.prepopulated_items())
        items = self.pop(name=f"{POP_NAME} (depth {label})")
        if self.refill and items:
            for _ in items:
                self.push(name=f"{PUSH_NAME} (refill)")


class EmptyQueueUser(_DepthUser):
    """S5a: pops from an empty queue, the baseline."""

    scenario = "S5a"
    prepopulate = 0


class ThousandItemsUser(_DepthUser):
    """S5b: 1K items waiting."""

    scenario = "S5b"
    prepopulate = 1_000


class TenThousandItemsUser(_DepthUser):
    """S5c: 10K items waiting."""

    scenario = "S5c"
    prepopulate = 10_000


class HundredThousandItemsUser(_DepthUser):
    """S5d: 100K items waiting."""

    scenario = "S5d"
    prepopulate = 100_000
