"""State that a Locust swarm keeps together: every process records into its own copy, each worker sends what is new
with every report, the master absorbs it, and at the end the master (or the single process) writes the whole.

Locust keeps its own statistics this way: on the environment (``environment.stats``), wired to the environment's
events by one explicit call. pushpop-load's exact statistics, integrity ledger, open-model counts, scenario notes and
resource monitor are each a ``SwarmPart``; ``Swarm(environment, parts)`` makes one of each for the environment, in
the order given, and wires them to its events once. That order is the order in which they start, report and finish
(``pushpop_load.plugin`` names it). Two environments in one process have two swarms and share nothing.

The last report of each worker is what makes the whole exact. Locust's master, when it quits, tells its workers to
quit and listens for their last reports for half a second only (``MasterRunner.quit``); a worker sends that report
after stopping its users, which takes longer when a user's ``on_stop`` makes requests or ``--stop-timeout`` lets tasks
finish, or under load. A report that comes later is dropped: its pushes were never seen by the master and its pops
never checked, so the drain's items counted as foreign and those pops' items as lost. So the master, when its test
stops, asks each worker that took part for its final report and waits for all of them before anything finishes: up
to a deadline, not waiting for a worker that has been silent (no heartbeat, no report) for ``LOST_AFTER`` seconds. The
request carries a mark new to it, and the worker marks with it every report it sends from then on (nothing of this
test follows them); a worker that quits by itself marks its last report ``True``. Only those marks count: a master
behind its workers still has reports queued from before the test, or from a test before, which a worker sent while
idle, and those are not the end of this one. A worker without a final report is *lost*: ``Swarm.lost`` names it
and the parts say what that leaves unknown.

Master and workers must run the same pushpop-load: the parts' deltas are in formats of that version (the exact
statistics' and the integrity ledger's are binary, ``src/stats/wire.rs`` and ``src/integrity/wire.rs``). Every report
says its worker's version; the master leaves the parts of a report from another version (or one a part cannot read)
unmerged, logs one error naming the worker and both versions, and counts that worker as lost, so that no figure claims
its share.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any, ClassVar, Sequence, TypeVar

import gevent
from locust.exception import RPCError
from locust.runners import HEARTBEAT_INTERVAL, HEARTBEAT_LIVENESS, STATE_MISSING, MasterRunner, WorkerRunner

from pushpop_load import __version__

__all__ = ["LOST_AFTER", "Swarm", "SwarmPart"]

logger = logging.getLogger("pushpop_load.swarm")

FINAL_KEY = "pushpop_final"
"""In a worker's report: the mark of the master's final-report request it answers (``True``: the worker quits by
itself), so this report is its last of the test."""
VERSION_KEY = "pushpop_version"
"""In a worker's report: the worker's pushpop-load version (``pushpop_load.__version__``)."""
FINAL_REQUEST = "pushpop_final_report"
"""The master's message to a worker (its data: the mark, a string): stop the test if it runs, then send the final
report."""
LOST_AFTER = HEARTBEAT_LIVENESS * HEARTBEAT_INTERVAL + 7.0
"""Seconds of silence after which a worker that owes its final report is lost: over twice Locust's own limit
(``HEARTBEAT_LIVENESS`` missed beats), so that a worker merely starved of CPU for a few seconds is waited for."""
FINAL_WAIT = 30.0
"""Seconds, on top of ``--stop-timeout``, that the master waits for final reports from workers that keep beating."""

Part = TypeVar("Part", bound="SwarmPart")


class SwarmPart:
    """One part of a run's state. Every hook is optional; each runs in the processes its docstring names."""

    key: ClassVar[str] = ""
    """The part's entry in a worker's report (empty: the part sends nothing)."""

    def __init__(self, environment: Any) -> None:
        """Made when the environment is set up (Locust's ``init``): its runner and web UI, if any, exist."""
        self.environment = environment

    @classmethod
    def of(cls: type[Part], environment: Any) -> Part:
        """The environment's instance of this part."""
        return environment.pushpop.get(cls)

    @classmethod
    def add_arguments(cls, parser: Any) -> None:
        """Adds the part's options to Locust's command line."""

    def test_start(self) -> None:
        """Every process, when a test starts (a worker: at its first spawn message, with the master's options)."""

    def take_delta(self) -> Any:
        """A worker, at each report: what is new since the last one, and a fresh start; None when nothing is."""
        return None

    def absorb(self, delta: Any, worker: str) -> None:
        """The master: a worker's delta."""

    def test_stop(self) -> None:
        """Every process, when a test stops."""

    def finish(self) -> None:
        """The master or the single process, at quit, after the last reports: print and write the results."""

    # what every part asks of its environment

    @property
    def is_worker(self) -> bool:
        return isinstance(self.environment.runner, WorkerRunner)

    @property
    def is_master(self) -> bool:
        return isinstance(self.environment.runner, MasterRunner)

    def option(self, name: str, default: Any = None) -> Any:
        """A parsed command-line option, or ``default`` when it is not set (or there is no command line)."""
        options = self.environment.parsed_options
        value = getattr(options, name, None) if options is not None else None
        return default if value is None else value

    @property
    def csv_prefix(self) -> str | None:
        """``--csv PREFIX``: where results files go, if anywhere."""
        return self.option("csv_prefix")


class Swarm:
    """The parts of one environment, in order, wired to its events; it is the environment's ``pushpop``."""

    def __init__(self, environment: Any, parts: Sequence[type[SwarmPart]]) -> None:
        self.parts = [part(environment) for part in parts]
        self._by_type = {type(part): part for part in self.parts}
        self._environment = environment
        events = environment.events
        events.test_start.add_listener(self._test_start)
        events.report_to_master.add_listener(self._report_to_master)
        events.worker_report.add_listener(self._worker_report)
        events.test_stop.add_listener(self._test_stop)
        events.quit.add_listener(self._quit)
        # the master: the workers of this test, when each was last heard from, which sent their final report and
        # which are lost; a worker: whether its test is stopped (then its reports are final)
        self.workers: set[str] = set()
        self.heard: dict[str, float] = {}
        self.finals: set[str] = set()
        self.lost: list[str] = []
        self.refused: dict[str, str] = {}
        """The master: workers whose reports it cannot merge (another version), and why; they count as lost."""
        self._mark: str | bool | None = None
        """The master: the mark of its latest final-report request; a worker: what its reports carry as final."""
        self._requests = 0
        self._session = uuid.uuid4().hex  # a mark is this master's alone: a worker may have served another before
        self._started = False
        runner = environment.runner
        if isinstance(runner, MasterRunner):
            events.heartbeat_sent.add_listener(self._heartbeat)
        elif isinstance(runner, WorkerRunner):
            runner.register_message(FINAL_REQUEST, self._final_requested)
            events.quitting.add_listener(self._worker_quitting)

    def get(self, part: type[Part]) -> Part:
        return self._by_type[part]  # type: ignore[return-value]

    def _test_start(self, **_: Any) -> None:
        # the master starts a test with the workers connected then (the ones it gives users to); those that join
        # later count from their first report
        runner = self._environment.runner
        connected = runner.clients.all if isinstance(runner, MasterRunner) else []
        self.workers = {client.id for client in connected if client.state != STATE_MISSING}
        self.finals, self.lost = set(), []
        self._mark, self._started = None, True
        for part in self.parts:
            part.test_start()

    def _report_to_master(self, data: dict, **_: Any) -> None:
        data[VERSION_KEY] = __version__
        for part in self.parts:
            if part.key:
                delta = part.take_delta()
                if delta is not None:
                    data[part.key] = delta
        if self._mark is not None:
            data[FINAL_KEY] = self._mark

    def _worker_report(self, client_id: str, data: dict, **_: Any) -> None:
        self._absorb_report(client_id, data)
        # Locust's message loop takes the next message without yielding while any is waiting, so a master behind its
        # workers (a merge thread slower than their reports: 600 simulated workers on a shared core) ran nothing
        # else: its SIGTERM handler ran 217 s after the signal, the workers, never asked for their final reports,
        # kept sending (1.7 GB queued in ZeroMQ), and no heartbeat was checked. Waiting once per report for the
        # loop to be idle lets the signal handler, Locust's heartbeat check and the final-report wait run between
        # reports (`sleep(0)` runs ready greenlets only: the loop polls no signal then, and SIGTERM waited on).
        gevent.idle()

    def _absorb_report(self, client_id: str, data: dict) -> None:
        self.workers.add(client_id)
        self.heard[client_id] = time.monotonic()
        # a worker's reports arrive in order, so its latest one says whether it has answered this test's request (or
        # quit); one from before the request (queued while the master was behind) is not the end of the test
        mark = data.get(FINAL_KEY)
        if mark is True or (mark is not None and mark == self._mark):
            self.finals.add(client_id)
        else:
            self.finals.discard(client_id)
        version = data.get(VERSION_KEY)
        if version != __version__ and any(part.key in data for part in self.parts if part.key):
            self.refuse(client_id, f"it runs pushpop-load {version or 'of another (older) version'}, this master "
                                   f"{__version__}")
        if client_id in self.refused:
            return
        for part in self.parts:
            delta = data.get(part.key) if part.key else None
            if delta is not None:
                part.absorb(delta, client_id)
                if client_id in self.refused:  # a part could not read it: nor is the rest merged
                    return

    def refuse(self, worker: str, reason: str) -> None:
        """The master: leaves every later report of ``worker`` unmerged, and counts it as lost; one error says why."""
        if worker in self.refused:
            return
        self.refused[worker] = reason
        logger.error("the reports of worker %s cannot be merged: %s; pushpop-load's figures leave it out (run the same "
                     "pushpop-load version on the master and every worker)", worker, reason)

    def _test_stop(self, **_: Any) -> None:
        if isinstance(self._environment.runner, MasterRunner):
            self._collect_finals()
        for part in self.parts:
            part.test_stop()

    def _heartbeat(self, client_id: str, **_: Any) -> None:
        # fired on the master for every heartbeat of a worker it knows (and answered)
        self.heard[client_id] = time.monotonic()

    def _collect_finals(self) -> None:
        """The master, when its test stops: asks every worker of the test for its final report and waits for each,
        up to the deadline or until it has been silent for ``LOST_AFTER`` s; those without one are ``lost``."""
        runner = self._environment.runner
        # Locust stops the test from its own message loop when the last worker quits or goes missing: nothing can
        # arrive while that loop waits, and nobody is left to send anything
        if gevent.getcurrent() not in runner.greenlet:
            self._requests += 1
            self._mark = f"{self._session}/{self._requests}"
            for worker in self.workers - self.finals:
                try:
                    runner.send_message(FINAL_REQUEST, self._mark, client_id=worker)
                except RPCError as error:  # the master's socket is broken: the wait below finds who answers
                    logger.warning("could not ask %s for its final report: %s", worker, error)
            started = time.monotonic()
            deadline = started + (self._environment.stop_timeout or 0.0) + FINAL_WAIT
            while True:
                now = time.monotonic()
                pending = {worker for worker in self.workers - self.finals
                           if now - self.heard.get(worker, started) <= LOST_AFTER}
                if not pending or now >= deadline:
                    break
                # the message loop absorbs the reports meanwhile; 50 ms is far below a worker's time to stop
                gevent.sleep(0.05)
            logger.debug("final reports of %d worker(s) in %.2f s", len(self.finals), time.monotonic() - started)
        self.lost = sorted((self.workers - self.finals) | set(self.refused))
        if self.workers - self.finals:
            logger.warning("%d of %d workers sent no final report (lost: %s): the master lacks what they did after "
                           "their last report", len(self.workers - self.finals), len(self.workers),
                           ", ".join(sorted(self.workers - self.finals)))

    def _final_requested(self, msg: Any = None, **_: Any) -> None:
        self._send_final_report(getattr(msg, "data", None) or True)

    def _worker_quitting(self, **_: Any) -> None:
        # a worker that quits by itself (a signal, its master silent) stops its users without a last report of its
        # own: send it before Locust's "quit" message (this listener runs first: quitting fires in reverse order)
        if self._started:
            self._send_final_report(True)

    def _send_final_report(self, mark: str | bool) -> None:
        """A worker: stops its test if it runs (``test_stop`` everywhere), then sends a report, which is final (marked
        ``mark``, as every later one is); the same as Locust's own periodic one, through its events, so that Locust's
        statistics come along."""
        runner = self._environment.runner
        runner.stop()
        self._mark = mark
        data: dict[str, Any] = {}
        self._environment.events.report_to_master.fire(client_id=runner.client_id, data=data)
        try:
            runner.send_message("stats", data)
        except RPCError as error:  # the master is gone: it declares this worker lost, nothing here can help
            logger.warning("could not send the final report to the master: %s", error)

    def _quit(self, **_: Any) -> None:
        # quit fires after the test stopped, when the master has its workers' final reports (_collect_finals)
        if isinstance(self._environment.runner, WorkerRunner):
            return
        for part in self.parts:
            part.finish()
