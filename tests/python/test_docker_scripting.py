"""Mode 3 of the seed's README for real: `docker-compose exec` of scripts/client_example.py in the running `locust`
container of docker/Dockerfile's image, against the reference target's container by its service name."""

from __future__ import annotations

import re

import pytest

from containers import Project

pytestmark = pytest.mark.timeout(1800)


def test_the_client_example_runs_in_the_locust_container(stack: Project) -> None:
    stack("--profile", "target", "up", "-d", "--no-build", "pushpop-target")
    stack.wait_healthy("pushpop-target")
    stack("up", "-d", "--no-build", "locust")
    # the README's Mode 3 command with the target's address; -T: no terminal where the tests run
    done = stack("exec", "-T", "locust", "python", "/home/locust/scripts/client_example.py",
                 "http://pushpop-target:8000", "--items", "500", timeout=120)
    assert "pushed 500, popped 500, lost 0, duplicated 0, priority order kept" in done.stdout, done.stdout
    # the engine's exact statistics, one line per endpoint: 500 pushes, and pops until the queue answered empty
    counts = dict(re.findall(r"POST (/queue/\[id\]/\w+): (\d+) requests", done.stdout))
    assert counts.get("/queue/[id]/push") == "500" and int(counts.get("/queue/[id]/pop", "0")) >= 6, done.stdout
