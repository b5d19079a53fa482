"""Locust's HttpUser and FastHttpUser against NativeHttpUser, with wrk for the floor, in one run.

    make build-prod && .venv/bin/python bench/client/run.py
    SMOKE=1 ALLOW_DEBUG=1 .venv/bin/python bench/client/run.py      # 3 s runs: checks the harness only

The target is nginx answering a canned JSON body (pinned to CPU 0, so it is never the limit); every generator is
pinned to CPU 1. Two parts:
1. Cost: 50 users sending back to back; requests/s and generator CPU µs per request, measured inside the Locust
   process over a steady-state window (all threads, the native engine's included). wrk -t1 -c50 gives the floor.
2. Timing fidelity: 100 users at 20 tasks/s each (2,000 req/s in all), first idle, then with BUSY_US (200) µs
   of Python work per task; how much each client's exact reported p50/p99 grows when the user code is busy.

Environment: DURATION (s, default 20), BUSY_US (200), PARTS ("cost fidelity"), CLIENTS (the cost part's Locust users,
default "HttpPushUser FastHttpPushUser NativePushUser"; FastHttpPushUser is the ratios' reference and always runs),
SMOKE, ALLOW_DEBUG. Results: bench/results/client-<stamp>/.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import ROOT, ensure, fail, run_wrk, write_results  # noqa: E402
from processes import free_port  # noqa: E402

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
SMOKE = os.environ.get("SMOKE") == "1"
DURATION = int(os.environ.get("DURATION", "3" if SMOKE else "20"))
BUSY_US = int(os.environ.get("BUSY_US", "200"))
WARMUP = 1 if SMOKE else 4
WINDOW = DURATION - WARMUP - 1 if SMOKE else DURATION - WARMUP - 2
TARGET_CPU, GENERATOR_CPU = "0", "1"
CLIENTS = os.environ.get("CLIENTS", "HttpPushUser FastHttpPushUser NativePushUser").split()
PARTS = os.environ.get("PARTS", "cost fidelity").split()
NGINX_CONF = """
daemon off; master_process off; worker_processes 1;
error_log {dir}/error.log; pid {dir}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
  access_log off; keepalive_requests 100000000; client_body_temp_path {dir};
  server {{
    listen 127.0.0.1:{port};
    location / {{ default_type application/json; return 200 '{{"success":true,"message":"ok"}}'; }}
  }}
}}
"""
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"item": {"data": "' .. string.rep("x", 50) .. '", "timestamp": 1764204000.123456}, "priority": 0}'
"""


def locust_run(out: Path, label: str, user: str, url: str, users: int, env: dict[str, str]) -> dict:
    result_file = out / f"{label}.json"
    # 3 s past the measured window's end: a hub starved on a busy machine wakes the window's end late
    done = subprocess.run(
        ["taskset", "-c", GENERATOR_CPU, str(BIN / "locust"), "-f", str(HERE / "locustfile.py"), user, "--headless",
         "-u", str(users), "-r", str(users), "-t", f"{DURATION + 3}s", "--host", url, "--only-summary",
         "--csv", str(out / label)],
        capture_output=True, text=True, timeout=DURATION + 120,
        env={**os.environ, **env, "BENCH_OUT": str(result_file), "BENCH_WARMUP_S": str(WARMUP),
             "BENCH_WINDOW_S": str(WINDOW)},
    )
    (out / f"{label}.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0 or not result_file.exists():
        fail(f"locust run {label} failed (exit {done.returncode}); see {out / (label + '.log')}")
    result = json.loads(result_file.read_text())
    if result["failures"]:
        fail(f"locust run {label} had {result['failures']} failures; see {out / (label + '.log')}")
    return result


def wrk_run(out: Path, url: str) -> dict:
    wrk = ensure("wrk", "wrk")
    script = out / "post.lua"
    script.write_text(WRK_SCRIPT)
    return run_wrk(["taskset", "-c", GENERATOR_CPU, wrk, "-t1", "-c50", f"-d{DURATION}s", "--latency", "-s",
                    str(script), f"{url}/queue/q1/push"], out)


def main() -> None:
    import pushpop_load

    if pushpop_load.build_profile != "release" and os.environ.get("ALLOW_DEBUG") != "1":
        fail("pushpop_load is a debug build: run `make build-prod` first (or ALLOW_DEBUG=1 to check the harness)")
    nginx = ensure("nginx", "nginx")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = ROOT / "bench" / "results" / f"client-{stamp}"
    out.mkdir(parents=True)
    scratch = Path(tempfile.mkdtemp(prefix="pushpop-nginx-"))
    port = free_port()
    (scratch / "nginx.conf").write_text(NGINX_CONF.format(dir=scratch, port=port))
    server = subprocess.Popen(["taskset", "-c", TARGET_CPU, nginx, "-c", str(scratch / "nginx.conf"), "-p", str(scratch)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    fail(f"nginx did not start; see {scratch / 'error.log'}")
                time.sleep(0.05)

        cost, fidelity = {}, {}
        if "cost" in PARTS:
            users = CLIENTS if "FastHttpPushUser" in CLIENTS else ["FastHttpPushUser", *CLIENTS]
            cost = {user: locust_run(out, f"cost-{user}", user, url, 50, {}) for user in users}
            cost["wrk"] = wrk_run(out, url)
        for user in ["FastHttpPushUser", "NativePushUser"] if "fidelity" in PARTS else []:
            for busy in (0, BUSY_US):
                env = {"BENCH_RATE": "20", "BENCH_BUSY_US": str(busy), "BENCH_EXACT": "1"}
                fidelity[(user, busy)] = locust_run(out, f"fidelity-{user}-{busy}us", user, url, 100, env)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(scratch, ignore_errors=True)

    lines = [
        f"build: {pushpop_load.build_profile}{' (SMOKE)' if SMOKE else ''}; {DURATION} s per run, steady-state window "
        f"{WINDOW:g} s after {WARMUP:g} s; nginx on CPU {TARGET_CPU}, generator on CPU {GENERATOR_CPU}",
    ]
    if cost:
        fast, native = cost["FastHttpPushUser"], cost["NativePushUser"]
        lines += [
            "",
            "### Cost: 50 users back to back",
            "",
            "| client | req/s | generator CPU (cores) | CPU µs per request | of which the main thread | "
            "context switches per request | FastHttpUser's CPU per request ÷ this |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, result in cost.items():
            per = result["cpu_us_per_request"]
            cores = f"{result['cpu_cores']:.2f}" if "cpu_cores" in result else "–"
            main = result.get("main_thread_us_per_request")
            main_text = f"{main:.1f}" if main is not None else "–"
            switches = result.get("switches_per_request")
            switches_text = f"{max(switches, 0):.2f}" if switches is not None else "–"
            lines.append(f"| {name} | {result['requests_per_s']:,.0f} | {cores} | {per:.1f} | {main_text} | "
                         f"{switches_text} | {fast['cpu_us_per_request'] / per:.2f} |")
        lines += [
            "",
            f"NativeHttpUser: {fast['cpu_us_per_request'] / native['cpu_us_per_request']:.2f}× less CPU per request "
            f"and {native['requests_per_s'] / fast['requests_per_s']:.2f}× the requests/s of FastHttpUser "
            "(goals: at least 4× both).",
        ]
    if fidelity:
        lines += [
            "",
            f"### Timing fidelity: 100 users × 20 tasks/s, idle vs {BUSY_US} µs of Python work per task (exact ms)",
            "",
            "| client | idle p50 | idle p99 | busy p50 | busy p99 | p50 change | p99 change | busy CPU (cores) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for user in ["FastHttpPushUser", "NativePushUser"]:
            idle, busy = fidelity[(user, 0)], fidelity[(user, BUSY_US)]
            lines.append(
                f"| {user} | {idle['p50_ms']:.3f} | {idle['p99_ms']:.3f} | {busy['p50_ms']:.3f} | "
                f"{busy['p99_ms']:.3f} | {busy['p50_ms'] / idle['p50_ms'] - 1:+.0%} | "
                f"{busy['p99_ms'] / idle['p99_ms'] - 1:+.0%} | {busy['cpu_cores']:.2f} |"
            )
    summary = "\n".join(lines) + "\n"
    write_results(out, summary, {"cost": cost, "fidelity": {f"{u}-{b}us": r for (u, b), r in fidelity.items()}})


if __name__ == "__main__":
    main()
