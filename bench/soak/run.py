"""Soak: S3a traffic at a steady rate for 30 minutes against the reference target, watching the Locust process's
memory and file descriptors.

    make build-prod && nohup .venv/bin/python bench/soak/run.py > soak.log 2>&1 &
    SMOKE=1 ALLOW_DEBUG=1 .venv/bin/python bench/soak/run.py       # 40 s, a sample every 5 s: the harness only

The script starts the reference target on a free port of 127.0.0.1 (memory store; STORE=postgres puts it on a
throwaway PostgreSQL cluster from pushpop_load.testing) and one headless Locust process running S3a
(`locustfiles/s3_mixed.py MixedWorkloadUser`, as `scripts/run_scenario.sh s3a` does) with `--pp-rate RATE`: the
swarm-wide request rate, paced, so the load stays the same for the whole run. Every INTERVAL seconds it reads the
Locust process (the PID it started; one process, no --processes) from /proc: VmRSS and VmHWM, open fds (and how
many are sockets), threads, user and system CPU time; and the target's RSS, for context. Those rows are `samples.csv`.

Goals (issue 7): RSS grows less than 5% from the first minute (WARMUP) to the end, and the fds stay flat (the most
after the first minute is at most FD_SLACK above the count at the first minute). Also reported: a least-squares
slope of RSS after the first minute, in KiB per minute. The verdicts are printed, never turned into the exit code
(a benchmark, not a gate): exit 0 after a run, 2 on a bad setup.

Environment: DURATION (s, 1800), INTERVAL (s, 10), RATE (requests/s, 400), USERS (50), STORE (memory|postgres),
WARMUP (s, 60), FD_SLACK (2), SMOKE (DURATION 40, INTERVAL 5, WARMUP 10), ALLOW_DEBUG, DIAGNOSE (1: load
bench/soak/diagnose.py beside the scenario — tracemalloc, Locust's history, the exact statistics' per-second
buckets — into diagnose.csv and diagnose_top.txt; it costs CPU and memory of its own). Results:
bench/results/soak-<stamp>/ (samples.csv, summary.json, summary.md, Locust's CSVs as s3a_*, the toolkit's
s3a_hdr.json, s3a_hdr_intervals.csv, s3a_integrity.json, s3a_scenario.json, locust.log, target.log).
"""

from __future__ import annotations

import csv
import datetime
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import ROOT, fail, write_results  # noqa: E402
from processes import LOCUST, Postgres, Target  # noqa: E402

HERE = Path(__file__).resolve().parent

SMOKE = os.environ.get("SMOKE") == "1"
DURATION = int(os.environ.get("DURATION", "40" if SMOKE else "1800"))
INTERVAL = float(os.environ.get("INTERVAL", "5" if SMOKE else "10"))
RATE = float(os.environ.get("RATE", "400"))
USERS = int(os.environ.get("USERS", "50"))
STORE = os.environ.get("STORE", "memory")
WARMUP = float(os.environ.get("WARMUP", "10" if SMOKE else "60"))
FD_SLACK = int(os.environ.get("FD_SLACK", "2"))
DIAGNOSE = os.environ.get("DIAGNOSE") == "1"
RSS_GOAL_PCT = 5.0
# after -t ends: users finish their request (--stop-timeout), then the integrity drain pops what is left
EXIT_GRACE_S = 180
END_MARGIN_S = min(2.0, INTERVAL / 2)
TICKS = os.sysconf("SC_CLK_TCK")
COLUMNS = ["elapsed_s", "unix_time", "rss_kib", "hwm_kib", "fds", "sockets", "threads", "cpu_user_s",
           "cpu_system_s", "target_rss_kib"]


class Stop(Exception):
    """SIGTERM, turned into an exception so that the processes started here are stopped on the way out."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Stop()


def read_process(pid: int) -> dict[str, float] | None:
    """One sample of `pid` from /proc, or None once it is gone (a zombie has no VmRSS line)."""
    try:
        status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                      if ":" in line)
        fds = os.listdir(f"/proc/{pid}/fd")
        sockets = sum(1 for fd in fds if _link(f"/proc/{pid}/fd/{fd}").startswith("socket:"))
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    if "VmRSS" not in status:
        return None
    return {"rss_kib": int(status["VmRSS"].split()[0]), "hwm_kib": int(status["VmHWM"].split()[0]), "fds": len(fds),
            "sockets": sockets, "threads": int(status["Threads"]), "cpu_user_s": int(stat[11]) / TICKS,
            "cpu_system_s": int(stat[12]) / TICKS}


def sample_count() -> int:
    return int(DURATION // INTERVAL)


def _link(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:  # closed between the listing and the read
        return ""


def sample_until_done(locust: subprocess.Popen[bytes], target_pid: int, started: float,
                      path: Path) -> list[dict[str, float]]:
    """Samples at started + k * INTERVAL (no drift) for k = 1 .. DURATION / INTERVAL, while Locust runs; each row
    is in `path` as soon as it is taken, so a long run stopped early keeps what it saw."""
    rows: list[dict[str, float]] = []
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for k in range(1, sample_count() + 1):
            # -t counts from about when we start Locust, so a sample due at DURATION could find it gone
            due = started + min(k * INTERVAL, DURATION - END_MARGIN_S)
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sample = read_process(locust.pid)
            if sample is None or locust.poll() is not None:
                break
            target = read_process(target_pid)
            rows.append({"elapsed_s": round(time.monotonic() - started, 2), "unix_time": round(time.time(), 2),
                         **sample, "target_rss_kib": target["rss_kib"] if target else 0})
            writer.writerow(rows[-1])
            handle.flush()
    return rows


def slope_per_minute(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, value), per minute."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    if var == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / var * 60


def analyse(rows: list[dict[str, float]]) -> dict[str, Any]:
    steady = [row for row in rows if row["elapsed_s"] >= WARMUP - INTERVAL / 2]
    if len(steady) < 2:
        fail(f"only {len(steady)} samples after the first {WARMUP:g} s: the run was too short to judge")
    first, last = steady[0], rows[-1]
    growth = (last["rss_kib"] - first["rss_kib"]) / first["rss_kib"] * 100
    fd_growth = max(row["fds"] for row in steady) - first["fds"]
    cpu = (last["cpu_user_s"] + last["cpu_system_s"] - first["cpu_user_s"] - first["cpu_system_s"])
    seconds = last["elapsed_s"] - first["elapsed_s"]
    return {
        "baseline_at_s": first["elapsed_s"], "end_at_s": last["elapsed_s"],
        "rss_baseline_kib": first["rss_kib"], "rss_end_kib": last["rss_kib"],
        "rss_max_kib": max(row["rss_kib"] for row in rows), "hwm_end_kib": last["hwm_kib"],
        "rss_growth_pct": growth,
        "rss_slope_kib_per_min": slope_per_minute([(row["elapsed_s"], row["rss_kib"]) for row in steady]),
        "fds_baseline": first["fds"], "fds_max": max(row["fds"] for row in steady), "fds_end": last["fds"],
        "fds_growth": fd_growth,
        "sockets_baseline": first["sockets"], "sockets_max": max(row["sockets"] for row in steady),
        "sockets_end": last["sockets"],
        "fds_slope_per_min": slope_per_minute([(row["elapsed_s"], row["fds"]) for row in steady]),
        # sockets follow the connection pool (requests in flight at once, by the hub's hiccups); the rest would not
        "other_fds_growth": max(row["fds"] - row["sockets"] for row in steady) - (first["fds"] - first["sockets"]),
        "threads_baseline": first["threads"], "threads_max": max(row["threads"] for row in steady),
        "threads_end": last["threads"],
        "cpu_cores_steady": cpu / seconds if seconds > 0 else None,
        "target_rss_baseline_kib": first["target_rss_kib"], "target_rss_end_kib": last["target_rss_kib"],
        "verdict_rss": "met" if growth < RSS_GOAL_PCT else "not met",
        "verdict_fds": "met" if fd_growth <= FD_SLACK else "not met",
    }


def traffic(prefix: Path) -> dict[str, Any]:
    """Requests and failures from the exact statistics; the integrity verdict."""
    result: dict[str, Any] = {"requests": None, "failures": None, "requests_by_name": {}}
    hdr = Path(f"{prefix}_hdr.json")
    if hdr.exists():
        summaries = json.loads(hdr.read_text())["summaries"]
        result["requests"] = sum(s["count"] for s in summaries)
        result["failures"] = sum(s["failures"] for s in summaries)
        result["requests_by_name"] = {f"{s['method']} {s['name']}": s["count"] for s in summaries}
        result["p99_ms_by_name"] = {f"{s['method']} {s['name']}": dict(s["percentiles"]).get(99.0) for s in summaries}
    integrity = Path(f"{prefix}_integrity.json")
    if integrity.exists():
        report = json.loads(integrity.read_text())
        result["integrity"] = {key: report.get(key) for key in (
            "ok", "drained", "acknowledged", "indeterminate", "popped", "unpopped", "lost", "duplicated",
            "out_of_order", "priority_inversions", "foreign")}
    return result


def stop(proc: subprocess.Popen[Any] | None, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def main() -> None:
    from pushpop_load import _native

    if _native.build_profile != "release" and os.environ.get("ALLOW_DEBUG") != "1":
        fail("pushpop_load is a debug build: run `make build-prod` first (or ALLOW_DEBUG=1 to check the harness)")
    if STORE not in ("memory", "postgres"):
        fail(f"STORE must be memory or postgres (got {STORE!r})")
    if INTERVAL <= 0 or DURATION < 2 * WARMUP or RATE <= 0 or USERS < 1:
        fail(f"need INTERVAL > 0, DURATION >= 2 * WARMUP, RATE > 0, USERS >= 1 (got {INTERVAL:g}, {DURATION}, "
             f"{WARMUP:g}, {RATE:g}, {USERS})")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = ROOT / "bench" / "results" / f"soak-{stamp}"
    out.mkdir(parents=True)
    prefix = out / "s3a"
    signal.signal(signal.SIGTERM, _on_sigterm)

    postgres: Postgres | None = None
    target: Target | None = None
    locust: subprocess.Popen[bytes] | None = None
    rows: list[dict[str, float]] = []
    code: int | None = None
    try:
        store = "memory"
        if STORE == "postgres":
            try:
                postgres = Postgres()
                postgres.start()
            except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
                fail(f"PostgreSQL could not start: {error}")
            store = postgres.url
        try:
            target = Target("--store", store).start()
        except RuntimeError as error:
            fail(str(error))
        with open(out / "locust.log", "wb") as log:
            locustfiles = str(ROOT / "locustfiles" / "s3_mixed.py")
            if DIAGNOSE:
                locustfiles += f",{HERE / 'diagnose.py'}"
            command = [LOCUST, "-f", locustfiles, "MixedWorkloadUser", "--headless",
                       "-u", str(USERS), "-r", str(USERS), "-t", f"{DURATION}s", "--host", target.url,
                       "--csv", str(prefix), "--only-summary", "--stop-timeout", "10", "--pp-rate", f"{RATE:g}"]
            (out / "command.txt").write_text(" ".join(command) + "\n")
            started = time.monotonic()
            locust = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                      env={**os.environ, "SOAK_DIAGNOSE_OUT": str(out / "diagnose"),
                                           "WARMUP": f"{WARMUP:g}"})
        print(f"soak: S3a at {RATE:g} req/s, {USERS} users, {STORE} store, {DURATION} s; Locust PID {locust.pid}, "
              f"sampled every {INTERVAL:g} s into {out.relative_to(ROOT)}/samples.csv", flush=True)
        assert target.proc is not None
        rows = sample_until_done(locust, target.proc.pid, started, out / "samples.csv")
        try:
            code = locust.wait(timeout=max(1.0, started + DURATION + EXIT_GRACE_S - time.monotonic()))
        except subprocess.TimeoutExpired:
            fail(f"Locust did not exit within {EXIT_GRACE_S} s of the run's end; see {out / 'locust.log'}")
    except (KeyboardInterrupt, Stop):
        print("soak: interrupted; stopping the processes started here", file=sys.stderr)
        raise SystemExit(2) from None
    finally:
        # SIGTERM: Locust quits as at the end of -t (reports written), the target drains and exits 0
        stop(locust, timeout=EXIT_GRACE_S)
        if target is not None and target.proc is not None:
            target.stop()
            (out / "target.log").write_text("".join(target.stderr_lines))
        if postgres is not None:
            postgres.cleanup()

    expected = sample_count()
    # Locust exits 1 when any request failed: still a soak to report; no exact statistics means it broke
    if code is None or len(rows) < expected - 1 or not Path(f"{prefix}_hdr.json").exists():
        tail = (out / "locust.log").read_text(errors="replace")[-2000:]
        fail(f"Locust exited {code} after {len(rows)} of {expected} samples; see {out / 'locust.log'}:\n{tail}")
    result = {"settings": {"duration_s": DURATION, "interval_s": INTERVAL, "rate": RATE, "users": USERS,
                           "store": STORE, "warmup_s": WARMUP, "diagnose": DIAGNOSE, "fd_slack": FD_SLACK,
                           "rss_goal_pct": RSS_GOAL_PCT,
                           "build": _native.build_profile, "cpus": os.cpu_count(), "smoke": SMOKE,
                           "started_utc": stamp},
              "locust_exit": code, "samples": len(rows), **analyse(rows), **traffic(prefix)}
    (out / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
    summary = render(result)
    write_results(out, summary)


def render(r: dict[str, Any]) -> str:
    s = r["settings"]
    integrity = r.get("integrity") or {}
    slope = r["rss_slope_kib_per_min"]
    mib = 1024
    lines = [
        f"S3a at {s['rate']:g} req/s, {s['users']} users, {s['store']} store, {s['duration_s']} s, a sample every "
        f"{s['interval_s']:g} s ({r['samples']} samples); build {s['build']}{' (SMOKE)' if s['smoke'] else ''}",
        "",
        f"| Locust process | at {r['baseline_at_s']:.0f} s | end ({r['end_at_s']:.0f} s) | change | goal | verdict |",
        "|---|---:|---:|---:|---|---|",
        f"| RSS (MiB) | {r['rss_baseline_kib'] / mib:.1f} | {r['rss_end_kib'] / mib:.1f} | "
        f"{r['rss_growth_pct']:+.2f}% | < {s['rss_goal_pct']:g}% | {r['verdict_rss']} |",
        f"| RSS slope after {s['warmup_s']:g} s (KiB/min) | | | "
        f"{'–' if slope is None else f'{slope:+.1f}'} | | |",
        f"| open fds | {r['fds_baseline']} | {r['fds_end']} (max {r['fds_max']}) | {r['fds_growth']:+d} | "
        f"≤ +{s['fd_slack']} | {r['verdict_fds']} |",
        f"| of which sockets (the connection pool) | {r['sockets_baseline']} | {r['sockets_end']} "
        f"(max {r['sockets_max']}) | "
        f"{r['sockets_end'] - r['sockets_baseline']:+d} | | |",
        f"| fds other than sockets: most after {s['warmup_s']:g} s − at {r['baseline_at_s']:.0f} s | | | "
        f"{r['other_fds_growth']:+d} | | |",
        f"| open fds, slope after {s['warmup_s']:g} s (per min) | | | "
        f"{'–' if r['fds_slope_per_min'] is None else format(r['fds_slope_per_min'], '+.3f')} | | |",
        f"| threads | {r['threads_baseline']} | {r['threads_end']} (max {r['threads_max']}) | | | |",
        f"| target RSS (MiB) | {r['target_rss_baseline_kib'] / mib:.1f} | {r['target_rss_end_kib'] / mib:.1f} | | | |",
        "",
        f"Requests {r['requests']:,}, failures {r['failures']:,}; Locust CPU in the steady part "
        f"{(r['cpu_cores_steady'] or 0):.3f} cores; integrity: lost {integrity.get('lost')}, duplicated "
        f"{integrity.get('duplicated')}, out of order {integrity.get('out_of_order')} "
        f"({'ok' if integrity.get('ok') else 'NOT ok'}).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
