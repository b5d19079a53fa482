"""Fixtures over the real processes in processes.py."""

from __future__ import annotations

from typing import Iterator

import pytest
import requests

from processes import Postgres, Target


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
