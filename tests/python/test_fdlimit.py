"""The open-file limit against the users' connections (pushpop_load.fdlimit), in real Locust processes started
with a low ``RLIMIT_NOFILE``: the soft limit is raised to the hard one when that holds the users, and one message
says so when even the hard limit cannot."""

from __future__ import annotations

import resource
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from processes import LOCUST, Target

USERS = 300
LOCUSTFILE = """
import itertools
import gevent
from locust import constant, task
from pushpop_load import NativeHttpUser

_ids = itertools.count()
_started = itertools.count(1)

class Many(NativeHttpUser):
    wait_time = constant(0.2)

    def on_start(self):
        self.path = f"/queue/fdlimit-{next(_ids)}/pop"
        self.client.post(self.path, name="pop")
        if next(_started) == {USERS}:
            # every user has sent a request (holding a connection, or failing to open one): the run is over, however
            # slowly this machine started it (-t is only a bound)
            gevent.spawn(self.environment.runner.quit)

    @task
    def pop(self):
        self.client.post(self.path, name="pop")
"""


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    running = Target().start()
    yield running
    assert running.stop() == 0, "".join(running.stderr_lines)


def run_with_limit(tmp_path: Path, host: str, soft: int, hard: int) -> subprocess.CompletedProcess[str]:
    """A headless run of USERS users, all spawned at once, in a Locust process whose open-file limits are
    `soft` and `hard`."""
    locustfile = tmp_path / "many.py"
    locustfile.write_text(LOCUSTFILE.replace("{USERS}", str(USERS)))
    done = subprocess.run(
        [LOCUST, "-f", str(locustfile), "--headless", "--host", host, "-u", str(USERS), "-r", str(USERS), "-t", "60s",
         "--only-summary", "--stop-timeout", "2"],
        capture_output=True, text=True, timeout=120,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard)),
    )
    return done


def test_users_beyond_the_hard_limit_get_one_message_and_the_run_completes(tmp_path: Path, target: Target) -> None:
    done = run_with_limit(tmp_path, target.url, 200, 200)
    # the run ended once every user had sent a request, wrote its results, and exited 1 for its failed requests
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.stderr.count("pushpop-load: this process is to run") == 1, done.stderr[-3000:]
    message = next(line for line in done.stderr.splitlines() if "pushpop-load: this process is to run" in line)
    assert f"to run {USERS} users" in message and "may open only 200 files" in message and "hard limit 200" in message
    assert "ulimit -n" in message
    assert "raised this process's open-file limit" not in done.stderr
    # the users past the limit did fail, for the reason the message gave (Locust's error report at exit)
    assert "Too many open files (os error 24)" in done.stderr, done.stderr[-3000:]


def test_a_low_soft_limit_is_raised_to_the_hard_limit(tmp_path: Path, target: Target) -> None:
    done = run_with_limit(tmp_path, target.url, 200, 1024)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.count("raised this process's open-file limit from 200 to 1024 (its hard limit) for "
                             f"{USERS} users") == 1, done.stderr[-3000:]
    assert "pushpop-load: this process is to run" not in done.stderr
    assert "Too many open files (os error 24)" not in done.stderr


def test_users_that_fit_get_no_message(tmp_path: Path, target: Target) -> None:
    done = run_with_limit(tmp_path, target.url, 1024, 1024)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "open-file limit" not in done.stderr and "pushpop-load: this process" not in done.stderr
