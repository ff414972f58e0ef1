#!/usr/bin/env bash
# Side-by-side secret scanning: palisade vs gitleaks (`gitleaks dir`) vs trivy
# (`trivy fs --scanners secret`), one run each, on ../shared/corpus and on a generated tree
# (default 1 GB) with planted fake secrets; and ripgrep searching the same tree for the rules'
# keywords, the floor for any keyword-prefiltered scanner. Prints MB/s, peak memory and recall.
# Usage: bench/secrets.sh [SIZE_MB]   Peers: ../shared/tools/peers.sh; apt-get install ripgrep
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-1024}
PEERS=${PEERS:-$HOME/.cache/palisade-peers}
export PATH="$PEERS/bin:$PATH"
cargo build --release -q -p palisade
PAL=$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release/palisade
WORK=${WORK:-/tmp/palisade-secrets-bench}
mkdir -p "$WORK"
TREE="$WORK/tree-$SIZE"
[ -f "$TREE/planted.tsv" ] || python3 bench/gen_secrets_tree.py "$TREE" "$SIZE"
cargo run -q --release -p palisade-secrets --example keywords > "$WORK/keywords.txt"

run() { # NAME DIR CMD...
  local name=$1 dir=$2; shift 2
  /usr/bin/time -f '%e %M' -o "$WORK/$name.time" "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" || true
  # A scanner that found something exits non-zero; time(1) then writes a note line first.
  read -r wall rss < <(tail -n 1 "$WORK/$name.time")
  local mb; mb=$(du -sm "$dir" | cut -f1)
  printf '%-24s %8.2f s %8.1f MB/s %8.1f MB peak\n' "$name" "$wall" "$(echo "$mb / $wall" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
}

for target in corpus tree; do
  if [ $target = corpus ]; then DIR=../shared/corpus; else DIR=$TREE; fi
  echo "== $target ($(du -sh "$DIR" | cut -f1))"
  run "palisade-$target" "$DIR" "$PAL" scan secrets -q -f json --no-ignore "$DIR"
  command -v gitleaks >/dev/null && run "gitleaks-$target" "$DIR" gitleaks dir --no-banner --report-format json --report-path "$WORK/gitleaks-$target.json" "$DIR"
  command -v trivy >/dev/null && run "trivy-$target" "$DIR" trivy fs -q --scanners secret --format json --cache-backend memory "$DIR"
  if command -v rg >/dev/null && [ -s "$WORK/keywords.txt" ]; then
    run "rg-keywords-$target" "$DIR" rg -c -i -F -f "$WORK/keywords.txt" --no-ignore --hidden "$DIR"
  fi
done
python3 bench/secrets_recall.py "$WORK" "$TREE"
