#!/usr/bin/env bash
# Shrinks the filter with binaryen's wasm-opt, in place:
#   scripts/optimize-wasm.sh target/wasm32-wasip1/release/cognigy_enrich.wasm
# -Oz to a fixed point (--converge), and the name and producers sections dropped (the name section
# alone is ~150 KB). The function names go to FILE.symbols instead ("index:mangled name" per
# line), to read a trap's `wasm function N` backtrace against, and the same optimized module with
# its names kept goes to FILE.named.wasm, for scripts/wasm-size.sh (where the bytes go).
# Run it right after `cargo build`: cargo re-links its own (unoptimized) output to that path on
# every build, so this replaces the path with a new file and never writes through cargo's link.
# The result is cached by the input's checksum, so a no-op build runs no wasm-opt.
# Without wasm-opt the cargo output is left as it is and a warning says so.
set -euo pipefail
cd "$(dirname "$0")/.."

wasm="${1:?usage: optimize-wasm.sh FILE.wasm}"
cache="${wasm%.wasm}.opt.wasm"
symbols="${wasm%.wasm}.symbols"
named="${wasm%.wasm}.named.wasm"
stamp="$cache.src"

if ! command -v wasm-opt >/dev/null; then
  echo "optimize-wasm: wasm-opt not found; $wasm is not size-optimized" \
    "(scripts/install-tools.sh build installs binaryen)" >&2
  exit 0
fi

# wasm-opt must allow exactly the features rustc compiled for: read them from rustc, keep those
# wasm-opt knows.
supported="$(wasm-opt --help)"
flags=()
for feature in $(rustc --print cfg --target wasm32-wasip1 | sed -n 's/^target_feature="\(.*\)"$/\1/p'); do
  case $feature in
    nontrapping-fptoint) flag=--enable-nontrapping-float-to-int ;;
    simd128) flag=--enable-simd ;;
    *) flag="--enable-$feature" ;;
  esac
  if grep -q -- "$flag " <<<"$supported"; then
    flags+=("$flag")
  fi
done
# Optimized once with the names kept (-g); the shipped module is that one with its names and
# producers dropped and nothing else changed, so both have the same code.
opts=(-Oz --converge -g --strip-producers "${flags[@]}")
strip=(--symbolmap --strip-debug "${flags[@]}")

install() { cp "$cache" "$wasm.tmp" && mv "$wasm.tmp" "$wasm"; }

key="$(sha256sum "$wasm" | cut -d' ' -f1) $(wasm-opt --version) ${opts[*]} ${strip[*]}"
if [[ -f "$cache" && -f "$stamp" && -f "$symbols" && -f "$named" ]]; then
  if [[ "$(cat "$stamp")" == "$key" ]]; then
    install
    exit 0
  fi
  # Already the optimized file (run twice without a build in between).
  cmp -s "$wasm" "$cache" && exit 0
fi

before="$(stat -c %s "$wasm")"
wasm-opt "${opts[@]}" "$wasm" -o "$named.tmp"
wasm-opt "${strip[@]}" "$named.tmp" -o "$cache.tmp" >"$symbols.tmp"
mv "$named.tmp" "$named"
mv "$symbols.tmp" "$symbols"
mv "$cache.tmp" "$cache"
echo "$key" >"$stamp"
install
echo "optimize-wasm: $wasm $before -> $(stat -c %s "$wasm") bytes ($(wasm-opt --version))" >&2
