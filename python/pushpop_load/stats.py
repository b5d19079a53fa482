"""Exact response-time statistics for any Locust run that imports pushpop_load's users.

Every sample reported to ``events.request`` (by any client, Locust's own included) goes into an HDR histogram per
(method, name) in Rust: microsecond resolution, 3 significant digits, none of Locust's rounding. Workers send
their new samples to the master with each report (``report_to_master``), and the master merges them
(``worker_report``), so the master's figures are exact for the whole swarm. When Locust exits, the master (or the
single process) prints an exact percentile table and, with ``--csv PREFIX``, writes ``PREFIX_hdr.json``:

    {"format": "pushpop-load-hdr", "version": 1, "unit": "us",
     "duration_s": <first request to last>,
     "summaries": [{"method", "name", "count", "failures", "items", "min_ms", "mean_ms", "max_ms",
                    "percentiles": [[50.0, ms], [66.0, ms], ...]}],          # Locust's CSV percentiles
     "histograms": {"version": 1, "unit": "us",
                    "entries": [{"method", "name", "failures", "counts": [[value_us, count], ...]}]}}

``items`` counts the queue items pops returned (``PushPopUser.pop_items``), so items/s = items / duration_s.
``histograms`` holds every recorded bucket, so any percentile can be recomputed and runs can be merged.

The web UI gets an "Exact percentiles" tab (``?tab=pushpop-exact``) with the same figures, live: on the master
they are the whole swarm's, merged from every worker report.

On a master, the document also says which workers reported and which were lost mid-run (killed, or cut off:
silent for longer than Locust's heartbeat limit when the test stopped), whose samples after their last report are
missing from these figures: ``"workers": {"reporting": <count>, "lost": [<worker id>, ...]}``.

``PREFIX_hdr_intervals.csv`` is the same per second (``Timestamp,Type,Name,Requests,Failures,Items,p50 ms,p95 ms,
p99 ms,Max ms``; unix seconds, as in Locust's ``_stats_history.csv``), for timelines.
"""

from __future__ import annotations

import csv as _csv
import json as _json
import logging as _logging
import time as _time
from typing import IO, Any

from locust import events
from locust.runners import HEARTBEAT_INTERVAL, HEARTBEAT_LIVENESS, STATE_MISSING, MasterRunner, WorkerRunner

from pushpop_load._files import write_atomically as _write_atomically
from pushpop_load.client import exact_stats
from pushpop_load.webui import add_tab

__all__ = ["TAB_KEY", "exact_stats", "format_table", "panel_rows", "write_hdr_file", "write_intervals_csv"]

_REPORT_KEY = "pushpop_hdr"

_environment: Any = None
_logger = _logging.getLogger(__name__)


class _Workers:
    """On a master: the workers that reported in this run, when each was last heard from, and those lost."""

    reporting: set[str] = set()
    heard: dict[str, float] = {}
    lost: list[str] = []


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    global _environment
    _environment = environment
    if environment.web_ui:
        add_tab(environment.web_ui, TAB_KEY, "Exact percentiles",
                [("name", "Name"), ("requests", "# requests"), ("failures", "# failures"), ("p50", "50%ile (ms)"),
                 ("p95", "95%ile (ms)"), ("p99", "99%ile (ms)"), ("p999", "99.9%ile (ms)"), ("max", "Max (ms)"),
                 ("items", "Items")],
                panel_rows)


TAB_KEY = "pushpop-exact"
"""The key of the web UI tab (``?tab=pushpop-exact``)."""


def panel_rows() -> list[dict[str, str]]:
    """The web UI tab's rows: one per (method, name), exact to the HDR precision, in milliseconds."""
    rows = []
    for summary in _json.loads(exact_stats.summaries_json()):
        percentiles = dict((p, v) for p, v in summary["percentiles"])
        rows.append({
            "name": f"{summary['method']} {summary['name']}",
            "requests": str(summary["count"]),
            "failures": str(summary["failures"]),
            **{key: f"{percentiles[p]:.3f}" for key, p in (("p50", 50.0), ("p95", 95.0), ("p99", 99.0),
                                                           ("p999", 99.9)) if p in percentiles},
            "max": f"{summary['max_ms']:.3f}",
            "items": str(summary["items"]) if summary["items"] else "",
        })
    return rows


# a native listener: a Python one would cost every request a call that collects Locust's keywords into a dict
events.request.add_listener(exact_stats.on_request)


@events.test_start.add_listener
def _on_test_start(environment: Any, **_: Any) -> None:
    if not isinstance(environment.runner, WorkerRunner):
        exact_stats.clear()
    _Workers.reporting, _Workers.lost = set(), []


@events.heartbeat_sent.add_listener
def _on_heartbeat(client_id: str, **_: Any) -> None:
    # fired on the master for every heartbeat a worker sent (and the master answered)
    _Workers.heard[client_id] = _time.monotonic()


@events.test_stop.add_listener
def _on_test_stop(environment: Any, **_: Any) -> None:
    runner = environment.runner
    if not isinstance(runner, MasterRunner):
        return
    # Locust marks a worker missing after HEARTBEAT_LIVENESS silent beats and forgets it a minute later: either
    # way, a worker that reported in this run and has been silent that long is gone
    limit = HEARTBEAT_LIVENESS * HEARTBEAT_INTERVAL + 1
    now = _time.monotonic()
    silent = {worker for worker, heard in _Workers.heard.items() if now - heard > limit}
    missing = {client.id for client in runner.clients.all if client.state == STATE_MISSING}
    _Workers.lost = sorted((silent | missing) & _Workers.reporting)


@events.report_to_master.add_listener
def _on_report_to_master(client_id: str, data: dict, **_: Any) -> None:
    data[_REPORT_KEY] = exact_stats.report_json()


@events.worker_report.add_listener
def _on_worker_report(client_id: str, data: dict, **_: Any) -> None:
    _Workers.reporting.add(client_id)
    _Workers.heard[client_id] = _time.monotonic()
    report = data.get(_REPORT_KEY)
    if report:
        exact_stats.merge_report_json(report)


@events.quit.add_listener
def _on_quit(**_: Any) -> None:
    # quit fires after the master has collected its workers' last reports
    environment = _environment
    if environment is None or isinstance(environment.runner, WorkerRunner):
        return
    summaries = _json.loads(exact_stats.summaries_json())
    if not summaries:
        return
    total = environment.runner.stats.total
    duration = max(0.0, (total.last_request_timestamp or total.start_time) - total.start_time)
    print(format_table(summaries, duration), flush=True)
    workers = None
    if isinstance(environment.runner, MasterRunner):
        workers = {"reporting": len(_Workers.reporting), "lost": _Workers.lost}
        if _Workers.lost:
            _logger.warning("%d of %d workers were lost during the run (%s): these figures lack their samples after "
                            "their last report", len(_Workers.lost), len(_Workers.reporting), ", ".join(_Workers.lost))
    prefix = getattr(environment.parsed_options, "csv_prefix", None) if environment.parsed_options else None
    if prefix:
        write_hdr_file(f"{prefix}_hdr.json", duration, summaries, workers)
        write_intervals_csv(f"{prefix}_hdr_intervals.csv")


def write_hdr_file(path: str, duration_s: float, summaries: list[dict] | None = None,
                   workers: dict[str, Any] | None = None) -> None:
    """Writes the exact statistics to ``path`` (via a temporary file: never a half-written result)."""
    document = {
        "format": "pushpop-load-hdr",
        "version": 1,
        "unit": "us",
        "duration_s": duration_s,
        "summaries": summaries if summaries is not None else _json.loads(exact_stats.summaries_json()),
        "histograms": _json.loads(exact_stats.snapshot_json()),
    }
    if workers is not None:
        document["workers"] = workers
    _write_atomically(path, lambda out: _json.dump(document, out))


INTERVAL_COLUMNS = ["Timestamp", "Type", "Name", "Requests", "Failures", "Items", "p50 ms", "p95 ms", "p99 ms",
                    "Max ms"]


def write_intervals_csv(path: str) -> None:
    """The per-second timeline: one row per second and (method, name), exact to the HDR precision, its unix
    timestamps on the clock of Locust's ``_stats_history.csv``."""
    rows = _json.loads(exact_stats.intervals_json())

    def write(out: IO[str]) -> None:
        writer = _csv.writer(out)
        writer.writerow(INTERVAL_COLUMNS)
        for row in rows:
            writer.writerow([row["second"], row["method"], row["name"], row["count"], row["failures"], row["items"],
                             f"{row['p50_ms']:.3f}", f"{row['p95_ms']:.3f}", f"{row['p99_ms']:.3f}",
                             f"{row['max_ms']:.3f}"])

    _write_atomically(path, write, newline="")


def format_table(summaries: list[dict], duration_s: float) -> str:
    """The exact percentile table, in Locust's layout, in milliseconds with microsecond digits; items/s for the
    entries that carried queue items."""
    percentiles = [p for p, _ in summaries[0]["percentiles"]]
    labels = [f"{p:g}%" for p in percentiles]
    name_width = max(40, *(len(f"{s['method']} {s['name']}") for s in summaries))
    with_items = any(s["items"] for s in summaries)
    header = f"{'Name':<{name_width}} " + " ".join(f"{label:>9}" for label in labels) + f" {'# reqs':>8}"
    header += f" {'items/s':>9}" if with_items else ""
    lines = ["Response time percentiles (exact, ms; pushpop-load HDR)", header, "-" * len(header)]
    for summary in summaries:
        values = " ".join(f"{value:>9.3f}" for _, value in summary["percentiles"])
        line = f"{summary['method'] + ' ' + summary['name']:<{name_width}} {values} {summary['count']:>8}"
        if with_items:
            rate = summary["items"] / duration_s if duration_s > 0 else 0.0
            line += f" {rate:>9.1f}" if summary["items"] else f" {'':>9}"
        lines.append(line)
    return "\n".join(lines)
