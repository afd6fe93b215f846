#!/usr/bin/env bash
# Every shipped Envoy configuration must pass `envoy --mode validate`, which also loads the
# filter and runs its configuration check.
#
# Configurations that read files from /etc/envoy/ (envoy/production.yaml: the wasm, a CA, a server
# certificate) are validated as a copy with those paths pointed at the built filter and at a
# throwaway CA and certificates made here with openssl, so the check needs no real secrets.
set -euo pipefail
cd "$(dirname "$0")/.."
ENVOY_BIN="${ENVOY_BIN:-.venv/bin/envoy}"
WASM="${WASM:-$PWD/target/wasm32-wasip1/release/cognigy_enrich.wasm}"
export ENRICH_CLIENT_ID=validate ENRICH_CLIENT_SECRET=validate ENRICH_WEBHOOK_TOKENS=validate

[[ -f "$WASM" ]] || { echo "$WASM missing: run 'make build' first" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# A throwaway CA and a server certificate it signed, in the layout production.yaml expects.
make_tls() {
  local dir="$1"
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=validate-ca" \
    -keyout "$dir/ca.key" -out "$dir/internal-ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost\n' > "$dir/san.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/internal-ca.pem" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 2 -extfile "$dir/san.ext" -out "$dir/server.crt" 2>/dev/null
}

status=0
for config in envoy/*.yaml; do
  target="$config"
  if grep -q '/etc/envoy/' "$config"; then
    [[ -d "$work/tls" ]] || make_tls "$work/tls"
    target="$work/$(basename "$config")"
    sed -e "s#/etc/envoy/cognigy_enrich.wasm#$WASM#g" -e "s#/etc/envoy/tls/#$work/tls/#g" \
      "$config" > "$target"
    if grep -q '/etc/envoy/' "$target"; then
      echo "INVALID: $config reads a file under /etc/envoy/ this script does not provide:" >&2
      grep -n '/etc/envoy/' "$target" >&2
      status=1
      continue
    fi
  fi
  if out="$("$ENVOY_BIN" --mode validate -c "$target" --log-level warn 2>&1)"; then
    echo "valid: $config"
  else
    echo "INVALID: $config" >&2
    echo "$out" | tail -20 >&2
    status=1
  fi
done
exit $status
