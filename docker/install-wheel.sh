#!/usr/bin/env bash
# Installs the wheel docker/build-wheel.sh left in WHEELDIR into a Python that already has Locust, then checks that
# the native module loads from the installed copy and the command runs. docker/Dockerfile's Locust stage and
# tests/python/test_wheel.py both run this, so the test proves the image's install step.
#   docker/install-wheel.sh WHEELDIR    (PYTHON=/path/to/python to pick one; default: python3 on PATH)
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 WHEELDIR" >&2; exit 2; }
python="${PYTHON:-python3}"

shopt -s nullglob
wheels=("$1"/pushpop_load-*.whl)
[ ${#wheels[@]} -eq 1 ] || { echo "error: expected one pushpop_load wheel in $1, found ${#wheels[@]}" >&2; exit 1; }

# --no-index: the wheel must need nothing the Locust install lacks; a missing dependency fails here instead of
# being fetched (and a newer Locust than the image's pulled in behind our back)
"$python" -m pip install --no-index --disable-pip-version-check "${wheels[0]}"
"$python" -m pip check --disable-pip-version-check

# From / so that a source tree in the working directory cannot stand in for the installed package.
cd /
"$python" - <<'PY'
import sysconfig
from pathlib import Path

import pushpop_load
import pushpop_load._native as native

site = Path(sysconfig.get_paths()["platlib"]).resolve()
for module in (pushpop_load, native):
    where = Path(module.__file__).resolve()
    if site not in where.parents:
        raise SystemExit(f"error: {module.__name__} was imported from {where}, not from {site}")
# a debug build would run, only several times slower: the numbers it produced would mislead
if pushpop_load.build_profile != "release":
    raise SystemExit(f"error: the installed pushpop_load is a {pushpop_load.build_profile} build")
print(f"pushpop_load {pushpop_load.__version__} ({pushpop_load.build_profile}): {Path(native.__file__).resolve()}")
PY
# the console script the compose file's target service runs
scripts="$("$python" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
"$scripts/pushpop-load" --version
