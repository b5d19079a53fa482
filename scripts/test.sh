#!/usr/bin/env bash
# Builds everything and runs every test: cargo test, then pytest against real processes (the reference target,
# a PostgreSQL cluster, a tinyproxy and a Prometheus server the tests start themselves, real Locust runs, containers
# on a Docker Engine when one answers). Installs what it needs on a fresh machine.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

need_toolchain
ensure_postgres
ensure_tinyproxy
ensure_tcpdump
ensure_prometheus
ensure_chromium
ensure_debootstrap
export PUSHPOP_PG_BINDIR="$(pg_bindir)"
say "PostgreSQL binaries: $PUSHPOP_PG_BINDIR"
make --no-print-directory test
