"""The benchmarks run end to end in a short smoke mode; their figures are recorded in docs/BENCHMARKS.md, never
asserted here."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from processes import ROOT


def test_target_benchmark_smoke() -> None:
    env = {**os.environ, "SMOKE": "1", "ALLOW_DEBUG": "1", "STORES": "memory", "DURATION": "1", "PREFILL_CAP": "20000"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "target" / "run.py")], capture_output=True, text=True, timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = ROOT / done.stdout.strip().splitlines()[-1].removeprefix("raw output in ")
    results = json.loads((out / "results.json").read_text())
    assert [r["operation"] for r in results] == ["push", "pop depth 1", "pop depth 10", "pop depth 100"]
    assert all(r["requests_per_s"] > 0 and r["errors"] == 0 for r in results)
    assert (out / "summary.md").read_text().count("| memory |") == 4


def test_client_benchmark_smoke() -> None:
    env = {**os.environ, "SMOKE": "1", "ALLOW_DEBUG": "1", "PARTS": "cost"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "client" / "run.py")], capture_output=True, text=True, timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = ROOT / done.stdout.strip().splitlines()[-1].removeprefix("raw output in ")
    cost = json.loads((out / "results.json").read_text())["cost"]
    assert set(cost) == {"HttpPushUser", "FastHttpPushUser", "NativePushUser", "wrk"}
    assert all(result["requests_per_s"] > 0 and result["cpu_us_per_request"] > 0 for result in cost.values())


def test_prepopulate_benchmark_smoke() -> None:
    env = {**os.environ, "SMOKE": "1", "ALLOW_DEBUG": "1"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "prepopulate" / "run.py")], capture_output=True, text=True, timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = ROOT / done.stdout.strip().splitlines()[-1].removeprefix("raw output in ")
    results = json.loads((out / "results.json").read_text())
    assert results["wrk_rate"] > 0 and results["prepopulate_rate"] > 0
    assert [run["retried"] for run in results["prepopulate"]] == [0]


def test_analyze_benchmark_smoke() -> None:
    env = {**os.environ, "SMOKE": "1", "ALLOW_DEBUG": "1", "PANDAS": "0"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "analyze" / "run.py")], capture_output=True, text=True, timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "summaries agree" in done.stdout
    out = ROOT / done.stdout.strip().splitlines()[-1].removeprefix("raw output in ")
    result = json.loads((out / "results.json").read_text())
    assert result["rows"] == 20_000 and result["ours_s"] > 0
