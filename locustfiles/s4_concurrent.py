"""S4 concurrent queue scaling: the same 200 RPS spread over more and more queue ids (actors)
(the seed's ``scenarios/s4_concurrent.py``). Users are spread evenly over the queue ids (user i on queue i mod N)
and alternate push and pop, so every queue stays shallow.

| class | seed | queue ids | swarm rate |
|---|---|---|---|
| ``SingleQueueUser`` | S4a | 1 | 200 RPS |
| ``TenQueuesUser`` | S4b | 10 | 200 RPS |
| ``FiftyQueuesUser`` | S4c | 50 | 200 RPS |
| ``HundredQueuesUser`` | S4d | 100 | 200 RPS |

Use at least as many users as queue ids (``-u 100`` for S4d), or some queues get no traffic.
"""

from __future__ import annotations

from pushpop_load.scenario import BalancedUser


class SingleQueueUser(BalancedUser):
    """S4a: one queue id for the whole swarm."""

    scenario = "S4a"
    shared_queues = 1
    rate = "constant:rate=200"


class TenQueuesUser(BalancedUser):
    """S4b: ten queue ids."""

    scenario = "S4b"
    shared_queues = 10
    rate = "constant:rate=200"


class FiftyQueuesUser(BalancedUser):
    """S4c: fifty queue ids."""

    scenario = "S4c"
    shared_queues = 50
    rate = "constant:rate=200"


class HundredQueuesUser(BalancedUser):
    """S4d: a hundred queue ids."""

    scenario = "S4d"
    shared_queues = 100
    rate = "constant:rate=200"
