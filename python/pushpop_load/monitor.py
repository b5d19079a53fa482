"""The resource monitor in a Locust run: processes, cgroups, containers and PostgreSQL on Locust's timeline.

Any run whose locustfile uses pushpop_load's users has these options (``locust -f FILE --pp-help`` lists them):

    --monitor-pid [NAME=]PID   a process by PID, named NAME (else by its own name) (repeatable, or comma-separated)
    --monitor-process NAME     processes by name, e.g. postgres (repeatable)
    --monitor-cmdline PATTERN  processes whose command line contains PATTERN (repeatable)
    --monitor-cgroup PATH      a cgroup v2 directory (repeatable)
    --monitor-container NAME   a Docker container, through the Engine API socket (repeatable)
    --monitor-postgres URL     a PostgreSQL database; a role with pg_monitor is enough (repeatable)
    --monitor-interval 1s      time between rows (default 1 s; 10 ms to 1 h)

When any source is named, the master (or the single process) samples them from ``test_start`` to ``test_stop`` on
a Rust thread (the gevent hub never waits for a sample), together with its own CPU: above 90% of a core the run is
flagged, because a saturated generator measures itself. With ``--csv PREFIX`` it writes
``PREFIX_resources.csv`` (a row per interval; ``Timestamp`` in whole unix seconds as in ``_stats_history.csv``) and
``PREFIX_resources.json`` (peak and mean per column, the generator's verdict, the notes). The web UI gets a
"Resources" tab with the latest sample and, under it, a live chart per metric (CPU, memory, ...; the generator's
saturation flag aside) with a series per source, over the test's last 3,600 samples. docs/MONITOR.md describes the
columns.

Bad input (a PID that does not exist, a PostgreSQL URL that does not connect) ends Locust at start-up with one
line and exit code 2, before any load is sent.
"""

from __future__ import annotations

import datetime
import logging
import os
import sys
from typing import Any

from pushpop_load import _native
from pushpop_load._native import MonitorError, ResourceMonitor
from pushpop_load.options import argument_type
from pushpop_load.swarm import SwarmPart
from pushpop_load.webui import add_tab

__all__ = ["TAB_KEY", "Monitor"]

logger = logging.getLogger("pushpop_load.monitor")

TAB_KEY = "pushpop-resources"
"""The key of the web UI tab (``?tab=pushpop-resources``)."""

_NOT_CHARTED = {"saturated"}
"""A flag, not a measurement: the generator's line on the CPU chart shows when it was above 90% of a core."""

_SOURCES = {
    # option dest -> ResourceMonitor.start keyword
    "monitor_pid": "pids",
    "monitor_process": "processes",
    "monitor_cmdline": "cmdlines",
    "monitor_cgroup": "cgroups",
    "monitor_container": "containers",
    "monitor_postgres": "postgres",
}


def _in_threadpool(function: Any, *args: Any, **kwargs: Any) -> Any:
    """Runs a call that releases the GIL on gevent's thread pool: this greenlet waits, the hub does not."""
    import gevent

    return gevent.get_hub().threadpool.apply(function, args, kwargs)


class Monitor(SwarmPart):
    """The environment's resource monitor: sampling while a test runs, on the master or the single process."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.monitor: ResourceMonitor | None = None
        """The monitor of the test running now, if any."""
        self.settings: dict[str, Any] | None = None
        self.last_sample: dict[str, Any] | None = None
        self.last_summary: dict[str, Any] | None = None
        self.tests = 0
        """Tests sampled so far: a live chart starts again when this changes."""
        self.last_rows: tuple[list[str], ResourceMonitor | None] = ([], None)
        """The columns and the stopped monitor of the last test, whose rows the charts keep showing."""
        self._notes_greenlet: Any = None
        if self.is_worker or environment.parsed_options is None:
            return
        settings = self._settings()
        if settings is None:
            return
        # bad input ends the run here, before any load: a PID that is not there, a URL that does not connect
        probe = ResourceMonitor()
        try:
            probe.start(**settings)
            probe.stop()
        except (ValueError, MonitorError) as error:
            sys.stderr.write(f"pushpop-load monitor: error: {error}\n")
            sys.stderr.flush()
            raise SystemExit(2) from None
        self.settings = settings
        if environment.web_ui:
            add_tab(environment.web_ui, TAB_KEY, "Resources",
                    [("source", "Source"), ("metric", "Metric"), ("value", "Latest")], self.panel_rows,
                    self.chart_data)

    @classmethod
    def add_arguments(cls, parser: Any) -> None:
        # not on the web UI's start form: what to watch is fixed for the process, and a URL may carry a password
        add = parser.add_argument
        add("--monitor-pid", type=argument_type(_native.parse_pids), action="append", env_var="PUSHPOP_MONITOR_PID",
            metavar="[NAME=]PID", include_in_web_ui=False,
            help="resource monitor: a process by PID, its columns named NAME (else the process's own name), e.g. "
                 "target=4242 (repeatable, or comma-separated)")
        add("--monitor-process", action="append", env_var="PUSHPOP_MONITOR_PROCESS", metavar="NAME",
            include_in_web_ui=False, help="resource monitor: processes by name as ps shows it, summed (repeatable)")
        add("--monitor-cmdline", action="append", env_var="PUSHPOP_MONITOR_CMDLINE", metavar="PATTERN",
            include_in_web_ui=False,
            help="resource monitor: processes whose command line contains PATTERN (repeatable)")
        add("--monitor-cgroup", action="append", env_var="PUSHPOP_MONITOR_CGROUP", metavar="PATH",
            include_in_web_ui=False, help="resource monitor: a cgroup v2 directory (repeatable)")
        add("--monitor-container", action="append", env_var="PUSHPOP_MONITOR_CONTAINER", metavar="NAME",
            include_in_web_ui=False,
            help="resource monitor: a Docker container by name or id, via $DOCKER_HOST or /var/run/docker.sock "
                 "(repeatable)")
        add("--monitor-postgres", action="append", env_var="PUSHPOP_MONITOR_POSTGRES", metavar="URL",
            include_in_web_ui=False,
            help="resource monitor: a PostgreSQL database, postgres://user:password@host:port/db; pg_monitor is "
                 "enough (repeatable)")
        add("--monitor-interval", type=argument_type(_native.parse_interval), env_var="PUSHPOP_MONITOR_INTERVAL",
            default=1.0, metavar="DURATION", include_in_web_ui=False,
            help="resource monitor: time between samples, e.g. 1s or 100ms (default: 1s)")

    def _settings(self) -> dict[str, Any] | None:
        """The ResourceMonitor.start keywords the options ask for; None when no source is named."""
        settings: dict[str, Any] = {}
        for dest, keyword in _SOURCES.items():
            values = self.option(dest) or []
            if dest == "monitor_pid":
                # each --monitor-pid is a list of (name or None, pid); a value from the environment variable or a
                # config file arrives as its text
                values = [pid for group in values
                          for pid in (group if isinstance(group, list) else _native.parse_pids(str(group)))]
            if values:
                settings[keyword] = list(values)
        if not settings:
            return None
        interval = self.option("monitor_interval", 1.0)
        settings["interval"] = interval if isinstance(interval, float) else _native.parse_interval(str(interval))
        return settings

    def test_start(self) -> None:
        if self.settings is None or self.is_worker:
            return
        self._stop(quiet=True)
        settings = dict(self.settings, generator=os.getpid())
        prefix = self.csv_prefix
        if prefix:
            settings.update(csv=f"{prefix}_resources.csv", json=f"{prefix}_resources.json")
        monitor = ResourceMonitor()
        try:
            _in_threadpool(monitor.start, **settings)
        except (ValueError, MonitorError) as error:
            logger.error("pushpop-load monitor: not sampling this test: %s", error)
            return
        self.monitor = monitor
        self.last_summary = None
        self.last_rows = ([], None)
        self.tests += 1
        import gevent

        self._notes_greenlet = gevent.spawn(self._log_notes, monitor)

    @staticmethod
    def _log_notes(monitor: ResourceMonitor) -> None:
        import gevent

        while monitor.running:
            for _, text in monitor.take_notes():
                logger.warning("pushpop-load monitor: %s", text)
            gevent.sleep(0.5)

    def test_stop(self) -> None:
        if not self.is_worker:
            self._stop()

    def finish(self) -> None:
        self._stop()

    def _stop(self, quiet: bool = False) -> None:
        monitor, self.monitor = self.monitor, None
        if monitor is None:
            return
        if self._notes_greenlet is not None:
            self._notes_greenlet.kill(block=False)
            self._notes_greenlet = None
        for _, text in monitor.take_notes():
            logger.warning("pushpop-load monitor: %s", text)
        self.last_sample = monitor.latest()
        self.last_rows = (monitor.columns, monitor)
        try:
            summary = _in_threadpool(monitor.stop)
        except MonitorError as error:
            logger.error("pushpop-load monitor: %s", error)
            return
        self.last_summary = summary
        if quiet:
            return
        generator = summary.get("generator") or {}
        line = f"pushpop-load monitor: {summary['samples']} sample(s)"
        if summary.get("csv"):
            line += f" in {summary['csv']}"
        if generator.get("peak_cpu_pct") is not None:
            line += f"; load generator CPU peak {generator['peak_cpu_pct']:.0f}%"
        logger.info(line)
        if generator.get("saturated"):
            logger.warning(
                "pushpop-load monitor: the load generator was above %.0f%% CPU in %d sample(s): those figures "
                "measure the generator as much as the service (add workers: --processes or --worker)",
                generator["threshold_pct"], generator["saturated_samples"])

    def panel_rows(self) -> list[dict[str, str]]:
        """The web UI tab's rows: one per column of the latest sample (empty cells are gaps)."""
        monitor = self.monitor
        latest = monitor.latest() if monitor is not None else self.last_sample
        if latest is None:
            state = "waiting for the first sample" if monitor is not None else "not sampling (no test running)"
            return [{"source": "monitor", "metric": "state", "value": state}]
        when = datetime.datetime.fromtimestamp(latest["unix"], datetime.timezone.utc).strftime("%H:%M:%S UTC")
        status = "sampled at" if monitor is not None else "last sample (test stopped)"
        rows = [{"source": "monitor", "metric": status, "value": when}]
        for column, value in latest["values"].items():
            source, _, metric = column.rpartition(" ")
            rows.append({"source": source, "metric": metric, "value": _format(value)})
        return rows

    def chart_data(self, since: float) -> dict[str, Any]:
        """The web UI's live charts (``pushpop_load.webui.ChartData``): a chart per metric, a series per source,
        the samples after unix time ``since``."""
        monitor = self.monitor
        if monitor is not None:
            columns, rows = monitor.columns, monitor.samples_since(since)
        else:
            columns, stopped = self.last_rows
            rows = stopped.samples_since(since) if stopped is not None else []
        by_metric: dict[str, list[tuple[int, str]]] = {}
        for index, column in enumerate(columns):
            source, _, metric = column.rpartition(" ")
            if metric in _NOT_CHARTED:
                continue
            by_metric.setdefault(metric, []).append((index + 1, source))
        charts = []
        for metric, series in by_metric.items():
            title, unit = ResourceMonitor.describe_metric(metric)  # the charts format bytes in KiB/MiB/GiB
            charts.append({"key": metric, "title": title, "unit": unit, "series": [source for _, source in series],
                           "points": [[row[0], *(row[index] for index, _ in series)] for row in rows]})
        return {"epoch": str(self.tests), "rewind": 0, "charts": charts}


def _format(value: float | None) -> str:
    if value is None:
        return ""
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.3f}".rstrip("0").rstrip(".")
