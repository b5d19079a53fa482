"""The open model's runs in a swarm (``OpenModelRuns``, a part of the environment's swarm): how each driver kept its
schedule — arrivals due, started, late, dropped — and each process's share of the rate.

One driver runs per process: alone, it makes the whole schedule; in a distributed run the master asks for one user
per worker of every class that drives a schedule and gives each worker its share of the rate, and collects every
worker's counts. When Locust quits, the master (or the single process) prints them and, with ``--csv PREFIX``,
writes ``PREFIX_openmodel.json``: ``{"format": "pushpop-load-openmodel", "version": 1, "runs": [{"schedule",
"share", "seconds", "scheduled", "started", "late", "waited", "dropped", "completed", "in_flight", "max_lag_us"[,
"worker"]}]}``.
"""

from __future__ import annotations

import json
from typing import Any

from pushpop_load import _native
from pushpop_load._files import write_atomically
from pushpop_load.options import argument_type
from pushpop_load.swarm import SwarmPart

__all__ = ["OpenModelRuns", "schedule_spec"]

_MESSAGE = "pushpop_openmodel_share"


def schedule_spec(text: str) -> str:
    """``text`` once ``Schedule`` accepts it (a spec or a preset's name); ValueError says why not."""
    _native.Schedule(text)
    return text


class OpenModelRuns(SwarmPart):
    """This process's part of every schedule's rate (``share``) and the runs of the test so far (on the master:
    the whole swarm's)."""

    key = "pushpop_openmodel"

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.share = 1.0
        """1 alone, 1/N on each of N workers (the master sends it)."""
        self.runs: list[dict[str, Any]] = []
        self._unreported: list[dict[str, Any]] = []
        self.running: dict[int, tuple[str, Any]] = {}
        """This process's drivers keeping their schedule now: (schedule, ``_native.OpenModel``) by id."""
        if self.is_worker:
            environment.runner.register_message(_MESSAGE, self._on_share)

    @classmethod
    def add_arguments(cls, parser: Any) -> None:
        parser.add_argument("--pp-schedule", type=argument_type(schedule_spec, "schedule"), env_var="PUSHPOP_SCHEDULE",
                            default=None,
                            help="arrival-rate schedule of ArrivalRateUser: a spec such as ramp:from=10,to=100,"
                                 f"over=60s or a preset ({', '.join(_native.Schedule.presets())}) (default: the "
                                 "class's)")

    def _on_share(self, msg: Any, **_: Any) -> None:
        self.share = float(msg.data["share"])

    def record(self, run: dict[str, Any]) -> None:
        """A driver's run, ended: counted here and sent to the master with the next report."""
        self.runs.append(run)
        if self.is_worker:
            self._unreported.append(run)

    def all_runs(self) -> list[dict[str, Any]]:
        """The runs that ended, then those going on in this process, with their counts so far."""
        going = ({"schedule": schedule, **driver.counters()} for schedule, driver in self.running.values())
        return [*self.runs, *going]

    def test_start(self) -> None:
        self.running.clear()  # a driver whose user was killed mid-shutdown never took itself out
        if not self.is_worker:
            self.runs.clear()  # the summary is this run's, as Locust's statistics are (a web UI may start several)
        if not self.is_master:
            return
        runner = self.environment.runner
        workers = max(1, runner.worker_count)
        # one driver per worker, each with its part of the rate; sent before the spawn messages, on the same socket
        for user_class in self.environment.user_classes:
            if getattr(user_class, "one_per_process", False):
                user_class.fixed_count = workers
        runner.send_message(_MESSAGE, {"share": 1.0 / workers})

    def take_delta(self) -> list[dict[str, Any]] | None:
        if not self._unreported:
            return None
        delta, self._unreported = self._unreported, []
        return delta

    def absorb(self, delta: list[dict[str, Any]], worker: str) -> None:
        self.runs.extend({**run, "worker": worker} for run in delta)

    def finish(self) -> None:
        if not self.runs:
            return
        for run in self.runs:
            scheduled = max(1, run["scheduled"])
            where = f" on {run['worker']}, {run['share']:.3g} of the rate" if "worker" in run else ""
            print(f"Open model ({run['schedule']}{where}): {run['scheduled']} requests due, {run['started']} "
                  f"started, {run['late']} late ({100 * run['late'] / scheduled:.2f}%, the latest "
                  f"{run['max_lag_us'] / 1000:.1f} ms behind; {run.get('waited', 0)} waited for a connection), "
                  f"{run['dropped']} dropped "
                  f"({100 * run['dropped'] / scheduled:.2f}%): every latency counted from when its request was due; "
                  "'(raw)' entries from when it was sent", flush=True)
        prefix = self.csv_prefix
        if prefix:
            document = {"format": "pushpop-load-openmodel", "version": 1, "runs": self.runs}
            write_atomically(f"{prefix}_openmodel.json", lambda out: json.dump(document, out, indent=1))
