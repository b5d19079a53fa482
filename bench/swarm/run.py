"""The master under a swarm (issue 20, §2): simulated workers speaking Locust's worker protocol (its ZeroMQ DEALER
socket and msgpack messages, as ``locust --worker`` does) to a real ``locust --master``, each sending the reports a
busy worker sends.

The reports are real ones: TEMPLATES reports built as ``bench/swarm/report.py`` builds them (a worker's parts fed at
RATE requests/s over 20 endpoints for 3 s each), Locust's statistics and the exact histograms' deltas; each simulated
worker sends them in turn every 3 s (Locust's report interval), beside a heartbeat every second, and answers the
master's spawn, stop and quit as Locust's worker does. The integrity ledger's deltas are left out: replayed, the same
items would come back as duplicates from every worker (each replay adding an extra copy per popped seq, a cost no
real master pays). Sending real ones takes a ledger per simulated worker fed 75,000 pushes and pops per report
(200 workers: 10 million ledger calls a second, far beyond the simulators' core) or a native call that renames a
template's producers and shifts its seqs, for this benchmark alone; ``report.py`` measures what one such delta costs
the master instead. WORKERS simulated workers
run as greenlets in PROCESSES processes (on SIM_CPUS), the master alone on MASTER_CPU.

Measured for each count of workers: the master's CPU (share of one core) and RSS over a steady window, per worker;
the round trip of the heartbeats (a master whose hub is busy merging answers late); workers the master declared
missing; and whether the master's exact histograms hold every request the workers sent (counted).

    make build-prod && .venv/bin/python bench/swarm/run.py          # WORKERS="10 50", RATE=50000
    SMOKE=1 ALLOW_DEBUG=1 .venv/bin/python bench/swarm/run.py      # 3 workers at 5,000 requests/s: the harness only

The quit is timed step by step: SIGTERM, Locust's handler, the final-report round, Locust's quit round, the end
(from the master's log at DEBUG, seconds after the signal), with the reports the workers sent after the signal; with
PYSPY=<path to py-spy>, the master's stacks every second of its quit go to pyspy_<workers>.txt. PLAIN=1 runs the
control: Locust's own master (a locustfile without pushpop-load) and the same reports without pushpop-load's parts.

Environment: WORKERS ("10 50"; smoke "3"), RATE (50000; smoke 5000), TEMPLATES (2), WINDOW (s, 15; smoke 4),
PROCESSES (2; smoke 1), MASTER_CPU (1), SIM_CPUS (0), PYSPY, PLAIN, SMOKE, ALLOW_DEBUG. Results:
bench/results/swarm-<stamp>/.
"""

from __future__ import annotations

import csv
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgpack

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import ROOT, fail, write_results  # noqa: E402
from processes import LOCUST, free_port  # noqa: E402

SMOKE = os.environ.get("SMOKE") == "1"
WORKERS = [int(n) for n in os.environ.get("WORKERS", "3" if SMOKE else "10 50").split()]
RATE = int(os.environ.get("RATE", "5000" if SMOKE else "50000"))
TEMPLATES = int(os.environ.get("TEMPLATES", "2"))
WINDOW = float(os.environ.get("WINDOW", "4" if SMOKE else "15"))
PROCESSES = int(os.environ.get("PROCESSES", "1" if SMOKE else "2"))
MASTER_CPU = os.environ.get("MASTER_CPU", "1")
SIM_CPUS = os.environ.get("SIM_CPUS", "0")
TICKS = os.sysconf("SC_CLK_TCK")
PYSPY = os.environ.get("PYSPY")
PLAIN = os.environ.get("PLAIN") == "1"
REPORT_INTERVAL = 3.0
HERE = Path(__file__).resolve().parent

LOCUSTFILE = '''
from locust import constant, task
from {module} import {base}

class Busy({base}):
    wait_time = constant(1)

    @task
    def pop(self):
        self.client.post("/queue/swarm/pop", name="pop")
'''
MASTER_LOCUSTFILE = LOCUSTFILE.format(module="pushpop_load", base="NativeHttpUser")
PLAIN_LOCUSTFILE = LOCUSTFILE.format(module="locust", base="HttpUser")


def plain(files: list[Path]) -> list[Path]:
    """The reports without pushpop-load's parts (what Locust's own worker sends), for a master without them."""
    stripped = []
    for path in files:
        template = msgpack.loads(path.read_bytes(), strict_map_key=False)
        template["data"] = {key: value for key, value in template["data"].items() if not key.startswith("pushpop_")}
        stripped.append(path.with_name(f"plain-{path.name}"))
        stripped[-1].write_bytes(msgpack.dumps(template))
    return stripped


def templates(out: Path) -> list[Path]:
    """TEMPLATES real reports (Locust's statistics and the exact histograms' delta), built by report.py's worker."""
    done = subprocess.run([sys.executable, str(HERE / "templates.py"), str(out), str(RATE), str(TEMPLATES)],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        fail(f"building the template reports failed: {done.stderr[-2000:]}")
    return sorted(out.glob("template-*.msgpack"))


def _cpu(stat_file: Path) -> float:
    stat = stat_file.read_text().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / TICKS


def cpu_and_rss(pid: int) -> tuple[float, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return _cpu(Path(f"/proc/{pid}/stat")), rss


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of the master's hub (its main thread, where Locust's message loop runs), of pushpop-load's merge
    thread, and of every other thread (ZeroMQ's I/O, the native engine's)."""
    cpu = {"hub": 0.0, "merge": 0.0, "other": 0.0}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            seconds = _cpu(task / "stat")
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
        kind = "hub" if task.name == str(pid) else "merge" if name == "pushpop-merge" else "other"
        cpu[kind] += seconds
    return cpu


QUIT_MARKS = {"sigterm": "Got SIGTERM signal", "test_stop": "Stopping...", "finals": "final reports of",
              "shutting_down": "Shutting down (exit",
              "quitting": "Quitting...", "last_quit_sent": "Sending quit message to worker"}


def quit_phases(text: str, sigterm_unix: float, sent: list[dict[str, Any]]) -> dict[str, Any]:
    """Seconds after SIGTERM at which the master's log shows each step of its quit (the last line of each kind), and
    what the simulated workers saw meanwhile: the master's final-report requests and quits, and the reports they
    sent after the SIGTERM."""
    marks: dict[str, Any] = {}
    for line in text.splitlines():
        if not line.startswith("["):
            continue
        for mark, needle in QUIT_MARKS.items():
            if needle in line:
                stamp = datetime.datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f").timestamp()
                marks[mark] = round(stamp - sigterm_unix, 2)
    for key in ("final_request_times", "quit_times"):
        times = sorted(at for s in sent for at in s.get(key, []))
        marks[key.replace("_times", "")] = [round(times[0] - sigterm_unix, 2), round(times[-1] - sigterm_unix, 2),
                                             len(times)] if times else None
    marks["reports_after_sigterm"] = sum(at > sigterm_unix for s in sent for at in s["report_times"])
    return marks


def run_swarm(out: Path, count: int, files: list[Path]) -> dict[str, Any]:
    port = free_port()
    prefix = out / f"master_{count}"
    locustfile = out / "master.py"
    locustfile.write_text(PLAIN_LOCUSTFILE if PLAIN else MASTER_LOCUSTFILE)
    run_time = int(WINDOW + 3 * REPORT_INTERVAL + 120)  # a bound: the run ends by SIGTERM after the window
    master = subprocess.Popen(
        ["taskset", "-c", MASTER_CPU, LOCUST, "-f", str(locustfile), "--master", "--headless",
         "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port), "--expect-workers", str(count),
         "--expect-workers-max-wait", "60", "-u", str(count), "-r", str(count), "-t", f"{run_time}s", "--host",
         "http://127.0.0.1:9", "--csv", str(prefix), "--only-summary", "--loglevel", "DEBUG"],
        stdout=subprocess.DEVNULL, stderr=open(f"{prefix}.log", "w"), env={**os.environ, "PUSHPOP_ALLOW_DEBUG": "1"})
    shares = [count // PROCESSES + (1 if i < count % PROCESSES else 0) for i in range(PROCESSES)]
    sims = [subprocess.Popen(["taskset", "-c", SIM_CPUS, sys.executable, str(HERE / "simulate.py"), str(port),
                              f"p{i}", str(share), str(out / f"sim_{count}_{i}.json"), *map(str, files)],
                             stdout=subprocess.DEVNULL, stderr=open(out / f"sim_{count}_{i}.log", "w"))
           for i, share in enumerate(shares) if share]
    try:
        # the steady window: from the second report round on, once every worker is connected and spawned
        log = Path(f"{prefix}.log")
        deadline = time.monotonic() + 90
        while "All users spawned" not in log.read_text():
            if time.monotonic() > deadline or master.poll() is not None:
                fail(f"the master did not start {count} workers' users: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        time.sleep(REPORT_INTERVAL)
        cpu0, _ = cpu_and_rss(master.pid)
        threads0 = thread_cpu(master.pid)
        begun = time.monotonic()
        begun_unix = time.time()
        rss = []
        while time.monotonic() - begun < WINDOW:
            time.sleep(1)
            rss.append(cpu_and_rss(master.pid)[1])
        cpu1, _ = cpu_and_rss(master.pid)
        threads1 = thread_cpu(master.pid)
        window = time.monotonic() - begun
        ended_unix = time.time()
        # Locust's master quits on SIGTERM as at the end of -t: it tells the workers and writes its results
        master.terminate()
        quitting = time.monotonic()
        sigterm_unix = time.time()
        dumps = 0
        quit_cpu: dict[str, float] = {}
        while master.poll() is None and time.monotonic() - quitting < 300:
            try:  # the last sample before the master ends: its threads' CPU while quitting
                quit_cpu = {kind: round(seconds - threads1[kind], 2) for kind, seconds in thread_cpu(master.pid).items()}
            except (FileNotFoundError, ProcessLookupError):
                pass
            if PYSPY and dumps < 60:
                # where the master's threads are while it quits (py-spy in the bench's environment)
                with open(out / f"pyspy_{count}.txt", "a") as dump:
                    dump.write(f"=== {time.monotonic() - quitting:.1f} s after SIGTERM\n")
                    dump.flush()
                    subprocess.run([PYSPY, "dump", "--pid", str(master.pid), "--native"], stdout=dump,
                                   stderr=subprocess.STDOUT, timeout=60)
                dumps += 1
            time.sleep(1)
        master.wait(timeout=5)
        quit_s = time.monotonic() - quitting
    finally:
        for process in [master, *sims]:
            if process.poll() is None:
                process.terminate()
        for process in sims:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
    sent = [json.loads((out / f"sim_{count}_{i}.json").read_text()) for i, share in enumerate(shares) if share]
    if PLAIN:  # Locust's own count: its statistics are what such a master merges
        with open(f"{prefix}_stats.csv") as stats:
            merged = next(int(row["Request Count"]) for row in csv.DictReader(stats) if row["Name"] == "Aggregated")
    else:
        hdr = json.loads(Path(f"{prefix}_hdr.json").read_text())
        merged = sum(summary["count"] for summary in hdr["summaries"])
    rtts = sorted(ms for s in sent for ms in s["heartbeat_rtt_ms"])
    # the simulated workers share a core with whatever else runs: count the reports they did send in the window
    in_window = sum(begun_unix <= at <= ended_unix for s in sent for at in s["report_times"])
    text = log.read_text()
    return {
        "workers": count, "master_cores": (cpu1 - cpu0) / window, "master_rss_mib": statistics.mean(rss) / 1024,
        "quit_s": quit_s, "reports_per_s": in_window / window,
        "master_ms_per_report": 1e3 * (cpu1 - cpu0) / max(1, in_window),
        **{f"{kind}_cores": (threads1[kind] - threads0[kind]) / window for kind in threads0},
        "reports_sent": sum(s["reports"] for s in sent), "requests_sent": sum(s["requests"] for s in sent),
        "requests_merged": merged, "missing": text.count("setting state to missing"),
        "heartbeat_rtt_p50_ms": rtts[len(rtts) // 2] if rtts else None,
        "heartbeat_rtt_max_ms": rtts[-1] if rtts else None,
        "quit": {**quit_phases(text, sigterm_unix, sent), "cpu_s": quit_cpu},
    }


def main() -> None:
    import pushpop_load

    if pushpop_load.build_profile != "release" and os.environ.get("ALLOW_DEBUG") != "1":
        fail("the extension is a debug build: run `make build-prod` first (or ALLOW_DEBUG=1 for a smoke run)")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = ROOT / "bench" / "results" / f"swarm-{stamp}"
    out.mkdir(parents=True)
    files = templates(out)
    if PLAIN:
        files = plain(files)
    runs: list[dict[str, Any]] = []
    for count in WORKERS:
        runs.append(run_swarm(out, count, files))
        # written after every count: a larger one that the machine cannot hold leaves the smaller ones' figures
        write_results(out, summary(runs), runs)


def summary(runs: list[dict[str, Any]]) -> str:
    import pushpop_load

    lines = [
        f"## The master under a swarm, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC "
        f"({pushpop_load.build_profile} build{', smoke' if SMOKE else ''}"
        f"{'; PLAIN: Locust without pushpop-load' if PLAIN else ''})",
        "",
        f"Simulated workers at {RATE:,} requests/s each (20 endpoints; Locust's statistics and exact histograms, no "
        f"integrity), a report every {REPORT_INTERVAL:g} s; the master on CPU {MASTER_CPU}, {WINDOW:g} s window.",
        "",
        "| workers | reports/s | master cores | hub / merge thread / other | ms per report | master RSS MiB | "
        "heartbeat RTT p50 / max ms | missing | requests sent | merged | quit s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        lines.append(f"| {run['workers']} | {run['reports_per_s']:.1f} | {run['master_cores']:.2f} | "
                     f"{run['hub_cores']:.2f} / {run['merge_cores']:.2f} / {run['other_cores']:.2f} | "
                     f"{run['master_ms_per_report']:.2f} | "
                     f"{run['master_rss_mib']:.0f} | {run['heartbeat_rtt_p50_ms']:.1f} / "
                     f"{run['heartbeat_rtt_max_ms']:.1f} | {run['missing']} | {run['requests_sent']:,} | "
                     f"{run['requests_merged']:,} | {run['quit_s']:.1f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
