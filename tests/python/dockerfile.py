"""docker/Dockerfile read as its stages, and the release wheel built as its `wheel` stage builds it: from only the
files that stage copies, by the script it runs, outside Docker. test_wheel.py and the container tests share the
wheel (conftest.py builds it once per session)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from processes import ROOT

DOCKER = ROOT / "docker"
_PIN = re.search(r"^locust==(\S+)$", (ROOT / "requirements-dev.txt").read_text(), re.M)
assert _PIN, "requirements-dev.txt pins no Locust version"
LOCUST_PIN = _PIN.group(1)

# what .dockerignore keeps out of the build context that the staged copy could otherwise pick up
DOCKERIGNORED = ("*.so", "__pycache__", ".pytest_cache")


def run(args: list[object], timeout: float, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, **kwargs)
    assert done.returncode == 0, f"{args} exited {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def stages() -> dict[str, str]:
    """docker/Dockerfile's stages by name, continuation lines joined, each from its FROM line; the unnamed last stage
    (what a build without --target makes) is "final", the ARGs before the first FROM are "global"."""
    text = (DOCKER / "Dockerfile").read_text().replace("\\\n", " ")
    parts = re.split(r"^(?=FROM )", text, flags=re.M)
    named = {"global": parts[0]}
    for part in parts[1:]:
        header = part.split("\n", 1)[0].split()
        named[header[3] if len(header) == 4 and header[2].upper() == "AS" else "final"] = part
    return named


def docker_copy(stage: str, base: Path, dest_root: str = "") -> None:
    """Carries out the stage's COPY instructions from the build context (the repo, less what .dockerignore
    excludes) into `base`, with `dest_root` standing for `base` in absolute destinations."""
    skip = shutil.ignore_patterns(*DOCKERIGNORED)
    for line in stage.splitlines():
        if not line.startswith("COPY "):
            continue
        *sources, dest = [word for word in line.split()[1:] if not word.startswith("--")]
        for source in sources:
            src, dst = ROOT / source, base / dest.removeprefix(dest_root).lstrip("/")
            # mtimes kept (copy2), so that cargo finds a staged build current when nothing changed
            if src.is_dir():
                shutil.copytree(src, dst, ignore=skip, dirs_exist_ok=True)
            else:
                dst = dst / src.name if dest.endswith("/") else dst
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)


def build_wheel(out: Path) -> Path:
    """The release wheel in `out`, built from a copy of only what the `wheel` stage copies (so a file it forgets
    fails here), by the script it runs, with this venv's maturin."""
    build = stages()["wheel"]
    script = re.search(r"\bbash (docker/[\w-]+\.sh) /wheels\b", build)
    assert script, build
    # a fixed place: cargo then finds the release build current when nothing changed
    context = ROOT / "target" / "docker-build-stage"
    shutil.rmtree(context, ignore_errors=True)
    docker_copy(build, context)
    # the repo's target/ holds the compiled dependencies; the Dockerfile keeps them in a cache mount instead
    env = {**os.environ, "MATURIN": str(Path(sys.executable).parent / "maturin"),
           "CARGO_TARGET_DIR": str(ROOT / "target")}
    run(["bash", context / script.group(1), out], timeout=1100, env=env)
    wheels = list(out.glob("pushpop_load-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]
