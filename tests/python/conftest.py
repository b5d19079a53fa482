"""Fixtures over the real processes in processes.py."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest
import requests

from chromium_cdp import find_chromium
from containers import Network, Project, docker, engine_missing
from dockerfile import build_wheel
from images import build_pushpop_image
from processes import Postgres, Target


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium (scripts/test.sh installs it; outside it, the test skips when it cannot be installed)."""
    found = find_chromium()
    if not found:
        pytest.skip("Chromium is not installed and cannot be installed here (Debian: apt-get install chromium)")
    return found


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    cluster = Postgres()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.cleanup()


@pytest.fixture(scope="module", params=["memory", "postgres"])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """A running target per store; tests use their own queue ids, so they share it."""
    store = request.getfixturevalue("postgres").url if request.param == "postgres" else "memory"
    running = Target("--store", store).start()
    yield running
    assert running.stop() == 0, "".join(running.stderr_lines)


@pytest.fixture(scope="module")
def memory_target() -> Iterator[Target]:
    """A running target on the memory store alone, for tests whose subject is not the store."""
    running = Target().start()
    yield running
    assert running.stop() == 0, "".join(running.stderr_lines)


@pytest.fixture()
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The release wheel as docker/Dockerfile's wheel stage builds it (minutes from a cold target/), once for
    test_wheel.py and the container tests."""
    return build_wheel(tmp_path_factory.mktemp("wheels"))


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """The container tests' gate: skipped with the reason where no Docker Engine answers, failed instead when
    PUSHPOP_REQUIRE_DOCKER=1 (CI), so that CI cannot pass by skipping them."""
    reason = engine_missing()
    if reason and os.environ.get("PUSHPOP_REQUIRE_DOCKER") == "1":
        pytest.fail(f"PUSHPOP_REQUIRE_DOCKER=1 but {reason}")
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def pushpop_image(docker_engine: None, wheel: Path) -> Iterator[str]:
    """docker/Dockerfile's `prebuilt` target with the session's wheel, on the Locust stand-in; its tag is removed at
    the end (the base and the stand-in are kept by name for the next session)."""
    tag = build_pushpop_image(wheel)
    try:
        yield tag
    finally:
        docker("rmi", tag, check=False)


@pytest.fixture()
def stack(pushpop_image: str, tmp_path: Path) -> Iterator[Project]:
    """A Compose project of the image in its own folder, on an internal network and a loopback-published one that
    this test creates; everything it started and both networks are removed afterwards, however the test ends."""
    network, ui = Network(internal=True), Network(internal=False)
    project = Project(tmp_path / "stack", pushpop_image, network, ui)
    try:
        yield project
    finally:
        try:
            project.down()
        finally:
            network.remove()
            ui.remove()
