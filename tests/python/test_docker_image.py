"""docker/Dockerfile's `prebuilt` target installs the wheel test_wheel.py builds (docker/build-wheel.sh, the script
of the Dockerfile's `wheel` stage) unchanged: every file the wheel's RECORD lists is in the image with the hash the
wheel gives it, the WHEEL and METADATA files are the wheel's (version, abi3, manylinux tags), and the installed
package imports and answers in the image.

The `wheel` stage itself is not built here: it starts FROM python:3.12-slim-bookworm, which no registry here
serves, fetches its Rust toolchain from rustup's site, and its cache mounts need BuildKit, which this engine's
docker client has no buildx component for. test_wheel.py runs its script outside Docker from only the files the
stage copies instead."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path

import pytest

from containers import docker

pytestmark = pytest.mark.timeout(1800)

# run in the image with its own Python, from / so that nothing but the installed package can be imported
PROBE = r"""
import base64, hashlib, json, subprocess, sysconfig
from importlib.metadata import distribution
from pathlib import Path
import pushpop_load, pushpop_load._native as native
dist = distribution("pushpop-load")
files = {}
for entry in dist.files:
    path = Path(entry.locate())
    if path.is_file():
        digest = base64.urlsafe_b64encode(hashlib.sha256(path.read_bytes()).digest()).rstrip(b"=").decode()
        files[str(entry)] = f"sha256={digest}"
scripts = sysconfig.get_path("scripts")
print(json.dumps({
    "files": files, "wheel": dist.read_text("WHEEL"), "metadata": dist.read_text("METADATA"),
    "version": pushpop_load.__version__, "profile": pushpop_load.build_profile,
    "native": str(Path(native.__file__).resolve()), "interval": native.parse_interval("250ms"),
    "cli": subprocess.run([f"{scripts}/pushpop-load", "--version"], capture_output=True, text=True).stdout.strip(),
}))
"""


def test_the_prebuilt_image_holds_the_host_wheel_unchanged(pushpop_image: str, wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(n for n in names if n.endswith(".dist-info/WHEEL")).rsplit("/", 1)[0]
        record = list(csv.reader(io.StringIO(archive.read(f"{info}/RECORD").decode())))
        wheel_meta = archive.read(f"{info}/WHEEL").decode()
        metadata = archive.read(f"{info}/METADATA").decode()
    version = re.search(r"^Version: (\S+)$", metadata, re.M)
    assert version, metadata
    tags = [line.split(":", 1)[1].strip() for line in wheel_meta.splitlines() if line.startswith("Tag:")]
    assert tags and all(re.fullmatch(r"cp310-abi3-manylinux_2_\d+_x86_64", tag) for tag in tags), tags
    assert wheel.name.startswith(f"pushpop_load-{version.group(1)}-cp310-abi3-manylinux_2_"), wheel.name

    done = docker("run", "--rm", "--network", "none", "--workdir", "/", "--entrypoint", "python", pushpop_image,
                  "-c", PROBE, timeout=120)
    image = json.loads(done.stdout)
    # the same WHEEL and METADATA: one version, the abi3 manylinux tags
    assert image["wheel"] == wheel_meta and image["metadata"] == metadata
    # every file of the wheel, byte for byte (RECORD lists itself without a hash)
    hashed = {path: digest for path, digest, _ in record if digest}
    assert len(hashed) == len(record) - 1 and f"{info}/RECORD" not in hashed, record
    differs = {path: (digest, image["files"].get(path)) for path, digest in hashed.items()
               if image["files"].get(path) != digest}
    assert not differs, differs
    assert "pushpop_load/_native.abi3.so" in hashed
    # and it runs: the release build, from the image's venv, its native module and its command
    assert image["version"] == version.group(1) and image["profile"] == "release", image
    assert image["native"].startswith("/opt/venv/lib/") and image["native"].endswith("/_native.abi3.so"), image
    assert image["interval"] == 0.25 and image["cli"] == f"pushpop-load {version.group(1)}", image
