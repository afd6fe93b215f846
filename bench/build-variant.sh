#!/usr/bin/env bash
# Builds the filter as it was at a commit, for `make bench` to load next to the current build
# (BENCH_VARIANTS in bench/run.sh: what each change bought, measured in the same Envoy):
#   bench/build-variant.sh COMMIT NAME
# writes target/variants/NAME.wasm (release, through scripts/optimize-wasm.sh like `make build`)
# and target/variants/NAME.count.wasm (feature count-host-calls, when that commit has it). The
# sources are exported with `git archive` into target/variants/src-NAME (with the current
# src/glue/count.rs); the worktree is not touched.
set -euo pipefail
cd "$(dirname "$0")/.."
commit="${1:?usage: build-variant.sh COMMIT NAME}" name="${2:?usage: build-variant.sh COMMIT NAME}"
out=target/variants
src="$out/src-$name"
rm -rf "$src"
mkdir -p "$src"
git archive "$commit" | tar -x -C "$src"
# The counting machinery as it is now (its gauges keep several counting VMs in one Envoy apart);
# the counted call sites stay the commit's.
if [[ -f "$src/src/glue/count.rs" ]]; then
  cp src/glue/count.rs "$src/src/glue/count.rs"
fi
build() { # TARGET_DIR [FEATURES]
  (cd "$src" && cargo build --release --target wasm32-wasip1 --target-dir "$PWD/../$1" ${2:+--features "$2"}) >&2
}
build target
cp "$out/target/wasm32-wasip1/release/cognigy_enrich.wasm" "$out/$name.wasm"
scripts/optimize-wasm.sh "$out/$name.wasm" >&2
if grep -q '^count-host-calls' "$src/Cargo.toml"; then
  build target-count count-host-calls
  cp "$out/target-count/wasm32-wasip1/release/cognigy_enrich.wasm" "$out/$name.count.wasm"
fi
rm -rf "$src"
ls -l "$out/$name.wasm" >&2
