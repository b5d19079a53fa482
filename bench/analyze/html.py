"""Time of `pushpop-load analyze --format html` on a one-hour run: 3,600 seconds of `_stats_history.csv` (each
second: 20 endpoints and the Aggregated row), `_hdr.json` with 20 exact histograms, `_hdr_intervals.csv` with 20
endpoints per second, and `_resources.csv` in the monitor's layout with 10 series (CPU and memory of the
generator, the target and postgres, PostgreSQL's sessions and rates) and its `Time` clock.

    make build-prod && .venv/bin/python bench/analyze/html.py
    SMOKE=1 ALLOW_DEBUG=1 .venv/bin/python bench/analyze/html.py    # a debug build: the harness only

The whole process is timed (Python's start and the extension's import included), wall clock and CPU time (user +
system: on a shared machine the steadier figure), best of REPEAT (5). The issue's
bars: one second, and a file of a few MB (the harness fails past 5 MB). Results: bench/results/analyze-html-<stamp>/results.json.
"""

from __future__ import annotations

import datetime
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import ROOT, fail  # noqa: E402

SECONDS, ENDPOINTS = 3600, 20
REPEAT = int(os.environ.get("REPEAT", "5"))
BIN = Path(sys.executable).parent
START = 1_796_000_000
PERCENTILES = ["50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%"]
RESOURCES = ["generator cpu_pct", "generator rss_bytes", "pid:4242 cpu_pct", "pid:4242 rss_bytes",
             "process:postgres cpu_pct", "process:postgres rss_bytes", "postgres:app connections",
             "postgres:app active", "postgres:app commits_per_s", "postgres:app inserted_per_s"]


def write_run(prefix: Path) -> None:
    rng = random.Random(1)
    names = [("POST", f"/queue/[id]/op{i}") for i in range(ENDPOINTS)]
    histograms = []
    for method, name in names:
        counts = sorted({rng.randint(200, 50_000): None for _ in range(2_000)})
        histograms.append({"method": method, "name": name, "failures": 0, "items": 0,
                           "counts": [[v, rng.randint(1, 500)] for v in counts]})
    totals = {e["name"]: sum(c for _, c in e["counts"]) for e in histograms}
    Path(f"{prefix}_hdr.json").write_text(json.dumps({
        "format": "pushpop-load-hdr", "version": 1, "unit": "us", "duration_s": float(SECONDS),
        "summaries": [{"method": m, "name": n, "count": totals[n], "failures": 0, "items": 0} for m, n in names],
        "histograms": {"version": 1, "unit": "us", "entries": histograms}}))
    header = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time," \
             "Max Response Time,Average Content Size,Requests/s,Failures/s," + ",".join(PERCENTILES)
    rows = [f"{m},{n},{totals[n]},0,5,6.0,0.2,50,10.0,{totals[n] / SECONDS:.3f},0.0," + ",".join(["5"] * 11)
            for m, n in names]
    total = sum(totals.values())
    rows.append(f",Aggregated,{total},0,5,6.0,0.2,50,10.0,{total / SECONDS:.3f},0.0," + ",".join(["5"] * 11))
    Path(f"{prefix}_stats.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    history = ["Timestamp,User Count,Type,Name,Requests/s,Failures/s," + ",".join(PERCENTILES)
               + ",Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,"
                 "Total Min Response Time,Total Max Response Time,Total Average Content Size"]
    intervals = ["Timestamp,Type,Name,Requests,Failures,Items,p50 ms,p95 ms,p99 ms,Max ms"]
    resources = ["Timestamp,Time," + ",".join(RESOURCES)]
    for s in range(SECONDS):
        t = START + s
        for m, n in names:
            history.append(f"{t},100,{m},{n},{rng.uniform(10, 20):.6f},0.000000," + ",".join(["5"] * 11)
                           + f",{s * 15},0,5,6.0,0.2,50,10.0")
            intervals.append(f"{t},{m},{n},15,0,0,{rng.uniform(1, 5):.3f},{rng.uniform(5, 9):.3f},"
                             f"{rng.uniform(9, 20):.3f},{rng.uniform(20, 50):.3f}")
        history.append(f"{t},100,,Aggregated,{rng.uniform(200, 400):.6f},0.000000," + ",".join(["5"] * 11)
                       + f",{s * 300},0,5,6.0,0.2,50,10.0")
        values = [rng.uniform(10, 90), rng.randint(50, 60) * 2**20, rng.uniform(10, 90), rng.randint(80, 90) * 2**20,
                  rng.uniform(10, 90), rng.randint(100, 120) * 2**20, rng.randint(5, 10), rng.randint(0, 5),
                  rng.uniform(100, 300), rng.uniform(100, 300)]
        resources.append(f"{t},{t}.250," + ",".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in values))
    Path(f"{prefix}_stats_history.csv").write_text("\n".join(history) + "\n")
    Path(f"{prefix}_hdr_intervals.csv").write_text("\n".join(intervals) + "\n")
    Path(f"{prefix}_resources.csv").write_text("\n".join(resources) + "\n")


def main() -> None:
    build = subprocess.run([BIN / "python", "-c", "import pushpop_load._native as n; print(n.build_profile)"],
                           capture_output=True, text=True, check=False).stdout.strip()
    if build != "release" and os.environ.get("ALLOW_DEBUG") != "1":
        fail(f"the native module is a {build or 'unknown'} build: run `make build-prod` (or ALLOW_DEBUG=1)")
    with tempfile.TemporaryDirectory() as tmp:
        prefix = Path(tmp) / "hour"
        write_run(prefix)
        out = Path(tmp) / "hour.html"
        times, cpu = [], []
        for _ in range(REPEAT):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            began = time.perf_counter()
            done = subprocess.run([BIN / "pushpop-load", "analyze", prefix, "--format", "html", "--out", out],
                                  capture_output=True, text=True, check=False)
            times.append(time.perf_counter() - began)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            if done.returncode not in (0, 1):
                fail(done.stderr)
        size = out.stat().st_size
        page = out.read_text()
        charts = page.count("<svg ")
        interactive = page.count('<div class="plot" id="chart-')
    result = {"build": build, "seconds": SECONDS, "endpoints": ENDPOINTS, "resource_series": len(RESOURCES),
              "best_s": round(min(times), 3), "times_s": [round(t, 3) for t in times],
              "best_cpu_s": round(min(cpu), 3), "html_bytes": size,
              "svg_charts": charts, "interactive_charts": interactive}
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    folder = ROOT / "bench" / "results" / f"analyze-html-{stamp}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    if size > 5_000_000:
        fail(f"the HTML report of a one-hour run is {size:,} bytes (the bar is a few MB)")
    if build == "release" and min(times) >= 1.0:
        fail(f"the HTML report of a one-hour run took {min(times):.3f} s (the bar is 1 s)")


if __name__ == "__main__":
    main()
