"""Throughput and latency of the reference target with wrk: push, and pop at depth 1/10/100, for the memory and
PostgreSQL stores. The target runs on CPU 0 with one worker thread, wrk on CPU 1 with 50 connections.

    .venv/bin/python bench/target/run.py                  # full run (DURATION=10 s per measurement)
    SMOKE=1 .venv/bin/python bench/target/run.py          # 2 s runs, small queues: checks the harness only

Environment: DURATION (s), CONNECTIONS (50), STORES ("memory postgres"), SMOKE, ALLOW_DEBUG (accept a debug build),
PREFILL_CAP (most items put in a queue before a pop run; 3,000,000). A pop run whose queue would need more than the
cap to last DURATION is measured over a shorter window instead (the summary gives each run's seconds), so that no
figure comes from popping an empty queue.
Results: bench/results/target-<UTC stamp>/ (raw wrk output, results.json, summary.md); the summary is printed.
"""

from __future__ import annotations

import datetime
import os
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import ROOT, ensure, fail, write_results  # noqa: E402
from processes import Postgres, Target  # noqa: E402

SMOKE = os.environ.get("SMOKE") == "1"
DURATION = int(os.environ.get("DURATION", "2" if SMOKE else "10"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "50"))
STORES = os.environ.get("STORES", "memory postgres").split()
DEPTHS = (1, 10, 100)
PREFILL_CAP = int(os.environ.get("PREFILL_CAP", "200000" if SMOKE else "3000000"))
TARGET_CPU, WRK_CPU = "0", "1"
GOALS = {"memory": (20_000, 5.0), "postgres": (2_000, 25.0)}  # push req/s at least, p99 ms at most
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    store: str
    operation: str
    seconds: float
    requests_per_s: float
    items_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    target_cpu: float  # fraction of one core over the measurement
    ran_dry: bool


def to_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


class Bench:
    def __init__(self, out: Path) -> None:
        self.wrk = ensure("wrk", "wrk")
        self.out = out
        self.http = requests.Session()

    def wrk_run(self, label: str, script: str, url: str, duration: float, pid: int):
        before = cpu_seconds(pid)
        started = time.monotonic()
        done = subprocess.run(
            # --timeout 10s: with wrk's default of 2 s, slow requests would drop out of the latency figures
            ["taskset", "-c", WRK_CPU, self.wrk, "-t1", f"-c{CONNECTIONS}", f"-d{duration}s", "--latency", "--timeout", "10s",
             "-s", str(ROOT / "bench" / "target" / script), url],
            capture_output=True, text=True, timeout=duration + 60,
        )
        cpu = (cpu_seconds(pid) - before) / (time.monotonic() - started)
        (self.out / f"{label}.txt").write_text(done.stdout + done.stderr)
        if done.returncode != 0:
            fail(f"wrk failed for {label}: {done.stderr.strip()}")
        text = done.stdout
        total = int(re.search(r"(\d+) requests in", text).group(1))  # type: ignore[union-attr]
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
        latency = re.search(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", text)
        # anchored: "95.50%" in the Stdev column would match a bare 50%
        p50 = re.search(r"^\s+50%\s+(\S+)", text, re.MULTILINE)
        p99 = re.search(r"^\s+99%\s+(\S+)", text, re.MULTILINE)
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
        socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
        error_count = int(errors.group(1)) if errors else 0
        if socket_errors:
            error_count += sum(int(n) for n in socket_errors.groups())
        return {
            "requests": total, "rate": rate, "p50": to_ms(p50.group(1)), "p99": to_ms(p99.group(1)),  # type: ignore
            "max": to_ms(latency.group(3)), "errors": error_count, "cpu": cpu,  # type: ignore[union-attr]
        }

    def drain(self, url: str, queue: str) -> None:
        """Empties a memory-store queue, so that its items do not weigh on the next run."""
        while self.http.post(f"{url}/queue/{queue}/pop?depth=100", timeout=30).json()["count"]:
            pass

    def depth(self, url: str, queue: str) -> int:
        return self.http.get(f"{url}/queue/{queue}/stats", timeout=30).json()["depth"]

    def prefill(self, store: str, target: Target, cluster: Postgres | None, queue: str, items: int) -> None:
        if cluster is not None:
            # SQL is the fastest way in; the rows are what the target's own pushes would write
            cluster.sql(
                "INSERT INTO pushpop_items (queue_id, priority, item) SELECT "
                f"'{queue}', 0, '{{\"data\": \"' || repeat('x', 50) || '\", \"n\": ' || i || '}}' "
                f"FROM generate_series(1, {items}) i"
            )
            return
        assert target.proc is not None
        while self.depth(target.url, queue) < items:
            self.wrk_run(f"{store}-prefill", "prefill.lua", f"{target.url}/queue/{queue}/push", 3, target.proc.pid)

    def measure(self, store: str, target: Target, cluster: Postgres | None) -> list[Result]:
        assert target.proc is not None
        pid, url, results = target.proc.pid, target.url, []
        push = self.wrk_run(f"{store}-push", "push.lua", f"{url}/queue/bench-push/push", DURATION, pid)
        results.append(Result(store, "push", DURATION, push["rate"], push["rate"], push["p50"], push["p99"], push["max"],
                              push["errors"], push["cpu"], False))
        for depth in DEPTHS:
            queue = f"bench-pop-{depth}"
            # a 1 s probe on a small queue sizes the prefill, so that the measured run never meets an empty queue
            self.prefill(store, target, cluster, queue, 20_000 if SMOKE else 200_000)
            probe = self.wrk_run(f"{store}-pop{depth}-probe", "pop.lua", f"{url}/queue/{queue}/pop?depth={depth}", 1, pid)
            per_second = probe["rate"] * depth * 1.3
            needed = min(int(per_second * DURATION) + 1000, PREFILL_CAP)
            self.prefill(store, target, cluster, queue, needed)
            before = self.depth(url, queue)
            seconds = max(1, min(DURATION, int(before / per_second)))
            pop = self.wrk_run(f"{store}-pop{depth}", "pop.lua", f"{url}/queue/{queue}/pop?depth={depth}", seconds, pid)
            after = self.depth(url, queue)
            results.append(Result(store, f"pop depth {depth}", seconds, pop["rate"], (before - after) / seconds,
                                  pop["p50"], pop["p99"], pop["max"], pop["errors"], pop["cpu"], after == 0))
            if cluster is not None:
                # TRUNCATE, not DELETE: dead rows would slow the next run
                cluster.sql("TRUNCATE pushpop_items")
            else:
                self.drain(url, queue)
        return results


def main() -> None:
    import pushpop_load

    if pushpop_load.build_profile != "release" and os.environ.get("ALLOW_DEBUG") != "1":
        fail("pushpop_load is a debug build: run `make build-prod` first (or ALLOW_DEBUG=1 to check the harness)")
    if os.cpu_count() is None or os.cpu_count() < 2:  # type: ignore[operator]
        fail("needs two CPUs: the target on one, wrk on the other")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = ROOT / "bench" / "results" / f"target-{stamp}"
    out.mkdir(parents=True)
    bench = Bench(out)
    results: list[Result] = []
    for store in STORES:
        cluster = None
        if store == "postgres":
            # stock durability (fsync on, synchronous commit): the 200 means committed, as in production
            cluster = Postgres(settings={"max_connections": "200"})
            cluster.start()
        elif store != "memory":
            fail(f"unknown store '{store}' in STORES (use memory and/or postgres)")
        target = Target("--store", cluster.url if cluster else "memory", "--threads", "1",
                        prefix=("taskset", "-c", TARGET_CPU)).start()
        try:
            results += bench.measure(store, target, cluster)
        finally:
            code = target.stop()
            if cluster is not None:
                cluster.cleanup()
        if code != 0:
            fail(f"the {store} target exited with {code}")

    lines = [
        f"wrk -t1 -c{CONNECTIONS} --latency, target pinned to CPU {TARGET_CPU} with --threads 1, "
        f"wrk to CPU {WRK_CPU}; build: {pushpop_load.build_profile}{' (SMOKE)' if SMOKE else ''}",
        "",
        "| store | operation | seconds | req/s | items/s | p50 ms | p99 ms | max ms | errors | target CPU (cores) | note |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        note = "ran dry: the queue emptied, figure flattered" if r.ran_dry else ""
        lines.append(f"| {r.store} | {r.operation} | {r.seconds:g} | {r.requests_per_s:,.0f} | {r.items_per_s:,.0f} | {r.p50_ms:.2f} | "
                     f"{r.p99_ms:.2f} | {r.max_ms:.2f} | {r.errors} | {r.target_cpu:.2f} | {note} |")
    lines.append("")
    for r in results:
        if r.operation == "push" and r.store in GOALS:
            rate, p99 = GOALS[r.store]
            met = r.requests_per_s >= rate and r.p99_ms < p99
            lines.append(f"- goal {r.store} push >= {rate:,} req/s with p99 < {p99} ms: "
                         f"{'met' if met else 'NOT met'} ({r.requests_per_s:,.0f} req/s, p99 {r.p99_ms:.2f} ms)")
    summary = "\n".join(lines) + "\n"
    write_results(out, summary, [asdict(r) for r in results])
    errors = sum(r.errors for r in results)
    if errors:
        fail(f"{errors} requests failed during the benchmark; see {out}")


if __name__ == "__main__":
    main()
