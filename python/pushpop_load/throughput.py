"""``swarm_throughput(rate)``: a ``wait_time`` that paces a user class's whole swarm, not each user.

Locust's ``constant_throughput(r)`` paces every user alone. Users spawned together then start their tasks together
and stay in step: 100 users at 20 tasks/s each send in bursts of up to 100 every 50 ms rather than one request
every 0.5 ms, and a service's latency under bursts is not its latency at that rate (bench/fidelity: p99 several
times an even 2,000/s's). ``swarm_throughput(2000)`` hands the class's users one slot every 0.5 ms between them,
first come first served, as an independent client's rate limiter would (oha's ``-q``); in a distributed run each
worker takes its share. It is still Locust's closed model: a user busy with a slow answer takes no slot, and when
every user is busy the swarm falls behind and says so once.
"""

from __future__ import annotations

from typing import Any, Callable

from pushpop_load.scenario_run import ScenarioRun

__all__ = ["swarm_throughput"]


def swarm_throughput(rate: float) -> Callable[[Any], float]:
    """A ``wait_time`` for a user class: its users together start ``rate`` tasks per second, evenly spaced."""
    if not rate > 0:
        raise ValueError(f"swarm_throughput needs a rate above 0 tasks per second (got {rate!r})")

    def wait_time(user: Any) -> float:
        ScenarioRun.of(user.environment).fixed_pacer(type(user), rate).acquire()
        return 0.0

    return wait_time
