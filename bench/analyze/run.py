"""The analyzer against pandas on a large Locust `_stats_history.csv`: the same per-series summary (rows, first and
last timestamp, peak users, mean and max requests/s and failures/s, max p95 and p99, final totals), timed side by
side, and checked to agree.

    make build-prod && .venv/bin/python bench/analyze/run.py
    SMOKE=1 ALLOW_DEBUG=1 PANDAS=0 .venv/bin/python bench/analyze/run.py    # 20,000 rows, no pandas: the harness

The file is generated in Locust 2.47's layout with --csv-full-history: four endpoints and the Aggregated row per
second (one name with a comma and quotes; the first seconds without requests, so their percentiles are N/A).
Ours: `pushpop-load analyze FILE --format json --out …` (the JSON report includes the summary), timed in this process
through `run_cli` as pandas is (the first ratio compares these two), and as a whole process from start to exit
(Python's start and the extension's import included). pandas: `read_csv` and a `groupby(...).agg(...)` in this
process, import not counted, and as a whole process running the same (this script with `--pandas-only FILE`; the
second ratio compares the two processes). Best of REPEAT runs each. pandas is installed into the running venv when
missing (PANDAS=0 skips it).

Both tools are timed twice: on the file as written (written back to disk first, so that no writeback runs during the
timings; the top-level figures of results.json), and on the file dropped from the page cache and read back once
(`read_back` in results.json): the page cache then holds it as readahead left it, which the kernel copies out
faster.

Environment: ROWS (1,000,000), REPEAT (3; 20 for figures to record), SMOKE, ALLOW_DEBUG, PANDAS.
Results: bench/results/analyze-<stamp>/.
"""

from __future__ import annotations

import csv
import datetime
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import ROOT, fail  # noqa: E402

SMOKE = os.environ.get("SMOKE") == "1"
ROWS = int(os.environ.get("ROWS", "20000" if SMOKE else "1000000"))
REPEAT = int(os.environ.get("REPEAT", "1" if SMOKE else "3"))
WITH_PANDAS = os.environ.get("PANDAS", "1") != "0"
BIN = Path(sys.executable).parent
ENDPOINTS = [("POST", "/queue/[id]/push"), ("POST", "/queue/[id]/pop"), ("POST", 'pop "deep", depth=10'),
             ("GET", "/health")]
PERCENTILES = ["50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%"]
HEADER = ["Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s", *PERCENTILES, "Total Request Count",
          "Total Failure Count", "Total Median Response Time", "Total Average Response Time", "Total Min Response Time",
          "Total Max Response Time", "Total Average Content Size"]


def generate(path: Path, rows: int) -> None:
    """Deterministic, Locust-shaped rows: rates and percentiles drift slowly, as in a long soak."""
    per_second = len(ENDPOINTS) + 1
    start = 1_795_000_000
    totals = [0] * per_second
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for second in range(math.ceil(rows / per_second)):
            users = min(50, second // 2)
            quiet = second < 3
            aggregated_rps = 0.0
            for index in range(per_second):
                if second * per_second + index >= rows:
                    return
                if index < len(ENDPOINTS):
                    method, name = ENDPOINTS[index]
                    rps = 0.0 if quiet else 10.0 + 5 * math.sin(second / 600 + index) + index
                    aggregated_rps += rps
                else:
                    method, name, rps = "", "Aggregated", aggregated_rps
                fail_rps = 0.0 if quiet or second % 97 else 0.5
                totals[index] += int(rps)
                base = 2 + index + (second % 1000) / 250
                percentiles = ["N/A"] * len(PERCENTILES) if quiet else [
                    int(base * factor) for factor in (1, 1.2, 1.4, 1.5, 2, 3, 4, 5, 8, 9, 10)]
                writer.writerow([start + second, users, method, name, f"{rps:2f}", f"{fail_rps:2f}", *percentiles,
                                 totals[index], second // 97, 3, 3.5, 1, 40, 97.5])


def ours(path: Path, out: Path) -> tuple[float, dict]:
    from pushpop_load._native import run_cli

    started = time.perf_counter()
    code = run_cli(["pushpop-load", "analyze", str(path), "--format", "json", "--out", str(out)])
    elapsed = time.perf_counter() - started
    if code != 0:
        fail(f"pushpop-load analyze exited {code}")
    history = json.loads(out.read_text())["timeline"]["history"]
    return elapsed, {(s["method"], s["name"]): s for s in history}


def ours_process(path: Path, out: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run([str(BIN / "pushpop-load"), "analyze", str(path), "--format", "json", "--out", str(out)],
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        fail(f"pushpop-load analyze failed: {done.stderr.strip()}")
    return elapsed


def with_pandas(path: Path):
    import pandas as pd

    started = time.perf_counter()
    frame = pd.read_csv(path, keep_default_na=False, na_values=["N/A", ""])
    frame["Type"] = frame["Type"].fillna("")
    summary = frame.groupby(["Type", "Name"], sort=False).agg(
        rows=("Timestamp", "size"), first_timestamp=("Timestamp", "min"), last_timestamp=("Timestamp", "max"),
        peak_users=("User Count", "max"), mean_rps=("Requests/s", "mean"), max_rps=("Requests/s", "max"),
        mean_fail_rps=("Failures/s", "mean"), max_fail_rps=("Failures/s", "max"), max_p95_ms=("95%", "max"),
        max_p99_ms=("99%", "max"), total_requests=("Total Request Count", "last"),
        total_failures=("Total Failure Count", "last"))
    elapsed = time.perf_counter() - started
    return elapsed, {key: row.to_dict() for key, row in summary.iterrows()}


def pandas_process(path: Path) -> float:
    """The pandas summary as a command, from start to exit (Python's start and pandas' import included), as a user
    running a pandas script meets it: the counterpart of `ours_process`."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--pandas-only", str(path)], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        fail(f"the pandas script failed: {done.stderr.strip()}")
    return elapsed


def with_python(path: Path) -> dict:
    """The same summary in plain Python: the reference when pandas is not wanted (the smoke run)."""
    series: dict[tuple[str, str], dict] = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            s = series.setdefault((row["Type"], row["Name"]), {"rows": 0, "t": [], "users": [], "rps": [], "fail": [],
                                                               "p95": [], "p99": []})
            s["rows"] += 1
            for key, column in (("t", "Timestamp"), ("users", "User Count"), ("rps", "Requests/s"),
                                ("fail", "Failures/s"), ("p95", "95%"), ("p99", "99%")):
                if row[column] not in ("", "N/A"):
                    s[key].append(float(row[column]))
            s["total_requests"], s["total_failures"] = int(row["Total Request Count"]), int(row["Total Failure Count"])
    return {key: {"rows": s["rows"], "first_timestamp": min(s["t"]), "last_timestamp": max(s["t"]),
                  "peak_users": max(s["users"]), "mean_rps": sum(s["rps"]) / len(s["rps"]), "max_rps": max(s["rps"]),
                  "mean_fail_rps": sum(s["fail"]) / len(s["fail"]), "max_fail_rps": max(s["fail"]),
                  "max_p95_ms": max(s["p95"]), "max_p99_ms": max(s["p99"]), "total_requests": s["total_requests"],
                  "total_failures": s["total_failures"]} for key, s in series.items()}


def ensure_pandas() -> str:
    try:
        import pandas
    except ImportError:
        print("installing pandas into this venv (the benchmark's comparison only)", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "pandas"], check=True)
        import pandas
    return pandas.__version__


def agree(a: dict, b: dict) -> list[str]:
    problems = []
    if set(a) != set(b):
        return [f"series differ: {sorted(a)} vs {sorted(b)}"]
    for key in a:
        for field in ("rows", "first_timestamp", "last_timestamp", "peak_users", "mean_rps", "max_rps", "mean_fail_rps",
                      "max_fail_rps", "max_p95_ms", "max_p99_ms", "total_requests", "total_failures"):
            x, y = a[key][field], b[key][field]
            if not math.isclose(float(x), float(y), rel_tol=1e-9, abs_tol=1e-9):
                problems.append(f"{key} {field}: ours {x}, pandas {y}")
    return problems


def main() -> None:
    from pushpop_load import _native

    if _native.build_profile != "release" and os.environ.get("ALLOW_DEBUG") != "1":
        fail("pushpop_load is a debug build: run `make build-prod` first (or ALLOW_DEBUG=1 to check the harness)")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = ROOT / "bench" / "results" / f"analyze-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    path = out / "big_stats_history.csv"
    started = time.perf_counter()
    generate(path, ROWS)
    # written back to disk before anything is timed: the kernel's writeback of 110 MB would otherwise run beside
    # whichever tool is timed first (ours)
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
    print(f"generated {ROWS:,} rows ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s",
          flush=True)

    result = {"rows": ROWS, "bytes": path.stat().st_size, "build": _native.build_profile, "cpus": os.cpu_count(),
              **measure(path, out)}
    read_back(path)
    result["read_back"] = measure(path, out)
    (out / "results.json").write_text(json.dumps(result, indent=2))
    path.unlink()  # 150 MB: the figures are what is kept
    for state, figures in (("file as written", result), ("file read back from disk", result["read_back"])):
        line = (f"{ROWS:,} rows, {state}: pushpop-load analyze {figures['ours_s']:.3f} s in-process, "
                f"{figures['ours_process_s']:.3f} s as a whole process (best of {REPEAT})")
        if WITH_PANDAS:
            line += (f"; pandas {figures['pandas_version']} {figures['pandas_s']:.3f} s in-process, "
                     f"{figures['pandas_process_s']:.3f} s as a whole process; {figures['ratio']:.1f}x in-process, "
                     f"{figures['process_ratio']:.1f}x as processes (medians: {figures['median_ratio']:.1f}x, "
                     f"{figures['median_process_ratio']:.1f}x)")
        print(line + ", summaries agree")
    print(f"raw output in {out.relative_to(ROOT)}")


def read_back(path: Path) -> None:
    """Drops the file's pages from the page cache and reads it once, untimed: the cache as it is for a file read from
    disk rather than one just written. Both tools read faster then (the kernel copies out of what its readahead
    cached in fewer steps); ours by ~5 ms, which is why both states are measured."""
    with open(path, "rb") as handle:
        os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        while handle.read(1 << 24):
            pass


def measure(path: Path, out: Path) -> dict:
    """Both tools on `path`, REPEAT times each, and the summaries checked to agree."""
    ours_times, process_times, summary = [], [], {}
    for _ in range(REPEAT):
        elapsed, summary = ours(path, out / "report.json")
        ours_times.append(elapsed)
        process_times.append(ours_process(path, out / "report.json"))
    result = {"ours_s": min(ours_times), "ours_all_s": ours_times, "ours_process_s": min(process_times),
              "ours_process_all_s": process_times}
    if not WITH_PANDAS:
        problems = agree(summary, with_python(path))
        if problems:
            fail("the summaries disagree: " + "; ".join(problems[:5]))
        return result
    result["pandas_version"] = ensure_pandas()
    pandas_times, pandas_process_times, theirs = [], [], {}
    for _ in range(REPEAT):
        elapsed, theirs = with_pandas(path)
        pandas_times.append(elapsed)
        pandas_process_times.append(pandas_process(path))
    problems = agree(summary, theirs)
    if problems:
        fail("the summaries disagree: " + "; ".join(problems[:5]))
    result.update(pandas_s=min(pandas_times), pandas_all_s=pandas_times,
                  ratio=min(pandas_times) / min(ours_times), pandas_process_s=min(pandas_process_times),
                  pandas_process_all_s=pandas_process_times,
                  process_ratio=min(pandas_process_times) / min(process_times),
                  # the best of each is the usual figure; the medians say how much it owes to luck
                  median_ratio=statistics.median(pandas_times) / statistics.median(ours_times),
                  median_process_ratio=statistics.median(pandas_process_times) / statistics.median(process_times))
    return result


if __name__ == "__main__":
    if sys.argv[1:2] == ["--pandas-only"] and len(sys.argv) == 3:
        with_pandas(Path(sys.argv[2]))
    else:
        main()
