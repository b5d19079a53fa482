"""Many users in one process (issue 20, §1): 1,000, 5,000 and 10,000 ``NativeHttpUser``s, and as many of Locust's
``FastHttpUser``s, each with its keep-alive connection to the reference target and a request every WAIT seconds
(the shape of a soak with many clients), spawned at SPAWN_RATE users/s.

For each user class and size, one headless Locust process (pinned to GENERATOR_CPU, the target to TARGET_CPU):

- **spawn** — the time from Locust's "Ramping to" line to its "All users spawned" line (ideal: size / SPAWN_RATE);
- **RSS per user** — the process's VmRSS in the steady state (after spawning, once every user has sent a request
  and holds its connection) minus that of a run of the same class with BASELINE users, divided by the difference in
  users; and the least-squares slope over all sizes of the class, the baseline included;
- **fds** — the process's open file descriptors and sockets in the steady state;
- **CPU per request** — the process's CPU seconds over a WINDOW-second steady window divided by the requests
  Locust counted in it (``_stats_history.csv``);
- whether Locust logged its warning about CPU usage above 90%.

Goals (issue 20): at most a third of FastHttpUser's memory per user, and 10,000 users spawned at 1,000/s without
Locust's CPU warning. The figures are printed, never turned into the exit code (a benchmark, not a gate).

    make build-prod && .venv/bin/python bench/users/run.py
    SMOKE=1 ALLOW_DEBUG=1 .venv/bin/python bench/users/run.py      # 50 and 200 users, short: the harness only

The script raises its open-file soft limit to the hard limit (the target and Locust inherit it), and fails with a
clear message when the hard limit cannot hold the largest size's connections.

Environment: SIZES ("1000 5000 10000"; smoke "50 200"), CLASSES ("native fast plain"; "plain" is Locust's `User`
with no client: Locust's own share of a user), WAIT (s between a user's
requests, 5; smoke 1), SPAWN_RATE (1000), WINDOW (s, 10; smoke 2), BASELINE (users, 1), TARGET_CPU (0),
GENERATOR_CPU (1), SMOKE, ALLOW_DEBUG. Results: bench/results/users-<stamp>/ (summary.md, results.json, each
run's Locust log and CSVs).
"""

from __future__ import annotations

import csv
import datetime
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import ROOT, fail, write_results  # noqa: E402
from processes import LOCUST, Target  # noqa: E402

SMOKE = os.environ.get("SMOKE") == "1"
SIZES = [int(size) for size in os.environ.get("SIZES", "50 200" if SMOKE else "1000 5000 10000").split()]
CLASSES = os.environ.get("CLASSES", "native fast plain").split()
WAIT = float(os.environ.get("WAIT", "1" if SMOKE else "5"))
SPAWN_RATE = float(os.environ.get("SPAWN_RATE", "1000"))
WINDOW = float(os.environ.get("WINDOW", "2" if SMOKE else "10"))
BASELINE = int(os.environ.get("BASELINE", "1"))
TARGET_CPU = os.environ.get("TARGET_CPU", "0")
GENERATOR_CPU = os.environ.get("GENERATOR_CPU", "1")
TICKS = os.sysconf("SC_CLK_TCK")
# Locust's own files, the target's and ours beside the users' connections
FD_MARGIN = 200
CPU_WARNING = "CPU usage above"

# the wait is spread ±20% so that users spawned in one batch do not stay in step; each user pops its own empty
# queue (a small answer: the cost measured is the client's). "plain" is Locust's own `User` with no client, its
# request an event fired by hand: what Locust itself holds per user, under either client.
LOCUSTFILE = '''
import itertools
from locust import between, task
{import_line}

_ids = itertools.count()

class Users({base}):
    wait_time = between({{low}}, {{high}})

    def on_start(self):
        self.path = f"/queue/users-{{{{next(_ids)}}}}/pop"

    @task
    def pop(self):
        {request}
'''
LOCUSTFILES = {
    kind: (base, LOCUSTFILE.format(import_line=import_line, base=base, request=request))
    for kind, base, import_line, request in [
        ("native", "NativeHttpUser", "from pushpop_load import NativeHttpUser",
         'self.client.post(self.path, name="pop")'),
        ("fast", "FastHttpUser", "from locust.contrib.fasthttp import FastHttpUser",
         'self.client.post(self.path, name="pop")'),
        ("plain", "User", "from locust import User",
         'self.environment.events.request.fire(request_type="POST", name="pop", response_time=0, '
         'response_length=0, exception=None, context={{}})'),
    ]
}


def raise_fd_limit(needed: int) -> tuple[int, int]:
    """Raises this process's open-file soft limit to its hard limit (children inherit it); both limits."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    if soft < needed:
        fail(f"the open-file limit ({soft}, hard limit {hard}) cannot hold {needed} connections and Locust's own "
             f"files: raise the hard limit (e.g. `ulimit -Hn {needed}` as root) or lower SIZES")
    return soft, hard


def sample(pid: int) -> dict[str, float]:
    """VmRSS (KiB), open fds and sockets, and CPU seconds of `pid` now."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    fds = os.listdir(f"/proc/{pid}/fd")
    sockets = 0
    for fd in fds:
        try:
            sockets += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            pass  # closed between the listing and the read
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return {"rss_kib": int(status["VmRSS"].split()[0]), "fds": len(fds), "sockets": sockets,
            "cpu_s": (int(stat[11]) + int(stat[12])) / TICKS, "at": time.time()}


class LocustRun:
    """One headless Locust process whose log lines are read as they come, with their arrival times."""

    def __init__(self, out: Path, kind: str, users: int, host: str) -> None:
        self.prefix = out / f"{kind}_{users}"
        locustfile = out / f"{kind}.py"
        if not locustfile.exists():
            locustfile.write_text(LOCUSTFILES[kind][1].format(low=WAIT * 0.8, high=WAIT * 1.2))
        ideal = users / SPAWN_RATE
        # a bound only: the run is ended by SIGTERM once measured
        run_time = int(3 * ideal + 2 * WAIT + WINDOW + 120)
        command = ["taskset", "-c", GENERATOR_CPU, LOCUST, "-f", str(locustfile), "--headless", "--host", host,
                   "-u", str(users), "-r", f"{SPAWN_RATE:g}", "-t", f"{run_time}s", "--csv", str(self.prefix),
                   "--csv-full-history", "--only-summary", "--stop-timeout", "1"]
        # PUSHPOP_ALLOW_DEBUG: the smoke run's debug build would otherwise add its warning to the log
        env = {**os.environ, "PUSHPOP_ALLOW_DEBUG": "1"}
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                        env=env)
        self.lines: list[tuple[float, str]] = []
        self.log = open(f"{self.prefix}.log", "w")
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append((time.monotonic(), line))
            self.log.write(line)

    def wait_for(self, text: str, timeout: float) -> float:
        """The arrival time of the first log line containing `text`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for arrived, line in list(self.lines):
                if text in line:
                    return arrived
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        fail(f"Locust ({self.prefix.name}) did not log {text!r} within {timeout:g} s; its log: "
             f"{''.join(line for _, line in self.lines)[-2000:]}")

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.reader.join(timeout=10)
        self.log.close()
        return "".join(line for _, line in self.lines)


def history(prefix: Path) -> list[tuple[float, float]]:
    """(unix time, requests so far) from Locust's per-second history, as far as it is written."""
    points = []
    try:
        with open(f"{prefix}_stats_history.csv", newline="") as handle:
            for row in csv.DictReader(handle):
                if row["Name"] == "Aggregated" and row["Total Request Count"]:
                    points.append((float(row["Timestamp"]), float(row["Total Request Count"])))
    except FileNotFoundError:
        pass
    return points


def requests_between(prefix: Path, start: float, end: float) -> float:
    """Requests Locust counted between unix times `start` and `end`, interpolated from its per-second history."""
    points = history(prefix)

    def at(moment: float) -> float:
        before = [p for p in points if p[0] <= moment]
        after = [p for p in points if p[0] >= moment]
        if not before or not after:
            fail(f"{prefix.name}: Locust's history does not cover the window ({len(points)} rows)")
        (t0, c0), (t1, c1) = before[-1], after[0]
        return c0 if t1 == t0 else c0 + (c1 - c0) * (moment - t0) / (t1 - t0)

    return at(end) - at(start)


def measure(out: Path, kind: str, users: int, host: str) -> dict[str, Any]:
    run = LocustRun(out, kind, users, host)
    try:
        ideal = users / SPAWN_RATE
        ramp = run.wait_for("Ramping to", 60)
        spawned = run.wait_for("All users spawned", 3 * ideal + 60)
        # every user has sent its first request (and opened its connection) within one wait after it started
        time.sleep(WAIT * 1.2 + 0.5)
        first = sample(run.process.pid)
        samples = [first]
        while time.time() < first["at"] + WINDOW:
            time.sleep(min(1.0, WINDOW / 4))
            samples.append(sample(run.process.pid))
        last = samples[-1]
        # Locust writes its history once a second: wait for the row after the window
        deadline = time.monotonic() + 10
        while not history(run.prefix) or history(run.prefix)[-1][0] < last["at"]:
            if time.monotonic() > deadline or run.process.poll() is not None:
                break
            time.sleep(0.2)
    finally:
        log = run.stop()
    cpu_s = last["cpu_s"] - first["cpu_s"]
    requests = requests_between(run.prefix, first["at"], last["at"])
    return {
        "class": LOCUSTFILES[kind][0], "users": users, "spawn_s": spawned - ramp, "ideal_spawn_s": ideal,
        "rss_kib": sum(s["rss_kib"] for s in samples) / len(samples),
        "fds": max(s["fds"] for s in samples), "sockets": max(s["sockets"] for s in samples),
        "window_s": last["at"] - first["at"], "cpu_s": cpu_s, "requests": requests,
        "requests_per_s": requests / (last["at"] - first["at"]),
        "cpu_us_per_request": 1e6 * cpu_s / requests if requests else None,
        "cores": cpu_s / (last["at"] - first["at"]),
        "cpu_warning": CPU_WARNING in log,
        "failures": failures(run.prefix),
    }


def failures(prefix: Path) -> int:
    with open(f"{prefix}_stats.csv", newline="") as handle:
        return sum(int(row["Failure Count"]) for row in csv.DictReader(handle) if row["Name"] == "Aggregated")


def slope(points: list[tuple[float, float]]) -> float:
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / var


def main() -> None:
    import pushpop_load

    if pushpop_load.build_profile != "release" and os.environ.get("ALLOW_DEBUG") != "1":
        fail("the extension is a debug build: run `make build-prod` first (or ALLOW_DEBUG=1 for a smoke run)")
    unknown = set(CLASSES) - set(LOCUSTFILES)
    if unknown or not SIZES or min(SIZES) <= BASELINE:
        fail(f"CLASSES must name {' and/or '.join(LOCUSTFILES)} and SIZES be above BASELINE ({BASELINE}); "
             f"got CLASSES={' '.join(CLASSES)!r} SIZES={' '.join(map(str, SIZES))!r}")
    soft, hard = raise_fd_limit(max(SIZES) + FD_MARGIN)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = ROOT / "bench" / "results" / f"users-{stamp}"
    out.mkdir(parents=True)
    target = Target("--threads", "1", prefix=("taskset", "-c", TARGET_CPU)).start()
    runs: dict[str, list[dict[str, Any]]] = {}
    try:
        for kind in CLASSES:
            runs[kind] = [measure(out, kind, users, target.url) for users in [BASELINE, *SIZES]]
    finally:
        target.stop()
    classes: dict[str, Any] = {}
    for kind, measured in runs.items():
        base = measured[0]
        for run in measured[1:]:
            added = run["users"] - base["users"]
            run["rss_kib_per_user"] = (run["rss_kib"] - base["rss_kib"]) / added
            run["fds_per_user"] = (run["fds"] - base["fds"]) / added
        classes[kind] = {"class": LOCUSTFILES[kind][0], "baseline": base, "sizes": measured[1:],
                         "rss_kib_per_user_fit": slope([(r["users"], r["rss_kib"]) for r in measured])}
    write_results(out, summary(classes, soft, hard), {"classes": classes, "fd_limit": [soft, hard], "wait_s": WAIT,
                                                      "spawn_rate": SPAWN_RATE, "window_s": WINDOW, "smoke": SMOKE})


def summary(classes: dict[str, Any], soft: int, hard: int) -> str:
    import pushpop_load

    lines = [
        f"## Users per process, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC "
        f"({pushpop_load.build_profile} build{', smoke' if SMOKE else ''})",
        "",
        f"Each user: a keep-alive connection to the reference target and a pop every {WAIT * 0.8:g}–{WAIT * 1.2:g} s; "
        f"spawned at {SPAWN_RATE:g}/s; Locust on CPU {GENERATOR_CPU}, the target on CPU {TARGET_CPU}; open-file "
        f"limit {soft} (hard {hard}). RSS per user: steady RSS minus that of {BASELINE} user(s), per added user.",
        "",
        "| class | users | spawn s (ideal) | RSS MiB | RSS KiB/user | fds | sockets | requests/s | CPU µs/request "
        "| cores | CPU warning | failures |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for entry in classes.values():
        for run in [entry["baseline"], *entry["sizes"]]:
            per_user = f"{run['rss_kib_per_user']:.1f}" if "rss_kib_per_user" in run else "(baseline)"
            # the baseline's few requests make its CPU per request meaningless
            cpu = f"{run['cpu_us_per_request']:.0f}" if "rss_kib_per_user" in run else "–"
            lines.append(
                f"| {entry['class']} | {run['users']:,} | {run['spawn_s']:.1f} ({run['ideal_spawn_s']:g}) | "
                f"{run['rss_kib'] / 1024:.1f} | {per_user} | {run['fds']:,} | {run['sockets']:,} | "
                f"{run['requests_per_s']:,.0f} | {cpu} | {run['cores']:.2f} | "
                f"{'yes' if run['cpu_warning'] else 'no'} | {run['failures']:,} |")
    lines.append("")
    fits = {entry["class"]: entry["rss_kib_per_user_fit"] for entry in classes.values()}
    lines.append("RSS per user by a least-squares fit over all sizes: "
                 + ", ".join(f"{name} {value:.1f} KiB" for name, value in fits.items()) + ".")
    if "NativeHttpUser" in fits and "FastHttpUser" in fits and fits["FastHttpUser"] > 0:
        ratio = fits["NativeHttpUser"] / fits["FastHttpUser"]
        lines.append(f"NativeHttpUser needs {ratio:.2f} of FastHttpUser's memory per user (goal: at most 0.33).")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
