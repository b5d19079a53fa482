"""S2 pop-only on prepopulated queues: the read path and the service's list slicing (``scenarios/s2_pop_only.py``).

Before users start, the master (or the single process) fills the shared queue with 10K items through the Rust
prepopulator; the run notes when a queue ran empty (pops then return fewer items than asked for).

| class | seed | prepopulated | pop depth | swarm rate |
|---|---|---|---|---|
| ``PopDepthOneUser`` | S2a | 10K items, priority 0 | 1 | ramp 10 -> 100 RPS over 5 min |
| ``PopDepthTenUser`` | S2b | 10K items, priorities 0-2 | 10 | 50 RPS |
| ``PopDepthHundredUser`` | S2c | 10K items, priorities 0-2 | 100 (the maximum) | 20 RPS |
"""

from __future__ import annotations

from locust import task

from pushpop_load.scenario import ScenarioUser


class PopDepthOneUser(ScenarioUser):
    """S2a: pop depth 1 from 10K items at one priority, ramp 10 -> 100 RPS."""

    scenario = "S2a"
    rate = "ramp:from=10,to=100,over=5m"
    shared_queues = 1
    prepopulate = 10_000
    pop_depth = 1

    @task
    def pop_some(self) -> None:
        self.pop()


class PopDepthTenUser(ScenarioUser):
    """S2b: pop depth 10 from 10K items over 3 priorities, 50 RPS."""

    scenario = "S2b"
    rate = "constant:rate=50"
    shared_queues = 1
    prepopulate = 10_000
    priorities = (0, 1, 2)
    pop_depth = 10

    @task
    def pop_some(self) -> None:
        self.pop()


class PopDepthHundredUser(ScenarioUser):
    """S2c: pop depth 100 from 10K items over 3 priorities, 20 RPS (2,000 items/s: empty after ~5 s)."""

    scenario = "S2c"
    rate = "constant:rate=20"
    shared_queues = 1
    prepopulate = 10_000
    priorities = (0, 1, 2)
    pop_depth = 100

    @task
    def pop_some(self) -> None:
        self.pop()
