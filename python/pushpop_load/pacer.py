"""``SwarmPacer``: the closed model's task slots at a schedule's rate, shared by every user of a class in a process.

Locust's own ``constant_throughput`` paces each user alone, so a scenario's rate would change with its user count.
A scenario's rate is the whole swarm's instead: one greenlet hands out slots as they fall due, to whichever users
are waiting (first come, first served), and a user waits for a slot before each task. Slots are never booked
ahead, so a rate that changes (a ramp, a shape) takes effect at once, and a slot that finds every user busy is
dropped rather than saved up for a burst. This is still Locust's closed model: when every user waits on a slow
service the swarm falls behind its rate, and the pacer says so once.
"""

from __future__ import annotations

import time
from typing import Callable

import gevent
from gevent.lock import Semaphore

__all__ = ["SwarmPacer"]


class SwarmPacer:
    """Slots at ``rate()`` per second (this process's share of the swarm's rate); ``behind()`` is called once when
    more than a second's worth of slots found every user busy."""

    def __init__(self, rate: Callable[[], float], behind: Callable[[], None]) -> None:
        self.rate = rate
        self.behind = behind
        self.slots = Semaphore(0)
        self.greenlet: gevent.Greenlet | None = None
        self.dropped = 0.0
        self.warned = False

    def reset(self) -> None:
        if self.greenlet is not None:
            self.greenlet.kill(block=False)
        self.greenlet = None
        self.slots = Semaphore(0)
        self.dropped = 0.0
        self.warned = False

    def acquire(self) -> None:
        """Waits for this user's next slot."""
        if self.greenlet is None:
            self.greenlet = gevent.spawn(self._hand_out)
        self.slots.acquire()

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
            # every slot due by now (more than one when the hub was late), but no more than the waiting users can
            # take plus one kept for the next user to finish its task: the rest are dropped, not saved for a burst
            count = 1 + int((now - due) * rate)
            given = min(count, max(0, self.slots.linkcount() + 1 - self.slots.counter))
            for _ in range(given):
                self.slots.release()
            self._note_dropped(count - given, rate)
            due += count / rate

    def _note_dropped(self, dropped: int, rate: float) -> None:
        self.dropped = self.dropped + dropped if dropped else max(0.0, self.dropped - 0.1)
        if self.dropped > rate and not self.warned:  # over a second of slots found every user busy
            self.warned = True
            self.behind()
