"""The scripts users run first: the warm-up, and a real headless Locust run of S3a against the target."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import requests

from processes import ROOT, Target, free_port, locust_headless

WARMUP = str(ROOT / "scripts" / "warmup.sh")


def warmup(api_host: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WARMUP], capture_output=True, text=True, timeout=60, env={**os.environ, "API_HOST": api_host, **env}
    )


def test_warmup_against_the_target_leaves_nothing_behind() -> None:
    target = Target().start()
    try:
        done = warmup(target.url)
        assert done.returncode == 0, done.stderr
        assert "pushed 10 items" in done.stdout and "popped 10 items" in done.stdout
        queue = done.stdout.split("pushed 10 items to ")[1].split()[0]
        assert requests.get(f"{target.url}/queue/{queue}/stats").json()["depth"] == 0
    finally:
        assert target.stop() == 0


def test_warmup_says_clearly_when_the_api_does_not_answer() -> None:
    done = warmup(f"http://127.0.0.1:{free_port()}", WARMUP_RETRIES="2")
    assert done.returncode == 1
    assert "did not answer healthy" in done.stderr and "after 2 attempts" in done.stderr


def test_warmup_checks_the_dapr_sidecar_only_when_told() -> None:
    target = Target().start()
    try:
        done = warmup(target.url, DAPR_HOST=f"http://127.0.0.1:{free_port()}", WARMUP_RETRIES="1")
        assert done.returncode == 1 and "Dapr sidecar" in done.stderr
        assert warmup(target.url).returncode == 0
        # the target answers the sidecar's health check as the sidecar does (204), so it stands in for both
        done = warmup(target.url, DAPR_HOST=target.url, WARMUP_RETRIES="1")
        assert done.returncode == 0 and "Dapr sidecar healthy" in done.stdout, done.stderr
    finally:
        assert target.stop() == 0


def test_warmup_rejects_a_bad_api_host() -> None:
    done = warmup("localhost:8000")
    assert done.returncode == 2 and "API_HOST" in done.stderr


def test_headless_locust_s3a_run_against_the_target(tmp_path: Path) -> None:
    target = Target().start()
    prefix = tmp_path / "s3a"
    try:
        done, rows = locust_headless(
            ROOT / "locustfiles" / "s3_mixed.py", target.url, prefix, "MixedWorkloadUser", "-u", "20", "-r", "20",
            "-t", "4s", "--html", f"{prefix}.html",
        )
    finally:
        assert target.stop() == 0
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ["/queue/[id]/push", "/queue/[id]/pop"]:
        assert int(rows[name]["Request Count"]) >= 20, rows[name]
        assert int(rows[name]["Failure Count"]) == 0
    assert Path(f"{prefix}.html").stat().st_size > 1000
