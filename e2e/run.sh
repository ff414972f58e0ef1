#!/usr/bin/env bash
# The console's browser test, for CI: installs Chromium and playwright-core when missing,
# builds palisade, runs e2e/console.test.mjs. Screenshots land in target/e2e/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    sudo apt-get update -qq >/dev/null
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
fi
[ -d e2e/node_modules/playwright-core ] || npm ci --prefix e2e --no-audit --no-fund
cargo build -q -p palisade
PALISADE_BIN="$PWD/target/debug/palisade" node e2e/console.test.mjs
