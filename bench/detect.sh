#!/usr/bin/env bash
# Sigma detection throughput: `palisade detect` against the rsigma CLI (the same engine crates,
# run the way its own CLI runs them) on the same rules and the same NDJSON events, one run each.
#
#   bench/detect.sh [EVENTS]          # default 200000 events
# Needs: a release build (cargo build --release -p palisade), rsigma from
# ../shared/tools/peers.sh --with-rsigma, python3, and the corpus (PALISADE_CORPUS).
# Rule sets: the first 100 Kubernetes/cloud/Linux SigmaHQ rules; all Kubernetes + cloud + Linux
# rules; and the built-in pack (with its correlations). Events: bench/detect_events.py (50%
# Kubernetes audit, 25% CloudTrail, 25% Linux process starts; a few attack-like ones per 1000).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}
CORPUS=${PALISADE_CORPUS:-$(cd .. && pwd)/shared/corpus}
PAL=$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release/palisade
RSIGMA=${RSIGMA:-$HOME/.cache/palisade-peers/bin/rsigma}
[ -x "$PAL" ] || { echo "build first: cargo build --release -p palisade" >&2; exit 2; }
[ -x "$RSIGMA" ] || { echo "install rsigma: ../shared/tools/peers.sh --with-rsigma" >&2; exit 2; }
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
python3 bench/detect_events.py "$N" > "$W/events.ndjson"
S=$CORPUS/sigma/rules
mkdir -p "$W/all" "$W/first100" "$W/pack"
cp -r "$S/application/kubernetes" "$S/cloud" "$S/linux" "$W/all/"
find "$W/all" -name '*.yml' | sort | head -n 100 | while read -r f; do cp "$f" "$W/first100/"; done
cp -r crates/palisade-detect/rules/. "$W/pack/"

measure() { # NAME CMD... ; prints seconds, peak RSS (MiB), output lines
  local name=$1; shift
  /usr/bin/time -f '%e %M' -o "$W/time" "$@" > "$W/out" 2> "$W/err" || true
  read -r secs kb < <(tail -n 1 "$W/time")
  echo "$secs $((kb / 1024)) $(wc -l < "$W/out")"
}

printf '%-34s %10s %12s %9s %9s\n' "run ($N events)" seconds events/s "RSS MiB" matches
for set in first100 all pack; do
  rules=$(find "$W/$set" -name '*.yml' | wc -l)
  read -r ps pm pl < <(measure pal "$PAL" detect -q --rules "$W/$set" "$W/events.ndjson")
  read -r ns nm nl < <(measure pal "$PAL" detect -q --no-routing --rules "$W/$set" "$W/events.ndjson")
  read -r rs rm rl < <(measure rsigma "$RSIGMA" engine eval -r "$W/$set" -e "@$W/events.ndjson")
  printf '%-34s %10s %12.0f %9s %9s\n' "palisade $set ($rules files)" "$ps" "$(echo "$N / $ps" | bc -l)" "$pm" "$pl"
  printf '%-34s %10s %12.0f %9s %9s\n' "palisade $set, no routing" "$ns" "$(echo "$N / $ns" | bc -l)" "$nm" "$nl"
  printf '%-34s %10s %12.0f %9s %9s\n' "rsigma $set" "$rs" "$(echo "$N / $rs" | bc -l)" "$rm" "$rl"
  printf '%-34s %10.2fx (routed)  %.2fx (unrouted)\n' "  rsigma time / palisade time" \
    "$(echo "$rs / $ps" | bc -l)" "$(echo "$rs / $ns" | bc -l)"
done
