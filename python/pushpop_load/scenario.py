"""``ScenarioUser``: a seed scenario's user, described by its class attributes (the scenario tables of
``locustfiles/s*.py``), paced to the scenario's swarm-wide rate; ``pushpop_load.scenario_run`` applies the knobs,
paces, prepopulates and reports.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from locust import task

from pushpop_load.payloads import make_queue_id
from pushpop_load.scenario_run import ScenarioRun
from pushpop_load.users import PushPopUser

__all__ = ["BalancedUser", "ScenarioUser"]


def _swarm_wait(user: "ScenarioUser") -> float:
    user.scenario_run.pacer(type(user)).acquire()
    return 0.0


class ScenarioUser(PushPopUser):
    """A scenario's user: paced to the scenario's swarm-wide rate, on its own queue or on queues shared by the
    swarm, with the scenario's priorities, payload sizes and pop depth (each overridable by a knob)."""

    abstract = True

    scenario: ClassVar[str] = ""
    """The seed's id, e.g. ``S2b``; names shared queues and notes."""

    rate: ClassVar[str | None] = None
    """Swarm-wide requests/s over scenario time, as a schedule spec (``constant:rate=50``,
    ``ramp:from=10,to=100,over=5m``, a preset such as ``s6a``: ``pushpop_load._native.Schedule``); None leaves
    ``wait_time`` as the class sets it."""

    rate_knob: ClassVar[str | None] = None
    """A knob whose schedule, when given, replaces ``rate`` (S6: ``burst``)."""

    shared_queues: ClassVar[int | None] = None
    """None: every user has its own queue; N: the swarm shares N queue ids, user i on queue i mod N."""

    prepopulate: ClassVar[int] = 0
    """Items put in each shared queue at test start, before users start."""

    priorities: ClassVar[tuple[int, ...]] = (0,)
    pop_depth: ClassVar[int] = 1
    item_sizes: ClassVar[tuple[str, ...]] = ("small",)

    wait_time = _swarm_wait

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.scenario_run = ScenarioRun.of(environment)
        """The run this user belongs to: knobs, pacing, counts and notes."""

    def on_start(self) -> None:
        cls = type(self)
        if cls.rate is not None:
            self.scenario_run.pacer(cls).acquire()  # the first task waits for its slot too, or every user starts at once
        shared = self.scenario_run.shared_queue(cls)
        if shared is not None:
            self.queue_id = shared
        else:
            prefix = self.scenario_run.option("pp_queue_prefix")
            if prefix:
                self.queue_id = make_queue_id(prefix)

    def prepopulated_items(self) -> int:
        """Items put in each of this class's shared queues at test start (knob applied)."""
        return self.scenario_run.prepopulate_items(type(self))

    def pick_priority(self) -> int:
        return random.choice(self.scenario_run.priorities(type(self)))

    def next_size(self) -> str:
        sizes = type(self).item_sizes
        return sizes[0] if len(sizes) == 1 else random.choice(sizes)

    def push(self, priority: int | None = None, name: str | None = None) -> bool:
        stored = self.push_item(priority=self.pick_priority() if priority is None else priority, name=name,
                                size=self.next_size())
        if stored:
            self.scenario_run.count(self.scenario, "pushed")
        return stored

    def pop(self, depth: int | None = None, name: str | None = None) -> list[Any] | None:
        depth = self.scenario_run.depth(type(self)) if depth is None else depth
        items = self.pop_items(depth=depth, name=name)
        if items is not None:
            self.scenario_run.popped(self.scenario, self.queue_id, depth, len(items))
        return items


class BalancedUser(ScenarioUser):
    """A scenario user whose tasks are one push and one pop, equally likely: the mixed, concurrent, burst and
    drill scenarios."""

    abstract = True

    @task
    def push_one(self) -> None:
        self.push()

    @task
    def pop_one(self) -> None:
        self.pop()
