"""Mode 2 of the seed's README for real: the reference target and a headless Locust run as containers of
docker/Dockerfile's image, started by docker-compose from docker/docker-compose.locust.yml on a network of the
test's own, the results left in the bind-mounted results/ and analyzed on the host."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from containers import Project
from processes import BIN

# the image build on a cold machine (debootstrap, the release wheel) is paid by the first test that needs it
pytestmark = pytest.mark.timeout(1800)


def test_a_headless_run_leaves_results_the_host_analyzes(stack: Project) -> None:
    stack("--profile", "target", "up", "-d", "--no-build", "pushpop-target")
    stack.wait_healthy("pushpop-target")
    # the README's Mode 2 command, shorter and with fewer users; -T: no terminal where the tests run
    stack("run", "--rm", "-T", "locust", "-f", "/home/locust/scenarios/s3_mixed.py", "MixedWorkloadUser",
          "--host", "http://pushpop-target:8000", "--users", "10", "--spawn-rate", "10", "--run-time", "8s",
          "--headless", "--csv", "/home/locust/results/mixed_test", "--html", "/home/locust/results/mixed_test.html",
          timeout=180)

    results = stack.folder / "results"
    written = {p.name: p for p in results.iterdir()}
    for name in ("mixed_test_stats.csv", "mixed_test_hdr.json", "mixed_test_integrity.json", "mixed_test.html"):
        # written by the image's user locust, readable here
        assert name in written and written[name].stat().st_uid == 1000, sorted(written)
        assert os.access(written[name], os.R_OK), name

    analyzed = subprocess.run([str(BIN / "pushpop-load"), "analyze", str(results / "mixed_test"), "--format", "json"],
                              capture_output=True, text=True, timeout=60)
    assert analyzed.returncode == 0, analyzed.stdout[-3000:] + analyzed.stderr[-3000:]
    report = json.loads(analyzed.stdout)
    assert report["passed"] is True, report["summary"]
    endpoints = {e["name"]: e for e in report["endpoints"]}
    for name in ("/queue/[id]/push", "/queue/[id]/pop"):
        assert endpoints[name]["requests"] > 0 and endpoints[name]["sources"]["counts"] == "exact", endpoints[name]
    assert report["total"]["requests"] > 0 and report["total"]["failures"] == 0, report["total"]
    integrity = report["integrity"]
    assert integrity["ok"] is True and integrity["lost"] == 0 and integrity["duplicated"] == 0, integrity
    assert integrity["acknowledged"] > 0, integrity
