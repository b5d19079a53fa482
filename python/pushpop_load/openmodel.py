"""Open-model (arrival-rate) load inside Locust: requests start when a schedule says, whatever the answers do.

Locust's users send their next request only after the last one answered, so when the service slows down they send
less, and the slow period is measured with fewer samples than it deserved (coordinated omission). An
``ArrivalRateUser`` instead hands a schedule to a driver in Rust, which starts each request at its time on its own
thread, up to ``max_in_flight`` requests at once:

    from pushpop_load.openmodel import ArrivalRateUser

    class Open(ArrivalRateUser):
        schedule = "ramp:from=10,to=100,over=60s"     # constant, ramp, steps, sine, square, spike
        push_weight, pop_weight = 1, 1
        pop_depth = 10

    locust -f open.py --headless -u 1 -t 2m --host http://127.0.0.1:8000

Schedules (``kind:key=value,...``, durations as ``500ms``, ``30s``, ``2m``): ``constant:rate=R``,
``ramp:from=A,to=B,over=D``, ``steps:rates=R1/R2/R3,every=D``, ``sine:mean=M,amplitude=A,period=D``,
``square:low=L,high=H,period=D[,duty=0.5]``, ``spike:base=B,peak=P,at=T,for=D``.

Every latency is kept twice. Locust's statistics (its table, CSVs, charts and web UI, fed every ``feed_interval``
seconds in one step per request name) and the exact histograms under the request's name hold the **corrected**
latency, from the time the request was due; the exact histograms also hold the **raw** latency, from the moment it
was sent, under ``<name> (raw)``. An arrival that finds ``max_in_flight`` requests outstanding is not sent and is
counted as dropped (k6's "dropped iterations"); one that starts more than ``late_after`` behind its time is counted
as late. Those counts are printed when Locust quits and, with ``--csv PREFIX``, written to
``PREFIX_openmodel.json``. Pushes carry integrity markers and pops are checked, as ``PushPopUser``'s.

One driver runs per process: alone, it makes the whole schedule; in a distributed run the master asks for one
user per worker and gives each worker its share of the rate (give ``-u`` at least the number of workers), and
collects every worker's counts for the summary and ``PREFIX_openmodel.json``.
"""

from __future__ import annotations

import json as _json
import os as _os
import time as _time
from typing import Any

import gevent as _gevent
from locust import User, events, task
from locust.exception import StopUser
from locust.runners import MasterRunner, WorkerRunner
from locust.stats import StatsEntry, StatsError

from pushpop_load import _native
from pushpop_load import integrity as _integrity
from pushpop_load.client import exact_stats
from pushpop_load.payloads import ITEM_SIZES, POP_NAME, PUSH_NAME, make_queue_id

__all__ = ["PRESETS", "ArrivalRateUser", "feed_locust", "schedule_spec"]

_MESSAGE = "pushpop_openmodel_share"
_REPORT_KEY = "pushpop_openmodel"
_runs: list[dict[str, Any]] = []
_unreported: list[dict[str, Any]] = []
_environment: Any = None


class _Share:
    """This process's part of every schedule's rate: 1 alone, 1/N on each of N workers (set by the master)."""

    value = 1.0


PRESETS = {
    "s1a": "ramp:from=10,to=100,over=5m",
    "s6a": "sine:mean=105,amplitude=95,period=5m",
    "s6b": "square:low=10,high=200,period=60s",
    "s6c": "spike:base=50,peak=500,at=4m,for=1m",
}
"""The seed's arrival-rate targets as schedules: S1a's ramp and S6's sine, square and spike."""


def schedule_spec(text: str) -> str:
    """A preset's schedule, or ``text`` itself once the driver's parser accepts it; ValueError says why not."""
    spec = PRESETS.get(text.strip().lower(), text)
    _native.OpenModel.check_schedule(spec)
    return spec


def _schedule_argument(text: str) -> str:
    import argparse

    try:
        return schedule_spec(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


@events.init_command_line_parser.add_listener
def _add_options(parser: Any) -> None:
    parser.add_argument("--pp-schedule", type=_schedule_argument, env_var="PUSHPOP_SCHEDULE", default=None,
                        help="arrival-rate schedule of ArrivalRateUser: a spec such as ramp:from=10,to=100,over=60s "
                             f"or a preset ({', '.join(PRESETS)}) (default: the class's)")


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    global _environment
    _environment = environment
    if isinstance(environment.runner, WorkerRunner):
        environment.runner.register_message(_MESSAGE, _on_share)


def _on_share(msg: Any, **_: Any) -> None:
    _Share.value = float(msg.data["share"])


@events.test_start.add_listener
def _on_test_start(environment: Any, **_: Any) -> None:
    runner = environment.runner
    if not isinstance(runner, WorkerRunner):
        _runs.clear()  # the summary is this run's, as Locust's statistics are (a web UI may start several)
    if not isinstance(runner, MasterRunner):
        return
    workers = max(1, runner.worker_count)
    # one driver per worker, each with its part of the rate; sent before the spawn messages, on the same socket
    for user_class in environment.user_classes:
        if issubclass(user_class, ArrivalRateUser):
            user_class.fixed_count = workers
    runner.send_message(_MESSAGE, {"share": 1.0 / workers})


@events.report_to_master.add_listener
def _on_report_to_master(data: dict, **_: Any) -> None:
    if _unreported:
        data[_REPORT_KEY] = list(_unreported)
        _unreported.clear()


@events.worker_report.add_listener
def _on_worker_report(client_id: str, data: dict, **_: Any) -> None:
    for run in data.get(_REPORT_KEY, []):
        _runs.append({**run, "worker": client_id})


class ArrivalRateUser(User):
    """Starts pushes and pops on ``schedule``, from Rust; see the module's documentation."""

    abstract = True
    fixed_count = 1
    schedule: str = "constant:rate=100"
    duration: float | None = None
    """Seconds after which the schedule ends; None: until Locust stops the run."""
    max_in_flight: int = 1000
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
    insecure: bool = True
    feed_interval: float = 0.5

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        if self.item_size not in ITEM_SIZES:
            raise ValueError(f"unknown item_size {self.item_size!r}: use one of {', '.join(ITEM_SIZES)}")
        self.queue_ids = [make_queue_id(self.queue_prefix) for _ in range(max(1, self.queue_count))]

    @task
    def drive(self) -> None:
        if not self.host:
            raise ValueError("ArrivalRateUser needs a host (--host or the class's host attribute)")
        ledger = _integrity.ledger if _integrity.enabled() else None
        options = self.environment.parsed_options
        schedule = getattr(options, "pp_schedule", None) or schedule_spec(self.schedule)
        driver = _native.OpenModel(
            self.host, schedule, share=_Share.value, duration=self.duration, max_in_flight=self.max_in_flight,
            push_weight=self.push_weight, pop_weight=self.pop_weight, item_bytes=ITEM_SIZES[self.item_size],
            priorities=list(self.priorities), pop_depth=self.pop_depth, queues=self.queue_ids,
            timeout=self.network_timeout, connect_timeout=self.connection_timeout, late_after=self.late_after,
            insecure=self.insecure, push_name=PUSH_NAME, pop_name=POP_NAME, ledger=ledger,
            producer=ledger.new_producer() if ledger is not None else 0,
        )
        started = _time.monotonic()
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
            run = {"schedule": schedule, "share": _Share.value, "seconds": _time.monotonic() - started,
                   **_json.loads(driver.counters_json())}
            _runs.append(run)
            _unreported.append(run)
        raise StopUser()


def feed_locust(environment: Any, driver: Any) -> None:
    """Moves the driver's records since the last call into Locust's statistics (one ``extend`` per request name,
    as a worker's report is merged) and into the exact histograms."""
    stats = environment.stats
    for record in _json.loads(driver.drain_into(exact_stats)):
        method, name = record["method"], record["name"]
        entry = StatsEntry(stats, name, method, use_response_times_cache=stats.use_response_times_cache)
        entry.num_requests = record["count"]
        entry.num_failures = record["failures"]
        entry.total_response_time = record["total_ms"]
        entry.min_response_time = record["min_ms"]
        entry.max_response_time = record["max_ms"]
        entry.total_content_length = record["content_length"]
        entry.response_times = {int(key): count for key, count in record["response_times"].items()}
        entry.num_reqs_per_sec = {int(key): count for key, count in record["per_second"].items()}
        entry.num_fail_per_sec = {int(key): count for key, count in record["failures_per_second"].items()}
        entry.start_time = record["first"]
        entry.last_request_timestamp = record["last"]
        stats.get(name, method).extend(entry)
        stats.total.extend(entry)
        for message, count in record["errors"].items():
            key = StatsError.create_key(method, name, message)
            error = stats.errors.get(key)
            if error is None:
                error = stats.errors[key] = StatsError(method, name, message)
            error.occurred()
            error.occurrences += count - 1


@events.quit.add_listener
def _on_quit(**_: Any) -> None:
    environment = _environment
    if not _runs or environment is None:
        return
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        return  # the master prints and writes them all
    for run in _runs:
        scheduled = max(1, run["scheduled"])
        where = f" on {run['worker']}, {run['share']:.3g} of the rate" if "worker" in run else ""
        print(f"Open model ({run['schedule']}{where}): {run['scheduled']} requests due, {run['started']} started, "
              f"{run['late']} late ({100 * run['late'] / scheduled:.2f}%, the latest {run['max_lag_us'] / 1000:.1f} ms "
              f"behind), {run['dropped']} dropped ({100 * run['dropped'] / scheduled:.2f}%): every latency counted "
              "from when its request was due; '(raw)' entries from when it was sent", flush=True)
    prefix = getattr(environment.parsed_options, "csv_prefix", None) if environment.parsed_options else None
    if prefix and not isinstance(runner, WorkerRunner):
        path = f"{prefix}_openmodel.json"
        temporary = f"{path}.tmp-{_os.getpid()}"
        with open(temporary, "w", encoding="utf-8") as out:
            _json.dump({"format": "pushpop-load-openmodel", "version": 1, "runs": _runs}, out, indent=1)
        _os.replace(temporary, path)
