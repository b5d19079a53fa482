"""Mode 4 of the seed's README for real: a Locust master and `--scale locust-worker=4` workers of docker/Dockerfile's
image, started by docker-compose from docker/docker-compose.locust.yml with the reference target, each its own
container on the test's internal network, the workers finding the master by its service name. One bounded run,
read by two tests: the master's merged exact counts against Locust's own, and its merged integrity ledger."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from containers import Network, Project, docker
from processes import ROOT

WORKERS = 4

# the image build on a cold machine (debootstrap, the release wheel) is paid by the first test that needs it
pytestmark = pytest.mark.timeout(1800)


@pytest.fixture(scope="module")
def run(pushpop_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[str], str]]:
    """The run's results/ folder, the worker containers' ids and the master's log."""
    network, ui = Network(internal=True), Network(internal=False)
    stack = Project(tmp_path_factory.mktemp("distributed"), pushpop_image, network, ui,
                    ROOT / "tests" / "docker" / "compose.distributed.yml", env={"PUSHPOP_TEST_WORKERS": str(WORKERS)})
    try:
        stack("--profile", "target", "up", "-d", "--no-build", "pushpop-target")
        stack.wait_healthy("pushpop-target")
        # the README's Mode 4 command
        stack("--profile", "distributed", "up", "-d", "--no-build", "--scale", f"locust-worker={WORKERS}",
              "locust-master", "locust-worker")
        workers = stack.containers("locust-worker")
        [master] = stack.containers("locust-master")
        assert len(workers) == WORKERS, workers
        # the run is 10 s once the workers are in; the master quits after it and the workers follow
        assert docker("wait", master, timeout=180).stdout.strip() == "0", stack.logs()
        for worker in workers:
            assert docker("wait", worker, timeout=60).stdout.strip() == "0", stack.logs()
        yield stack.folder / "results", workers, stack("logs", "--no-color", "locust-master").stdout
    finally:
        try:
            stack.down()
        finally:
            network.remove()
            ui.remove()


def test_four_workers_merge_to_locusts_own_counts(run: tuple[Path, list[str], str]) -> None:
    results, workers, logs = run
    # a worker's id starts with its host name, the container's short id: four containers took part, not four
    # processes of one
    assert f"reported as ready. {WORKERS} workers connected." in logs, logs[-3000:]
    for worker in workers:
        assert f"{worker[:12]}_" in logs, (worker, logs[-3000:])

    locust_counts = {(e["method"], e["name"]): (e["num_requests"], e["num_failures"])
                     for e in json.loads((results / "distributed_locust.json").read_text())}
    hdr = json.loads((results / "distributed_hdr.json").read_text())
    # every worker's final report came in before the master finished (pushpop_load.swarm)
    assert hdr["workers"] == {"reporting": WORKERS, "lost": []}, hdr["workers"]
    exact_counts = {(s["method"], s["name"]): (s["count"], s["failures"]) for s in hdr["summaries"]}
    assert exact_counts == locust_counts, (exact_counts, locust_counts)
    assert locust_counts[("POST", "/queue/[id]/push")][0] > 0 and locust_counts[("POST", "/queue/[id]/pop")][0] > 0
    assert all(failures == 0 for _, failures in exact_counts.values()), exact_counts


def test_the_merged_ledger_loses_nothing(run: tuple[Path, list[str], str]) -> None:
    results, _, _ = run
    integrity: dict[str, Any] = json.loads((results / "distributed_integrity.json").read_text())
    assert integrity["acknowledged"] > 0 and integrity["drained"] is True, integrity
    assert integrity["lost"] == 0 and integrity["foreign"] == 0 and integrity["duplicated"] == 0, integrity
    assert integrity["ok"] is True and integrity["unpopped"] == 0, integrity
