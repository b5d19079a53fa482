#!/usr/bin/env bash
# Runs every scenario, S1a to S7e, in order, and prints a summary table (requests, failures, p50/p95/p99,
# integrity). --smoke: a seconds-long pass of each (about five minutes in all). --host URL: against a running
# service (the S7d/S7e drills then need scripts/drill.py's --pid/--restart-cmd and are best run alone).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_built
exec "$VENV/bin/python" scripts/scenarios.py all "$@"
