#!/usr/bin/env bash
# `make bench-core`: the core's per-request work (benches/core_v8.rs) timed natively and in V8.
# The wasm32 build uses the release profile and goes through scripts/optimize-wasm.sh like the
# shipped module, then runs in Node.js (bench/run-wasi.mjs). A few seconds each; no Envoy, no
# ports. Arguments select configurations by a word of their name (e.g. `bench/core.sh config`).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "native:"
cargo bench --quiet --bench core_v8 -- "$@" 2>/dev/null
built="$(cargo bench --bench core_v8 --target wasm32-wasip1 --no-run 2>&1 |
  sed -n 's/.*Executable .*(\(.*\.wasm\))$/\1/p' | tail -1)"
if [[ -z "$built" || ! -f "$built" ]]; then
  echo "bench-core: the wasm32 build of benches/core_v8.rs was not found" >&2
  exit 1
fi
mkdir -p target/bench-core
cp "$built" target/bench-core/core_v8.wasm
scripts/optimize-wasm.sh target/bench-core/core_v8.wasm >/dev/null
echo "wasm32 in V8 (Node.js $(node --version), optimized like the shipped module):"
node --no-warnings bench/run-wasi.mjs target/bench-core/core_v8.wasm "$@"
