"""The prepopulator against wrk on the same target in the same run: wrk's push rate, then `pushpop-load prepopulate`
filling a fresh queue with ITEMS items (100K), RUNS times, then wrk again. The target (memory store, --threads 1)
runs on CPU 0; wrk and the prepopulator each run alone on CPU 1 with the same number of connections.

    .venv/bin/python bench/prepopulate/run.py             # full run (DURATION=10 s of wrk, ITEMS=100000, RUNS=3)
    SMOKE=1 .venv/bin/python bench/prepopulate/run.py     # 1 s of wrk, 5,000 items once: checks the harness only

Environment: DURATION (s), CONNECTIONS (64, the prepopulator's default), ITEMS, RUNS, SMOKE, ALLOW_DEBUG (accept a
debug build). Goal: the prepopulator's median rate >= 90% of wrk's (the better of its two runs).
Results: bench/results/prepopulate-<UTC stamp>/ (raw wrk output, the prepopulator's reports, results.json,
summary.md); the summary is printed.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import ROOT, ensure, fail, write_results  # noqa: E402
from processes import PUSHPOP, Target  # noqa: E402

SMOKE = os.environ.get("SMOKE") == "1"
DURATION = int(os.environ.get("DURATION", "1" if SMOKE else "10"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "64"))
ITEMS = int(os.environ.get("ITEMS", "5000" if SMOKE else "100000"))
RUNS = int(os.environ.get("RUNS", "1" if SMOKE else "3"))
TARGET_CPU, CLIENT_CPU = "0", "1"
GOAL = 0.90


def wrk(binary: str, url: str, out: Path, label: str) -> dict[str, float]:
    done = subprocess.run(
        ["taskset", "-c", CLIENT_CPU, binary, "-t1", f"-c{CONNECTIONS}", f"-d{DURATION}s", "--latency",
         "--timeout", "10s", "-s", str(ROOT / "bench" / "target" / "push.lua"), f"{url}/queue/bench-wrk/push"],
        capture_output=True, text=True, timeout=DURATION + 60,
    )
    (out / f"{label}.txt").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        fail(f"wrk failed: {done.stderr.strip()}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    return {"rate": rate, "errors": int(errors.group(1)) if errors else 0}


def prepopulate(url: str, out: Path, run: int) -> dict[str, float]:
    report_path = out / f"prepopulate-{run}.json"
    started = time.monotonic()
    done = subprocess.run(
        ["taskset", "-c", CLIENT_CPU, PUSHPOP, "prepopulate", "--host", url, "--queue", f"bench-prepopulate-{run}",
         "--items", str(ITEMS), "--connections", str(CONNECTIONS), "--json", str(report_path), "--quiet"],
        capture_output=True, text=True, timeout=600,
    )
    wall = time.monotonic() - started
    if done.returncode != 0:
        fail(f"prepopulate failed: {done.stderr.strip()}")
    report = json.loads(report_path.read_text())
    if not report["verified"] or report["verification"] != "stats" or report["pushed"] != ITEMS:
        fail(f"prepopulate run {run} did not verify: {report}")
    return {"rate": report["rate"], "elapsed": report["elapsed"], "wall": wall, "retried": report["retried"]}


def main() -> None:
    import pushpop_load

    if pushpop_load.build_profile != "release" and os.environ.get("ALLOW_DEBUG") != "1":
        fail("pushpop_load is a debug build: run `make build-prod` first (or ALLOW_DEBUG=1 to check the harness)")
    if os.cpu_count() is None or os.cpu_count() < 2:  # type: ignore[operator]
        fail("needs two CPUs: the target on one, the clients on the other")
    binary = ensure("wrk", "wrk")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = ROOT / "bench" / "results" / f"prepopulate-{stamp}"
    out.mkdir(parents=True)
    target = Target("--store", "memory", "--threads", "1", prefix=("taskset", "-c", TARGET_CPU)).start()
    try:
        wrk_runs = [wrk(binary, target.url, out, "wrk-before")]
        runs = [prepopulate(target.url, out, run) for run in range(RUNS)]
        wrk_runs.append(wrk(binary, target.url, out, "wrk-after"))
    finally:
        code = target.stop()
    if code != 0:
        fail(f"the target exited with {code}")

    wrk_rate = max(run["rate"] for run in wrk_runs)
    rate = statistics.median(run["rate"] for run in runs)
    ratio = rate / wrk_rate
    results = {
        "connections": CONNECTIONS, "items": ITEMS, "duration": DURATION, "build": pushpop_load.build_profile,
        "wrk": wrk_runs, "prepopulate": runs, "wrk_rate": wrk_rate, "prepopulate_rate": rate, "ratio": ratio,
        "goal_met": ratio >= GOAL,
    }
    lines = [
        f"memory-store target pinned to CPU {TARGET_CPU} (--threads 1); wrk -t1 -c{CONNECTIONS} ({DURATION} s) and "
        f"`pushpop-load prepopulate --connections {CONNECTIONS} --items {ITEMS:,}` each alone on CPU {CLIENT_CPU}; "
        f"build: {pushpop_load.build_profile}{' (SMOKE)' if SMOKE else ''}",
        "",
        "| client | pushes/s | seconds (pushing) | seconds (whole command) | retries |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, run in zip(("wrk before", "wrk after"), wrk_runs):
        lines.append(f"| {label} | {run['rate']:,.0f} | {DURATION} | – | – |")
    for index, run in enumerate(runs):
        lines.append(f"| prepopulate run {index + 1} | {run['rate']:,.0f} | {run['elapsed']:.2f} | {run['wall']:.2f} | "
                     f"{run['retried']} |")
    lines += ["", f"- goal: prepopulate >= {GOAL:.0%} of wrk's push rate: {'met' if ratio >= GOAL else 'NOT met'} "
                  f"(median {rate:,.0f} items/s = {ratio:.1%} of wrk's {wrk_rate:,.0f} req/s)"]
    summary = "\n".join(lines) + "\n"
    write_results(out, summary, results)
    errors = sum(run["errors"] for run in wrk_runs)
    if errors:
        fail(f"{errors} wrk requests failed; see {out}")


if __name__ == "__main__":
    main()
