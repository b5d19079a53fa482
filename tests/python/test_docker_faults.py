"""Faults across hosts, for real: Mode 4 (tests/python/test_docker_distributed.py's stack: a master and three workers,
each its own container on the test's internal network, with the reference target) where, once the users run, one
worker container is killed (`docker kill`) and another is cut off from the network (`docker network disconnect`).
The master reports both as lost, still writes every result, and its integrity verdict says what the lost workers
leave unknown instead of a clean one (docs/INTEGRITY.md, "Lost workers")."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from containers import Network, Project, docker, wait_until
from processes import ROOT

WORKERS = 3
# long enough that both broken workers have been silent past the master's wait for final reports (10 s) when the
# test stops, so the master need not wait for them: the run is about 40 s on an idle machine
RUN_TIME = "20s"

# the image build on a cold machine (debootstrap, the release wheel) is paid by the first test that needs it
pytestmark = pytest.mark.timeout(1800)


def test_a_killed_and_a_cut_off_worker_are_lost_and_every_result_written(pushpop_image: str, tmp_path: Path) -> None:
    network, ui = Network(internal=True), Network(internal=False)
    stack = Project(tmp_path, pushpop_image, network, ui, ROOT / "tests" / "docker" / "compose.distributed.yml",
                    env={"PUSHPOP_TEST_WORKERS": str(WORKERS), "PUSHPOP_TEST_RUN_TIME": RUN_TIME})
    try:
        stack("--profile", "target", "up", "-d", "--no-build", "pushpop-target")
        stack.wait_healthy("pushpop-target")
        stack("--profile", "distributed", "up", "-d", "--no-build", "--scale", f"locust-worker={WORKERS}",
              "locust-master", "locust-worker")
        killed, cut_off, survivor = workers = stack.containers("locust-worker")
        [master] = stack.containers("locust-master")

        def master_log() -> str:
            return stack("logs", "--no-color", "locust-master").stdout

        # Locust's line once the workers run every user (under load it may give up waiting for their reports)
        spawned = re.compile(r"All users spawned|Spawning is complete")
        try:
            wait_until(lambda: spawned.search(master_log()), 120, "the master's users spawned", every=1)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{stack.logs()}") from None
        docker("kill", killed)
        docker("network", "disconnect", network.name, cut_off)
        # the master runs on to its end, then waits for the final reports: of the survivor only
        assert docker("wait", master, timeout=180).stdout.strip() == "0", stack.logs()
        assert docker("wait", survivor, timeout=60).stdout.strip() == "0", stack.logs()
        logs = master_log()
    finally:
        try:
            stack.down()
        finally:
            network.remove()
            ui.remove()

    assert "Traceback" not in logs, logs[-3000:]
    lost = sorted(re.findall(r"Worker (\w+) failed to send heartbeat, setting state to missing", logs))
    assert [worker[:12] for worker in lost] == sorted(w[:12] for w in (killed, cut_off)), (lost, workers, logs[-3000:])
    assert f"2 of {WORKERS} workers sent no final report" in logs, logs[-3000:]

    results = tmp_path / "results"
    for suffix in ("_stats.csv", "_stats_history.csv", "_failures.csv", "_exceptions.csv", "_hdr.json",
                   "_hdr_intervals.csv", "_integrity.json", "_locust.json"):
        assert (results / f"distributed{suffix}").stat().st_size > 0, sorted(p.name for p in results.iterdir())
    hdr = json.loads((results / "distributed_hdr.json").read_text())
    assert hdr["workers"] == {"reporting": WORKERS, "lost": lost}, hdr["workers"]

    integrity = json.loads((results / "distributed_integrity.json").read_text())
    assert integrity["workers"] == {"reporting": WORKERS, "lost": lost}, integrity
    # what the lost workers did after their last report is unknown: no verdict and no count of lost items, and
    # nothing that a missing report cannot explain
    assert integrity["ok"] is None and integrity["lost"] is None, integrity
    assert integrity["drained"] is True and integrity["acknowledged"] > 0, integrity
    assert (integrity["duplicated"], integrity["out_of_order"], integrity["priority_inversions"]) == (0, 0, 0)
    assert "Queue integrity: NO VERDICT" in logs and "workers lost)" in logs, logs[-3000:]
