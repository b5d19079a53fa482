"""What the seed's scenarios S1-S7 share in a run: their knobs, swarm-wide rates, shared queues, prepopulation and
notes (``ScenarioRun``, a part of the environment's swarm).

Knobs are Locust custom arguments (``--pp-…``, each with a ``PUSHPOP_…`` environment fallback, all in ``--pp-help``
and on the web UI's start form); a knob left unset keeps each scenario's own value from the seed.

A scenario's target rate is requests per second across the whole swarm, whatever the user count: every user of a
class takes its next task at a slot of one shared schedule (``pushpop_load.pacer``), and in distributed runs each
worker paces its share (the master passes the worker count in the options it sends with every spawn).

The master (or the single process) names the run and prepopulates the shared queues of the classes that need it
(S2, S5) through the Rust prepopulator before users start: in a headless run as Locust sets up, before it starts
the run and its ``--run-time`` clock (so the users get the whole of it); with the web UI at each test's start. At the end it prints the
scenario notes (e.g. when a prepopulated queue ran empty) and, with ``--csv PREFIX``, writes
``PREFIX_scenario.json``.

A scenario class is data (``pushpop_load.scenario.ScenarioUser``: ``scenario``, ``rate``, ``shared_queues``,
``prepopulate``, ``priorities``, ``pop_depth``, ``item_sizes``, ``queue_prefix``); this module reads those
attributes of the run's user classes and applies the knobs to them.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import logging
import random
import string
import time
from collections import Counter
from typing import Any, Iterator

import gevent

from pushpop_load import _native
from pushpop_load._files import write_atomically
from pushpop_load.integrity import Integrity
from pushpop_load.options import argument_type, bounded
from pushpop_load.pacer import SwarmPacer
from pushpop_load.prepopulation import prepopulate_gevent
from pushpop_load.swarm import SwarmPart

__all__ = ["ScenarioRun"]

logger = logging.getLogger("pushpop_load.scenario")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number (got {text!r})")
    return value


def _schedule(text: str) -> str:
    _native.Schedule(text)
    return text


_KNOBS = [
    # flag, env, type, help
    ("--pp-queues", "PUSHPOP_QUEUES", bounded(_native.parse_count, 1),
     "queue ids shared by the swarm (S1b, S2, S4, S5; default: the scenario's)"),
    ("--pp-prepopulate", "PUSHPOP_PREPOPULATE", argument_type(_native.parse_count),
     "items put in each shared queue before users start (S2, S5b-d; e.g. 10k or 1.5M; default: the scenario's)"),
    ("--pp-priorities", "PUSHPOP_PRIORITIES", argument_type(_native.parse_priorities),
     "priorities pushed and prepopulated, e.g. 0,1,2 or 0-4 (default: the scenario's)"),
    ("--pp-pop-depth", "PUSHPOP_POP_DEPTH", bounded(_native.parse_count, 1, 100),
     "items asked for per pop, 1-100 (default: the scenario's)"),
    ("--pp-rate", "PUSHPOP_RATE", _positive_float,
     "swarm-wide requests/s at the scenario's peak; ramps and shapes are scaled to it (default: the scenario's)"),
    ("--pp-time-scale", "PUSHPOP_TIME_SCALE", _positive_float,
     "speed-up of ramps and shapes: 10 plays a 5-minute shape in 30 s (default: 1)"),
    ("--pp-burst", "PUSHPOP_BURST", argument_type(_schedule, "schedule"),
     "S6 pattern for headless runs: sine, square, spike, or any schedule spec (default: the selected shape's)"),
    ("--pp-queue-prefix", "PUSHPOP_QUEUE_PREFIX", str, "prefix of every queue id (default: load-test)"),
    ("--pp-run-id", "PUSHPOP_RUN_ID", str, "names this run's shared queues (default: random)"),
]


@functools.lru_cache(maxsize=64)
def _parse_schedule(spec: str) -> Any:
    # the pacer asks for the rate at every slot: a spec is parsed once
    return _native.Schedule(spec)


def _run_id() -> str:
    return "".join(random.choices(string.ascii_lowercase + string.digits, k=6))


class ScenarioRun(SwarmPart):
    """This process's view of the current test: when it started, its share of the swarm, the knobs applied to each
    scenario class, the pacers, counts and notes."""

    key = "pushpop_scenario"

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.started = time.monotonic()
        self.started_unix = time.time()
        self.notes: list[dict[str, Any]] = []
        self.counters: dict[str, Counter[str]] = {}
        self.prepopulated: dict[str, dict[str, Any]] = {}
        self.empty_noted: set[str] = set()
        self.pacers: dict[type, SwarmPacer] = {}
        self._numbers: dict[type, Iterator[int]] = {}
        # a burst given on the command line (the shape picked per test decides otherwise)
        self.user_burst: str | None = self.option("pp_burst")
        # (class, queues, the prepopulator's report) of the queues filled for the next test; None: not filled yet
        self._filled: list[tuple[Any, list[str], dict[str, Any]]] | None = None
        if not self.is_worker and (self.option("headless") or self.option("autostart")):
            self._prepare()

    @classmethod
    def add_arguments(cls, parser: Any) -> None:
        # on the parser itself, not a group: only LocustArgumentParser.add_argument knows include_in_web_ui
        for flag, env, kind, text in _KNOBS:
            parser.add_argument(flag, type=kind, env_var=env, default=None, help=text,
                                include_in_web_ui=flag not in ("--pp-run-id", "--pp-queue-prefix"))
        # set by the master at test start and carried to workers in the spawn message, never by hand
        parser.add_argument("--pp-workers", type=int, default=None, help=argparse.SUPPRESS, include_in_web_ui=False)
        parser.add_argument("--pp-prepopulated-producers", default=None, help=argparse.SUPPRESS,
                            include_in_web_ui=False)

    # the knobs, and the scenario classes' settings with them applied

    def knob(self, name: str, default: Any) -> Any:
        """The knob ``--pp-<name>`` when given, else ``default``."""
        return self.option(f"pp_{name.replace('-', '_')}", default)

    @property
    def time_scale(self) -> float:
        return self.option("pp_time_scale", 1.0)

    @property
    def share(self) -> float:
        """The fraction of each swarm-wide rate this process sends."""
        return 1.0 / max(1, self.option("pp_workers", 1)) if self.is_worker else 1.0

    def elapsed(self) -> float:
        """Scenario seconds since the test started (time scale applied)."""
        return (time.monotonic() - self.started) * self.time_scale

    def schedule_of(self, cls: Any) -> Any:
        """The class's swarm-wide rate as a ``Schedule`` (its ``rate_knob``'s when that knob is set), scaled to
        ``--pp-rate``; None when the class is not paced."""
        spec = (self.knob(cls.rate_knob, None) if cls.rate_knob else None) or cls.rate
        schedule = _parse_schedule(spec) if spec else None
        override = self.option("pp_rate")
        return schedule.scaled_to(override) if schedule is not None and override else schedule

    def current_rate(self, cls: Any) -> float:
        schedule = self.schedule_of(cls)
        return schedule.rate_at(self.elapsed()) if schedule is not None else 0.0

    def queue_count(self, cls: Any) -> int | None:
        return None if cls.shared_queues is None else self.knob("queues", cls.shared_queues)

    def prepopulate_items(self, cls: Any) -> int:
        return self.knob("prepopulate", cls.prepopulate) if cls.prepopulate else 0

    def priorities(self, cls: Any) -> tuple[int, ...]:
        return tuple(self.knob("priorities", cls.priorities))

    def depth(self, cls: Any) -> int:
        return self.knob("pop_depth", cls.pop_depth)

    def queue_ids(self, cls: Any) -> list[str]:
        """This run's shared queue ids for the class (the same in every process of a distributed run)."""
        count = self.queue_count(cls) or 0
        prefix = self.knob("queue_prefix", cls.queue_prefix)
        return [f"{prefix}-{self.option('pp_run_id')}-{cls.scenario.lower()}-{k}" for k in range(count)]

    def pacer(self, cls: Any) -> SwarmPacer:
        """The class's slots in this process: its swarm-wide rate times this process's share."""
        if cls not in self.pacers:
            self.pacers[cls] = SwarmPacer(
                lambda: self.current_rate(cls) * self.share,
                lambda: self.note(cls.scenario, f"the swarm fell behind {self.current_rate(cls):.0f} RPS: add users "
                                  "(-u) or expect a slower service; Locust's closed model under-counts the slow "
                                  "period"))
        return self.pacers[cls]

    def fixed_pacer(self, cls: Any, rate: float) -> SwarmPacer:
        """The slots of a class paced by ``swarm_throughput(rate)``: ``rate`` times this process's share."""
        if cls not in self.pacers:
            self.pacers[cls] = SwarmPacer(
                lambda: rate * self.share,
                lambda: logger.warning("%s: every user was busy for a second's worth of slots, so the swarm fell "
                                        "behind %g tasks/s: add users (-u) or expect a slower service", cls.__name__,
                                        rate))
        return self.pacers[cls]

    def shared_queue(self, cls: Any) -> str | None:
        """A new user's queue among the class's shared ones; None when its users have a queue each."""
        shared = self.queue_ids(cls)
        if not shared:
            return None
        index = next(self._numbers.setdefault(cls, itertools.count()))
        runner = self.environment.runner
        if self.is_worker:
            # spread the users of all workers over the queues rather than crowd the first ones
            index = index * max(1, self.option("pp_workers", 1)) + max(0, runner.worker_index)
        return shared[index % len(shared)]

    # what users report

    def count(self, scenario: str, key: str, n: int = 1) -> None:
        self.counters.setdefault(scenario, Counter())[key] += n

    def note(self, scenario: str, text: str, **fields: Any) -> None:
        logger.warning("%s: %s", scenario, text)
        self.notes.append({"scenario": scenario, "text": text, "unix_time": round(time.time(), 3), **fields})

    def popped(self, scenario: str, queue: str, depth: int, items: int) -> None:
        """Counts a pop, and notes (once per queue) a prepopulated queue that ran empty."""
        self.count(scenario, "pops")
        self.count(scenario, "popped", items)
        if not items:
            self.count(scenario, "empty_pops")
        if items < depth and queue in self.prepopulated and queue not in self.empty_noted:
            self.empty_noted.add(queue)
            after = time.monotonic() - self.started
            self.note(scenario, f"queue {queue} ran empty after {after:.1f} s", queue=queue, after_s=round(after, 3),
                      kind="ran_empty")

    # the swarm's lifecycle

    def _classes(self) -> list[Any]:
        """The run's scenario classes (those with a seed id)."""
        return [cls for cls in self.environment.user_classes or [] if getattr(cls, "scenario", "")]

    def test_start(self) -> None:
        self.started, self.started_unix = time.monotonic(), time.time()
        self.counters.clear()
        self.empty_noted.clear()
        for pacer in self.pacers.values():
            pacer.reset()
        self._numbers.clear()
        integrity = Integrity.of(self.environment)
        if self.is_worker:
            self.notes.clear()
            # the master's options, copied into the spawn message, already name the run; the producers it
            # prepopulated with pushed concurrently, so the items this worker pops from them promise no order
            for producer in filter(None, (self.option("pp_prepopulated_producers") or "").split(",")):
                integrity.ledger.exempt_from_order(int(producer))
            return
        options = self.environment.parsed_options
        if options is not None:
            # set before the spawn messages go out, so every worker gets them with Locust's other custom arguments
            options.pp_workers = self.environment.runner.worker_count if self.is_master else 1
            # a burst given on the command line wins; else the shape picked for this test (web UI: per test) decides
            options.pp_burst = self.user_burst or getattr(self.environment.shape_class, "pattern", None)
        if self._filled is None:  # not filled as Locust set up (the web UI starts one test after another)
            self.notes.clear()
            self._prepare()
        filled, self._filled = self._filled or [], None
        for cls, queues, summary in filled:
            self.prepopulated.update({queue: {"scenario": cls.scenario, "items": summary["per_queue"].get(queue, 0)}
                                      for queue in queues})
            if integrity.enabled:
                # the prepopulated items are acknowledged pushes of one more producer: each is expected to be popped
                # exactly once (a retried push may legitimately be there twice)
                for queue in queues:
                    integrity.ledger.acked_range(queue, summary["producer"], 0, summary["per_queue"].get(queue, 0))
                    for seq in summary.get("uncertain", {}).get(queue, []):
                        integrity.ledger.retried(queue, summary["producer"], seq)

    def _prepare(self) -> None:
        """Names the run and fills the shared queues of the run's classes, for the next test."""
        options = self.environment.parsed_options
        if options is not None:
            options.pp_run_id = options.pp_run_id or _run_id()
        self.prepopulated.clear()
        self._filled = []
        for cls in self._classes():
            if self.prepopulate_items(cls):
                self._prepopulate(cls)
        if options is not None:
            options.pp_prepopulated_producers = ",".join(str(summary["producer"]) for _, _, summary in self._filled)

    def _prepopulate(self, cls: Any) -> None:
        """Fills the class's shared queues (noted in ``_filled``); a failure ends the test with its message."""
        queues, items = self.queue_ids(cls), self.prepopulate_items(cls)
        logger.info("%s: prepopulating %d queue(s) with %d items each", cls.scenario, len(queues), items)
        try:
            # in gevent's thread pool, so the hub (web UI, heartbeats to workers) keeps running while Rust fills
            report = prepopulate_gevent(self.environment.host, queues, items, priorities=list(self.priorities(cls)),
                                        size=cls.item_sizes[0])
        except Exception as error:  # noqa: BLE001 - any failure ends the test with its message
            self.note(cls.scenario, f"prepopulation failed: {error}", kind="prepopulate_failed")
            self.environment.process_exit_code = 1
            gevent.spawn_later(0, self.environment.runner.quit)
            return
        summary = report.to_dict()
        self._filled.append((cls, queues, summary))  # type: ignore[union-attr]
        self.notes.append({"scenario": cls.scenario, "kind": "prepopulated", "unix_time": round(time.time(), 3),
                           "text": f"prepopulated {len(queues)} queue(s) with {items} items each in "
                                   f"{summary['elapsed']:.2f} s ({summary['rate']:.0f} items/s)", "report": summary})
        logger.info("%s: %s", cls.scenario, self.notes[-1]["text"])

    def take_delta(self) -> dict[str, Any]:
        delta = {"counters": {k: dict(v) for k, v in self.counters.items()}, "notes": self.notes[:]}
        self.counters.clear()
        self.notes.clear()
        return delta

    def absorb(self, delta: dict[str, Any], worker: str) -> None:
        for scenario, counts in delta["counters"].items():
            self.counters.setdefault(scenario, Counter()).update(counts)
        for note in delta["notes"]:
            if note.get("kind") == "ran_empty":
                if note["queue"] in self.empty_noted:
                    continue
                self.empty_noted.add(note["queue"])
            self.notes.append({**note, "worker": worker})
            logger.warning("%s (worker %s): %s", note["scenario"], worker, note["text"])

    def finish(self) -> None:
        classes = self._classes()
        if not classes:
            return
        document = {
            "format": "pushpop-load-scenario",
            "version": 1,
            "run_id": self.option("pp_run_id"),
            "started_unix": round(self.started_unix, 3),
            "time_scale": self.time_scale,
            "classes": {
                cls.__name__: {
                    "scenario": cls.scenario,
                    "rate": str(self.schedule_of(cls)) if cls.rate is not None else None,
                    "queues": self.queue_ids(cls) or "per-user",
                    "prepopulate": self.prepopulate_items(cls),
                    "priorities": list(self.priorities(cls)),
                    "pop_depth": self.depth(cls),
                    "counts": dict(self.counters.get(cls.scenario, {})),
                }
                for cls in classes
            },
            "notes": self.notes,
        }
        for note in self.notes:
            if note.get("kind") == "prepopulated":
                print(f"{note['scenario']}: {note['text']}", flush=True)
        prefix = self.csv_prefix
        if prefix:
            write_atomically(f"{prefix}_scenario.json", lambda out: json.dump(document, out, indent=1))
