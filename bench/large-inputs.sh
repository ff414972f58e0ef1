#!/usr/bin/env bash
# Scaling check for `scan config`: one 4 MB manifest with 6,000 objects (~100k findings) and a
# 1 MB Dockerfile, each in every output format. Guards against work that grows with the square
# of the input (it once took 166 s for the manifest). Prints wall time and peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p palisade
PAL=target/release/palisade
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
python3 - "$DIR" <<'PY'
import sys
d = sys.argv[1]
doc = open("examples/k8s/shop-web.yaml").read()
open(f"{d}/big.yaml", "w").write("\n---\n".join([doc] * 3000))
lines = ["FROM debian:12"]
while sum(len(l) for l in lines) < 1_000_000:
    n = len(lines)
    lines.append(f"RUN apt-get update && apt-get install -y curl wget \\\n    && rm -rf /var/lib/apt/lists/* && echo {n}")
    lines.append(f"ENV FOO_{n}=bar")
open(f"{d}/big.Dockerfile", "w").write("\n".join(lines) + "\n")
PY
printf '%-16s %-6s %8s %9s %10s\n' input format wall_s peak_MB output_MB
for input in big.yaml big.Dockerfile; do
  for fmt in table json sarif junit; do
    /usr/bin/time -f '%e %M' -o "$DIR/t" "$PAL" scan config -q -f "$fmt" "$DIR/$input" > "$DIR/out" || true
    read -r wall rss < "$DIR/t"
    printf '%-16s %-6s %8s %9.1f %10.1f\n' "$input" "$fmt" "$wall" "$(echo "$rss / 1024" | bc -l)" "$(echo "$(stat -c %s "$DIR/out") / 1048576" | bc -l)"
  done
done
