"""What the seed's scenarios S1-S7 share: their knobs, swarm-wide rates, shared queues, prepopulation and notes.

Knobs are Locust custom arguments (``--pp-…``, each with a ``PUSHPOP_…`` environment fallback, all in ``locust
--help`` and on the web UI's start form); a knob left unset keeps each scenario's own value from the seed.

A scenario's target rate is requests per second across the whole swarm, whatever the user count: every user of a
class takes its next task at a slot of one shared schedule (``SwarmPacer``), and in distributed runs each worker
paces its share (the master passes the worker count in the options it sends with every spawn). This is still
Locust's closed model: when every user is waiting on a slow service the swarm falls behind its rate, and the
pacer says so once rather than bursting to catch up.

At test start the master (or the single process) names the run, prepopulates the shared queues of the classes
that need it (S2, S5) through the Rust prepopulator, and only then lets users start. At the end it prints the
scenario notes (e.g. when a prepopulated queue ran empty) and, with ``--csv PREFIX``, writes
``PREFIX_scenario.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import random
import string
import time
from collections import Counter
from typing import Any, ClassVar

import gevent
from gevent.lock import Semaphore
from locust import events, task
from locust.runners import MasterRunner, WorkerRunner

from pushpop_load import integrity
from pushpop_load._files import write_atomically
from pushpop_load.payloads import make_queue_id
from pushpop_load.rates import Rate, parse_pattern
from pushpop_load.users import PushPopUser

__all__ = ["BalancedUser", "ScenarioUser", "SwarmPacer", "knob"]

logger = logging.getLogger("pushpop_load.scenario")

_REPORT_KEY = "pushpop_scenario"
_MAX_LAG_S = 1.0


def _positive_int(text: str) -> int:
    value = _count(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {text!r})")
    return value


def _count(text: str) -> int:
    """``10000``, ``10k``, ``100K``, ``1M``."""
    multiplier = {"k": 1_000, "m": 1_000_000}.get(text[-1:].lower(), 1) if text else 1
    digits = text[:-1] if multiplier > 1 else text
    try:
        value = int(digits) * multiplier
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a count: {text!r} (e.g. 500, 10k, 1M)") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative (got {text!r})")
    return value


def _depth(text: str) -> int:
    value = _positive_int(text)
    if value > 100:
        raise argparse.ArgumentTypeError(f"the service pops at most 100 items at once (got {text!r})")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number (got {text!r})")
    return value


def parse_priorities(text: str) -> tuple[int, ...]:
    """``0,1,2`` or ``0-4`` (or a mix: ``0,3-5``)."""
    priorities: list[int] = []
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            low, _, high = part.partition("-")
            priorities.extend(range(int(low), int(high or low) + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a priority list: {text!r} (e.g. 0,1,2 or 0-4)") from None
    if not priorities or min(priorities) < 0:
        raise argparse.ArgumentTypeError(f"priorities are integers >= 0 (got {text!r})")
    return tuple(sorted(set(priorities)))


def _pattern(text: str) -> str:
    try:
        parse_pattern(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


_KNOBS = [
    # flag, env, type, help
    ("--pp-queues", "PUSHPOP_QUEUES", _positive_int,
     "queue ids shared by the swarm (S1b, S2, S4, S5; default: the scenario's)"),
    ("--pp-prepopulate", "PUSHPOP_PREPOPULATE", _count,
     "items put in each shared queue before users start (S2, S5b-d; e.g. 10k; default: the scenario's)"),
    ("--pp-priorities", "PUSHPOP_PRIORITIES", parse_priorities,
     "priorities pushed and prepopulated, e.g. 0,1,2 or 0-4 (default: the scenario's)"),
    ("--pp-pop-depth", "PUSHPOP_POP_DEPTH", _depth, "items asked for per pop, 1-100 (default: the scenario's)"),
    ("--pp-rate", "PUSHPOP_RATE", _positive_float,
     "swarm-wide requests/s at the scenario's peak; ramps and shapes are scaled to it (default: the scenario's)"),
    ("--pp-time-scale", "PUSHPOP_TIME_SCALE", _positive_float,
     "speed-up of ramps and shapes: 10 plays a 5-minute shape in 30 s (default: 1)"),
    ("--pp-burst", "PUSHPOP_BURST", _pattern,
     "S6 pattern for headless runs: sine, square or spike (default: the selected shape's)"),
    ("--pp-queue-prefix", "PUSHPOP_QUEUE_PREFIX", str, "prefix of every queue id (default: load-test)"),
    ("--pp-run-id", "PUSHPOP_RUN_ID", str, "names this run's shared queues (default: random)"),
]


@events.init_command_line_parser.add_listener
def _add_knobs(parser: Any) -> None:
    # on the parser itself, not a group: only LocustArgumentParser.add_argument knows include_in_web_ui
    for flag, env, kind, text in _KNOBS:
        parser.add_argument(flag, type=kind, env_var=env, default=None, help=text,
                           include_in_web_ui=flag not in ("--pp-run-id", "--pp-queue-prefix"))
    # set by the master at test start and carried to workers in the spawn message, never by hand
    parser.add_argument("--pp-workers", type=int, default=None, help=argparse.SUPPRESS, include_in_web_ui=False)
    parser.add_argument("--pp-prepopulated-producers", default=None, help=argparse.SUPPRESS, include_in_web_ui=False)


class _Run:
    """This process's view of the current test: when it started, its share of the swarm, the knobs."""

    def __init__(self) -> None:
        self.environment: Any = None
        self.started = time.monotonic()
        self.started_unix = time.time()
        self.notes: list[dict[str, Any]] = []
        self.counters: dict[str, Counter[str]] = {}
        self.prepopulated: dict[str, dict[str, Any]] = {}
        self.empty_noted: set[str] = set()
        self.user_burst: str | None = None

    def option(self, name: str) -> Any:
        options = self.environment.parsed_options if self.environment is not None else None
        return getattr(options, name, None) if options is not None else None

    @property
    def time_scale(self) -> float:
        return self.option("pp_time_scale") or 1.0

    @property
    def share(self) -> float:
        """The fraction of each swarm-wide rate this process sends."""
        runner = self.environment.runner if self.environment is not None else None
        if isinstance(runner, WorkerRunner):
            return 1.0 / max(1, self.option("pp_workers") or 1)
        return 1.0

    def elapsed(self) -> float:
        """Scenario seconds since the test started (time scale applied)."""
        return (time.monotonic() - self.started) * self.time_scale

    def count(self, scenario: str, key: str, n: int = 1) -> None:
        self.counters.setdefault(scenario, Counter())[key] += n

    def note(self, scenario: str, text: str, **fields: Any) -> None:
        logger.warning("%s: %s", scenario, text)
        self.notes.append({"scenario": scenario, "text": text, "unix_time": round(time.time(), 3), **fields})


RUN = _Run()


def knob(name: str, default: Any) -> Any:
    """The knob ``--pp-<name>`` when given, else ``default``."""
    value = RUN.option(f"pp_{name.replace('-', '_')}")
    return default if value is None else value


class SwarmPacer:
    """The task slots of every user of a class in this process: the class's swarm-wide rate times this process's
    share. One greenlet hands out slots as they fall due, to whichever users are waiting (first come, first
    served); a user waits for a slot before each task. Slots are never booked ahead, so a rate that changes (a
    ramp, a shape) takes effect at once, and a slot that finds every user busy is dropped rather than saved up
    for a burst."""

    def __init__(self, owner: type["ScenarioUser"]) -> None:
        self.owner = owner
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
        if self.greenlet is None:
            self.greenlet = gevent.spawn(self._hand_out)
        self.slots.acquire()

    def _hand_out(self) -> None:
        due = time.monotonic()
        while True:
            rate = self.owner.current_rate() * RUN.share
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
            RUN.note(self.owner.scenario, f"the swarm fell behind {self.owner.current_rate():.0f} RPS: add users "
                     "(-u) or expect a slower service; Locust's closed model under-counts the slow period")


def _swarm_wait(user: "ScenarioUser") -> float:
    type(user).pacer().acquire()
    return 0.0


class ScenarioUser(PushPopUser):
    """A scenario's user: paced to the scenario's swarm-wide rate, on its own queue or on queues shared by the
    swarm, with the scenario's priorities, payload sizes and pop depth (each overridable by a knob)."""

    abstract = True

    scenario: ClassVar[str] = ""
    """The seed's id, e.g. ``S2b``; names shared queues and notes."""

    rate: ClassVar[Rate | None] = None
    """Swarm-wide requests/s over scenario time; None leaves ``wait_time`` as the class sets it."""

    shared_queues: ClassVar[int | None] = None
    """None: every user has its own queue; N: the swarm shares N queue ids, user i on queue i mod N."""

    prepopulate: ClassVar[int] = 0
    """Items put in each shared queue at test start, before users start."""

    priorities: ClassVar[tuple[int, ...]] = (0,)
    pop_depth: ClassVar[int] = 1
    item_sizes: ClassVar[tuple[str, ...]] = ("small",)

    _pacers: ClassVar[dict[type, SwarmPacer]] = {}
    _numbers: ClassVar[dict[type, Any]] = {}

    wait_time = _swarm_wait

    @classmethod
    def pacer(cls) -> SwarmPacer:
        if cls not in ScenarioUser._pacers:
            ScenarioUser._pacers[cls] = SwarmPacer(cls)
        return ScenarioUser._pacers[cls]

    @classmethod
    def current_rate(cls) -> float:
        rate = cls.effective_rate()
        return rate.at(RUN.elapsed()) if rate is not None else 0.0

    @classmethod
    def effective_rate(cls) -> Rate | None:
        override = RUN.option("pp_rate")
        return cls.rate.scaled_to(override) if cls.rate is not None and override else cls.rate

    @classmethod
    def queue_count(cls) -> int | None:
        return None if cls.shared_queues is None else knob("queues", cls.shared_queues)

    @classmethod
    def prepopulate_items(cls) -> int:
        return knob("prepopulate", cls.prepopulate) if cls.prepopulate else 0

    @classmethod
    def scenario_priorities(cls) -> tuple[int, ...]:
        return knob("priorities", cls.priorities)

    @classmethod
    def depth(cls) -> int:
        return knob("pop_depth", cls.pop_depth)

    @classmethod
    def queue_ids(cls) -> list[str]:
        """This run's shared queue ids for the class (the same in every process of a distributed run)."""
        count = cls.queue_count() or 0
        prefix = knob("queue_prefix", cls.queue_prefix)
        return [f"{prefix}-{RUN.option('pp_run_id')}-{cls.scenario.lower()}-{k}" for k in range(count)]

    def on_start(self) -> None:
        if type(self).rate is not None:
            type(self).pacer().acquire()  # the first task waits for its slot too, or every user starts at once
        shared = type(self).queue_ids()
        if not shared:
            prefix = RUN.option("pp_queue_prefix")
            if prefix:
                self.queue_id = make_queue_id(prefix)
        else:
            numbers = ScenarioUser._numbers.setdefault(type(self), itertools.count())
            runner = self.environment.runner
            index = next(numbers)
            if isinstance(runner, WorkerRunner):
                # spread the users of all workers over the queues rather than crowd the first ones
                index = index * max(1, RUN.option("pp_workers") or 1) + max(0, runner.worker_index)
            self.queue_id = shared[index % len(shared)]

    def pick_priority(self) -> int:
        return random.choice(type(self).scenario_priorities())

    def next_size(self) -> str:
        sizes = type(self).item_sizes
        return sizes[0] if len(sizes) == 1 else random.choice(sizes)

    def push(self, priority: int | None = None, name: str | None = None) -> bool:
        stored = self.push_item(priority=self.pick_priority() if priority is None else priority, name=name,
                                size=self.next_size())
        if stored:
            RUN.count(self.scenario, "pushed")
        return stored

    def pop(self, depth: int | None = None, name: str | None = None) -> list[Any] | None:
        depth = type(self).depth() if depth is None else depth
        items = self.pop_items(depth=depth, name=name)
        if items is None:
            return None
        RUN.count(self.scenario, "pops")
        RUN.count(self.scenario, "popped", len(items))
        if not items:
            RUN.count(self.scenario, "empty_pops")
        if len(items) < depth and self.queue_id in RUN.prepopulated and self.queue_id not in RUN.empty_noted:
            RUN.empty_noted.add(self.queue_id)
            RUN.note(self.scenario, f"queue {self.queue_id} ran empty after {time.monotonic() - RUN.started:.1f} s",
                     queue=self.queue_id, after_s=round(time.monotonic() - RUN.started, 3), kind="ran_empty")
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


def _run_id() -> str:
    return "".join(random.choices(string.ascii_lowercase + string.digits, k=6))


def _selected_classes(environment: Any) -> list[type[ScenarioUser]]:
    return [cls for cls in environment.user_classes or [] if issubclass(cls, ScenarioUser)]


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    RUN.environment = environment
    RUN.user_burst = RUN.option("pp_burst")


@events.test_start.add_listener
def _on_test_start(environment: Any, **_: Any) -> None:
    RUN.environment = environment
    RUN.started, RUN.started_unix = time.monotonic(), time.time()
    RUN.notes.clear()
    RUN.counters.clear()
    RUN.empty_noted.clear()
    for pacer in ScenarioUser._pacers.values():
        pacer.reset()
    ScenarioUser._numbers.clear()
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        # the master's options, copied into the spawn message, already name the run; the producers it
        # prepopulated with pushed concurrently, so the items this worker pops from them promise no order
        for producer in filter(None, (RUN.option("pp_prepopulated_producers") or "").split(",")):
            integrity.ledger.exempt_from_order(int(producer))
        return
    options = environment.parsed_options
    if options is not None:
        # set before the spawn messages go out, so every worker gets them with Locust's other custom arguments
        options.pp_run_id = options.pp_run_id or _run_id()
        options.pp_workers = runner.worker_count if isinstance(runner, MasterRunner) else 1
        # a burst given on the command line wins; else the shape picked for this test (web UI: per test) decides
        options.pp_burst = RUN.user_burst or getattr(environment.shape_class, "pattern", None)
    RUN.prepopulated.clear()
    producers = [_prepopulate(environment, cls) for cls in _selected_classes(environment) if cls.prepopulate_items()]
    if options is not None:
        options.pp_prepopulated_producers = ",".join(str(p) for p in producers if p is not None)


def _prepopulate(environment: Any, cls: type[ScenarioUser]) -> int | None:
    """Fills the class's shared queues; the producer id of the items, or None when it failed."""
    from pushpop_load.prepopulation import prepopulate_gevent

    queues, items = cls.queue_ids(), cls.prepopulate_items()
    size = cls.item_sizes[0]
    logger.info("%s: prepopulating %d queue(s) with %d items each", cls.scenario, len(queues), items)
    try:
        # in gevent's thread pool, so the hub (web UI, heartbeats to workers) keeps running while Rust fills
        report = prepopulate_gevent(environment.host, queues, items, priorities=list(cls.scenario_priorities()),
                                    size=size)
    except Exception as error:  # noqa: BLE001 - any failure ends the test with its message
        RUN.note(cls.scenario, f"prepopulation failed: {error}", kind="prepopulate_failed")
        environment.process_exit_code = 1
        gevent.spawn_later(0, environment.runner.quit)
        return None
    summary = json.loads(report.to_json())
    for queue in queues:
        RUN.prepopulated[queue] = {"scenario": cls.scenario, "items": summary["per_queue"].get(queue, 0)}
    RUN.notes.append({"scenario": cls.scenario, "kind": "prepopulated", "unix_time": round(time.time(), 3),
                      "text": f"prepopulated {len(queues)} queue(s) with {items} items each in "
                              f"{summary['elapsed']:.2f} s ({summary['rate']:.0f} items/s)", "report": summary})
    logger.info("%s: %s", cls.scenario, RUN.notes[-1]["text"])
    _on_prepopulated(cls, queues, summary)
    return int(summary["producer"])


def _on_prepopulated(cls: type[ScenarioUser], queues: list[str], summary: dict[str, Any]) -> None:
    """The prepopulated items are acknowledged pushes of one more producer: the integrity checker expects each of
    them to be popped exactly once (a retried push may legitimately be there twice)."""
    if not integrity.enabled():
        return
    for queue in queues:
        integrity.ledger.acked_range(queue, summary["producer"], 0, summary["per_queue"].get(queue, 0))
        for seq in summary.get("uncertain", {}).get(queue, []):
            integrity.ledger.retried(queue, summary["producer"], seq)


@events.report_to_master.add_listener
def _on_report_to_master(client_id: str, data: dict, **_: Any) -> None:
    data[_REPORT_KEY] = {"counters": {k: dict(v) for k, v in RUN.counters.items()}, "notes": RUN.notes[:]}
    RUN.counters.clear()
    RUN.notes.clear()


@events.worker_report.add_listener
def _on_worker_report(client_id: str, data: dict, **_: Any) -> None:
    report = data.get(_REPORT_KEY)
    if not report:
        return
    for scenario, counts in report["counters"].items():
        RUN.counters.setdefault(scenario, Counter()).update(counts)
    for note in report["notes"]:
        if note.get("kind") == "ran_empty":
            if note["queue"] in RUN.empty_noted:
                continue
            RUN.empty_noted.add(note["queue"])
        RUN.notes.append({**note, "worker": client_id})
        logger.warning("%s (worker %s): %s", note["scenario"], client_id, note["text"])


@events.quit.add_listener
def _on_quit(**_: Any) -> None:
    environment = RUN.environment
    if environment is None or isinstance(environment.runner, WorkerRunner):
        return
    classes = _selected_classes(environment)
    if not classes:
        return
    document = {
        "format": "pushpop-load-scenario",
        "version": 1,
        "run_id": RUN.option("pp_run_id"),
        "started_unix": round(RUN.started_unix, 3),
        "time_scale": RUN.time_scale,
        "classes": {
            cls.__name__: {
                "scenario": cls.scenario,
                "rate": str(cls.effective_rate()) if cls.rate is not None else None,
                "queues": cls.queue_ids() or "per-user",
                "prepopulate": cls.prepopulate_items(),
                "priorities": list(cls.scenario_priorities()),
                "pop_depth": cls.depth(),
                "counts": dict(RUN.counters.get(cls.scenario, {})),
            }
            for cls in classes
        },
        "notes": RUN.notes,
    }
    for note in RUN.notes:
        if note.get("kind") != "prepopulated":
            continue
        print(f"{note['scenario']}: {note['text']}", flush=True)
    prefix = RUN.option("csv_prefix")
    if prefix:
        path = f"{prefix}_scenario.json"
        write_atomically(path, lambda out: json.dump(document, out, indent=1))

