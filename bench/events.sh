#!/usr/bin/env bash
# Event store: sustained append (events/s, CPU per 10k events, peak memory) of a k8s-audit
# (~1.4 KB) / syslog (~180 B) mix, then search and histogram latency over what was stored,
# SQLite vs PostgreSQL (crates/palisade-siem/examples/ingest_bench.rs, release build).
# Usage: bench/events.sh [EVENTS]   (default 1,000,000; RUNS=3 search runs, SENDERS=2, BATCH=1000,
#        PREGENERATE=1 to time the store alone)
# PostgreSQL runs when PALISADE_TEST_POSTGRES names a server (a fresh database is created for the
# run and dropped afterwards):  eval "$(../shared/tools/services.sh postgres)"
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${1:-1000000}
RUNS=${RUNS:-3}
SENDERS=${SENDERS:-2}
BATCH=${BATCH:-1000}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
cargo build --release -q -p palisade-siem --example ingest_bench
BIN=target/release/examples/ingest_bench
ARGS=(--events "$EVENTS" --runs "$RUNS" --senders "$SENDERS" --batch "$BATCH")
# PREGENERATE=1 builds every event before the clock starts (the store's figures alone; needs
# about 6.6 GB of memory per million events).
[ "${PREGENERATE:-0}" = 1 ] && ARGS+=(--pregenerate)

echo "== SQLite (fresh file in $OUT)"
"$BIN" "$OUT/events.db" "${ARGS[@]}" | tee "$OUT/sqlite.txt"
du -sh "$OUT"/events.db* | sed 's/^/disk: /'
rm -f "$OUT"/events.db*
if [ -n "${PALISADE_TEST_POSTGRES:-}" ]; then
  echo "== PostgreSQL (fresh database on ${PALISADE_TEST_POSTGRES##*@})"
  "$BIN" "$PALISADE_TEST_POSTGRES" --fresh-postgres "${ARGS[@]}" | tee "$OUT/postgres.txt"
else
  echo "== PostgreSQL skipped: PALISADE_TEST_POSTGRES not set"
fi
