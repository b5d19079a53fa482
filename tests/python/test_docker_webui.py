"""Mode 1 of the seed's README for real: `docker-compose up` of the `locust` service of docker/Dockerfile's image
with the reference target, and a swarm started, watched and stopped from the host through the web UI's HTTP API
(what its buttons call), the Exact percentiles and Resources tabs included; the resource monitor samples the
target's container through the Docker socket, mounted read-only."""

from __future__ import annotations

import os
from typing import Any

import pytest
import requests

from containers import Project, docker, wait_until
from processes import ROOT

pytestmark = pytest.mark.timeout(1800)

ENDPOINTS = ("/queue/[id]/push", "/queue/[id]/pop")


def stats(base: str) -> dict[str, Any]:
    answer = requests.get(f"{base}/stats/requests", timeout=10)
    answer.raise_for_status()
    return answer.json()


def tab(report: dict[str, Any], key: str) -> list[dict[str, str]]:
    """The rows pushpop-load added to a /stats/requests answer for one of its tabs."""
    [rows] = [entry["data"] for entry in report.get("extended_stats") or [] if entry["key"] == key]
    return rows


def test_a_swarm_is_started_watched_and_stopped_through_the_web_ui(stack: Project) -> None:
    stack.files.append(ROOT / "tests" / "docker" / "compose.monitor.yml")
    stack("--profile", "target", "up", "-d", "--no-build", "pushpop-target")
    target = stack.wait_healthy("pushpop-target")
    name = docker("inspect", "-f", "{{.Name}}", target).stdout.strip().lstrip("/")
    stack.env.update(PUSHPOP_TEST_MONITORED=name, PUSHPOP_TEST_DOCKER_GID=str(os.stat("/var/run/docker.sock").st_gid))
    # the README's Mode 1 command, naming the service so that the target profile's is not recreated
    stack("up", "-d", "--no-build", "locust")
    base = stack.web_ui("locust")

    def page() -> str | None:
        try:
            answer = requests.get(f"{base}/", timeout=5)
        except requests.ConnectionError:
            return None
        return answer.text if answer.status_code == 200 else None
    html = wait_until(page, 60, f"the web UI at {base}")
    assert "Exact percentiles" in html and "Resources" in html and "MixedWorkloadUser" in html

    # the start form's fields; run_time bounds the swarm should the test die before it stops it
    started = requests.post(f"{base}/swarm", data={"user_count": "10", "spawn_rate": "10",
                                                   "host": "http://pushpop-target:8000",
                                                   "user_classes": "MixedWorkloadUser", "run_time": "120s"},
                            timeout=10).json()
    assert started["success"] is True, started

    def busy() -> dict[str, Any] | None:
        report = stats(base)
        counts = {row["name"]: int(row["requests"]) for row in tab(report, "pushpop-exact")}
        # CPU is a rate: it has a value from the container's second sample on
        sampled = {row["metric"]: row["value"] for row in tab(report, "pushpop-resources")
                   if row["source"] == f"container:{name}"}
        # Locust's own rows come from a cache it renews every 2 s, pushpop-load's tabs at each request
        locust = {entry["name"]: entry["num_requests"] for entry in report["stats"]}
        ready = report["state"] == "running" and sampled.get("cpu_pct") and all(
            counts.get(f"POST {name}", 0) > 0 and locust.get(name, 0) > 0 for name in ENDPOINTS)
        return report if ready else None
    report = wait_until(busy, 60, "requests counted by Locust and pushpop-load, the target's container sampled")
    metrics = {row["metric"]: row["value"] for row in tab(report, "pushpop-resources")
               if row["source"] == f"container:{name}"}
    assert metrics.get("cpu_pct") and metrics.get("memory_bytes"), metrics

    assert requests.post(f"{base}/stop", timeout=10).json()["success"] is True
    stopped = wait_until(lambda: (r := stats(base))["state"] == "stopped" and r, 30, "the swarm stopped")
    assert stopped["fail_ratio"] == 0 and all(e["num_failures"] == 0 for e in stopped["stats"]), stopped["stats"]
    exact = {row["name"]: row for row in tab(stopped, "pushpop-exact")}
    assert all(row["failures"] == "0" for row in exact.values()), exact
    assert all(int(exact[f"POST {name}"]["requests"]) > 0 for name in ENDPOINTS), exact
    # the container the web UI runs in keeps running after the swarm stops, ready for the next one
    assert docker("inspect", "-f", "{{.State.Running}}", *stack.containers("locust")).stdout.strip() == "true"
