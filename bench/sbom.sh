#!/usr/bin/env bash
# Side-by-side: `palisade sbom` vs `syft` vs `trivy image` on the kitchen-sink image (OCI
# layout), one run each: wall time, peak memory (max RSS), packages found.
# Usage: bench/sbom.sh [LAYOUT_DIR]   Peers: ../shared/tools/peers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${1:-../shared/corpus/images/kitchen-sink-oci}
PEERS=${PEERS:-$HOME/.cache/palisade-peers}
export PATH="$PEERS/bin:$PATH"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
cargo build --release -q -p palisade

measure() { # NAME CMD...
  local name=$1; shift
  /usr/bin/time -f '%e %M' -o "$OUT/$name.time" "$@" > "$OUT/$name.json" 2> "$OUT/$name.err" || {
    echo "$name failed: $(tail -3 "$OUT/$name.err")" >&2; }
}

measure palisade target/release/palisade sbom -q -f cyclonedx "$IMAGE"
command -v syft >/dev/null && measure syft syft -q "oci-dir:$IMAGE" -o cyclonedx-json
# Trivy needs no vulnerability database to list packages with the licence scanner only. It
# caches analysed layers by digest: "trivy" is a cold run (memory cache backend), "trivy-warm"
# a second run against its filesystem cache.
if command -v trivy >/dev/null; then
  measure trivy trivy image -q --input "$IMAGE" --format cyclonedx --scanners license --cache-backend memory
  trivy image -q --input "$IMAGE" --format cyclonedx --scanners license >/dev/null 2>&1 || true
  measure trivy-warm trivy image -q --input "$IMAGE" --format cyclonedx --scanners license
fi

python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
rows = {}
for name in ("palisade", "syft", "trivy", "trivy-warm"):
    t = os.path.join(out, name + ".time")
    if not os.path.exists(t):
        continue
    wall, rss = open(t).read().split()[-2:]
    try:
        comps = json.load(open(os.path.join(out, name + ".json"))).get("components", [])
    except ValueError:
        comps = []
    pkgs = [c for c in comps if c.get("purl") and c.get("type") != "operating-system"]
    rows[name] = (float(wall), int(rss) / 1024, len(pkgs))
print(f"{'tool':<10} {'wall s':>8} {'peak MB':>8} {'packages':>9}")
for n, (w, m, p) in rows.items():
    print(f"{n:<10} {w:>8.2f} {m:>8.1f} {p:>9}")
if "palisade" in rows:
    pw, pm, _ = rows["palisade"]
    for n in ("syft", "trivy", "trivy-warm"):
        if n in rows:
            w, m, _ = rows[n]
            print(f"palisade vs {n}: {w / max(pw, 0.01):.1f}x faster, {m / max(pm, 0.1):.1f}x less peak memory")
PY
