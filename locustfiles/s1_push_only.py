"""S1 push-only: pure write load, the state store's insert path (the seed's ``scenarios/s1_push_only.py``).

| class | seed | queues | priorities | swarm rate |
|---|---|---|---|---|
| ``PushSingleQueueUser`` | S1a | 1 shared | 0 | ramp 10 -> 100 RPS over 5 min, then 100 |
| ``PushMultiQueueUser`` | S1b | 10 shared | 0 | 50 RPS |
| ``PushMultiPriorityUser`` | S1c | 1 shared | 0-4, random | 50 RPS |

Queues grow for the whole run: nothing pops (use a fresh ``--pp-run-id`` or the target's memory store).
"""

from __future__ import annotations

from locust import task

from pushpop_load.scenario import ScenarioUser


class PushSingleQueueUser(ScenarioUser):
    """S1a: one queue, priority 0, ramp 10 -> 100 RPS."""

    scenario = "S1a"
    rate = "ramp:from=10,to=100,over=5m"
    shared_queues = 1

    @task
    def push_one(self) -> None:
        self.push()


class PushMultiQueueUser(ScenarioUser):
    """S1b: 10 queues, priority 0, 50 RPS in total."""

    scenario = "S1b"
    rate = "constant:rate=50"
    shared_queues = 10

    @task
    def push_one(self) -> None:
        self.push()


class PushMultiPriorityUser(ScenarioUser):
    """S1c: one queue, random priorities 0-4, 50 RPS."""

    scenario = "S1c"
    rate = "constant:rate=50"
    shared_queues = 1
    priorities = (0, 1, 2, 3, 4)

    @task
    def push_one(self) -> None:
        self.push()
