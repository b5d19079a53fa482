"""The open model (``ArrivalRateUser``) against issue 8's goals, in two parts:

1. **rate** — a constant schedule at each of RATES requests/s (pushes and pops, 1:1, integrity on) for DURATION
   seconds against the reference target, the target on CPU TARGET_CPU and Locust on CPU GENERATOR_CPU: how many
   started, how many late (more than 5 ms behind their time) or dropped, the generator's CPU per request (in all,
   and the driver's thread and Python's main thread apart), the target's CPU, and corrected against raw latencies.
   Goals: 20,000 requests/s on one worker core with less than 1% started late (issue 8); 60,000/s at ≤ 6 µs of CPU
   per request, < 1% late, none dropped (issue 17). Then wrk (``-t1 -c50``, pushes and pops 1:1 as fast as it
   can) against the same target on the same cores: the most the target takes on its one core, and wrk's CPU per
   request, the floor for a generator; and oha (``cargo install oha``) at each rate on the driver's 100 connections,
   pushes only: an independent open-model client's CPU per request at the same rate, the fair floor (wrk's figure
   is at the target's ceiling, where every wake-up carries more requests).
2. **stall** — one run with both models against a server that answers nothing for one second: the open model at
   STALL_RATE requests/s and ten closed-model ``NativeHttpUser``s that send as fast as answers come. Goal: the open
   model's corrected p99 shows the stall, the closed model's p99 hides it.

    make build-prod && .venv/bin/python bench/openmodel/run.py
    SMOKE=1 ALLOW_DEBUG=1 .venv/bin/python bench/openmodel/run.py      # short, low rate: the harness only

Environment: RATES ("20000 60000"; or RATE, one rate), DURATION (10), WRK (1: run wrk after the rates; 0 in
SMOKE), PARTS ("rate stall"), STALL_RATE (300), TARGET_CPU (0), GENERATOR_CPU (1), SMOKE, ALLOW_DEBUG. oha runs after
the rates when it is installed; a full run installs it. Results: bench/results/openmodel-<stamp>/ (summary.md,
results.json, each run's Locust output).
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
from common import (ROOT, cpu_seconds, cpu_us_per_request, ensure, fail, find_oha, oha_command,  # noqa: E402
                    oha_figures, run_measured, run_wrk, write_results)
from processes import LOCUST, Target  # noqa: E402

SMOKE = os.environ.get("SMOKE") == "1"
RATES = [int(rate) for rate in os.environ.get("RATES", os.environ.get("RATE", "1000" if SMOKE else "20000 60000"))
         .split()]
RUN_WRK = os.environ.get("WRK", "0" if SMOKE else "1") == "1"
PARTS = os.environ.get("PARTS", "rate stall").split()
DURATION = float(os.environ.get("DURATION", "3" if SMOKE else "10"))
STALL_RATE = int(os.environ.get("STALL_RATE", "100" if SMOKE else "300"))
TARGET_CPU = os.environ.get("TARGET_CPU", "0")
GENERATOR_CPU = os.environ.get("GENERATOR_CPU", "1")
TICKS = os.sysconf("SC_CLK_TCK")

OPEN = '''
import gevent
from locust import constant, task
from pushpop_load import NativeHttpUser
from pushpop_load.openmodel import ArrivalRateUser

class Open(ArrivalRateUser):
    schedule = "constant:rate={rate}"
    duration = {duration}
    max_in_flight = 2000
    network_timeout = 10

    def on_stop(self):
        # the schedule is over: so is the run (Locust's -t counts from its start, imports and spawning included)
        gevent.spawn(self.environment.runner.quit)
'''

CLOSED = '''
class Closed(NativeHttpUser):
    wait_time = constant(0.01)
    network_timeout = 10

    @task
    def push(self):
        self.client.post("/queue/closed/push", json={"item": {"n": 1}}, name="closed push")
'''


# a push of the same size as the driver's (its integrity marker included), for wrk and oha, which send one body
PUSH_BODY = '{"item":{"id":"000000000001","_pp":[1,1,0,1765065600000000],"data":"' + "x" * 40 + '"},"priority":0}'

WRK_SCRIPT = f"""
local body = '{PUSH_BODY}'
""" + """local n = 0
request = function()
  n = n + 1
  if n % 2 == 1 then
    return wrk.format("POST", "/queue/wrk/push", {["Content-Type"] = "application/json"}, body)
  end
  return wrk.format("POST", "/queue/wrk/pop?depth=1")
end
"""


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds so far of the whole process, of Python's main thread and of the open model's driver thread."""
    result = {"total": cpu_seconds(pid), "main": 0.0, "driver": 0.0}
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            text = Path(f"/proc/{pid}/task/{task}/stat").read_text()
        except OSError:
            continue  # a thread that ended meanwhile
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / TICKS
        if int(task) == pid:
            result["main"] += cpu
        elif name.startswith("pushpop-openmo"):  # the driver's thread (names are cut at 15 characters)
            result["driver"] += cpu
    return result


def summaries(prefix: Path) -> dict[str, dict]:
    document = json.loads(Path(f"{prefix}_hdr.json").read_text())
    result = {}
    for summary in document["summaries"]:
        percentiles = dict((p, v) for p, v in summary["percentiles"])
        result[summary["name"]] = {"count": summary["count"], "p50_ms": percentiles[50.0],
                                   "p99_ms": percentiles[99.0], "max_ms": summary["max_ms"]}
    return result


def driver_started(pid: int) -> bool:
    """Whether the process runs the open model's driver thread (names are cut at 15 characters)."""
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            if Path(f"/proc/{pid}/task/{task}/comm").read_text().startswith("pushpop-openmo"):
                return True
        except OSError:
            pass
    return False


def locust(locustfile: Path, host: str, prefix: Path, users: int, run_time: float, measure_from: float,
           measure_to: float, target_pid: int | None = None,
           from_driver: bool = False) -> tuple[subprocess.CompletedProcess[str], dict]:
    """Runs Locust pinned to the generator's CPU; its CPU seconds (in all and per thread, and the target's) between
    `measure_from` and `measure_to` seconds after the start (start-up and the drain at the end left out); with
    `from_driver`, after the driver's thread started (Locust's imports take seconds on a busy machine)."""
    command = ["taskset", "-c", GENERATOR_CPU, LOCUST, "-f", str(locustfile), "--headless", "--host", host,
               "-u", str(users), "-r", str(users), "-t", f"{run_time:g}s", "--csv", str(prefix), "--only-summary"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = time.monotonic()
    if from_driver:
        deadline = started + 120
        while not driver_started(process.pid):
            if process.poll() is not None or time.monotonic() > deadline:
                fail(f"Locust's open-model driver did not start: {process.communicate()[1][-2000:]}")
            time.sleep(0.01)
        started = time.monotonic()
    time.sleep(max(0.0, measure_from - (time.monotonic() - started)))
    before = thread_cpu(process.pid)
    target_before = cpu_seconds(target_pid) if target_pid else 0.0
    time.sleep(max(0.0, measure_to - (time.monotonic() - started)))
    after = thread_cpu(process.pid)
    target_after = cpu_seconds(target_pid) if target_pid else 0.0
    stdout, stderr = process.communicate(timeout=run_time + 120)
    done = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    if done.returncode != 0:
        fail(f"locust exited {done.returncode}: {stderr[-2000:]}")
    cpu = {key: after[key] - before[key] for key in after}
    cpu["target"] = target_after - target_before
    return done, cpu


def rate_part(out: Path, rate: int) -> dict:
    locustfile = out / f"rate-{rate}.py"
    locustfile.write_text(OPEN.format(rate=rate, duration=DURATION))
    target = Target("--threads", "1", prefix=("taskset", "-c", TARGET_CPU)).start()
    try:
        # the middle of the schedule: from 1 s after the driver started to 0.5 s before its end
        window = (1.0, DURATION - 0.5)
        assert target.proc is not None
        # Locust's run time counts from its start, imports and spawning before the schedule: 30 s of slack
        _, cpu = locust(locustfile, target.url, out / f"rate-{rate}", 1, DURATION + 30, *window,
                        target_pid=target.proc.pid, from_driver=True)
    finally:
        target.stop()
    [run] = json.loads((out / f"rate-{rate}_openmodel.json").read_text())["runs"]
    verdict = json.loads((out / f"rate-{rate}_integrity.json").read_text())
    window_s = window[1] - window[0]
    # per request started: the schedule's rate when every arrival started (none dropped), else the rate achieved
    per_request = 1e6 / (min(rate, run["started"] / DURATION) * window_s)
    return {
        "rate": rate, "duration_s": DURATION, **{key: run[key] for key in (
            "scheduled", "started", "late", "dropped", "completed", "max_lag_us")},
        "late_pct": 100 * run["late"] / max(1, run["scheduled"]),
        "dropped_pct": 100 * run["dropped"] / max(1, run["scheduled"]),
        "achieved_per_s": run["started"] / DURATION,
        "generator_cores": cpu["total"] / window_s,
        "cpu_us_per_request": cpu["total"] * per_request,
        "driver_us_per_request": cpu["driver"] * per_request,
        "main_us_per_request": cpu["main"] * per_request,
        "target_cores": cpu["target"] / window_s,
        "latencies": summaries(out / f"rate-{rate}"),
        # the ledger's verdict on the run's queues: a figure is only worth its run if nothing was lost or reordered
        "integrity": {key: verdict[key] for key in ("ok", "lost", "duplicated", "out_of_order", "producers")},
    }


def oha_part(out: Path, oha: str, rate: int) -> dict:
    """oha at `rate` on as many connections as the driver may open, pushes only, against a fresh target: its CPU per
    request over the window the driver is measured in, and its latencies."""
    connections = 100  # ArrivalRateUser.max_connections, which OPEN leaves as it is
    target = Target("--threads", "1", prefix=("taskset", "-c", TARGET_CPU)).start()
    try:
        command = oha_command(oha, GENERATOR_CPU, DURATION, rate, connections, PUSH_BODY,
                              f"{target.url}/queue/oha/push")
        done, cpu, window_s = run_measured(command, (1.0, DURATION - 0.5), DURATION + 60)
    finally:
        target.stop()
    if done.returncode != 0:
        fail(f"oha exited {done.returncode}: {done.stderr[-2000:]}")
    if not window_s:
        fail("oha ended before the window its CPU is measured in")
    (out / f"oha-{rate}.json").write_text(done.stdout)
    figures = oha_figures(done.stdout)
    answered = figures["answered"]
    return {"rate": rate, "connections": connections, "achieved_per_s": answered / DURATION,
            "cpu_us_per_request": cpu_us_per_request(cpu, window_s, min(rate, answered / DURATION)),
            "p50_ms": figures["p50_ms"], "p99_ms": figures["p99_ms"]}


def wrk_part(out: Path) -> dict:
    """wrk against the reference target as the rate part runs it: the target's ceiling on its core, wrk's cost."""
    wrk = ensure("wrk", "wrk")
    script = out / "pushpop.lua"
    script.write_text(WRK_SCRIPT)
    target = Target("--threads", "1", prefix=("taskset", "-c", TARGET_CPU)).start()
    assert target.proc is not None
    try:
        target_before = cpu_seconds(target.proc.pid)
        result = run_wrk(["taskset", "-c", GENERATOR_CPU, wrk, "-t1", "-c50", f"-d{DURATION:g}s", "--latency", "-s",
                          str(script), target.url], out)
        # the target idles once wrk is gone: its CPU now is its CPU of wrk's run
        result["target_cores"] = (cpu_seconds(target.proc.pid) - target_before) / DURATION
    finally:
        target.stop()
    return result


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
    rates = [rate_part(out, rate) for rate in RATES] if "rate" in PARTS else []
    oha = find_oha(SMOKE) if rates else None
    ohas = {rate["rate"]: oha_part(out, oha, rate["rate"]) for rate in rates} if oha else {}
    wrk = wrk_part(out) if "rate" in PARTS and RUN_WRK else None
    stall = stall_part(out) if "stall" in PARTS else None
    lines = [
        f"## Open model, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC "
        f"({pushpop_load.build_profile} build{', smoke' if SMOKE else ''})",
    ]
    if rates:
        lines += [
            "",
            f"### Rate: constant schedules for {DURATION:g} s (push:pop 1:1, integrity on), target on CPU "
            f"{TARGET_CPU}, Locust on CPU {GENERATOR_CPU}",
            "",
            "| rate/s | due | started | late (> 5 ms) | dropped | latest start | achieved/s | generator cores | "
            "CPU µs/request | driver thread | main thread | target cores | push p50 / p99 ms corrected | raw | "
            "integrity |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for rate in rates:
            push, raw = rate["latencies"]["/queue/[id]/push"], rate["latencies"]["/queue/[id]/push (raw)"]
            verdict = rate["integrity"]
            integrity = ("OK" if verdict["ok"] else "NOT OK") + (
                f" (lost {verdict['lost']}, duplicated {verdict['duplicated']}, out of order "
                f"{verdict['out_of_order']}; {verdict['producers']} producers)")
            lines.append(
                f"| {rate['rate']:,} | {rate['scheduled']:,} | {rate['started']:,} | {rate['late']:,} "
                f"({rate['late_pct']:.2f}%) | {rate['dropped']:,} ({rate['dropped_pct']:.2f}%) | "
                f"{rate['max_lag_us'] / 1000:.1f} ms | {rate['achieved_per_s']:,.0f} | {rate['generator_cores']:.2f} | "
                f"{rate['cpu_us_per_request']:.2f} | {rate['driver_us_per_request']:.2f} | "
                f"{rate['main_us_per_request']:.2f} | {rate['target_cores']:.2f} | "
                f"{push['p50_ms']:.3f} / {push['p99_ms']:.3f} | {raw['p50_ms']:.3f} / {raw['p99_ms']:.3f} | {integrity} |")
    if ohas:
        lines += [
            "",
            "oha at the same rates on 100 connections (the driver's), pushes only, same cores, the same window:",
            "",
            "| rate/s | achieved/s | oha CPU µs/request | the open model's ÷ oha's | oha p50 / p99 ms |",
            "|---:|---:|---:|---:|---:|",
        ]
        for rate in rates:
            reference = ohas[rate["rate"]]
            lines.append(
                f"| {rate['rate']:,} | {reference['achieved_per_s']:,.0f} | {reference['cpu_us_per_request']:.2f} | "
                f"{rate['cpu_us_per_request'] / reference['cpu_us_per_request']:.2f} | "
                f"{reference['p50_ms']:.3f} / {reference['p99_ms']:.3f} |")
    if wrk:
        lines += [
            "",
            f"wrk -t1 -c50, pushes and pops 1:1 as fast as it can, same cores: {wrk['requests_per_s']:,.0f} requests/s "
            f"({wrk['non_2xx']:,} not 2xx), the target on {wrk['target_cores']:.2f} of its core, wrk "
            f"{wrk['cpu_us_per_request']:.2f} CPU µs per request.",
        ]
    if stall:
        open_push, closed = stall["/queue/[id]/push"], stall["closed push"]
        lines += [
            "",
            f"### Stall: the server answers nothing for 1 s; open model at {STALL_RATE}/s and 10 closed users in one "
            "run",
            "",
            "| entry | requests | p50 ms | p99 ms | max ms |",
            "|---|---:|---:|---:|---:|",
        ]
        for name in ("/queue/[id]/push", "/queue/[id]/push (raw)", "/queue/[id]/pop", "closed push"):
            entry = stall[name]
            lines.append(f"| {name} | {entry['count']:,} | {entry['p50_ms']:.3f} | {entry['p99_ms']:.3f} | "
                         f"{entry['max_ms']:.3f} |")
        lines += ["", f"Open model's corrected p99 {open_push['p99_ms']:.0f} ms against the closed model's "
                      f"{closed['p99_ms']:.1f} ms (its max {closed['max_ms']:.0f} ms: it met the stall, and sent "
                      "less)."]
    summary = "\n".join(lines) + "\n"
    write_results(out, summary, {"rates": rates, "oha": list(ohas.values()), "wrk": wrk, "stall": stall})


if __name__ == "__main__":
    main()
