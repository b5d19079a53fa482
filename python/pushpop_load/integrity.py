"""The queue integrity checker in a Locust run: what S7 calls "no data loss", measured.

Every item ``PushPopUser`` pushes carries a marker (``"_pp": [producer, seq, priority, push_us]``); the ledger in Rust
records each push as acknowledged, rejected or indeterminate (a timeout, a reset or a 5xx: the item may or may not be
stored) and checks every pop answer for duplicates, items never pushed, order violations and priority inversions, and
times how long each item waited in its queue. Workers send their ledger's changes to the master with each report (one
compact binary delta, ``src/integrity/wire.rs``, merged on the master's merge thread); when Locust quits, the master (or
the single process) drains what is left in the run's queues (``--pp-drain off`` skips it: remaining items are then
"unpopped", not "lost"), prints the verdict and, with ``--csv PREFIX``, writes ``PREFIX_integrity.json`` (format:
docs/INTEGRITY.md).
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

from pushpop_load import _native
from pushpop_load._files import write_atomically
from pushpop_load.client import Client
from pushpop_load.options import argument_type
from pushpop_load.swarm import SwarmPart

__all__ = ["Integrity", "drain"]

logger = logging.getLogger("pushpop_load.integrity")

_DRAIN_DEPTH = 100
_DRAIN_SECONDS = 120.0


class Integrity(SwarmPart):
    """The environment's ledger (the master's holds the whole swarm's at the end) and whether it is on."""

    key = "pushpop_integrity"

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.ledger = _native.IntegrityLedger()
        self.enabled: bool = self.option("pp_integrity", True)
        """Whether pushes are marked and pops checked (``--pp-integrity``); read once per test, not per request."""

    @classmethod
    def add_arguments(cls, parser: Any) -> None:
        switch = argument_type(_native.parse_switch)
        parser.add_argument("--pp-integrity", type=switch, env_var="PUSHPOP_INTEGRITY", default=True,
                            metavar="on|off", help="mark pushed items and check every pop for lost, duplicated and "
                                                   "reordered items (default: on)")
        parser.add_argument("--pp-drain", type=switch, env_var="PUSHPOP_DRAIN", default=True, metavar="on|off",
                            help="at the end, pop what is left in the run's queues so that lost items are known "
                                 "(default: on)")

    def test_start(self) -> None:
        # a worker has its master's options only from the first spawn message on, just before this
        self.enabled = self.option("pp_integrity", True)
        self.ledger.clear()

    def take_delta(self) -> bytes:
        return self.ledger.take_delta()

    def absorb(self, delta: bytes, worker: str) -> None:
        # queued for the merge thread (the hub answers heartbeats meanwhile); another format is refused at once
        try:
            self.ledger.absorb(delta)
        except (TypeError, ValueError) as error:
            self.environment.pushpop.refuse(worker, f"its integrity ledger cannot be read here ({error})")

    def finish(self) -> None:
        if not self.enabled:
            return
        queues = self.ledger.queues()
        if not queues:
            return
        drained = False
        host = self.environment.host
        if self.option("pp_drain", True) and host:
            started = time.monotonic()
            popped, drained = drain(self.ledger, host, queues)
            logger.info("drained %d item(s) from %d queue(s) in %.1f s", popped, len(queues),
                        time.monotonic() - started)
        report = self.ledger.report(drained)
        text = self.ledger.summary_text(drained)
        if self.is_master:
            swarm = self.environment.pushpop
            report["workers"] = {"reporting": len(swarm.workers), "lost": swarm.lost}
            if swarm.lost:
                text = _without_verdict(report, text, len(swarm.lost), len(swarm.workers))
        print(text, flush=True)
        prefix = self.csv_prefix
        if prefix:
            write_atomically(f"{prefix}_integrity.json", lambda out: json.dump(report, out, indent=1))


# what a lost worker's missing last report cannot cause: each is checked where it happens or from what was reported
_PROVEN = ("duplicated", "out_of_order", "priority_inversions", "popped_rejected")


def _without_verdict(report: dict[str, Any], text: str, lost: int, workers: int) -> str:
    """The report and its text when workers were lost (docs/INTEGRITY.md, "Lost workers"): what they pushed after
    their last report is unknown to the master (the drain finds it foreign) and what they popped is unseen (those
    items look lost), so ``lost`` is unknown (null; ``unpopped`` keeps the count) and ``ok`` is null unless a
    violation that no missing report explains was found."""
    report["lost"] = None
    report["ok"] = False if any(report[field] for field in _PROVEN) else None
    verdict = "VIOLATIONS FOUND" if report["ok"] is False else "NO VERDICT"
    text = re.sub(r"^Queue integrity: (OK|VIOLATIONS FOUND)", f"Queue integrity: {verdict}", text, count=1)
    text = re.sub(r"\n  lost: (\d+)", rf"\n  unpopped: \1 (lost unknown: {lost} of {workers} workers lost)", text,
                  count=1)
    return text.replace("\n  e.g. lost:", "\n  e.g. unpopped:", 1)


def drain(ledger: Any, host: str, queues: list[str], seconds: float = _DRAIN_SECONDS) -> tuple[int, bool]:
    """Pops every queue in ``queues`` until it answers empty, checking each answer against ``ledger``; (items
    popped, finished)."""
    client = Client(host, timeout=10.0, insecure=True)
    deadline = time.monotonic() + seconds
    popped = 0
    for queue in queues:
        while time.monotonic() < deadline:
            start_us = int(time.time() * 1e6)
            # Waits without letting other greenlets run: Locust's --json-file has just emptied its per-name table
            # (serialize_stats clears each entry) while its CSV writer still runs, and a drain that yielded let it
            # rewrite _stats.csv with zeros. Not recorded: the drain is the checker's bookkeeping, not load.
            response = client.request("POST", f"/queue/{queue}/pop", params={"depth": _DRAIN_DEPTH}, record=False,
                                      cooperative=False)
            if response.status_code != 200:
                logger.warning("drain of %s stopped: %s", queue, response.error or f"status {response.status_code}")
                return popped, False
            end_us = start_us + int((response.queued_ms + response.elapsed_ms) * 1000)
            count = ledger.check_pop(queue, response.content, start_us, end_us)
            popped += count
            if count == 0:
                break
        else:
            logger.warning("drain stopped after %.0f s; the rest counts as unpopped", seconds)
            return popped, False
    return popped, True
