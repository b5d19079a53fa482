#!/usr/bin/env bash
# The first command: builds and installs pushpop-load into .venv, starts the reference target (memory store) on a
# free port, warms it up, runs a short headless Locust test of the S3a mixed push/pop workload against it, stops
# the target, and says where the results are.
#   RUN_TIME (default 30s), USERS (50), SPAWN_RATE (10), RESULTS (results/quickstart)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

RUN_TIME="${RUN_TIME:-30s}"
USERS="${USERS:-50}"
SPAWN_RATE="${SPAWN_RATE:-10}"
RESULTS="${RESULTS:-results/quickstart}"

need_toolchain
say "building pushpop-load (release) into .venv"
make --no-print-directory build-prod

mkdir -p "$(dirname "$RESULTS")"
# results of an earlier run must not pass for this one's
rm -f "$RESULTS"_stats.csv "$RESULTS"_stats_history.csv "$RESULTS"_failures.csv "$RESULTS"_exceptions.csv \
  "$RESULTS".html "$RESULTS"_hdr.json "$RESULTS"_hdr_intervals.csv "$RESULTS"_target.log \
  "$RESULTS"_integrity.json "$RESULTS"_scenario.json "$RESULTS"_report.html \
  "$RESULTS"_resources.csv "$RESULTS"_resources.json

say "starting the reference target"
target_out=$(mktemp)
"$VENV/bin/pushpop-load" target --port 0 >"$target_out" 2>"$RESULTS"_target.log &
target_pid=$!
stop_target() {
  if kill -0 "$target_pid" 2>/dev/null; then
    kill -TERM "$target_pid"
    wait "$target_pid" || true
  fi
  rm -f "$target_out"
}
trap stop_target EXIT

address=""
for _ in $(seq 1 100); do
  address=$(grep -o 'http://[0-9.:]*' "$target_out" || true)
  [ -n "$address" ] && break
  kill -0 "$target_pid" 2>/dev/null || die "the target exited: $(cat "$RESULTS"_target.log)"
  sleep 0.1
done
[ -n "$address" ] || die "the target did not announce its address within 10 s"
say "target at $address (PID $target_pid)"

API_HOST="$address" "$ROOT/scripts/warmup.sh"

status=0
say "running S3a (MixedWorkloadUser): $USERS users for $RUN_TIME"
"$VENV/bin/locust" -f locustfiles/s3_mixed.py MixedWorkloadUser --headless \
  --host "$address" --users "$USERS" --spawn-rate "$SPAWN_RATE" --run-time "$RUN_TIME" \
  --csv "$RESULTS" --html "$RESULTS.html" --only-summary --monitor-pid "target=$target_pid" || status=$?

kill -TERM "$target_pid"
wait "$target_pid" || die "the target did not stop cleanly; see ${RESULTS}_target.log"
trap - EXIT
rm -f "$target_out"

say "analyzing the results"
"$VENV/bin/pushpop-load" analyze "$RESULTS" --format html --out "${RESULTS}_report.html" >/dev/null || status=$?
"$VENV/bin/pushpop-load" analyze "$RESULTS" || status=$?

cat <<DONE

Results:
  ${RESULTS}_report.html        the report to open: charts, exact percentiles, integrity (pushpop-load analyze)
  ${RESULTS}_stats.csv          per-endpoint statistics
  ${RESULTS}_stats_history.csv  the same over time
  ${RESULTS}_failures.csv       failures by kind
  ${RESULTS}.html               Locust's HTML report
  ${RESULTS}_hdr.json           exact latency histograms (pushpop-load)
  ${RESULTS}_hdr_intervals.csv  the same per second
  ${RESULTS}_integrity.json     the queue integrity verdict: lost, duplicated, reordered items
  ${RESULTS}_scenario.json      the scenario's settings and counts
  ${RESULTS}_resources.csv      the target's and Locust's CPU and memory, per second (resource monitor)
DONE
exit "$status"
