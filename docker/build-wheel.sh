#!/usr/bin/env bash
# Builds pushpop-load's release wheel into OUTDIR and refuses to leave one the Locust image could not use.
# docker/Dockerfile's build stage and tests/python/test_wheel.py both run this, so the test proves the image's build step.
#   docker/build-wheel.sh OUTDIR        (MATURIN=/path/to/maturin to pick one; default: maturin on PATH)
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$1"
out="$(cd "$1" && pwd)"
maturin="${MATURIN:-maturin}"

# rustup's cargo is not on a non-login shell's PATH
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  PATH="$HOME/.cargo/bin:$PATH"
fi

# an earlier wheel in OUTDIR must not pass for this build's
rm -f "$out"/pushpop_load-*.whl
cd "$root"
# --locked: the crates Cargo.lock names, nothing newer; --auditwheel check: fail rather than ship a wheel that
# links a library outside the manylinux set (repair would copy it in unnoticed)
"$maturin" build --release --locked --auditwheel check --out "$out"

shopt -s nullglob
wheels=("$out"/pushpop_load-*.whl)
[ ${#wheels[@]} -eq 1 ] || { echo "error: expected one wheel in $out, found ${#wheels[@]}" >&2; exit 1; }

# One wheel for every CPython >= 3.10 on any glibc Linux the tag admits: the image's Python need not match ours.
python3 - "${wheels[0]}" <<'PY'
import re, sys, zipfile

path = sys.argv[1]
with zipfile.ZipFile(path) as wheel:
    meta = next(n for n in wheel.namelist() if n.endswith(".dist-info/WHEEL"))
    tags = [line.split(":", 1)[1].strip() for line in wheel.read(meta).decode().splitlines() if line.startswith("Tag:")]
bad = [t for t in tags if not re.fullmatch(r"cp310-abi3-(manylinux_2_\d+|manylinux2014)_\w+", t)]
if not tags or bad:
    sys.exit(f"error: {path} is tagged {tags}; an abi3 manylinux wheel was expected")
print(f"wheel: {path} ({', '.join(tags)})")
PY
