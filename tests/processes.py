"""What tests and benchmarks share: paths, queue ids and headless Locust runs; the reference target and PostgreSQL
processes come from ``pushpop_load.testing``. No pytest in here, so that bench/ can use it too."""

from __future__ import annotations

import csv
import json
import os
import random
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

from pushpop_load.testing import PUSHPOP, Postgres, Target, free_port, pg_bindir  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
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


def run_bench(name: str, results: str = "results.json", **settings: str) -> tuple[str, Path, Any]:
    """Runs bench/<name>/run.py in its smoke mode (a debug build allowed): its stdout, its output folder and the
    JSON file `results` there."""
    env = {**os.environ, "SMOKE": "1", "ALLOW_DEBUG": "1", **settings}
    done = subprocess.run([sys.executable, str(ROOT / "bench" / name / "run.py")], capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    out = ROOT / done.stdout.strip().splitlines()[-1].removeprefix("raw output in ")
    return done.stdout, out, json.loads((out / results).read_text())
