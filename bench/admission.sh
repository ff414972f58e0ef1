#!/usr/bin/env bash
# Sustained load on the admission webhook: wrk on 127.0.0.1 posting a realistic Deployment
# UPDATE review (crates/palisade-server/tests/data/deployment-update.json) to /validate over
# HTTPS, first with the built-in rules only, then with the built-ins plus ten Rego policies
# (examples/policies and bench/admission-policies). Prints requests/s and p50/p99 latency,
# and the mean time per request spent in built-in rules and in Rego, read from /metrics.
# Usage: bench/admission.sh [SECONDS] [CONNECTIONS] [RATE]   Needs: wrk (apt-get install wrk)
# Without RATE, wrk sends as fast as the server answers (the ceiling, latency includes
# queueing); with RATE, each connection waits CONNECTIONS/RATE seconds between requests, so
# the offered load is at most RATE requests/s (wrk's delay(); the figure to hold at 500/s).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-20}
CONNS=${2:-8}
RATE=${3:-}
command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 2; }
cargo build --release -q -p palisade
PAL=$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release/palisade
WORK=$(mktemp -d /tmp/palisade-admission-bench.XXXXXX)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
"$PAL" admission certs --dns localhost --out "$WORK" > /dev/null 2>&1
REVIEW=$(pwd)/crates/palisade-server/tests/data/deployment-update.json
cat > "$WORK/post.lua" <<LUA
local f = assert(io.open("$REVIEW", "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
LUA
if [ -n "$RATE" ]; then
  echo "function delay() return $(( 1000 * CONNS / RATE )) end" >> "$WORK/post.lua"
fi
PORT=18443
SERVER=

run() { # LABEL ARGS...
  local label=$1; shift
  "$PAL" admission serve --tls-cert "$WORK/tls.crt" --tls-key "$WORK/tls.key" \
    --listen 127.0.0.1:$PORT "$@" > "$WORK/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 100); do
    curl -skf https://127.0.0.1:$PORT/readyz > /dev/null 2>&1 && break
    sleep 0.1
  done
  # Warm up (TLS sessions, policy compilation), then measure.
  wrk -t1 -c"$CONNS" -d2s -s "$WORK/post.lua" https://localhost:$PORT/validate > /dev/null
  curl -sk -o /dev/null https://127.0.0.1:$PORT/metrics
  wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s "$WORK/post.lua" https://localhost:$PORT/validate > "$WORK/wrk.out"
  local rps p50 p99 non2xx
  rps=$(awk '/^Requests\/sec/ {print $2}' "$WORK/wrk.out")
  p50=$(awk '$1 == "50%" {print $2}' "$WORK/wrk.out")
  p99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk.out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$WORK/wrk.out")
  curl -sk https://127.0.0.1:$PORT/metrics > "$WORK/metrics"
  local split
  split=$(awk '
    /^palisade_admission_evaluation_seconds_sum/ { match($0, /stage="[a-z]+"/); s = substr($0, RSTART+7, RLENGTH-8); sum[s] = $NF }
    /^palisade_admission_evaluation_seconds_count/ { match($0, /stage="[a-z]+"/); s = substr($0, RSTART+7, RLENGTH-8); cnt[s] = $NF }
    END { for (s in sum) if (cnt[s] > 0) printf "%s %.3f ms  ", s, 1000 * sum[s] / cnt[s] }' "$WORK/metrics")
  printf '%-28s %9s req/s   p50 %8s   p99 %8s   non-2xx %s   mean per request: %s\n' \
    "$label" "$rps" "$p50" "$p99" "${non2xx:-0}" "$split"
  kill $SERVER; wait $SERVER 2>/dev/null || true
}

echo "wrk ${SECS}s, $CONNS connections, 2 threads, ${RATE:-unlimited} req/s offered, $(nproc) cores; review: Deployment UPDATE with oldObject"
run "built-in rules"
run "built-ins + 10 Rego policies" --policy examples/policies --policy bench/admission-policies \
  --data examples/policies/data.yaml
