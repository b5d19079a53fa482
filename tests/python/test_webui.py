"""The live charts in Locust's web UI, in headless Chromium over a real running swarm (a single process, and a
master with two workers): the "Exact percentiles" tab charts each endpoint's exact p50/p95/p99 per second, the
"Resources" tab a chart per metric with a series per monitored process; both gain points while the test runs, and
what they plot equals what the run writes (``_hdr_intervals.csv``, ``_resources.csv``)."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from processes import HERE, LOCUST, Target, end_process, free_port, wait_for_web_ui

LOCUSTFILE = HERE / "locustfiles" / "monitor_load.py"
ENDPOINTS = ["POST /queue/[id]/pop", "POST /queue/[id]/push"]


class _Charts(HTMLParser):
    """The charts of a dumped DOM: chart key -> its data-plotted (series labels, [xs, ys...]), per tab."""

    def __init__(self) -> None:
        super().__init__()
        self.tab = ""
        self.charts: dict[str, dict[str, Any]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "pushpop-charts" in (found.get("class") or "").split() and found.get("style", "").find("none") < 0:
            self.tab = found.get("data-tab") or ""
        if "pushpop-chart" in (found.get("class") or "").split() and found.get("data-plotted"):
            self.charts[found["data-chart"] or ""] = json.loads(found["data-plotted"] or "{}")


def charts_in_chromium(chromium: str, base: str, tab: str, profile: Path) -> dict[str, dict[str, Any]]:
    """The charts the page shows on `tab` after its scripts ran (one poll at least)."""
    done = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
         "--window-size=1280,3000", "--virtual-time-budget=5000", "--dump-dom", f"{base}/?tab={tab}"],
        capture_output=True, text=True, timeout=90,
    )
    parser = _Charts()
    parser.feed(done.stdout)
    assert parser.tab == tab, (tab, parser.tab, done.stderr[-2000:])
    return parser.charts


def state(base: str) -> str:
    return str(requests.get(f"{base}/stats/requests", timeout=5).json()["state"])


def points(chart: dict[str, Any]) -> int:
    return len(chart["data"][0])


@pytest.fixture(params=["single", "master"])
def swarm(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[str], int]]:
    """A running test with the web UI (no time limit: the test stops it), monitoring the target as `target`."""
    target = Target().start()
    assert target.proc is not None
    port = free_port()
    prefix = tmp_path / "run"
    swarm_flags = ["--processes", "2"] if request.param == "master" else []
    log = open(tmp_path / "locust.log", "w")
    proc = subprocess.Popen(
        [LOCUST, "-f", str(LOCUSTFILE), "--host", target.url, "--web-host", "127.0.0.1", "--web-port", str(port),
         "--autostart", "-u", "4", "-r", "4", "--csv", str(prefix), "--monitor-pid", f"target={target.proc.pid}",
         "--monitor-interval", "500ms", *swarm_flags],
        stdout=subprocess.DEVNULL, stderr=log, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_web_ui(base, proc)
        # a master answers before its workers have connected, and starts (--autostart) only once they have
        deadline = time.monotonic() + 60
        while state(base) not in ("running", "spawning"):
            assert time.monotonic() < deadline and proc.poll() is None, state(base)
            time.sleep(0.2)
        yield base, prefix, proc, target.proc.pid
    finally:
        end_process(proc, timeout=60)
        log.close()
        assert target.stop() == 0, "".join(target.stderr_lines)


def grow(chromium: str, base: str, tab: str, profile: Path, key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two renderings of `tab` while the test runs, the second with more points on chart `key` than the first."""
    deadline = time.monotonic() + 90
    first = charts_in_chromium(chromium, base, tab, profile)
    while True:
        assert state(base) in ("running", "spawning"), state(base)
        later = charts_in_chromium(chromium, base, tab, profile)
        if key in first and key in later and points(later[key]) > points(first[key]):
            return first, later
        assert time.monotonic() < deadline, (first.get(key), later.get(key))
        first = first if key in first else later


def test_live_charts_plot_the_exact_figures(chromium: str, swarm: tuple[str, Path, subprocess.Popen[str], int],
                                           tmp_path: Path) -> None:
    base, prefix, proc, _ = swarm
    profile = tmp_path / "profile"
    # while the swarm runs, each endpoint's chart has the three exact percentiles and gains seconds
    before, after = grow(chromium, base, "pushpop-exact", profile, ENDPOINTS[1])
    for charts in (before, after):
        assert sorted(charts) == ENDPOINTS, sorted(charts)
        for chart in charts.values():
            assert chart["series"] == ["p50", "p95", "p99"] and len(chart["data"]) == 4
    before, after = grow(chromium, base, "pushpop-resources", profile, "cpu_pct")
    assert after["cpu_pct"]["series"] == ["generator", "target"], after["cpu_pct"]["series"]
    assert {"cpu_pct", "rss_bytes", "threads", "fds"} <= set(after), sorted(after)

    # stopped (a master is stopped once every worker's final report is in): the figures are final
    assert requests.post(f"{base}/stop", timeout=10).json()["success"]
    deadline = time.monotonic() + 60
    while state(base) != "stopped":
        assert time.monotonic() < deadline, state(base)
        time.sleep(0.2)
    # a request under way at the stop may still land in its second: render once the figures are quiet
    quiet, last = 0, None
    while quiet < 2:
        assert time.monotonic() < deadline, "the exact figures kept changing after the stop"
        answer = requests.get(f"{base}/pushpop/charts/pushpop-exact?since=0", timeout=10).json()
        quiet, last = (quiet + 1 if answer == last else 0), answer
        time.sleep(0.5)
    exact = charts_in_chromium(chromium, base, "pushpop-exact", profile)
    resources = charts_in_chromium(chromium, base, "pushpop-resources", profile)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0

    # every second of every endpoint, plotted as the run's exact timeline has it (ms, to the µs)
    with open(f"{prefix}_hdr_intervals.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for name in ENDPOINTS:
        expected = {int(row["Timestamp"]): [float(row[column]) for column in ("p50 ms", "p95 ms", "p99 ms")]
                    for row in rows if f"{row['Type']} {row['Name']}" == name}
        xs, *ys = exact[name]["data"]
        plotted = {int(x): [round(y[i], 3) for y in ys] for i, x in enumerate(xs)}
        assert plotted == expected, name
        assert len(plotted) >= 3 and all(p50 <= p95 <= p99 for p50, p95, p99 in plotted.values())

    # every resource sample, plotted as _resources.csv has it
    with open(f"{prefix}_resources.csv", newline="") as handle:
        samples = {row["Time"]: row for row in csv.DictReader(handle)}
    for metric in ("cpu_pct", "rss_bytes"):
        xs, *ys = resources[metric]["data"]
        assert sorted(f"{x:.3f}" for x in xs) == sorted(samples), metric
        for i, x in enumerate(xs):
            for source, series in zip(resources[metric]["series"], ys):
                cell, y = samples[f"{x:.3f}"][f"{source} {metric}"], series[i]
                assert (y is None and cell == "") or y == pytest.approx(float(cell), abs=5e-4), (metric, source, x)
