"""State that a Locust swarm keeps together: every process records into its own copy, each worker sends what is new
with every report, the master absorbs it, and at the end the master (or the single process) writes the whole.

Locust keeps its own statistics this way: on the environment (``environment.stats``), wired to the environment's
events by one explicit call. pushpop-load's exact statistics, integrity ledger, open-model counts, scenario notes and
resource monitor are each a ``SwarmPart``; ``Swarm(environment, parts)`` makes one of each for the environment, in
the order given, and wires them to its events once. That order is the order in which they start, report and finish
(``pushpop_load.plugin`` names it). Two environments in one process have two swarms and share nothing.
"""

from __future__ import annotations

from typing import Any, ClassVar, Sequence, TypeVar

from locust.runners import MasterRunner, WorkerRunner

__all__ = ["Swarm", "SwarmPart"]

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

    def get(self, part: type[Part]) -> Part:
        return self._by_type[part]  # type: ignore[return-value]

    def _test_start(self, **_: Any) -> None:
        for part in self.parts:
            part.test_start()

    def _report_to_master(self, data: dict, **_: Any) -> None:
        for part in self.parts:
            if part.key:
                delta = part.take_delta()
                if delta is not None:
                    data[part.key] = delta

    def _worker_report(self, client_id: str, data: dict, **_: Any) -> None:
        for part in self.parts:
            delta = data.get(part.key) if part.key else None
            if delta is not None:
                part.absorb(delta, client_id)

    def _test_stop(self, **_: Any) -> None:
        for part in self.parts:
            part.test_stop()

    def _quit(self, **_: Any) -> None:
        # quit fires after the master has collected its workers' last reports
        if isinstance(self._environment.runner, WorkerRunner):
            return
        for part in self.parts:
            part.finish()
