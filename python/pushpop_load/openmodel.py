"""Open-model (arrival-rate) load inside Locust: requests start when a schedule says, whatever the answers do.

Locust's users send their next request only after the last one answered, so when the service slows down they send
less, and the slow period is measured with fewer samples than it deserved (coordinated omission). An
``ArrivalRateUser`` instead hands a schedule to a driver in Rust, which starts each request at its time on its own
thread, up to ``max_in_flight`` requests at once on at most ``max_connections`` connections:

    from pushpop_load.openmodel import ArrivalRateUser

    class Open(ArrivalRateUser):
        schedule = "ramp:from=10,to=100,over=60s"     # constant, ramp, steps, sine, square, spike
        push_weight, pop_weight = 1, 1
        pop_depth = 10

    locust -f open.py --headless -u 1 -t 2m --host http://127.0.0.1:8000

Schedules (``kind:key=value,...``, durations as ``500ms``, ``30s``, ``2m``; the same language the scenarios' rates
use, ``pushpop_load._native.Schedule``): ``constant:rate=R``, ``ramp:from=A,to=B,over=D``,
``steps:rates=R1/R2/R3,every=D``, ``sine:mean=M,amplitude=A,period=D`` (from its low point),
``square:low=L,high=H,period=D[,duty=0.5]``, ``spike:base=B,peak=P,at=T,for=D``; any of them ``,end=D``. Presets:
``s1a``, ``s6a``, ``s6b``, ``s6c``.

Every latency is kept twice. Locust's statistics (its table, CSVs, charts and web UI, fed every ``feed_interval``
seconds in one step per request name) and the exact histograms under the request's name hold the **corrected**
latency, from the time the request was due; the exact histograms also hold the **raw** latency, from the moment it
was sent, under ``<name> (raw)``. An arrival that finds ``max_in_flight`` requests outstanding is not sent and is
counted as dropped (k6's "dropped iterations"); one that finds every one of its ``max_connections`` connections busy
waits for one (a slow service is not met with ever more connections), and one sent more than ``late_after`` behind
its time, for either reason, is counted as late. The corrected latency counts any such wait; the raw one does not.
Those counts are printed when Locust quits and, with ``--csv PREFIX``, written to ``PREFIX_openmodel.json``
(``pushpop_load.openmodel_runs``). Pushes carry integrity markers and pops are checked, as ``PushPopUser``'s.

Arrivals due within ``batch_window`` (50 µs) of each other may start together, on one wake-up of the driver: each
counts from its own time (from its send when that came first). A wider window costs less CPU and keeps the schedule
less closely: at 20,000/s, 1 ms (the step oha's ``-q`` keeps) halves the driver's CPU per request, and requests
leave in bursts of twenty.

One driver runs per process: alone, it makes the whole schedule; in a distributed run the master asks for one
user per worker and gives each worker its share of the rate (give ``-u`` at least the number of workers).
"""

from __future__ import annotations

import time as _time
from typing import Any, ClassVar

import gevent as _gevent
from locust import User, task
from locust.exception import StopUser

from pushpop_load import _native
from pushpop_load import plugin as _plugin
from pushpop_load.integrity import Integrity
from pushpop_load.locust_feed import add_to_locust
from pushpop_load.openmodel_runs import OpenModelRuns
from pushpop_load.payloads import ITEM_SIZES, POP_NAME, PUSH_NAME, make_queue_id
from pushpop_load.stats import ExactStats

__all__ = ["ArrivalRateUser", "feed_locust"]


class ArrivalRateUser(User):
    """Starts pushes and pops on ``schedule``, from Rust; see the module's documentation."""

    abstract = True
    fixed_count = 1
    one_per_process: ClassVar[bool] = True
    """One user per process drives the whole schedule (the master gives each worker one, and its share)."""
    schedule: str = "constant:rate=100"
    duration: float | None = None
    """Seconds after which the schedule ends; None: until Locust stops the run (or the schedule's ``end``)."""
    max_in_flight: int = 1000
    """Requests started and not finished, waiting for a connection or on one; an arrival that finds this many is
    dropped (and counted)."""
    max_connections: int = 100
    """Requests on the wire at once, and so connections open at once; an arrival that finds them all busy waits
    for one, its wait in its corrected latency and, past ``late_after``, counted as late."""
    push_weight: int = 1
    pop_weight: int = 1
    item_size: str = "small"
    priorities: tuple[int, ...] = (0,)
    pop_depth: int = 1
    queue_count: int = 4
    queue_prefix: str = "open"
    network_timeout: float = 60.0
    connection_timeout: float = 60.0
    late_after: float = 0.005
    batch_window: float = 0.00005
    """Seconds within which arrivals due start together, on one wake-up of the driver (0: each at its own time; at
    most ``late_after``)."""
    insecure: bool = True
    feed_interval: float = 0.5

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        _plugin.install(environment)
        if self.item_size not in ITEM_SIZES:
            raise ValueError(f"unknown item_size {self.item_size!r}: use one of {', '.join(ITEM_SIZES)}")
        self.queue_ids = [make_queue_id(self.queue_prefix) for _ in range(max(1, self.queue_count))]

    @task
    def drive(self) -> None:
        if not self.host:
            raise ValueError("ArrivalRateUser needs a host (--host or the class's host attribute)")
        integrity = Integrity.of(self.environment)
        runs = OpenModelRuns.of(self.environment)
        ledger = integrity.ledger if integrity.enabled else None
        schedule = _native.Schedule(runs.option("pp_schedule") or self.schedule)
        driver = _native.OpenModel(
            self.host, schedule, share=runs.share, duration=self.duration,
            max_in_flight=self.max_in_flight, max_connections=self.max_connections,
            push_weight=self.push_weight, pop_weight=self.pop_weight,
            item_bytes=ITEM_SIZES[self.item_size], priorities=list(self.priorities), pop_depth=self.pop_depth,
            queues=self.queue_ids, timeout=self.network_timeout, connect_timeout=self.connection_timeout,
            late_after=self.late_after, batch_window=self.batch_window, insecure=self.insecure,
            push_name=PUSH_NAME, pop_name=POP_NAME,
            ledger=ledger, producer=ledger.new_producer() if ledger is not None else 0,
        )
        started = _time.monotonic()
        runs.running[id(driver)] = (str(schedule), driver)
        try:
            while driver.running():
                _gevent.sleep(self.feed_interval)
                feed_locust(self.environment, driver)
        finally:
            # what finished so far first: a second kill while waiting below would lose it otherwise
            driver.stop()
            feed_locust(self.environment, driver)
            deadline = _time.monotonic() + self.network_timeout + 2
            while driver.running() and _time.monotonic() < deadline:
                _gevent.sleep(0.05)
            feed_locust(self.environment, driver)
            runs.running.pop(id(driver), None)
            runs.record({"schedule": str(schedule), "share": runs.share, "seconds": _time.monotonic() - started,
                         **driver.counters()})
        raise StopUser()


def feed_locust(environment: Any, driver: Any) -> None:
    """Moves the driver's records since the last call into Locust's statistics (one ``extend`` per request name,
    as a worker's report is merged) and into the exact histograms."""
    add_to_locust(environment.stats, driver.drain_into(ExactStats.of(environment).recorder))
