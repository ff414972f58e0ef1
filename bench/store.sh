#!/usr/bin/env bash
# Platform store: report ingestion (findings/s) and dashboard latency with ~100k findings stored,
# SQLite vs PostgreSQL (crates/palisade-store/examples/bench.rs, release build).
# Usage: bench/store.sh [ASSETS] [FINDINGS_PER_ASSET]   (defaults 100 × 1000; CALLS=50)
# PostgreSQL runs when PALISADE_TEST_POSTGRES names a server (a fresh database is created for the
# run and dropped afterwards):  eval "$(../shared/tools/services.sh postgres)"
set -euo pipefail
cd "$(dirname "$0")/.."
ASSETS=${1:-100}
PER=${2:-1000}
CALLS=${CALLS:-50}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
cargo build --release -q -p palisade-store --example bench
BIN=target/release/examples/bench
ARGS=(--assets "$ASSETS" --findings "$PER" --calls "$CALLS")

echo "== SQLite (fresh file in $OUT)"
"$BIN" "$OUT/palisade.db" "${ARGS[@]}" | tee "$OUT/sqlite.txt"
if [ -n "${PALISADE_TEST_POSTGRES:-}" ]; then
  echo "== PostgreSQL (fresh database on ${PALISADE_TEST_POSTGRES##*@})"
  "$BIN" "$PALISADE_TEST_POSTGRES" --fresh-postgres "${ARGS[@]}" | tee "$OUT/postgres.txt"
else
  echo "== PostgreSQL skipped: PALISADE_TEST_POSTGRES not set"
fi

python3 - "$OUT" <<'PY'
import os, sys
out = sys.argv[1]
res = {}
for name in ("sqlite", "postgres"):
    p = os.path.join(out, name + ".txt")
    if not os.path.exists(p):
        continue
    for line in open(p):
        if line.startswith("RESULT "):
            res[name] = dict(kv.split("=", 1) for kv in line.split()[1:])
rows = [
    ("first ingestion (findings/s)", "ingest_fps", "{:,.0f}"),
    ("re-ingestion, 5% churn (findings/s)", "reingest_fps", "{:,.0f}"),
    ("dashboard median (ms)", "dashboard_p50_ms", "{:.2f}"),
    ("dashboard p99 (ms)", "dashboard_p99_ms", "{:.2f}"),
    ("findings page median (ms)", "page_p50_ms", "{:.2f}"),
    ("findings page p99 (ms)", "page_p99_ms", "{:.2f}"),
    ("  before maintenance: dashboard median", "fresh_dashboard_p50_ms", "{:.2f}"),
    ("  before maintenance: dashboard p99", "fresh_dashboard_p99_ms", "{:.2f}"),
    ("  before maintenance: page median", "fresh_page_p50_ms", "{:.2f}"),
    ("  before maintenance: page p99", "fresh_page_p99_ms", "{:.2f}"),
]
print()
print("latencies after maintenance (PostgreSQL VACUUM ANALYZE, SQLite ANALYZE) unless noted")
print(f"{'':40} {'SQLite':>12} {'PostgreSQL':>12} {'PG/SQLite':>10}")
for label, key, fmt in rows:
    s = res.get("sqlite", {}).get(key)
    p = res.get("postgres", {}).get(key)
    cell = lambda v: fmt.format(float(v)) if v is not None else "-"
    ratio = f"{float(p) / float(s):.2f}x" if s and p and float(s) > 0 else "-"
    print(f"{label:40} {cell(s):>12} {cell(p):>12} {ratio:>10}")
PY
