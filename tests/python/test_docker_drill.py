"""The S7d drill across containers: the reference target's container on a PostgreSQL container (Debian's
PostgreSQL 15 on the test's base image, images.py), both on the test's internal network, the target also published
on 127.0.0.1; `scripts/drill.py s7d` on the host loads it while PostgreSQL's container is restarted
(`docker restart`: a fast shutdown, as the official postgres image's stop signal asks), and reports the error
window, the time to recover and the integrity verdict."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from containers import Project, docker, unique, wait_until
from images import build_postgres_image
from processes import ROOT

pytestmark = pytest.mark.timeout(1800)


def test_postgres_restarted_in_its_container_loses_no_acknowledged_item(stack: Project, tmp_path: Path) -> None:
    network, published = stack.env["PUSHPOP_TEST_NETWORK"], stack.env["PUSHPOP_TEST_UI_NETWORK"]
    # both carry the project's label, so that Project.down removes them whatever happens
    label = f"com.docker.compose.project={stack.name}"
    postgres = unique("postgres")
    docker("run", "-d", "--name", postgres, "--label", label, "--network", network, build_postgres_image())
    wait_until(lambda: docker("exec", postgres, "pg_isready", "-h", "127.0.0.1", check=False).returncode == 0, 60,
               "PostgreSQL accepting connections")
    target = unique("target")
    # the port is published on the second network (Docker publishes none on an internal one); the store is reached
    # on the internal one
    docker("create", "--name", target, "--label", label, "--network", published, "-p", "127.0.0.1::8000",
           "--entrypoint", "pushpop-load", stack.env["PUSHPOP_LOCUST_IMAGE"], "target", "--host", "0.0.0.0",
           "--port", "8000", "--store", f"postgres://postgres@{postgres}:5432/postgres")
    docker("network", "connect", network, target)
    docker("start", target)
    port = docker("port", target, "8000").stdout.split()[0]
    assert port.startswith("127.0.0.1:"), port
    host = f"http://{port}"

    def healthy() -> bool:
        try:
            return requests.get(f"{host}/health", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False
    wait_until(healthy, 60, f"the target at {host}")

    prefix = tmp_path / "drill" / "s7d"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "drill.py"), "s7d", "--host", host,
                           "--restart-cmd", f"docker restart {postgres}", "--before", "6", "--down", "0",
                           "--after", "14", "--users", "10", "--rate", "50", "--out", str(prefix)],
                          capture_output=True, text=True, timeout=300)
    report = json.loads(Path(f"{prefix}_drill.json").read_text())
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:] + json.dumps(report)
    # the restart was felt: requests failed while PostgreSQL was away, and only then
    assert report["failures"] > 0 and 1 <= report["error_window_s"] <= 30, report
    assert report["requests"] > 20 * 50 * 0.5, report
    # the service came back by itself, and every acknowledged push was popped once
    assert report["healthy_unix"] is not None and report["time_to_recover_s"] is not None, report
    assert report["time_to_recover_s"] <= 30, report
    integrity = report["integrity"]
    assert integrity["acknowledged"] > 0 and integrity["lost"] == 0 and integrity["duplicated"] == 0, integrity
    assert "-> OK" in done.stdout, done.stdout
    print(f"\n{done.stdout.strip().splitlines()[-2]}")
