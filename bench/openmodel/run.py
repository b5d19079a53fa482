"""The open model (``ArrivalRateUser``) against issue 8's goals, in two parts:

1. **rate** — a constant schedule of RATE requests/s (pushes and pops, 1:1) for DURATION seconds against the
   reference target, the target on CPU TARGET_CPU and Locust on CPU GENERATOR_CPU: how many started, how many late
   (more than 5 ms behind their time) or dropped, the generator's CPU, and corrected against raw latencies.
   Goal: 20,000 requests/s on one worker core with less than 1% started late.
2. **stall** — one run with both models against a server that answers nothing for one second: the open model at
   STALL_RATE requests/s and ten closed-model ``NativeHttpUser``s that send as fast as answers come. Goal: the open
   model's corrected p99 shows the stall, the closed model's p99 hides it.

    make build-prod && .venv/bin/python bench/openmodel/run.py
    SMOKE=1 ALLOW_DEBUG=1 .venv/bin/python bench/openmodel/run.py      # short, low rate: the harness only

Environment: RATE (20000), DURATION (10), STALL_RATE (300), TARGET_CPU (0), GENERATOR_CPU (1), SMOKE,
ALLOW_DEBUG. Results: bench/results/openmodel-<stamp>/ (summary.md, results.json, each run's Locust output).
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import ROOT, fail, write_results  # noqa: E402
from processes import LOCUST, Target  # noqa: E402

SMOKE = os.environ.get("SMOKE") == "1"
RATE = int(os.environ.get("RATE", "1000" if SMOKE else "20000"))
DURATION = float(os.environ.get("DURATION", "3" if SMOKE else "10"))
STALL_RATE = int(os.environ.get("STALL_RATE", "100" if SMOKE else "300"))
TARGET_CPU = os.environ.get("TARGET_CPU", "0")
GENERATOR_CPU = os.environ.get("GENERATOR_CPU", "1")
TICKS = os.sysconf("SC_CLK_TCK")

OPEN = '''
from locust import constant, task
from pushpop_load import NativeHttpUser
from pushpop_load.openmodel import ArrivalRateUser

class Open(ArrivalRateUser):
    schedule = "constant:rate={rate}"
    duration = {duration}
    max_in_flight = 2000
    network_timeout = 10
'''

CLOSED = '''
class Closed(NativeHttpUser):
    wait_time = constant(0.01)
    network_timeout = 10

    @task
    def push(self):
        self.client.post("/queue/closed/push", json={"item": {"n": 1}}, name="closed push")
'''


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def summaries(prefix: Path) -> dict[str, dict]:
    document = json.loads(Path(f"{prefix}_hdr.json").read_text())
    result = {}
    for summary in document["summaries"]:
        percentiles = dict((p, v) for p, v in summary["percentiles"])
        result[summary["name"]] = {"count": summary["count"], "p50_ms": percentiles[50.0],
                                   "p99_ms": percentiles[99.0], "max_ms": summary["max_ms"]}
    return result


def locust(locustfile: Path, host: str, prefix: Path, users: int, run_time: float,
           measure_from: float, measure_to: float) -> tuple[subprocess.CompletedProcess[str], float]:
    """Runs Locust pinned to the generator's CPU; its CPU seconds between `measure_from` and `measure_to` seconds
    after the start (start-up and the drain at the end left out)."""
    command = ["taskset", "-c", GENERATOR_CPU, LOCUST, "-f", str(locustfile), "--headless", "--host", host,
               "-u", str(users), "-r", str(users), "-t", f"{run_time:g}s", "--csv", str(prefix), "--only-summary"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = time.monotonic()
    time.sleep(measure_from)
    before = cpu_seconds(process.pid)
    time.sleep(max(0.0, measure_to - (time.monotonic() - started)))
    after = cpu_seconds(process.pid)
    stdout, stderr = process.communicate(timeout=run_time + 120)
    done = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    if done.returncode != 0:
        fail(f"locust exited {done.returncode}: {stderr[-2000:]}")
    return done, after - before


def rate_part(out: Path) -> dict:
    locustfile = out / "rate.py"
    locustfile.write_text(OPEN.format(rate=RATE, duration=DURATION))
    target = Target("--threads", "1", prefix=("taskset", "-c", TARGET_CPU)).start()
    try:
        # Locust imports and spawns in about a second; measure the middle of the schedule
        window = (2.0, 1.0 + DURATION - 0.5)
        _, cpu = locust(locustfile, target.url, out / "rate", 1, DURATION + 3, *window)
    finally:
        target.stop()
    [run] = json.loads((out / "rate_openmodel.json").read_text())["runs"]
    window_s = window[1] - window[0]
    return {
        "rate": RATE, "duration_s": DURATION, **{key: run[key] for key in (
            "scheduled", "started", "late", "dropped", "completed", "max_lag_us")},
        "late_pct": 100 * run["late"] / max(1, run["scheduled"]),
        "dropped_pct": 100 * run["dropped"] / max(1, run["scheduled"]),
        "achieved_per_s": run["started"] / DURATION,
        "generator_cores": cpu / window_s,
        "cpu_us_per_request": 1e6 * cpu / (RATE * window_s),
        "latencies": summaries(out / "rate"),
    }


class Stalling(BaseHTTPRequestHandler):
    """Answers at once, except for one second when it answers nothing."""

    protocol_version = "HTTP/1.1"
    stall_from = float("inf")

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        now = time.monotonic()
        if Stalling.stall_from <= now < Stalling.stall_from + 1.0:
            time.sleep(Stalling.stall_from + 1.0 - now)
        body = b'{"success":true,"message":"ok"}' if self.path.endswith("/push") else b'{"items":[],"count":0}'
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(body), body))

    def log_message(self, *_args: object) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up when Locust stops are expected here


def stall_part(out: Path) -> dict:
    server = QuietServer(("127.0.0.1", 0), Stalling)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    duration = 6 if SMOKE else 10
    locustfile = out / "stall.py"
    locustfile.write_text(OPEN.format(rate=STALL_RATE, duration=duration) + CLOSED)

    def stall() -> None:
        time.sleep(duration / 2)
        Stalling.stall_from = time.monotonic()

    threading.Thread(target=stall, daemon=True).start()
    try:
        locust(locustfile, f"http://127.0.0.1:{server.server_address[1]}", out / "stall", 11, duration + 2, 1.0, 2.0)
    finally:
        server.shutdown()
        server.server_close()
    return summaries(out / "stall")


def main() -> None:
    import pushpop_load

    if pushpop_load.build_profile != "release" and os.environ.get("ALLOW_DEBUG") != "1":
        fail("the extension is a debug build: run `make build-prod` first (or ALLOW_DEBUG=1 for a smoke run)")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = ROOT / "bench" / "results" / f"openmodel-{stamp}"
    out.mkdir(parents=True)
    rate = rate_part(out)
    stall = stall_part(out)
    push, raw = rate["latencies"]["/queue/[id]/push"], rate["latencies"]["/queue/[id]/push (raw)"]
    open_push, closed = stall["/queue/[id]/push"], stall["closed push"]
    lines = [
        f"## Open model, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC "
        f"({pushpop_load.build_profile} build{', smoke' if SMOKE else ''})",
        "",
        f"### Rate: constant {RATE:,}/s for {DURATION:g} s (push:pop 1:1), target on CPU {TARGET_CPU}, Locust on CPU "
        f"{GENERATOR_CPU}",
        "",
        "| due | started | late (> 5 ms) | dropped | latest start | achieved/s | generator cores | CPU µs/request |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {rate['scheduled']:,} | {rate['started']:,} | {rate['late']:,} ({rate['late_pct']:.2f}%) | "
        f"{rate['dropped']:,} ({rate['dropped_pct']:.2f}%) | {rate['max_lag_us'] / 1000:.1f} ms | "
        f"{rate['achieved_per_s']:,.0f} | {rate['generator_cores']:.2f} | {rate['cpu_us_per_request']:.1f} |",
        "",
        f"Push latency, corrected (from the due time) p50 {push['p50_ms']:.3f} ms, p99 {push['p99_ms']:.3f} ms; "
        f"raw (from the send) p50 {raw['p50_ms']:.3f} ms, p99 {raw['p99_ms']:.3f} ms.",
        "",
        f"### Stall: the server answers nothing for 1 s; open model at {STALL_RATE}/s and 10 closed users in one run",
        "",
        "| entry | requests | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in ("/queue/[id]/push", "/queue/[id]/push (raw)", "/queue/[id]/pop", "closed push"):
        entry = stall[name]
        lines.append(f"| {name} | {entry['count']:,} | {entry['p50_ms']:.3f} | {entry['p99_ms']:.3f} | "
                     f"{entry['max_ms']:.3f} |")
    lines += ["", f"Open model's corrected p99 {open_push['p99_ms']:.0f} ms against the closed model's "
                  f"{closed['p99_ms']:.1f} ms (its max {closed['max_ms']:.0f} ms: it met the stall, and sent less)."]
    summary = "\n".join(lines) + "\n"
    write_results(out, summary, {"rate": rate, "stall": stall})


if __name__ == "__main__":
    main()
