"""The HTML report (`pushpop-load analyze --format html`) of real Locust runs, opened in headless Chromium driven over
the DevTools protocol: the first screen's figures, the charts' data against the files they come from, and the
charts used as a person would — hovering, hiding a line from the legend, zooming one time chart (every other
follows) and double-clicking back — with real mouse input; no console error and no network request; a
screenshot of each section at 1280 px and at a phone's 390 px, where nothing may scroll sideways."""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
import struct
from pathlib import Path

import pytest

from chromium_cdp import Browser, Page
from processes import HERE, Target
from test_analyze import ODD_NAME, ROUNDS, USERS, locust_run, report, run, stats_rows

WORKLOAD = HERE / "locustfiles" / "analyze_workload.py"
SECTIONS = ("summary", "endpoints", "timeline", "spectrum", "integrity", "thresholds", "baseline", "failures",
            "inputs")


@pytest.fixture(scope="module")
def runs(memory_target: Target, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("analyze-html")
    bounded = ("-u", str(USERS), "-r", str(USERS), "-t", "60s")
    env = {"ANALYZE_ROUNDS": str(ROUNDS)}
    return {
        "failing": locust_run(memory_target, out, "failing", WORKLOAD, *bounded, env={**env, "ANALYZE_FAILING": "1"}),
        "clean": locust_run(memory_target, out, "clean", WORKLOAD, *bounded, env={**env, "ANALYZE_FAILING": "0"}),
    }


# the monitor's layout (docs/MONITOR.md): Timestamp, its Time clock to the millisecond, "<source> <metric>" columns
MONITOR_COLUMNS = ["generator cpu_pct", "generator rss_bytes", "generator saturated", "pid:4242 cpu_pct",
                   "pid:4242 rss_bytes", "pid:4242 threads", "postgres:app connections", "postgres:app commits_per_s"]


def monitor_csv(start: int, seconds: int) -> str:
    rows = [f"{start + s},{start + s}.250,{20 + s},{50_000_000 + s * 1_000_000},0,{60 + s},{80_000_000},{9},"
            f"{3 + s % 2},{100 + s}\n" for s in range(seconds)]
    return "Timestamp,Time," + ",".join(MONITOR_COLUMNS) + "\n" + "".join(rows)


def card_values(dom: str) -> dict[str, str]:
    return dict(re.findall(r'<div class="card" data-card="(\w+)"><div class="k">[^<]*</div><div class="v">([^<]*)</div>',
                           dom))


def merged_counts(prefix: Path) -> list[tuple[int, int]]:
    merged: dict[int, int] = {}
    for entry in json.loads(Path(f"{prefix}_hdr.json").read_text())["histograms"]["entries"]:
        for value, count in entry["counts"]:
            merged[value] = merged.get(value, 0) + count
    return sorted(merged.items())


def exact_ms(counts: list[tuple[int, int]], percentile: float) -> str:
    """A percentile from exact (µs, count) buckets: the smallest value whose cumulative count reaches the rank
    ceil(q·n), as HdrHistogram defines it."""
    total = sum(count for _, count in counts)
    rank = min(max(math.ceil(percentile / 100 * total), 1), total)
    seen = 0
    for value, count in counts:
        seen += count
        if seen >= rank:
            return f"{value / 1000:.3f}"
    raise AssertionError("empty histograms")


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", data[16:24])


def prepare(runs: dict[str, Path], tmp_path: Path) -> Path:
    """The failing run's files, an integrity verdict with one duplicate (and the run's real push-to-pop times), and
    five seconds of resource samples in the monitor's layout."""
    prefix = tmp_path / "full"
    for kind in ("_stats.csv", "_stats_history.csv", "_failures.csv", "_exceptions.csv", "_hdr.json",
                 "_hdr_intervals.csv"):
        shutil.copy(f"{runs['failing']}{kind}", f"{prefix}{kind}")
    real = json.loads(Path(f"{runs['failing']}_integrity.json").read_text())
    Path(f"{prefix}_integrity.json").write_text(json.dumps(
        {"ok": False, "acknowledged": 750, "popped": 751, "lost": 0, "duplicated": 1, "out_of_order": 0,
         "foreign": 0, "push_to_pop": real["push_to_pop"]}))
    start = int(json.loads(Path(f"{runs['failing']}_locust.json").read_text())[0]["start_time"])
    Path(f"{prefix}_resources.csv").write_text(monitor_csv(start, 5))
    Path(f"{prefix}_resources.json").write_text(json.dumps(
        {"generator": {"pid": 1, "peak_cpu_pct": 24.0, "saturated": False}}))
    return prefix


# the chart helpers the tests call in the page: a chart's legend as [label, value] pairs, and where (in the
# viewport's pixels) a data x of a chart is, after scrolling the chart into view
HELPERS = """
window.legendOf = function (id) {
  return Array.prototype.map.call(pushpopCharts[id].root.querySelectorAll('.u-legend .u-series'), function (tr) {
    return [tr.querySelector('.u-label').textContent, (tr.querySelector('.u-value') || {}).textContent || '',
            tr.classList.contains('u-off')];
  });
};
window.pointOf = function (id, x) {
  var u = pushpopCharts[id];
  u.root.scrollIntoView({block: 'center'});
  var r = u.over.getBoundingClientRect();
  return [r.left + u.valToPos(x, 'x'), r.top + r.height / 2];
};
window.xRange = function (id) { var s = pushpopCharts[id].scales.x; return [s.min, s.max]; };
"""


def legend(page: Page, chart: str) -> list[list]:
    return page.evaluate(f"legendOf({json.dumps(chart)})")


def open_report(page: Page, html: Path) -> str:
    page.open(html.as_uri())
    page.wait_for("document.body && document.body.getAttribute('data-rendered') === 'yes'")
    page.evaluate(HELPERS)
    return page.evaluate("document.documentElement.outerHTML")


def shoot_sections(page: Page, width: int, tmp_path: Path) -> list[Path]:
    shots = []
    for section in SECTIONS:
        box = page.evaluate(f"(function () {{ var r = document.getElementById({json.dumps(section)})"
                            ".getBoundingClientRect(); return {x: r.left + scrollX, y: r.top + scrollY, "
                            "width: r.width, height: r.height}; })()")
        assert 0 < box["width"] <= width, (section, box)
        clip = {"x": 0, "y": box["y"], "width": width, "height": max(1, box["height"])}
        shot = page.screenshot(tmp_path / f"{section}-{width}.png", clip)
        assert png_size(shot)[0] == width and shot.stat().st_size > 2_000, (section, width)
        shots.append(shot)
    return shots


def test_checker_sees_errors_and_requests(chromium: str, tmp_path: Path) -> None:
    """The checks below are only worth their silence if they catch a script error and a request for another file."""
    page_file = tmp_path / "broken.html"
    page_file.write_text("<!doctype html><body><img src='missing.png'><script>throw new Error('boom')</script></body>")
    with Browser(chromium, tmp_path / "profile") as browser:
        page = browser.page()
        page.open(page_file.as_uri())
        browser.wait_event(lambda e: e.get("method") == "Runtime.exceptionThrown")
        assert any("boom" in line for line in page.errors())
        assert any(url.endswith("/missing.png") for url in page.requests())


def test_html_report_in_chromium(runs: dict[str, Path], chromium: str, tmp_path: Path) -> None:
    prefix = prepare(runs, tmp_path)
    html = tmp_path / "report.html"
    # against the run without failures: the failure ratio regressed, so the verdict fails (exit 1)
    done = run(prefix, "--format", "html", "--out", html, "--baseline", runs["clean"], "--threshold", "p95<10s")
    assert done.returncode == 1 and f"wrote {html}: FAIL (1 threshold holds" in done.stderr, done.stderr
    source = html.read_text()
    # one file: no script, style or font fetched; the inlined chart library carries its license
    assert "<script src" not in source and "<link" not in source
    assert "The MIT License" in source and "Leon Sorokin" in source and len(source) < 1_000_000

    with Browser(chromium, tmp_path / "profile") as browser:
        page = browser.page()
        page.size(1280, 900)
        dom = open_report(page, html)
        body = re.search(r"<body([^>]*)>", dom).group(1)
        with open(f"{prefix}_stats_history.csv", newline="") as handle:
            history = list(csv.DictReader(handle))
        peak_users = max(float(row["User Count"]) for row in history if row["Name"] == "Aggregated")
        interactive = page.evaluate("Object.keys(pushpopCharts)")
        # requests/s, p99 per endpoint, one endpoint's percentiles, failures/s, (users, when Locust's history saw
        # any), the resources in four groups, the spectrum, the distribution
        assert interactive == ["rps", "latency", "percentiles", "failures", *(["users"] if peak_users > 0 else []),
                               "resources-cpu", "resources-memory", "resources-postgresql",
                               "resources-other-resource-figures", "spectrum", "distribution"]
        svgs = re.findall(r'<svg data-(metric|chart)="([^"]+)"', dom)
        # the baseline's bars: latencies and requests/s always, failure ratio as one side failed; push-to-pop
        assert svgs == [("chart", "push-to-pop"), ("metric", "p50"), ("metric", "p95"), ("metric", "p99"),
                        ("metric", "rps"), ("metric", "fail_ratio")]
        assert int(re.search(r'data-charts="(\d+)"', body).group(1)) == len(interactive) + len(svgs)
        for section in SECTIONS:
            assert f'id="{section}"' in dom
        assert ODD_NAME.replace('"', "&quot;") in dom or ODD_NAME in dom

        # the first screen: the checks and the cards, before any table, with the run's own figures
        summary = dom[:dom.index("<table")]
        checks = dict(re.findall(r'data-check="([^"]+)"><span class="mark">[^<]*</span> <b>[^<]*</b>: ([^<]*)</li>',
                                 summary))
        assert checks["Thresholds"] == "all 1 hold"
        assert re.match(rf"\d+ regressions? against {re.escape(str(runs['clean']))}: Aggregated fail_ratio",
                        checks["Baseline"]), checks
        assert checks["Queue integrity"].startswith("750 items acknowledged, 751 popped, 0 lost, 1 duplicated")
        assert checks["Load generator"] == "not saturated (peak 24% of a core)"
        cards = card_values(summary)
        aggregated = next(row for row in stats_rows(prefix) if row["Name"] == "Aggregated")
        requests, failures = int(aggregated["Request Count"]), int(aggregated["Failure Count"])
        assert cards["requests"] == f"{requests:,}"
        assert cards["failures"] == f"{100 * failures / requests:.2f}%"
        assert cards["users"] == f"{peak_users:.0f}"
        document = report(prefix)
        assert cards["rps"] == f"{document['total']['rps']:.2f}"
        assert cards["duration"] == f"{document['duration_s']:.1f} s"
        counts = merged_counts(prefix)
        for key, percentile in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100)):
            assert cards[key] == exact_ms(counts, percentile), key

        # resources: one chart per group, processes named, never a clock plotted as a metric
        groups = re.findall(r'<figure class="chart" data-kind="time" data-group="([^"]+)"', dom)
        assert groups == ["CPU", "Memory", "PostgreSQL", "Other resource figures"]
        assert [label for label, _, _ in legend(page, "resources-cpu")] == ["elapsed", "load generator", "pid 4242"]
        assert not re.search(r">\s*(Time|Timestamp)\s*<", dom.split('id="resources"')[1].split('id="spectrum"')[0])
        assert "1.8e9" not in dom and not re.search(r">\s*Time\s*</td>", dom)

        # integrity in words, with what the non-zero figure means and where to read more; push-to-pop per priority
        sentence = re.search(r'<p class="sentence fail" id="integrity-sentence">([^<]*)</p>', dom).group(1)
        assert sentence == "750 items acknowledged, 751 popped, 0 lost, 1 duplicated, 0 out of order."
        assert "<b>1</b> duplicated: delivered more than once" in dom and 'href="docs/INTEGRITY.md"' in dom
        push_to_pop = re.search(r'<svg data-chart="push-to-pop".*?</svg>', dom, re.S).group(0)
        real = json.loads(Path(f"{runs['failing']}_integrity.json").read_text())["push_to_pop"]
        for row in real:
            assert f"priority {row['priority']} ({row['count']:,} items)" in push_to_pop

        # the baseline: the regression the comparison found is marked on its bar
        fail_ratio = re.search(r'<svg data-metric="fail_ratio".*?</svg>', dom, re.S).group(0)
        assert "▲ Aggregated" in fail_ratio and "#D62728" in fail_ratio.upper()

        # the spectrum: hovering at 99% shows, in the legend, the exact p99 the histograms give
        x, y = page.evaluate("pointOf('spectrum', 2)")
        page.mouse("mouseMoved", x, y)
        page.wait_for("legendOf('spectrum')[0][1] === '99%'")
        entries = {label: value for label, value, _ in legend(page, "spectrum")}
        assert entries["Aggregated"] == f"{exact_ms(counts, 99)} ms", entries
        hdr = json.loads(Path(f"{prefix}_hdr.json").read_text())["histograms"]["entries"]
        for entry in hdr:
            name = f"{entry['method']} {entry['name']}"
            if sum(c for _, c in entry["counts"]) >= 100:
                assert entries[name] == f"{exact_ms(entry['counts'], 99)} ms", name

        # the distribution: every request of the picked endpoint in its bars, for each endpoint of the list
        names = page.evaluate("Array.prototype.map.call(document.querySelectorAll('select[data-for=distribution] "
                              "option'), function (o) { return o.textContent; })")
        assert names[0] == "Aggregated" and len(names) == len(hdr) + 1
        for index, name in enumerate(names):
            page.evaluate(f"(function () {{ var s = document.querySelector('select[data-for=distribution]'); "
                          f"s.value = '{index}'; s.dispatchEvent(new Event('change')); }})()")
            shown = page.evaluate("pushpopCharts.distribution.data[1].reduce(function (a, b) { return a + b; }, 0)")
            entry = next((e for e in hdr if f"{e['method']} {e['name']}" == name), None)
            expected = sum(c for _, c in (entry["counts"] if entry else counts))
            assert shown == expected, name

        # p99 per endpoint over time: the exact per-second figures of _hdr_intervals.csv, and hovering a second
        # shows its value in the legend, with its time, on this chart and on every other time chart at once
        with open(f"{prefix}_hdr_intervals.csv", newline="") as handle:
            intervals = list(csv.DictReader(handle))
        labels = [label for label, _, _ in legend(page, "latency")][1:]
        data = page.evaluate("pushpopCharts.latency.data")
        for k, label in enumerate(labels, start=1):
            rows = [row for row in intervals if f"{row['Type']} {row['Name']}" == label]
            assert [v for v in data[k] if v is not None] == [float(row["p99 ms"]) for row in rows], label
        # a short run may hold a single second: any point that has a value, the middle one of the first line
        k = next(k for k in range(1, len(data)) if any(v is not None for v in data[k]))
        present = [i for i, v in enumerate(data[k]) if v is not None]
        i = present[len(present) // 2]
        x, y = page.evaluate(f"pointOf('latency', pushpopCharts.latency.data[0][{i}])")
        page.mouse("mouseMoved", x, y)
        page.wait_for(f"legendOf('latency')[{k}][1] !== '–' && pushpopCharts.latency.cursor.idx === {i}")
        shown = legend(page, "latency")
        assert shown[k][1] == f"{data[k][i]:.3f} ms"
        seconds = round(data[0][i])
        assert shown[0][1] == f"{seconds // 60}:{seconds % 60:02d}"
        # the cursor moved on the other time charts too
        page.wait_for(f"legendOf('rps')[0][1] === {json.dumps(shown[0][1])}")

        # a click on a legend entry hides its line; another shows it again
        for hidden in (True, False):
            x, y = page.evaluate("(function () { var tr = pushpopCharts.rps.root.querySelectorAll('.u-legend "
                                 ".u-series')[1]; tr.scrollIntoView({block: 'center'}); "
                                 "var r = tr.getBoundingClientRect(); return [r.left + 10, r.top + r.height / 2]; })()")
            page.click(x, y)
            page.wait_for(f"pushpopCharts.rps.series[1].show === {json.dumps(not hidden)}")
            assert legend(page, "rps")[1][2] is hidden

        # a zoom dragged on one time chart applies to every time chart; a double-click shows the whole run again
        whole = page.evaluate("pushpopWhole")
        time_charts = [c for c in interactive if c not in ("spectrum", "distribution")]
        assert all(page.evaluate(f"xRange('{c}')") == whole for c in time_charts)
        left, right = whole[0] + (whole[1] - whole[0]) * 0.25, whole[0] + (whole[1] - whole[0]) * 0.75
        (x0, y), (x1, _) = page.evaluate(f"pointOf('rps', {left})"), page.evaluate(f"pointOf('rps', {right})")
        page.drag(x0, x1, y)
        page.wait_for(f"xRange('rps')[0] > {whole[0]}")
        zoomed = page.evaluate("xRange('rps')")
        span = whole[1] - whole[0]
        assert abs(zoomed[0] - left) < span / 50 and abs(zoomed[1] - right) < span / 50, (zoomed, left, right)
        for chart in time_charts:
            assert page.evaluate(f"xRange('{chart}')") == zoomed, chart
        assert page.evaluate("xRange('spectrum')")[0] == 0  # not a time chart: not zoomed
        x, y = page.evaluate(f"pointOf('latency', {(left + right) / 2})")
        page.click(x, y, clicks=2)
        page.wait_for(f"xRange('rps')[0] === {whole[0]} && xRange('rps')[1] === {whole[1]}")
        for chart in time_charts:
            assert page.evaluate(f"xRange('{chart}')") == whole, chart

        shoot_sections(page, 1280, tmp_path)
        assert page.errors() == []
        assert page.requests() == [html.as_uri()]

        # at a phone's width nothing is wider than the screen: tables scroll in their own box, charts fit
        phone = browser.page()
        phone.size(390, 844, mobile=True)
        open_report(phone, html)
        inner, scroll = phone.evaluate("[innerWidth, document.documentElement.scrollWidth]")
        assert inner == 390 and scroll <= inner, (inner, scroll)
        widths = phone.evaluate("Object.keys(pushpopCharts).map(function (id) { "
                                "return pushpopCharts[id].root.getBoundingClientRect().right; })")
        assert max(widths) <= 390, widths
        # the drawn bar charts keep two thirds of their size (their labels readable) and scroll in their own box
        scales = phone.evaluate("Array.from(document.querySelectorAll('figure.svg svg')).map(function (svg) { "
                                "return svg.getBoundingClientRect().width / svg.viewBox.baseVal.width; })")
        assert scales and min(scales) >= 0.66, scales
        shoot_sections(phone, 390, tmp_path)
        assert phone.errors() == []
        assert phone.requests() == [html.as_uri()]
