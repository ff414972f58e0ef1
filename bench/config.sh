#!/usr/bin/env bash
# Side-by-side: `palisade scan config` vs `trivy config` vs `checkov --framework kubernetes`
# on the same manifests, one run each: wall time, peak memory (max RSS), findings per family.
# Usage: bench/config.sh [DIR]   (default ../shared/corpus/k8s)
# Needs the peers: ../shared/tools/peers.sh (trivy 0.59.1, checkov) and GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${1:-../shared/corpus/k8s}
PEERS=${PEERS:-$HOME/.cache/palisade-peers}
export PATH="$PEERS/bin:$PATH"
# KEEP=DIR keeps each tool's JSON output there (docs/coverage.md is written from them).
if [ -n "${KEEP:-}" ]; then OUT=$KEEP; mkdir -p "$OUT"; else OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT; fi

cargo build --release -q -p palisade
PAL=target/release/palisade

measure() { # measure NAME CMD... ; writes $OUT/NAME.json and $OUT/NAME.time
  local name=$1; shift
  /usr/bin/time -f '%e %M' -o "$OUT/$name.time" "$@" > "$OUT/$name.json" 2> "$OUT/$name.err" || true
}

echo "target: $TARGET ($(find "$TARGET" -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) | wc -l) files, $(du -sh "$TARGET" | cut -f1))"
measure palisade "$PAL" scan config -q -f json "$TARGET"
if command -v trivy >/dev/null; then
  # Trivy's checks bundle is embedded in the binary; --skip-check-update keeps it offline.
  measure trivy trivy config --quiet --skip-check-update --format json "$TARGET"
fi
if command -v checkov >/dev/null; then
  measure checkov checkov --quiet --compact --framework kubernetes -d "$TARGET" -o json
fi
python3 bench/families.py "$OUT"
