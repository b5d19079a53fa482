#!/usr/bin/env bash
# Warm-up before a load test: waits for the API's health check, pushes 10 items at priorities 0-2 to a fresh
# queue and pops them back with one pop of depth 10, so the first measured requests do not pay cold-start costs.
#   API_HOST         the API server (default http://localhost:8000)
#   DAPR_HOST        the Dapr sidecar, e.g. http://localhost:3500; checked only when set
#   WARMUP_RETRIES   health-check attempts, one second apart (default 30)
set -euo pipefail

API_HOST="${API_HOST:-http://localhost:8000}"
API_HOST="${API_HOST%/}"
DAPR_HOST="${DAPR_HOST:-}"
RETRIES="${WARMUP_RETRIES:-30}"

fail() { printf 'warmup: %s\n' "$1" >&2; exit "${2:-1}"; }

case "$API_HOST" in http://*|https://*) ;; *) fail "API_HOST must be an http:// or https:// URL (got '$API_HOST')" 2 ;; esac
case "$RETRIES" in ''|*[!0-9]*) fail "WARMUP_RETRIES must be a whole number (got '$RETRIES')" 2 ;; esac
command -v curl >/dev/null 2>&1 || fail "curl is needed (Debian: apt-get install curl)" 2

# Prints "<status> <body>" for a request; status 000 when nothing answered.
call() {
  local method=$1 url=$2 body=${3:-} out status
  out=$(mktemp)
  if [ -n "$body" ]; then
    status=$(curl -sS -o "$out" -w '%{http_code}' -m 10 -X "$method" -H 'Content-Type: application/json' \
      --data "$body" "$url" 2>/dev/null) || status=000
  else
    status=$(curl -sS -o "$out" -w '%{http_code}' -m 10 -X "$method" "$url" 2>/dev/null) || status=000
  fi
  printf '%s %s' "$status" "$(cat "$out")"
  rm -f "$out"
}

wait_healthy() {
  local name=$1 url=$2 attempt reply
  for ((attempt = 1; attempt <= RETRIES; attempt++)); do
    reply=$(call GET "$url")
    if [ "${reply%% *}" -ge 200 ] 2>/dev/null && [ "${reply%% *}" -lt 300 ]; then
      echo "warmup: $name healthy ($url)"
      return 0
    fi
    [ "$attempt" -lt "$RETRIES" ] && sleep 1
  done
  fail "$name did not answer healthy at $url after $RETRIES attempts (last: status ${reply%% *}${reply#* }); is it running, and is the address right?"
}

wait_healthy "API" "$API_HOST/health"
if [ -n "$DAPR_HOST" ]; then
  wait_healthy "Dapr sidecar" "${DAPR_HOST%/}/v1.0/healthz"
fi

queue="warmup-$(LC_ALL=C tr -dc 'a-z0-9' </dev/urandom | head -c 8 || true)"
for n in $(seq 0 9); do
  priority=$((n % 3))
  reply=$(call POST "$API_HOST/queue/$queue/push" "{\"item\": {\"warmup\": $n}, \"priority\": $priority}")
  [ "${reply%% *}" = 200 ] || fail "push $n to $queue failed: status ${reply%% *} ${reply#* }"
done
echo "warmup: pushed 10 items to $queue (priorities 0-2)"

reply=$(call POST "$API_HOST/queue/$queue/pop?depth=10")
[ "${reply%% *}" = 200 ] || fail "pop from $queue failed: status ${reply%% *} ${reply#* }"
count=$(printf '%s' "${reply#* }" | grep -o '"count": *[0-9]*' | grep -o '[0-9]*$' || true)
[ "$count" = 10 ] || fail "pop of depth 10 from $queue returned ${count:-no count} items, expected 10: ${reply#* }"
echo "warmup: popped 10 items back; the API is warm"
