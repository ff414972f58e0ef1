#!/usr/bin/env bash
# `db import` throughput and `scan image` time on the kitchen-sink image, one run each.
# Usage: bench/vuln.sh   (needs ../shared/corpus)
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${PALISADE_CORPUS:-../shared/corpus}
CACHE=$(mktemp -d)
trap 'rm -rf "$CACHE"' EXIT
cargo build --release -q -p palisade
PAL=target/release/palisade
export PALISADE_CACHE_DIR=$CACHE
/usr/bin/time -f 'db import: %e s wall, %M KB peak' "$PAL" db import \
  "$CORPUS/osv/go" "$CORPUS/osv/crates.io" "$CORPUS/osv/PyPI"
/usr/bin/time -f 'scan image: %e s wall, %M KB peak' "$PAL" scan image -q -f json \
  "$CORPUS/images/kitchen-sink-oci" > /dev/null
