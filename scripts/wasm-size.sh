#!/usr/bin/env bash
# Where the bytes of the filter go: `make size` (and `make bench`) print this table.
#   scripts/wasm-size.sh [--markdown] [--top N]
# Reads target/wasm32-wasip1/release/cognigy_enrich.named.wasm, the optimized module with its
# names kept that scripts/optimize-wasm.sh writes next to the shipped one (`make build` first),
# and fails when the shipped module is over the size target of issue 17 (SIZE_LIMIT bytes; 0
# only reports).
set -euo pipefail
cd "$(dirname "$0")/.."

WASM=target/wasm32-wasip1/release/cognigy_enrich.wasm
NAMED=target/wasm32-wasip1/release/cognigy_enrich.named.wasm
LIMIT="${SIZE_LIMIT:-0}"

[[ -f "$NAMED" ]] || { echo "wasm-size: $NAMED missing (make build, with wasm-opt)" >&2; exit 1; }
python3 scripts/wasm-size.py "$NAMED" "$@"
size="$(stat -c %s "$WASM")"
echo
echo "shipped: $WASM $size bytes ($((size / 1024)) KiB); target 350 KB = 358400 bytes"
if [[ "$LIMIT" != 0 && "$size" -gt "$LIMIT" ]]; then
  echo "wasm-size: $size bytes is over SIZE_LIMIT=$LIMIT" >&2
  exit 1
fi
