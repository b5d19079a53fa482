#!/usr/bin/env bash
# Runs one of the seed's scenarios by id (s1a ... s7e; `scripts/run_scenario.sh list` shows them all):
#   scripts/run_scenario.sh s3a [--users 50] [--rate 80] [--duration 5m] [--host URL] [--smoke] [-- <locust args>]
# Without --host it starts a reference target for the run. Results: results/<id>_<timestamp>/.
# Builds pushpop-load (release) into .venv first when it is not there yet.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_built
if [ "${1:-}" = "list" ]; then exec "$VENV/bin/python" scripts/scenarios.py list; fi
[ $# -ge 1 ] || { echo "usage: $0 <scenario id> [options]   ($0 list for the ids)" >&2; exit 2; }
exec "$VENV/bin/python" scripts/scenarios.py run "$@"
