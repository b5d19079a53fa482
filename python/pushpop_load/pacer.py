"""``SwarmPacer``: the closed model's task slots at a schedule's rate, shared by every user of a class in a process.

Locust's own ``constant_throughput`` paces each user alone, so a scenario's rate would change with its user count.
A scenario's rate is the whole swarm's instead: one greenlet hands out slots as they fall due, to whichever users
are waiting (first come, first served), and a user waits for a slot before each task. Slots are never booked
ahead, so a rate that changes (a ramp, a shape) takes effect at once, and slots that find every user busy are kept
up to a millisecond's worth (the hub's resolution) and dropped beyond it rather than saved up for a burst. This is
still Locust's closed model: when every user waits on a slow service the swarm falls behind its rate, and the pacer
says so once.
"""

from __future__ import annotations

import time
from typing import Callable

import gevent

from pushpop_load.slots import Slots

__all__ = ["SwarmPacer"]

# the shortest wait gevent's hub keeps (seconds)
_HUB_RESOLUTION = 0.001


def slots_to_give(due: int, waiting: int, saved: int, rate: float) -> int:
    """Of ``due`` slots, how many to hand out to ``waiting`` users when ``saved`` are already handed out and not
    taken: as many as the waiting users take, plus a millisecond's worth (at least one) kept for users finishing
    their tasks; the rest are dropped, not saved for a burst."""
    # gevent's hub cannot wait less than a millisecond (libev's epoll back end: a 0.3 ms sleep lasts 1.09 ms), so
    # slots come a millisecond at a time; keeping one only, a single user at 2,000/s sent 1,421/s, dropping the
    # slots that came while it was busy
    kept = 1 + int(rate * _HUB_RESOLUTION)
    return min(due, max(0, waiting + kept - saved))


class SwarmPacer:
    """Slots at ``rate()`` per second (this process's share of the swarm's rate); ``behind()`` is called once when
    more than a second's worth of slots found every user busy."""

    def __init__(self, rate: Callable[[], float], behind: Callable[[], None]) -> None:
        self.rate = rate
        self.behind = behind
        self.slots = Slots()  # handed out and not yet taken: free; users waiting for one: waiters
        self.greenlet: gevent.Greenlet | None = None
        self.dropped = 0.0
        self.warned = False

    def reset(self) -> None:
        if self.greenlet is not None:
            self.greenlet.kill(block=False)
        self.greenlet = None
        self.slots = Slots()
        self.dropped = 0.0
        self.warned = False

    def acquire(self) -> None:
        """Waits for this user's next slot."""
        if self.greenlet is None:
            self.greenlet = gevent.spawn(self._hand_out)
        self.slots.take()

    def _hand_out(self) -> None:
        due = time.monotonic()
        while True:
            rate = self.rate()
            if rate <= 0:
                gevent.sleep(0.1)
                due = time.monotonic()
                continue
            now = time.monotonic()
            if due > now:
                gevent.sleep(due - now)
                now = time.monotonic()
            # every slot due by now (more than one when the hub was late)
            count = 1 + int((now - due) * rate)
            given = slots_to_give(count, len(self.slots.waiters), self.slots.free, rate)
            self.slots.give(given)
            self._note_dropped(count - given, rate)
            due += count / rate

    def _note_dropped(self, dropped: int, rate: float) -> None:
        self.dropped = self.dropped + dropped if dropped else max(0.0, self.dropped - 0.1)
        if self.dropped > rate and not self.warned:  # over a second of slots found every user busy
            self.warned = True
            self.behind()
