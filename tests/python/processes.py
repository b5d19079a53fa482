"""What tests and benchmarks share: paths, queue ids and headless Locust runs; the reference target and PostgreSQL
processes come from ``pushpop_load.testing``. No pytest in here, so that bench/ can use it too."""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

from pushpop_load.testing import PUSHPOP, Postgres, Target, free_port, pg_bindir  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
LOCUST = str(BIN / "locust")


def queue_id(prefix: str = "test") -> str:
    return f"{prefix}-{''.join(random.choices(string.ascii_lowercase + string.digits, k=8))}"


def locust_headless(
    locustfile: Path, host: str, prefix: Path, *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, dict[str, str]]]:
    """A real headless Locust run writing CSVs under `prefix`; returns the process and its stats rows by name."""
    done = subprocess.run(
        [LOCUST, "-f", str(locustfile), "--headless", "--host", host, "--csv", str(prefix), "--only-summary", *args],
        capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )
    stats = Path(f"{prefix}_stats.csv")
    rows: dict[str, dict[str, str]] = {}
    if stats.exists():
        with open(stats, newline="") as handle:
            rows = {row["Name"]: row for row in csv.DictReader(handle)}
    return done, rows


def run_bench(name: str, results: str = "results.json", script: str = "run.py",
              **settings: str) -> tuple[str, Path, Any]:
    """Runs bench/<name>/<script> in its smoke mode (a debug build allowed): its stdout, its output folder and the
    JSON file `results` there."""
    env = {**os.environ, "SMOKE": "1", "ALLOW_DEBUG": "1", **settings}
    done = subprocess.run([sys.executable, str(ROOT / "bench" / name / script)], capture_output=True, text=True,
                          timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    out = ROOT / done.stdout.strip().splitlines()[-1].removeprefix("raw output in ")
    return done.stdout, out, json.loads((out / results).read_text())


def start_workers(
    locustfile: Path, master_port: int, count: int = 2, env: dict[str, str] | None = None
) -> list[subprocess.Popen[str]]:
    """`count` Locust workers of `locustfile` for a master on 127.0.0.1:`master_port` (with `env` added to their
    environment); `stop_workers` ends them."""
    return [subprocess.Popen([LOCUST, "-f", str(locustfile), "--worker", "--master-host", "127.0.0.1",
                              "--master-port", str(master_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env={**os.environ, **(env or {})})
            for _ in range(count)]


def master_flags(port: int, workers: int = 2) -> list[str]:
    """The flags of a Locust master on 127.0.0.1:`port` that waits (up to 30 s) for `start_workers`' workers."""
    return ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port), "--expect-workers",
            str(workers), "--expect-workers-max-wait", "30"]


def stop_workers(workers: list[subprocess.Popen[str]], wait: float = 30) -> None:
    """Lets each worker end by itself (the master's quit) for up to `wait` seconds, then kills what is left."""
    for worker in workers:
        try:
            worker.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def end_process(proc: subprocess.Popen[Any], timeout: float = 30) -> None:
    """Asks `proc` to end (SIGTERM, as Ctrl-C's sibling: Locust writes its files), then kills it after `timeout` s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_for_web_ui(base: str, process: subprocess.Popen[str], timeout: float = 30) -> None:
    """Waits until Locust's web UI at `base` answers (the process must stay alive meanwhile)."""
    import time

    import requests

    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(f"{base}/", timeout=2)
            return
        except requests.ConnectionError:
            assert time.monotonic() < deadline and process.poll() is None, "the web UI did not come up"
            time.sleep(0.2)
