"""Overhead of the resource monitor with every source on, as % of one core, at 1 Hz and 10 Hz.

    make build-prod && .venv/bin/python bench/monitor/run.py

`pushpop-load monitor` runs as a process of its own, sampling: the reference target by PID, by name and by command
line; a cgroup v2 holding the target (made for the run when we are root, else the cgroup2 root); a Docker container
(no engine here: the socket is absent, said once); and a throwaway PostgreSQL cluster (`pushpop_load.testing`)
that the target uses as its store, while a client keeps pushing and popping. The monitor's CPU is its own user +
system time as the kernel accounts it at exit (`wait4`), over two run lengths: the difference per second of the
difference excludes start-up (interpreter, connection), so the figure is what sampling costs while a test runs.
Goals: <= 1% of a core at 1 Hz, <= 5% at 10 Hz. Figures are recorded in docs/BENCHMARKS.md.
SMOKE=1 runs 2 s and 4 s only (with ALLOW_DEBUG=1 on a debug build) to check the harness.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import ROOT, fail  # noqa: E402

SMOKE = os.environ.get("SMOKE") == "1"
SHORT, LONG = (2.0, 4.0) if SMOKE else (5.0, 35.0)
GOALS = {"1s": 1.0, "100ms": 5.0}


def cgroup_for(pid: int) -> tuple[str, Path | None]:
    """A cgroup v2 directory holding `pid` (made here, when we may), else the cgroup2 root."""
    mount = next((line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()
                  if line.split()[2] == "cgroup2"), "/sys/fs/cgroup")
    made = Path(mount) / f"pushpop-bench-{os.getpid()}"
    try:
        made.mkdir()
        (made / "cgroup.procs").write_text(str(pid))
        return str(made), made
    except OSError:
        if made.exists():
            made.rmdir()
        return mount, None


def load(url: str, stop: threading.Event) -> None:
    """Pushes and pops through the native client until told to stop: the target and PostgreSQL have work."""
    from pushpop_load import Client

    client = Client(url)
    queue = f"bench-monitor-{os.getpid()}"
    while not stop.is_set():
        client.push(queue, {"n": 1}, 0)
        client.pop(queue, 1)


def monitor_cpu(args: list[str], seconds: float, out: Path) -> float:
    """CPU seconds (user + system) of one `pushpop-load monitor` run of `seconds`."""
    from processes import PUSHPOP

    proc = subprocess.Popen([PUSHPOP, "monitor", *args, "--duration", str(seconds), "--out", str(out), "--quiet"],
                            stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        fail(f"the monitor failed ({proc.returncode}): {stderr.strip()}")
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    from pushpop_load import _native
    from processes import Postgres, Target

    if _native.build_profile != "release" and os.environ.get("ALLOW_DEBUG") != "1":
        fail("pushpop_load is a debug build: run `make build-prod` first (or ALLOW_DEBUG=1 to check the harness)")
    cluster = Postgres()
    cluster.start()
    target = Target("--store", cluster.url).start()
    assert target.proc is not None
    cgroup, made = cgroup_for(target.proc.pid)
    stop = threading.Event()
    loader = threading.Thread(target=load, args=(target.url, stop), daemon=True)
    loader.start()
    work = Path(tempfile.mkdtemp(prefix="pushpop-bench-monitor-"))
    sources = ["--pid", str(target.proc.pid), "--process", "postgres", "--cmdline", "pushpop-load target",
               "--cgroup", cgroup, "--container", "api-server", "--postgres", cluster.url,
               "--generator", str(os.getpid())]
    results = []
    try:
        for interval, goal in GOALS.items():
            short = monitor_cpu([*sources, "--interval", interval], SHORT, work / f"short-{interval}.csv")
            long = monitor_cpu([*sources, "--interval", interval], LONG, work / f"long-{interval}.csv")
            rows = sum(1 for _ in open(work / f"long-{interval}.csv")) - 1
            columns = len(open(work / f"long-{interval}.csv").readline().split(",")) - 2
            percent = (long - short) / (LONG - SHORT) * 100
            whole = long / LONG * 100
            results.append({"interval": interval, "percent_of_core": percent, "with_startup_percent": whole,
                            "goal_percent": goal, "rows": rows, "columns": columns,
                            "cpu_s": {"short": short, "long": long}, "seconds": {"short": SHORT, "long": LONG}})
            verdict = "ok" if percent <= goal else "ABOVE GOAL"
            print(f"{interval:>6}: {percent:6.3f}% of a core while sampling ({whole:.3f}% with start-up), "
                  f"{rows} rows x {columns} columns, goal <= {goal}%: {verdict}")
    finally:
        stop.set()
        loader.join(timeout=10)
        target.stop()
        if made is not None:
            for pid in (made / "cgroup.procs").read_text().split():
                Path(cgroup).parent.joinpath("cgroup.procs").write_text(pid)
            made.rmdir()
        cluster.cleanup()
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    record = {"run": f"monitor-{stamp}", "smoke": SMOKE, "cgroup": cgroup, "results": results}
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"monitor-{stamp}.json").write_text(json.dumps(record, indent=2))
    print(f"recorded in bench/results/monitor-{stamp}.json")
    if any(r["percent_of_core"] > r["goal_percent"] for r in results) and not SMOKE:
        sys.exit(1)


if __name__ == "__main__":
    main()
