"""S6 burst traffic as load shapes: latency during bursts, recovery in calm periods (``scenarios/s6_burst.py``).

| shape | seed | pattern (swarm-wide) |
|---|---|---|
| ``SineWaveShape`` | S6a | 10 -> 200 -> 10 RPS, one smooth cycle over 5 min |
| ``SquareWaveShape`` | S6b | 30 s at 200 RPS, 30 s at 10 RPS, five times |
| ``SpikeShape`` | S6c | 4 min at 50 RPS, then 1 min at 500 RPS |

``BurstUser`` alternates push and pop on its own queue. The shape sets the user count (one user per two RPS of
the current rate) and every user takes its tasks from one schedule that follows the pattern, so the swarm's rate
tracks the curve rather than the user count. The test ends with the pattern. ``--pp-time-scale 10`` plays a
5-minute pattern in 30 s; ``--pp-rate`` moves its peak.

Run alone (``-f s6_burst.py``) Locust uses the first shape, S6a; pick another headless with ``--pp-burst square``
or ``--pp-burst spike``, or in the web UI with ``--class-picker``.
"""

from __future__ import annotations

import math

from locust import LoadTestShape

from pushpop_load.scenario import BalancedUser
from pushpop_load.scenario_run import ScenarioRun


class BurstUser(BalancedUser):
    """S6: balanced push/pop following the burst pattern of the active shape."""

    scenario = "S6"
    priorities = (0, 1, 2)
    rate = "s6a"
    rate_knob = "burst"


class _BurstShape(LoadTestShape):
    abstract = True
    pattern = "sine"
    users_per_rps = 0.5
    """Users per request/s of the current rate: each user needs a task every 2 s at most."""

    def tick(self) -> tuple[int, float, list[type]] | None:
        # the pattern comes from --pp-burst when given (headless runs pick their burst with it); the master
        # copies the active shape's pattern into the options workers get, so their pacers follow the same curve
        run = ScenarioRun.of(self.runner.environment)
        schedule = run.schedule_of(BurstUser)
        t = self.get_run_time() * run.time_scale
        if schedule.end is not None and t >= schedule.end:
            return None
        users = max(1, math.ceil(schedule.rate_at(t) * self.users_per_rps))
        return users, 100, [BurstUser]


class SineWaveShape(_BurstShape):
    """S6a: 10 -> 200 -> 10 RPS over 5 minutes."""

    pattern = "sine"


class SquareWaveShape(_BurstShape):
    """S6b: 30 s at 200 RPS, 30 s at 10 RPS."""

    pattern = "square"


class SpikeShape(_BurstShape):
    """S6c: 4 minutes at 50 RPS, then 1 minute at 500 RPS."""

    pattern = "spike"
