"""S3 mixed push/pop, the realistic steady state (the seed's ``scenarios/s3_mixed.py``).

Every user works on its own queue (``load-test-<8 random>``), so queue depth follows the push/pop mix.

| class | seed | push:pop | items | priorities | pop depth | swarm rate |
|---|---|---|---|---|---|---|
| ``MixedWorkloadUser`` | S3a | 50:50 | small (~100 B) | 0-2 | 1 | 50 RPS |
| ``ProducerHeavyUser`` | S3b | 80:20 (queues grow) | small | 0-2 | 1 | 100 RPS |
| ``ConsumerHeavyUser`` | S3c | 20:80 (queues drain) | small; 20 pushed at start | 0-2 | 1 | 100 RPS |
| ``MultiPriorityMixedUser`` | S3d | 50:50 | small | 0-4 | 3 | 50 RPS |
| ``BalancedLargeItemsUser`` | S3e | 50:50 | medium/large (~1-10 KB) | 0-2 | 1 | 50 RPS |

Start with ``MixedWorkloadUser`` (S3a).
"""

from __future__ import annotations

from locust import task

from pushpop_load.scenario import BalancedUser, ScenarioUser


class MixedWorkloadUser(BalancedUser):
    """S3a: balanced push/pop of small items."""

    scenario = "S3a"
    rate = "constant:rate=50"
    priorities = (0, 1, 2)


class ProducerHeavyUser(ScenarioUser):
    """S3b: four pushes for every pop; each user's queue grows."""

    scenario = "S3b"
    rate = "constant:rate=100"
    priorities = (0, 1, 2)

    @task(4)
    def push_one(self) -> None:
        self.push()

    @task(1)
    def pop_one(self) -> None:
        self.pop()


class ConsumerHeavyUser(ScenarioUser):
    """S3c: four pops for every push, after 20 pushes at start; each user's queue drains."""

    scenario = "S3c"
    rate = "constant:rate=100"
    priorities = (0, 1, 2)
    start_items = 20

    def on_start(self) -> None:
        super().on_start()
        for _ in range(self.start_items):
            self.push()

    @task(1)
    def push_one(self) -> None:
        self.push()

    @task(4)
    def pop_one(self) -> None:
        self.pop()


class MultiPriorityMixedUser(BalancedUser):
    """S3d: balanced push/pop over priorities 0-4; pops of 3 span priorities."""

    scenario = "S3d"
    rate = "constant:rate=50"
    priorities = (0, 1, 2, 3, 4)
    pop_depth = 3


class BalancedLargeItemsUser(BalancedUser):
    """S3e: balanced push/pop of medium (~1 KB) and large (~10 KB) items."""

    scenario = "S3e"
    rate = "constant:rate=50"
    priorities = (0, 1, 2)
    item_sizes = ("medium", "large")
