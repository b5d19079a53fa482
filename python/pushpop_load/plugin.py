"""pushpop-load as a Locust plugin: which parts every run gets, in which order, and their command-line options.

Importing the users (``NativeHttpUser``, ``PushPopUser``, the scenarios, ``ArrivalRateUser``) imports this module,
which adds the options to Locust's command line and, when Locust sets up its environment (``init``), installs the
parts on it (``environment.pushpop``, a ``pushpop_load.swarm.Swarm``). An environment made without Locust's
command line (Locust's own tests make several in one process) gets them when its first user is created.

The order of ``PARTS`` is the order in which they start, report and finish: the exact statistics are cleared before
anything records; the monitor samples from before the scenarios prepopulate; the open-file limit is checked as
users are created; the ledger is cleared before the scenarios record their prepopulated items in it; and at the end
the exact table comes first, then the integrity verdict, the open model's counts and the scenario's notes.
``/metrics`` comes last: it reads all the others.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from locust import events

from pushpop_load import _native
from pushpop_load.fdlimit import FdLimit
from pushpop_load.integrity import Integrity
from pushpop_load.metrics import Metrics
from pushpop_load.monitor import Monitor
from pushpop_load.openmodel_runs import OpenModelRuns
from pushpop_load.options import HelpAction
from pushpop_load.scenario_run import ScenarioRun
from pushpop_load.stats import ExactStats
from pushpop_load.swarm import Swarm, SwarmPart
from pushpop_load.transport import close_idle_connections

__all__ = ["PARTS", "install"]

logger = logging.getLogger("pushpop_load")

PARTS: tuple[type[SwarmPart], ...] = (ExactStats, Monitor, FdLimit, Integrity, OpenModelRuns, ScenarioRun, Metrics)


def install(environment: Any) -> Swarm:
    """The environment's parts, made (once) in the order of ``PARTS``."""
    swarm = getattr(environment, "pushpop", None)
    if swarm is None:
        swarm = environment.pushpop = Swarm(environment, PARTS)
        environment.events.test_start.add_listener(_warn_about_a_debug_build)
        environment.events.test_start.add_listener(_count_start_waits_afresh)
        environment.events.test_stop.add_listener(_warn_about_start_waits)
        environment.events.test_stop.add_listener(_close_idle_connections)
    return swarm


def _warn_about_a_debug_build(**_: Any) -> None:
    # scripts/test.sh leaves a debug build in .venv: its requests cost several times a release build's CPU, so the
    # generator saturates early and measures itself
    if _native.build_profile != "release" and os.environ.get("PUSHPOP_ALLOW_DEBUG") != "1":
        logger.warning("pushpop-load: this is a debug build of the native module (%s): requests cost several times "
                       "the CPU of a release build, so the load generator saturates early; run `make build-prod` "
                       "(or pip install the wheel) before measuring", _native.__file__)


# A request's time starts when the engine's thread starts it, as an independent client's does; the wait before that
# is this process's own, and a run whose requests waited this long at the 99th percentile says so.
START_WAIT_WARNING_MS = 1.0


def _count_start_waits_afresh(**_: Any) -> None:
    _native.http_start_waits()


def _warn_about_start_waits(**_: Any) -> None:
    requests, p50_ms, p99_ms = _native.http_start_waits()
    if requests and p99_ms > START_WAIT_WARNING_MS:
        logger.warning("pushpop-load: requests waited in this load generator before they started (median under "
                       "%.3g ms, 99th percentile under %.3g ms, %d requests). Response times leave that wait out, as "
                       "an independent client's would, but this process's core was too busy to send on time: run "
                       "more worker processes (--processes) or fewer users per process",
                       p50_ms, p99_ms, requests)


def _close_idle_connections(**_: Any) -> None:
    # a stopped run holds no sockets to its target: the web UI may start the next one much later, or never
    close_idle_connections()


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any) -> None:
    for part in PARTS:
        part.add_arguments(parser)
    parser.add_argument("--pp-help", action=HelpAction, include_in_web_ui=False,
                        help="list the pushpop-load options (scenario knobs, integrity, drain, monitor) and exit")


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    install(environment)
    _refresh_the_hubs_clock()
    environment.events.quit.add_listener(_stop_locusts_csv_writer)


def _refresh_the_hubs_clock() -> None:
    # Importing Locust makes gevent's hub, and libev times each new timer from the time its loop last read, not
    # from now. Nothing runs the loop between that import and `--run-time`'s timer, so a start slower than the run
    # time (locustfiles' imports, this package's native module, a busy machine: 3.5 s seen at load 9) ended a
    # `-t 3s` run 35 ms after it began, before any user spawned. `init` is the last step before that timer.
    import gevent

    gevent.get_hub().loop.update_now()


def _stop_locusts_csv_writer(**_: Any) -> None:
    # Locust closes its CSV files right after `quit` and exits; with `--processes` its master's exit first waits for
    # the worker processes (an atexit step that sleeps through gevent), and its CSV writer, waking every second,
    # wrote to the closed files: "ValueError: I/O operation on closed file" and a traceback in the log, in 3 runs of
    # 4 of tests/python/test_scenario.py's two-process test with both cores busy (Locust 2.47 alone does the same).
    # Locust keeps no reference to that greenlet: it is found among the live objects (a few ms, once).
    import gc

    import gevent
    from locust.stats import StatsCSVFileWriter

    writers = [obj for obj in gc.get_objects() if isinstance(obj, gevent.Greenlet)
               and getattr(getattr(obj, "_run", None), "__func__", None) is StatsCSVFileWriter.stats_writer]
    in_hub = gevent.getcurrent() is gevent.get_hub()
    for writer in writers:
        writer.kill(block=not in_hub, timeout=1)
