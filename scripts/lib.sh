# Shared by the scripts in this folder: source it, don't run it.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# cargo from rustup lives in ~/.cargo/bin, which a non-login shell may not have on PATH.
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  PATH="$HOME/.cargo/bin:$PATH"
fi

need_toolchain() {
  command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust (https://rustup.rs) and retry"
  command -v python3 >/dev/null 2>&1 || die "python3 not found: install Python 3.10 or newer and retry"
  python3 -c 'import venv, ensurepip' 2>/dev/null \
    || die "python3 cannot create virtual environments: install python3-venv and retry"
}

# Directory holding PostgreSQL's server binaries (initdb, postgres), or nothing.
pg_bindir() {
  local dir
  for dir in "${PUSHPOP_PG_BINDIR:-}" "$(pg_config --bindir 2>/dev/null)" /usr/lib/postgresql/*/bin; do
    if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ]; then
      echo "$dir"
      return 0
    fi
  done
  return 1
}

# The PostgreSQL tests must run, not skip: install Debian's server package when we can.
ensure_postgres() {
  if pg_bindir >/dev/null; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing PostgreSQL server binaries (Debian package postgresql)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null \
      || die "apt-get could not install postgresql"
  fi
  pg_bindir >/dev/null || die "PostgreSQL server binaries (initdb, postgres) not found and cannot be installed here:
  install them (Debian: apt-get install postgresql) or set PUSHPOP_PG_BINDIR to their folder"
}

# The proxy tests run a real HTTP proxy: install Debian's tinyproxy when we can (its service is not needed: the
# tests start their own on a free port).
ensure_tinyproxy() {
  if command -v tinyproxy >/dev/null 2>&1 || [ -x /usr/bin/tinyproxy ]; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing tinyproxy (Debian package tinyproxy) for the proxy tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tinyproxy >/dev/null \
      || die "apt-get could not install tinyproxy"
  fi
  command -v tinyproxy >/dev/null 2>&1 || [ -x /usr/bin/tinyproxy ] || die "tinyproxy not found and cannot be installed here:
  install it (Debian: apt-get install tinyproxy) for tests/python/test_nativehttp_proxy.py"
}

# The fidelity bench's reference is a capture of the loopback (bench/wire.py): tests/python/test_bench_smoke.py
# checks it with a real tcpdump, which needs root; without root the test skips, and so does this.
ensure_tcpdump() {
  if command -v tcpdump >/dev/null 2>&1 || [ -x /usr/bin/tcpdump ] || [ "$(id -u)" != 0 ]; then return 0; fi
  if command -v apt-get >/dev/null 2>&1; then
    say "installing tcpdump (Debian package tcpdump) for the fidelity bench's wire reference"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tcpdump >/dev/null \
      || die "apt-get could not install tcpdump"
  fi
  command -v tcpdump >/dev/null 2>&1 || [ -x /usr/bin/tcpdump ] || die "tcpdump not found and cannot be installed here:
  install it (Debian: apt-get install tcpdump) for tests/python/test_bench_smoke.py"
}

# The metrics test starts a real Prometheus server: install Debian's prometheus when we can (its service is not
# needed: the test starts its own, with its own configuration and storage, on a free port).
ensure_chromium() {
  if command -v chromium >/dev/null 2>&1; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Chromium (Debian package chromium) for the report and web UI tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
      || die "apt-get could not install chromium"
  fi
  command -v chromium >/dev/null 2>&1 || die "chromium not found and cannot be installed here:
  install it (Debian: apt-get install chromium) for tests/python/test_analyze_html.py and test_webui.py"
}

ensure_prometheus() {
  if command -v prometheus >/dev/null 2>&1 || [ -x /usr/bin/prometheus ]; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing prometheus (Debian package prometheus) for the metrics test"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus \
      >/dev/null || die "apt-get could not install prometheus"
  fi
  command -v prometheus >/dev/null 2>&1 || [ -x /usr/bin/prometheus ] || die "prometheus not found and cannot be installed here:
  install it (Debian: apt-get install prometheus) for tests/python/test_metrics.py"
}

# The container tests build their Debian base image with debootstrap: install it where a Docker Engine answers (or
# CI requires one, PUSHPOP_REQUIRE_DOCKER=1); elsewhere those tests skip and need nothing.
ensure_debootstrap() {
  if command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ]; then return 0; fi
  if [ "${PUSHPOP_REQUIRE_DOCKER:-}" != 1 ] && ! docker info >/dev/null 2>&1; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing debootstrap (Debian package), for the container tests' base image"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null \
      || die "apt-get could not install debootstrap"
  fi
  command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] \
    || die "debootstrap not found and cannot be installed here: install it (Debian: apt-get install debootstrap)"
}

# The package and its release build in .venv, made once; scripts that only run scenarios need nothing more.
ensure_built() {
  if [ ! -x "$VENV/bin/pushpop-load" ] || ! "$VENV/bin/python" -c 'import pushpop_load' 2>/dev/null; then
    need_toolchain
    say "building pushpop-load (release) into .venv"
    make --no-print-directory build-prod
  fi
  # the drills start their own PostgreSQL cluster
  export PUSHPOP_PG_BINDIR="${PUSHPOP_PG_BINDIR:-$(pg_bindir || true)}"
}
