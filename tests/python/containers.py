"""The Docker Engine as the container tests use it: the docker and docker-compose commands, names unique to this
test session, and a Compose project of docker/docker-compose.locust.yml on networks the test creates, removed with
everything it started. Only what carries one of these names is ever removed."""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

from processes import ROOT

COMPOSE_FILES = (ROOT / "docker" / "docker-compose.locust.yml", ROOT / "tests" / "docker" / "compose.test.yml")
# one prefix per session, so that two sessions on one engine never share a name
SESSION = f"pushpop-test-{secrets.token_hex(3)}"
_serial = itertools.count(1)


def unique(what: str) -> str:
    """A name for one container, network, project or tag of this session."""
    return f"{SESSION}-{what}-{next(_serial)}"


def engine_missing() -> str | None:
    """Why no Docker Engine can be used here, or None when one answers."""
    if not shutil.which("docker"):
        return "no docker command on PATH"
    if not shutil.which("docker-compose"):
        return "no docker-compose command on PATH"
    try:
        info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                              timeout=30)
    except subprocess.TimeoutExpired:
        return "the Docker Engine did not answer `docker info` within 30 s"
    if info.returncode != 0 or not info.stdout.strip():
        said = (info.stderr.strip() or info.stdout.strip() or f"exit {info.returncode}").splitlines()[-1]
        return f"no Docker Engine answers `docker info`: {said}"
    return None


def docker(*args: object, timeout: float = 120, check: bool = True, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["docker", *map(str, args)], capture_output=True, text=True, timeout=timeout, **kwargs)
    assert not check or done.returncode == 0, f"docker {args} exited {done.returncode}\n{done.stdout[-3000:]}\n" \
                                              f"{done.stderr[-3000:]}"
    return done


def wait_until(condition: Callable[[], Any], timeout: float, what: str, every: float = 0.25) -> Any:
    """Polls `condition` until it returns something true (returned) or `timeout` seconds pass (fails naming `what`)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(every)


class Network:
    """A bridge network of this session's; internal ones have no way out (and Docker publishes no port on them)."""

    def __init__(self, internal: bool) -> None:
        self.name = unique("internal" if internal else "ui")
        docker("network", "create", *(["--internal"] if internal else []), self.name)

    def remove(self) -> None:
        docker("network", "rm", self.name, check=False)


class Project:
    """docker/docker-compose.locust.yml with tests/docker/compose.test.yml (plus `extra` files) as one Compose
    project of a unique name: `folder` is its project directory (results/ lands there), every service on the
    internal network `network`, the web UI's services also on `ui` with the port on 127.0.0.1."""

    def __init__(self, folder: Path, image: str, network: Network, ui: Network, *extra: Path,
                 env: dict[str, str] | None = None) -> None:
        self.name = unique("compose").replace("-", "")  # Compose v1 drops dashes from project names anyway
        self.folder = folder
        self.files = [*COMPOSE_FILES, *extra]
        self.env = {**os.environ, "PUSHPOP_LOCUST_IMAGE": image, "PUSHPOP_LOAD_DIR": str(ROOT),
                    "LOCUST_HOST": "http://pushpop-target:8000", "PUSHPOP_WEB_UI_PORT": "127.0.0.1:0",
                    "PUSHPOP_TEST_NETWORK": network.name, "PUSHPOP_TEST_UI_NETWORK": ui.name, **(env or {})}
        # the image's user locust (uid 1000) writes the results; the host reads them
        results = folder / "results"
        results.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            os.chown(results, 1000, 1000)
        else:
            results.chmod(0o777)

    def __call__(self, *args: object, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        files = [arg for path in self.files for arg in ("-f", str(path))]
        done = subprocess.run(["docker-compose", "-p", self.name, *files, "--project-directory", str(self.folder),
                               *map(str, args)], capture_output=True, text=True, timeout=timeout, env=self.env)
        assert not check or done.returncode == 0, f"docker-compose {args} exited {done.returncode}\n" \
                                                  f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done

    def popen(self, *args: object, **kwargs: Any) -> subprocess.Popen[str]:
        """docker-compose with `args`, left running (for the caller to wait for, and kill if it fails)."""
        files = [arg for path in self.files for arg in ("-f", str(path))]
        return subprocess.Popen(["docker-compose", "-p", self.name, *files, "--project-directory", str(self.folder),
                                 *map(str, args)], text=True, env=self.env, stderr=subprocess.STDOUT, **kwargs)

    def containers(self, service: str | None = None) -> list[str]:
        """Ids of this project's containers (one-off `run` containers too), of one service when named."""
        labels = [f"label=com.docker.compose.project={self.name}"]
        if service:
            labels.append(f"label=com.docker.compose.service={service}")
        return docker("ps", "-aq", *[arg for label in labels for arg in ("--filter", label)]).stdout.split()

    def wait_healthy(self, service: str, timeout: float = 60) -> str:
        """The container of `service` once Docker reports its healthcheck passing."""
        def healthy() -> str | None:
            ids = self.containers(service)
            state = docker("inspect", "-f", "{{.State.Health.Status}}", *ids, check=False).stdout.split()
            assert "unhealthy" not in state, self("logs", service, check=False).stdout[-3000:]
            return ids[0] if ids and state == ["healthy"] else None
        return wait_until(healthy, timeout, f"{service} healthy")

    def web_ui(self, service: str) -> str:
        """The base URL of `service`'s web UI, as published on the host's loopback."""
        port = self("port", service, "8089").stdout.strip()
        assert port.startswith("127.0.0.1:"), port
        return f"http://{port}"

    def logs(self) -> str:
        return self("logs", "--no-color", check=False).stdout[-6000:]

    def down(self) -> None:
        """Removes every container the project started, then anything of its left behind (a `run` cut short)."""
        self("down", "--volumes", "--remove-orphans", "--timeout", "10", timeout=180, check=False)
        leftover = self.containers()
        if leftover:
            docker("rm", "-f", "-v", *leftover, check=False)
