"""The Locust image's two steps without Docker, so that they are proven where no engine runs: docker/build-wheel.sh
makes the release wheel, docker/install-wheel.sh installs it into a clean virtual environment that has only Locust
at the pinned version, and Locust runs a scenario from the image's folder layout with nothing from the source tree
on its path. The scripts are the ones docker/Dockerfile runs, so this proves its build and install stages.

Costly on purpose and never skipped: a release build (fat LTO, about 2-3 minutes from scratch on 2 cores, seconds
when target/release is current) and a Locust install (seconds from pip's cache, about a minute without).
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from typing import Iterator

import pytest

from dockerfile import DOCKER, DOCKERIGNORED, LOCUST_PIN, docker_copy, run, stages
from processes import ROOT

# the release build (conftest.py's session-wide `wheel`) dominates; a cold CI runner needs more than pytest's
# default 120 s
pytestmark = pytest.mark.timeout(1200)


def clean_env(venv: Path) -> dict[str, str]:
    """The environment of a process in `venv` alone: nothing of the repo's venv or the test's import path."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A new venv with Locust at the pinned version, then the wheel installed by the image's install script."""
    venv = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", "--clear", venv], timeout=120)
    env = clean_env(venv)
    # pip's cache stays on: a warm cache makes this seconds instead of a minute
    run([venv / "bin" / "python", "-m", "pip", "install", "--disable-pip-version-check", f"locust=={LOCUST_PIN}"],
        timeout=600, env=env)
    locust_only = freeze(venv)
    run(["bash", DOCKER / "install-wheel.sh", wheel.parent], timeout=300,
        env={**env, "PYTHON": str(venv / "bin" / "python")})
    # the wheel added itself and nothing else: the image's Locust is all it needs
    added = {name: spec for name, spec in freeze(venv).items() if locust_only.get(name) != spec}
    assert list(added) == ["pushpop-load"] and f"@ file://{wheel}" in added["pushpop-load"], added
    assert locust_only["locust"] == f"locust=={LOCUST_PIN}", locust_only.get("locust")
    return venv


def freeze(venv: Path) -> dict[str, str]:
    """`pip freeze` of `venv`, by normalized project name."""
    out = run([venv / "bin" / "python", "-m", "pip", "freeze", "--disable-pip-version-check"], timeout=60,
              env=clean_env(venv)).stdout
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    return {re.split(r"[=@ ]", line, maxsplit=1)[0].lower().replace("_", "-"): line for line in lines}


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    """The image's /home/locust, filled by the Locust stage's COPY instructions, with its results/."""
    layout = stages()["layout"]
    assert "\nWORKDIR /home/locust\n" in layout and "mkdir -p /home/locust/results" in layout, layout
    home = tmp_path / "home"
    docker_copy(layout, home, "/home/locust")
    (home / "results").mkdir()
    return home


@pytest.fixture()
def image_env(venv: Path, home: Path) -> dict[str, str]:
    """The environment as the Dockerfile sets it (its PYTHONPATH makes the scenarios importable by name)."""
    layout = stages()["layout"]
    pythonpath = re.search(r"^ENV PYTHONPATH=(\S+)$", layout, re.M)
    assert pythonpath, layout
    return {**clean_env(venv), "PYTHONPATH": pythonpath.group(1).replace("/home/locust", str(home))}


@pytest.fixture()
def target(venv: Path, home: Path, image_env: dict[str, str]) -> Iterator[str]:
    """The clean venv's `pushpop-load target` on a free port, started in the image's working directory."""
    proc = subprocess.Popen([str(venv / "bin" / "pushpop-load"), "target", "--port", "0", "--log-level", "warn"],
                            cwd=home, env=image_env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        first: list[str] = []
        stdout = proc.stdout
        assert stdout is not None
        reader = threading.Thread(target=lambda: first.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(30)
        assert first and "listening on " in first[0], f"the target did not start: {first}"
        yield first[0].split("listening on ", 1)[1].split()[0]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        finally:
            assert proc.stdout is not None
            proc.stdout.close()
    assert code == 0


def test_the_wheel_is_abi3_and_manylinux(wheel: Path) -> None:
    name_tags = wheel.name.removesuffix(".whl").split("-")[-3:]
    assert name_tags[:2] == ["cp310", "abi3"], wheel.name
    assert re.fullmatch(r"(manylinux_2_\d+|manylinux2014)_x86_64(\.manylinux\w+)*", name_tags[2]), wheel.name
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        meta = archive.read(next(n for n in names if n.endswith(".dist-info/WHEEL"))).decode()
    tags = [line.split(":", 1)[1].strip() for line in meta.splitlines() if line.startswith("Tag:")]
    assert tags and all(re.fullmatch(r"cp310-abi3-(manylinux_2_\d+|manylinux2014)_x86_64", t) for t in tags), tags
    assert "Root-Is-Purelib: false" in meta
    # one native library, the release build's, whatever `maturin develop` left in the source tree
    assert [n for n in names if n.endswith(".so")] == ["pushpop_load/_native.abi3.so"], names
    assert "pushpop_load/locustfile.py" not in names and "pushpop_load/cli.py" in names
    # the web UI's live charts are served from the package, never from the network
    assert {"pushpop_load/static/webui/charts.js", "pushpop_load/static/uplot/uPlot.iife.min.js",
            "pushpop_load/static/uplot/uPlot.min.css", "pushpop_load/static/uplot/LICENSE"} <= set(names), names


def test_the_dockerfile_builds_on_the_pinned_locust_with_the_tested_scripts() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    named = stages()
    assert f"ARG LOCUST_VERSION={LOCUST_PIN}\n" in named["global"]
    assert "ARG LOCUST_IMAGE=locustio/locust:${LOCUST_VERSION}\n" in named["global"]
    assert named["layout"].startswith("FROM ${LOCUST_IMAGE} AS layout\n")
    assert "bash docker/build-wheel.sh /wheels" in named["wheel"], dockerfile
    # a wheel from the host (`--target prebuilt`, what the container tests build) and one from the wheel stage are
    # installed by the same step
    installs = [[line for line in named[stage].splitlines() if line.startswith("RUN ")]
                for stage in ("prebuilt", "final")]
    assert installs[0] == installs[1] and "bash /tmp/install-wheel.sh /tmp/wheels" in installs[0][0], installs
    assert named["prebuilt"].startswith("FROM layout AS prebuilt\n") and named["final"].startswith("FROM layout\n")
    # the legacy builder runs every stage up to its target: `prebuilt` must not need the wheel stage
    assert list(named).index("prebuilt") < list(named).index("wheel"), list(named)
    compose = (DOCKER / "docker-compose.locust.yml").read_text()
    # the paths the compose file's commands name are the ones the image fills
    for path in re.findall(r"/home/locust/[\w./]+", compose):
        assert path.startswith(("/home/locust/locustfile.py", "/home/locust/scenarios/", "/home/locust/scripts/",
                                "/home/locust/results")), path
    assert "dockerfile: docker/Dockerfile" in compose and "./results:/home/locust/results" in compose
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert all(f"**/{pattern}" in ignored for pattern in DOCKERIGNORED), ignored


def test_the_installed_wheel_runs_s3a_from_the_image_layout(
    venv: Path, home: Path, image_env: dict[str, str], target: str
) -> None:
    # imported from the venv's site-packages, with the image's PYTHONPATH and working directory
    where = run([venv / "bin" / "python", "-c", "import pushpop_load._native as n; print(n.__file__)"],
                timeout=60, cwd=home, env=image_env).stdout.strip()
    assert Path(where).is_relative_to(venv) and "site-packages" in where, where

    # Mode 1's entry locustfile imports every scenario by name, through the image's PYTHONPATH
    listed = run([venv / "bin" / "locust", "-f", "locustfile.py", "--list"], timeout=60, cwd=home, env=image_env)
    assert "MixedWorkloadUser" in listed.stdout and "DrillUser" in listed.stdout, listed.stdout

    # Mode 2's command, headless S3a for 5 s
    prefix = "results/wheel"
    done = subprocess.run(
        [str(venv / "bin" / "locust"), "-f", "scenarios/s3_mixed.py", "MixedWorkloadUser", "--headless",
         "--host", target, "-u", "10", "-r", "10", "-t", "5s", "--csv", prefix, "--only-summary"],
        cwd=home, env=image_env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    hdr = json.loads((home / f"{prefix}_hdr.json").read_text())
    counts = {s["name"]: (s["count"], s["failures"]) for s in hdr["summaries"]}
    assert counts["/queue/[id]/push"][0] > 0 and counts["/queue/[id]/pop"][0] > 0, counts
    assert all(failures == 0 for _, failures in counts.values()), counts
    integrity = json.loads((home / f"{prefix}_integrity.json").read_text())
    assert integrity["ok"] is True and integrity["lost"] == 0 and integrity["duplicated"] == 0, integrity
    assert integrity["acknowledged"] > 0 and integrity["unpopped"] == 0, integrity
    assert json.loads((home / f"{prefix}_scenario.json").read_text())
    with open(home / f"{prefix}_stats.csv", newline="") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    assert int(rows["Aggregated"]["Request Count"]) > 0

    # Mode 3: a script on the engine outside Locust, and a seed-named script with no .venv beside it
    example = run([venv / "bin" / "python", "scripts/client_example.py", target, "--items", "200"], timeout=120,
                  cwd=home, env=image_env)
    assert "pushed 200, popped 200, lost 0, duplicated 0, priority order kept" in example.stdout, example.stdout
    analyzed = run([venv / "bin" / "python", "scripts/analyze_results.py", prefix], timeout=60, cwd=home,
                   env=image_env)
    assert "/queue/[id]/push" in analyzed.stdout, analyzed.stdout
