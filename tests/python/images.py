"""The images the container tests run, built here because no registry is reachable: a Debian base made by
debootstrap, a stand-in for the official Locust image on it (tests/docker/locust-standin.Dockerfile), and
docker/Dockerfile's `prebuilt` target on that stand-in with the session's release wheel, which runs the image's own
steps (the seed's paths, docker/install-wheel.sh)."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from containers import docker, unique
from dockerfile import LOCUST_PIN
from processes import ROOT

# kept between sessions by these names: rebuilt only when missing (the base) or changed (the stand-in, whose
# layers Docker's cache keeps)
BASE_IMAGE = "pushpop-test-base:bookworm"
LOCUST_IMAGE = f"pushpop-test-locust:{LOCUST_PIN}"
# the Dockerfile's hash in the tag: a changed recipe is a new image, an unchanged one is kept
POSTGRES_DOCKERFILE = ROOT / "tests" / "docker" / "postgres.Dockerfile"
POSTGRES_IMAGE = f"pushpop-test-postgres:15-{hashlib.sha256(POSTGRES_DOCKERFILE.read_bytes()).hexdigest()[:12]}"
CACHE = ROOT / "target" / "docker-test"


def debian_mirror() -> str:
    """The Debian archive this machine's apt uses (not the security one), so debootstrap fetches from where apt can."""
    texts = [p.read_text() for p in [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]
             if p.is_file() and p.suffix in (".list", ".sources")]
    for text in texts:
        for uri in re.findall(r"^(?:deb\s+(?:\[[^]]*\]\s+)?|URIs:\s*)(\S+)", text, re.M):
            if re.search(r"/debian/?$", uri):
                return uri
    return "http://deb.debian.org/debian"


def ensure_base() -> str:
    """Debian 12 with python3 and python3-venv, from debootstrap into a folder and `docker import` (about 2 minutes
    when missing)."""
    if docker("image", "inspect", BASE_IMAGE, check=False).returncode == 0:
        return BASE_IMAGE
    debootstrap = shutil.which("debootstrap") or shutil.which("debootstrap", path="/usr/sbin:/sbin")
    assert debootstrap, "debootstrap is missing: scripts/test.sh installs it (Debian: apt-get install debootstrap)"
    with tempfile.TemporaryDirectory(prefix="pushpop-base-", dir=CACHE if CACHE.is_dir() else None) as tmp:
        root = Path(tmp) / "root"
        done = subprocess.run([debootstrap, "--variant=minbase", "--include=python3,python3-venv", "bookworm",
                               str(root), debian_mirror()], capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"debootstrap failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        # the downloaded packages and indexes are a third of the tree and no use in an image
        for leftover in [*root.glob("var/cache/apt/archives/*.deb"), *root.glob("var/lib/apt/lists/*_Packages")]:
            leftover.unlink()
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(["docker", "import", "-", BASE_IMAGE], stdin=tar.stdout, capture_output=True,
                                  text=True, timeout=600)
        assert tar.stdout is not None
        tar.stdout.close()
        assert tar.wait() == 0 and imported.returncode == 0, imported.stderr
    return BASE_IMAGE


def locust_wheels() -> Path:
    """Locust at the pinned version and its dependencies as wheels, downloaded on the host (the host's Python is
    the base image's minor version, so the same binary wheels install there)."""
    folder = CACHE / f"locust-{LOCUST_PIN}-wheels"
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet",
                           "--only-binary=:all:", "-d", str(folder), f"locust=={LOCUST_PIN}"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


def build_locust_standin() -> str:
    """The stand-in for locustio/locust at the pinned version (seconds when Docker's cache has its layers)."""
    base = ensure_base()
    docker("build", "-q", "-f", ROOT / "tests" / "docker" / "locust-standin.Dockerfile", "--build-arg",
           f"BASE_IMAGE={base}", "--build-arg", f"LOCUST_VERSION={LOCUST_PIN}", "-t", LOCUST_IMAGE, locust_wheels(),
           timeout=900)
    return LOCUST_IMAGE


def build_pushpop_image(wheel: Path) -> str:
    """docker/Dockerfile's `prebuilt` target on the stand-in, with `wheel` (a folder of the build context holds it
    while the build runs); a unique tag, for the caller to remove."""
    standin = build_locust_standin()
    tag = unique("image") + ":test"
    wheels = ROOT / "docker" / "wheels" / tag.split(":")[0]
    wheels.mkdir(parents=True)
    try:
        shutil.copy2(wheel, wheels)
        docker("build", "-q", "-f", ROOT / "docker" / "Dockerfile", "--target", "prebuilt", "--build-arg",
               f"LOCUST_IMAGE={standin}", "--build-arg", f"WHEELS={wheels.relative_to(ROOT)}", "-t", tag, ROOT,
               timeout=900)
    finally:
        shutil.rmtree(wheels)
    return tag


def postgres_debs() -> Path:
    """Debian 12's postgresql-15 and what it needs beyond the base image, as .deb files apt downloads on the host:
    apt resolves them against the base image's own dpkg status, so exactly the missing packages come."""
    base = ensure_base()
    folder = CACHE / "postgresql-15-debs"
    (folder / "partial").mkdir(parents=True, exist_ok=True)
    status = folder.parent / "base-dpkg-status"
    status.write_text(docker("run", "--rm", "--network", "none", "--entrypoint", "cat", base,
                             "/var/lib/dpkg/status").stdout)
    for stale in folder.glob("*.deb"):
        stale.unlink()
    download = ["apt-get", "-q", "-o", f"Dir::State::status={status}", "-o", f"Dir::Cache::archives={folder}", "-o",
                "Debug::NoLocking=1", "--download-only", "--no-install-recommends", "-y", "install", "postgresql-15"]
    done = subprocess.run(download, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        # package lists older than the archive name versions it no longer has
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=600)
        done = subprocess.run(download, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"apt-get could not download postgresql-15:\n{done.stderr[-3000:]}"
    assert any(folder.glob("postgresql-15_*.deb")), sorted(p.name for p in folder.iterdir())
    return folder


def build_postgres_image() -> str:
    """PostgreSQL 15 on the base (tests/docker/postgres.Dockerfile), kept by name like the stand-in: rebuilt only
    when missing, since the downloaded packages change with Debian's point releases."""
    if docker("image", "inspect", POSTGRES_IMAGE, check=False).returncode == 0:
        return POSTGRES_IMAGE
    debs = postgres_debs()
    docker("build", "-q", "-f", POSTGRES_DOCKERFILE, "--build-arg",
           f"BASE_IMAGE={ensure_base()}", "-t", POSTGRES_IMAGE, debs, timeout=900)
    return POSTGRES_IMAGE
