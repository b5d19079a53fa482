#!/usr/bin/env python3
"""S7d/S7e failure drills: steady traffic, a component restarted mid-run, and what it cost.

    scripts/drill.py s7d                  # PostgreSQL restart, on a cluster and target the drill starts itself
    scripts/drill.py s7e                  # API process (reference target) restart, the same way
    scripts/drill.py s7d --host http://api:8000 --pid 4242 --start-cmd 'systemctl start postgresql'
    scripts/drill.py s7e --host http://api:8000 --restart-cmd 'docker restart api-server'

Locust runs ``DrillUser`` (balanced push/pop with integrity markers) headless; after ``--before`` seconds the
component is stopped by PID (PostgreSQL: SIGQUIT, its immediate shutdown, i.e. a crash; the API process: SIGKILL),
left down for ``--down`` seconds, and started again; traffic goes on for ``--after`` seconds. At the end the
drill reports the error window (first to last second with failures), the time from the restart to the first
second without failures, and the integrity checker's verdict after a full drain: items lost must be 0. Results
go to ``--out PREFIX`` (Locust's CSVs, the exact histograms, ``PREFIX_integrity.json`` and ``PREFIX_drill.json``).
Exit 0 when the service recovered and nothing was lost or duplicated, 1 otherwise, 2 on bad input.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = ROOT / "locustfiles" / "s7_failure.py"
COMPONENTS = {"s7d": "postgres", "s7e": "api"}


def fail(message: str, code: int = 2) -> None:
    print(f"drill: error: {message}", file=sys.stderr)
    sys.exit(code)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="drill.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("drill", choices=sorted(COMPONENTS), help="s7d: PostgreSQL restart; s7e: API process restart")
    parser.add_argument("--host", help="the service under test; default: a reference target (PostgreSQL store) "
                                       "and cluster this drill starts and restarts itself")
    parser.add_argument("--pid", type=int, help="with --host: PID of the component to stop")
    parser.add_argument("--start-cmd", help="with --pid: shell command that starts the component again")
    parser.add_argument("--restart-cmd", help="with --host, instead of --pid: shell command that restarts it")
    parser.add_argument("--users", type=int, default=20, help="Locust users (default 20)")
    parser.add_argument("--rate", type=float, default=50, help="swarm requests/s (default 50)")
    parser.add_argument("--before", type=float, default=10, help="seconds of traffic before the stop (default 10)")
    parser.add_argument("--down", type=float, default=3, help="seconds the component stays down (default 3)")
    parser.add_argument("--after", type=float, default=20, help="seconds of traffic after the restart (default 20)")
    parser.add_argument("--out", default=None, help="results prefix (default results/<drill>_<timestamp>/<drill>)")
    args = parser.parse_args(argv)
    if args.host is None and (args.pid or args.start_cmd or args.restart_cmd):
        parser.error("--pid, --start-cmd and --restart-cmd need --host (without it the drill runs its own)")
    if args.host is not None:
        if not args.host.startswith(("http://127.0.0.1", "http://localhost", "https://127.0.0.1",
                                     "https://localhost")):
            parser.error(f"--host must be on this machine (127.0.0.1 or localhost), got {args.host!r}")
        if bool(args.restart_cmd) == bool(args.pid):
            parser.error("with --host give either --pid (and --start-cmd) or --restart-cmd")
        if args.pid and not args.start_cmd:
            parser.error("--pid needs --start-cmd to bring the component back")
    for name in ("users", "rate", "before", "down", "after"):
        if not getattr(args, name) > 0 and not (name == "down" and getattr(args, name) == 0):
            parser.error(f"--{name} must be positive")
    return args


class Managed:
    """The drill's own PostgreSQL cluster and reference target (PostgreSQL store), on fixed ports."""

    def __init__(self, component: str, log_dir: Path) -> None:
        from pushpop_load.testing import Postgres, Target, free_port

        self.component = component
        self.postgres = Postgres()
        self.postgres.start()
        self.port = free_port()
        self.target = Target("--store", self.postgres.url, port=self.port).start()
        self.host = self.target.url
        self.log_dir = log_dir

    def stop_component(self) -> int:
        if self.component == "postgres":
            assert self.postgres.proc is not None
            pid = self.postgres.proc.pid
            self.postgres.stop(signal.SIGQUIT)  # immediate shutdown: a crash, recovered from WAL on start
        else:
            assert self.target.proc is not None
            pid = self.target.proc.pid
            self.target.stop(signal.SIGKILL)
        return pid

    def start_component(self) -> None:
        if self.component == "postgres":
            self.postgres.start()
        else:
            self.target.start()

    def cleanup(self) -> None:
        try:
            if self.target.proc is not None and self.target.proc.poll() is None:
                self.target.stop()
        finally:
            self.postgres.cleanup()


def stop_external(pid: int, sig: int, timeout: float = 30) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        fail(f"no process with PID {pid}")
    except PermissionError:
        fail(f"not allowed to signal PID {pid}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    print(f"drill: PID {pid} still running {timeout:.0f} s after the signal", file=sys.stderr)


def wait_healthy(host: str, timeout: float) -> float | None:
    """Unix time the service answered /health with 200 again, or None."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{host}/health", timeout=1) as answer:
                if answer.status == 200:
                    return time.time()
        except OSError:
            pass
        time.sleep(0.1)
    return None


def analyse(prefix: str, stopped: float, restarted: float) -> dict[str, Any]:
    """Error window and recovery from the exact per-second timeline."""
    seconds: dict[int, list[int]] = {}
    with open(f"{prefix}_hdr_intervals.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            counts = seconds.setdefault(int(row["Timestamp"]), [0, 0])
            counts[0] += int(row["Requests"])
            counts[1] += int(row["Failures"])
    failing = sorted(second for second, (_, failures) in seconds.items() if failures and second >= int(stopped) - 1)
    recovered = next((second for second in sorted(seconds) if second > restarted and seconds[second][0] > 0
                      and seconds[second][1] == 0 and all(seconds[s][1] == 0 for s in seconds if s >= second)), None)
    return {
        "requests": sum(c[0] for c in seconds.values()),
        "failures": sum(c[1] for c in seconds.values()),
        "error_window_s": (failing[-1] + 1 - failing[0]) if failing else 0,
        "first_failure_unix": failing[0] if failing else None,
        "last_failure_unix": failing[-1] + 1 if failing else None,
        "recovered_unix": recovered,
        "time_to_recover_s": round(recovered - restarted, 3) if recovered is not None else None,
    }


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    component = COMPONENTS[args.drill]
    stamp = time.strftime("%Y%m%dT%H%M%S")
    prefix = args.out or str(ROOT / "results" / f"{args.drill}_{stamp}" / args.drill)
    try:
        Path(prefix).parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        fail(f"cannot create the results folder {Path(prefix).parent}: {error.strerror}")
    for stale in Path(prefix).parent.glob(f"{Path(prefix).name}_*"):
        stale.unlink()

    managed = None
    try:
        if args.host is None:
            print(f"drill: starting PostgreSQL and the reference target (PostgreSQL store)", flush=True)
            managed = Managed(component, Path(prefix).parent)
            host = managed.host
        else:
            host = args.host
        if wait_healthy(host, 10) is None:
            fail(f"{host} does not answer GET /health")
        run_time = args.before + args.down + args.after
        locust = subprocess.Popen(
            [str(Path(sys.executable).parent / "locust"), "-f", str(LOCUSTFILE), "DrillUser", "--headless",
             "--host", host, "-u", str(args.users), "-r", str(args.users), "-t", f"{run_time:.0f}s",
             "--pp-rate", str(args.rate), "--csv", prefix, "--only-summary", "--exit-code-on-error", "0"],
            stdout=open(f"{prefix}_locust.log", "w"), stderr=subprocess.STDOUT,
        )
        time.sleep(args.before)
        stopped = time.time()
        if managed is not None:
            pid = managed.stop_component()
        elif args.pid:
            pid = args.pid
            stop_external(pid, signal.SIGQUIT if component == "postgres" else signal.SIGKILL)
        else:
            pid = None
        print(f"drill: {component} stopped" + (f" (PID {pid})" if pid else "") + f"; down for {args.down:g} s",
              flush=True)
        time.sleep(args.down)
        restarted = time.time()
        if managed is not None:
            managed.start_component()
        else:
            command = args.start_cmd or args.restart_cmd
            done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=120)
            if done.returncode != 0:
                print(f"drill: {shlex.quote(command)} exited {done.returncode}: {done.stderr.strip()[-500:]}",
                      file=sys.stderr)
        healthy = wait_healthy(host, 60)
        print(f"drill: {component} restarted; healthy again " +
              (f"{healthy - restarted:.2f} s later" if healthy else "never (60 s)"), flush=True)
        try:
            code = locust.wait(timeout=run_time + 300)
        except subprocess.TimeoutExpired:
            locust.kill()
            fail("Locust did not finish in time", 1)
        if code != 0:
            fail(f"Locust exited {code}; see {prefix}_locust.log", 1)
    finally:
        if managed is not None:
            managed.cleanup()

    result = {"format": "pushpop-load-drill", "version": 1, "drill": args.drill, "component": component,
              "host": host, "stopped_unix": round(stopped, 3), "restarted_unix": round(restarted, 3),
              "healthy_unix": round(healthy, 3) if healthy else None, **analyse(prefix, stopped, restarted)}
    integrity_path = Path(f"{prefix}_integrity.json")
    integrity = json.loads(integrity_path.read_text()) if integrity_path.exists() else None
    result["integrity"] = integrity
    lost = integrity.get("lost") if integrity else None
    duplicated = integrity.get("duplicated") if integrity else None
    result["ok"] = bool(result["recovered_unix"] and lost == 0 and duplicated == 0)
    temporary = f"{prefix}_drill.json.tmp"
    Path(temporary).write_text(json.dumps(result, indent=1))
    os.replace(temporary, f"{prefix}_drill.json")
    print(f"{args.drill} ({component} restart): {result['requests']} requests, {result['failures']} failed; "
          f"error window {result['error_window_s']} s; recovered "
          + (f"{result['time_to_recover_s']:.1f} s after the restart" if result["time_to_recover_s"] is not None
             else "NEVER")
          + f"; integrity: lost {lost}, duplicated {duplicated} -> {'OK' if result['ok'] else 'FAILED'}")
    print(f"results: {prefix}_drill.json", flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
