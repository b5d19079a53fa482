"""The queue integrity checker in a Locust run: what S7 calls "no data loss", measured.

Every item ``PushPopUser`` pushes carries a marker (``"_pp": [producer, seq, priority, push_us]``); the ledger in
Rust records each push as acknowledged, rejected or indeterminate (a timeout, a reset or a 5xx: the item may or may
not be stored) and checks every pop answer for duplicates, items never pushed, order violations and priority
inversions, and times how long each item waited in its queue. Workers send their ledger changes to the master
with each report; when Locust quits, the master (or the single process) drains what is left in the run's queues
(``--pp-drain off`` skips it: remaining items are then "unpopped", not "lost"), prints the verdict and, with
``--csv PREFIX``, writes ``PREFIX_integrity.json`` (format: docs/INTEGRITY.md).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from locust import events
from locust.runners import WorkerRunner

from pushpop_load import _native
from pushpop_load._files import write_atomically
from pushpop_load import stats as _stats  # noqa: F401  (its quit listener first: the exact table before the verdict)

__all__ = ["drain", "enabled", "ledger", "write_report"]

logger = logging.getLogger("pushpop_load.integrity")

ledger = _native.IntegrityLedger()
"""This process's ledger (the master's holds the whole swarm's at the end)."""

_REPORT_KEY = "pushpop_integrity"
_DRAIN_DEPTH = 100
_DRAIN_SECONDS = 120.0

_environment: Any = None


def _on_off(text: str) -> bool:
    import argparse

    value = text.strip().lower()
    if value in ("on", "true", "yes", "1"):
        return True
    if value in ("off", "false", "no", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected on or off (got {text!r})")


@events.init_command_line_parser.add_listener
def _add_options(parser: Any) -> None:
    parser.add_argument("--pp-integrity", type=_on_off, env_var="PUSHPOP_INTEGRITY", default=True, metavar="on|off",
                        help="mark pushed items and check every pop for lost, duplicated and reordered items "
                             "(default: on)")
    parser.add_argument("--pp-drain", type=_on_off, env_var="PUSHPOP_DRAIN", default=True, metavar="on|off",
                        help="at the end, pop what is left in the run's queues so that lost items are known "
                             "(default: on)")


def _option(name: str, default: Any) -> Any:
    options = _environment.parsed_options if _environment is not None else None
    value = getattr(options, name, None) if options is not None else None
    return default if value is None else value


_enabled = True


def enabled() -> bool:
    """Whether pushes are marked and pops checked (``--pp-integrity``); read once per test, not per request."""
    return _enabled


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    global _environment, _enabled
    _environment = environment
    _enabled = bool(_option("pp_integrity", True))


@events.test_start.add_listener
def _on_test_start(environment: Any, **_: Any) -> None:
    global _enabled
    # a worker has its master's options only from the first spawn message on, just before this
    _enabled = bool(_option("pp_integrity", True))
    ledger.clear()


@events.report_to_master.add_listener
def _on_report_to_master(client_id: str, data: dict, **_: Any) -> None:
    data[_REPORT_KEY] = ledger.take_delta_json()


@events.worker_report.add_listener
def _on_worker_report(client_id: str, data: dict, **_: Any) -> None:
    delta = data.get(_REPORT_KEY)
    if delta:
        ledger.absorb_json(delta)


def drain(host: str, queues: list[str], seconds: float = _DRAIN_SECONDS) -> tuple[int, bool]:
    """Pops every queue in ``queues`` until it answers empty, checking each answer; (items popped, finished)."""
    from pushpop_load.client import Client

    client = Client(host, timeout=10.0, insecure=True)
    deadline = time.monotonic() + seconds
    popped = 0
    for queue in queues:
        while time.monotonic() < deadline:
            start_us = int(time.time() * 1e6)
            # record=False: the drain is the checker's bookkeeping, not load, and stays out of the statistics
            response = client.request("POST", f"/queue/{queue}/pop", params={"depth": _DRAIN_DEPTH}, record=False)
            if response.status_code != 200:
                logger.warning("drain of %s stopped: %s", queue, response.error or f"status {response.status_code}")
                return popped, False
            end_us = start_us + int(response.elapsed_ms * 1000)
            count = ledger.check_pop(queue, response.content, start_us, end_us)
            popped += count
            if count == 0:
                break
        else:
            logger.warning("drain stopped after %.0f s; the rest counts as unpopped", seconds)
            return popped, False
    return popped, True


def write_report(path: str, document: dict[str, Any]) -> None:
    write_atomically(path, lambda out: json.dump(document, out, indent=1))


@events.quit.add_listener
def _on_quit(**_: Any) -> None:
    # quit fires after the master has collected its workers' last reports, so the ledger is the whole swarm's
    environment = _environment
    if environment is None or isinstance(environment.runner, WorkerRunner) or not enabled():
        return
    queues = ledger.queues()
    if not queues:
        return
    drained = False
    if _option("pp_drain", True) and environment.host:
        started = time.monotonic()
        popped, drained = drain(environment.host, queues)
        logger.info("drained %d item(s) from %d queue(s) in %.1f s", popped, len(queues), time.monotonic() - started)
    print(ledger.summary_text(drained), flush=True)
    prefix = _option("csv_prefix", None)
    if prefix:
        write_report(f"{prefix}_integrity.json", json.loads(ledger.report_json(drained)))
