"""Mode 4 of the seed's README for real: a Locust master and `--scale locust-worker=4` workers of docker/Dockerfile's
image, started by docker-compose from docker/docker-compose.locust.yml with the reference target, each its own
container on the test's internal network, the workers finding the master by its service name. The master merges
the workers' exact histograms and integrity ledgers; their counts must be Locust's own."""

from __future__ import annotations

import json

import pytest

from containers import Project, docker
from processes import ROOT

WORKERS = 4

# the image build on a cold machine (debootstrap, the release wheel) is paid by the first test that needs it
pytestmark = pytest.mark.timeout(1800)


@pytest.fixture()
def distributed(stack: Project) -> Project:
    stack.files.append(ROOT / "tests" / "docker" / "compose.distributed.yml")
    stack.env["PUSHPOP_TEST_WORKERS"] = str(WORKERS)
    return stack


def test_four_workers_merge_to_locusts_own_counts(distributed: Project) -> None:
    stack = distributed
    stack("--profile", "target", "up", "-d", "--no-build", "pushpop-target")
    stack.wait_healthy("pushpop-target")
    # the README's Mode 4 command
    stack("--profile", "distributed", "up", "-d", "--no-build", "--scale", f"locust-worker={WORKERS}",
          "locust-master", "locust-worker")
    workers = stack.containers("locust-worker")
    [master] = stack.containers("locust-master")
    assert len(workers) == WORKERS, workers
    # the run is 10 s once the workers are in; the master quits after it and the workers follow
    code = docker("wait", master, timeout=180).stdout.strip()
    assert code == "0", stack.logs()
    for worker in workers:
        state = docker("wait", worker, timeout=60).stdout.strip()
        assert state == "0", stack.logs()
    # a worker's id starts with its host name, the container's short id: four containers took part, not four
    # processes of one
    logs = stack("logs", "--no-color", "locust-master").stdout
    assert f"reported as ready. {WORKERS} workers connected." in logs, logs[-3000:]
    for worker in workers:
        assert f"{worker[:12]}_" in logs, (worker, logs[-3000:])

    results = stack.folder / "results"
    locust_counts = {(e["method"], e["name"]): (e["num_requests"], e["num_failures"])
                     for e in json.loads((results / "distributed_locust.json").read_text())}
    hdr = json.loads((results / "distributed_hdr.json").read_text())
    exact_counts = {(s["method"], s["name"]): (s["count"], s["failures"]) for s in hdr["summaries"]}
    assert exact_counts == locust_counts, (exact_counts, locust_counts)
    assert locust_counts[("POST", "/queue/[id]/push")][0] > 0 and locust_counts[("POST", "/queue/[id]/pop")][0] > 0
    assert all(failures == 0 for _, failures in exact_counts.values()), exact_counts

    integrity = json.loads((results / "distributed_integrity.json").read_text())
    assert integrity["ok"] is True and integrity["lost"] == 0 and integrity["duplicated"] == 0, integrity
    assert integrity["acknowledged"] > 0 and integrity["unpopped"] == 0, integrity
