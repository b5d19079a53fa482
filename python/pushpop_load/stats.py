"""Exact response-time statistics for any Locust run that uses pushpop_load's users.

Every sample reported to ``events.request`` (by any client, Locust's own included) goes into an HDR histogram per
(method, name) in Rust: microsecond resolution, 3 significant digits, none of Locust's rounding. Workers send
their new samples to the master with each report (one compact binary delta, ``src/stats/wire.rs``), and the master
merges them on a thread of its own, so the master's figures are exact for the whole swarm and its hub stays free for
Locust's messages. When Locust exits, the master (or the single process) prints an exact percentile table and,
with ``--csv PREFIX``, writes ``PREFIX_hdr.json``:

    {"format": "pushpop-load-hdr", "version": 1, "unit": "us",
     "duration_s": <first request to last>,
     "summaries": [{"method", "name", "count", "failures", "items", "min_ms", "mean_ms", "max_ms",
                    "percentiles": [[50.0, ms], [66.0, ms], ...]}],          # Locust's CSV percentiles
     "histograms": {"version": 1, "unit": "us",
                    "entries": [{"method", "name", "failures", "items", "counts": [[value_us, count], ...]}]}}

``items`` counts the queue items pops returned (``PushPopUser.pop_items``), so items/s = items / duration_s.
``histograms`` holds every recorded bucket, so any percentile can be recomputed and runs can be merged.

The web UI gets an "Exact percentiles" tab (``?tab=pushpop-exact``) with the same figures, live: on the master
they are the whole swarm's, merged from every worker report. Under its table, a chart per (method, name) plots the
exact p50, p95 and p99 of each second (the rows of ``PREFIX_hdr_intervals.csv`` below, as they stand), updated while
the test runs.

On a master, the document also says how many workers took part and which were lost (killed, cut off, or otherwise
without a final report when the test stopped, or running another pushpop-load version: ``pushpop_load.swarm``), whose
samples after their last report (all of them, for another version) are missing from these figures:
``"workers": {"reporting": <count>, "lost": [<worker id>, ...]}``.

``PREFIX_hdr_intervals.csv`` is the same per second (``Timestamp,Type,Name,Requests,Failures,Items,p50 ms,p95 ms,
p99 ms,Max ms``; unix seconds, as in Locust's ``_stats_history.csv``), for timelines.
"""

from __future__ import annotations

import csv as _csv
import json as _json
import logging as _logging
from typing import IO, Any

from pushpop_load import _native
from pushpop_load._files import write_atomically
from pushpop_load.locust_feed import LocustFeed
from pushpop_load.swarm import SwarmPart
from pushpop_load.webui import add_tab

__all__ = ["INTERVAL_COLUMNS", "TAB_KEY", "ExactStats", "format_table", "write_hdr_file", "write_intervals_csv"]

_logger = _logging.getLogger(__name__)

TAB_KEY = "pushpop-exact"
"""The key of the web UI tab (``?tab=pushpop-exact``)."""

CHART_REWIND_S = 30
"""How far back each chart poll asks again: a second's figures change until every sample of it has arrived, and on
a master a worker reports every 3 s; 30 s covers a loaded machine's delays too."""

INTERVAL_COLUMNS = ["Timestamp", "Type", "Name", "Requests", "Failures", "Items", "p50 ms", "p95 ms", "p99 ms",
                    "Max ms"]


class ExactStats(SwarmPart):
    """The environment's exact statistics (``recorder``), fed by every ``events.request`` of the environment."""

    key = "pushpop_hdr"

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.recorder = _native.HdrStats()
        # a native listener: a Python one would cost every request a call that collects Locust's keywords into a dict
        environment.events.request.add_listener(self.recorder.on_request)
        self.feed = LocustFeed(environment, self.recorder)
        """Requests recorded here and handed to Locust's statistics in batches, when nothing else listens."""
        # Locust empties its own table at the web UI's "Reset stats" and, with --reset-stats, when spawning is
        # complete (in every process: a worker its unsent samples, the master what it merged): these figures follow
        environment.events.reset_stats.add_listener(self._clear)
        environment.events.spawning_complete.add_listener(self._on_spawning_complete)
        self.epoch = 0
        """Counts the times the figures were emptied: a live chart drops what it has when this changes."""
        if environment.web_ui:
            add_tab(environment.web_ui, TAB_KEY, "Exact percentiles",
                    [("name", "Name"), ("requests", "# requests"), ("failures", "# failures"),
                     ("p50", "50%ile (ms)"), ("p95", "95%ile (ms)"), ("p99", "99%ile (ms)"),
                     ("p999", "99.9%ile (ms)"), ("max", "Max (ms)"), ("items", "Items")],
                    self.panel_rows, self.chart_data)

    def _clear(self, **_: Any) -> None:
        self.recorder.clear()
        self.epoch += 1

    def _on_spawning_complete(self, **_: Any) -> None:
        if self.environment.reset_stats:
            self._clear()

    def test_start(self) -> None:
        if not self.is_worker:
            self._clear()

    def take_delta(self) -> bytes:
        return self.recorder.take_delta()

    def absorb(self, delta: bytes, worker: str) -> None:
        # queued for the merge thread (the hub answers heartbeats meanwhile); another format is refused at once
        try:
            self.recorder.absorb(delta)
        except (TypeError, ValueError) as error:
            self.environment.pushpop.refuse(worker, f"its exact statistics cannot be read here ({error})")

    def finish(self) -> None:
        summaries = self.recorder.summaries()
        if not summaries:
            return
        total = self.environment.runner.stats.total
        duration = max(0.0, (total.last_request_timestamp or total.start_time) - total.start_time)
        print(format_table(summaries, duration), flush=True)
        workers = None
        if self.is_master:
            swarm = self.environment.pushpop
            workers = {"reporting": len(swarm.workers), "lost": swarm.lost}
            if swarm.lost:
                _logger.warning("%d of %d workers were lost during the run (%s): these figures lack their samples "
                                "after their last report", len(swarm.lost), len(swarm.workers), ", ".join(swarm.lost))
        prefix = self.csv_prefix
        if prefix:
            write_hdr_file(self.recorder, f"{prefix}_hdr.json", duration, workers)
            write_intervals_csv(self.recorder, f"{prefix}_hdr_intervals.csv")

    def panel_rows(self) -> list[dict[str, str]]:
        """The web UI tab's rows: one per (method, name), exact to the HDR precision, in milliseconds."""
        rows = []
        for summary in self.recorder.summaries():
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

    def chart_data(self, since: float) -> dict[str, Any]:
        """The web UI's live charts (``pushpop_load.webui.ChartData``): exact p50/p95/p99 per second, a chart per
        (method, name), from unix second ``since`` on."""
        charts: dict[str, list[list[float]]] = {}
        for row in self.recorder.intervals_since(max(0, int(since))):
            charts.setdefault(f"{row['method']} {row['name']}", []).append(
                [row["second"], row["p50_ms"], row["p95_ms"], row["p99_ms"]])
        return {
            "epoch": str(self.epoch),
            "rewind": CHART_REWIND_S,
            "charts": [{"key": name, "title": name, "unit": "ms", "series": ["p50", "p95", "p99"], "points": points}
                       for name, points in sorted(charts.items())],
        }


def write_hdr_file(recorder: Any, path: str, duration_s: float, workers: dict[str, Any] | None = None) -> None:
    """Writes ``recorder``'s figures to ``path`` (via a temporary file: never a half-written result)."""
    document = {
        "format": "pushpop-load-hdr",
        "version": 1,
        "unit": "us",
        "duration_s": duration_s,
        "summaries": recorder.summaries(),
        "histograms": recorder.snapshot(),
    }
    if workers is not None:
        document["workers"] = workers
    write_atomically(path, lambda out: _json.dump(document, out))


def write_intervals_csv(recorder: Any, path: str) -> None:
    """The per-second timeline: one row per second and (method, name), exact to the HDR precision, its unix
    timestamps on the clock of Locust's ``_stats_history.csv``."""
    rows = recorder.intervals()

    def write(out: IO[str]) -> None:
        writer = _csv.writer(out)
        writer.writerow(INTERVAL_COLUMNS)
        for row in rows:
            writer.writerow([row["second"], row["method"], row["name"], row["count"], row["failures"], row["items"],
                             f"{row['p50_ms']:.3f}", f"{row['p95_ms']:.3f}", f"{row['p99_ms']:.3f}",
                             f"{row['max_ms']:.3f}"])

    write_atomically(path, write, newline="")


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
