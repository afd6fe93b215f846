#!/usr/bin/env bash
# Every shipped Envoy configuration must pass `envoy --mode validate`.
set -euo pipefail
cd "$(dirname "$0")/.."
ENVOY_BIN="${ENVOY_BIN:-.venv/bin/envoy}"
export ENRICH_CLIENT_ID=validate ENRICH_CLIENT_SECRET=validate ENRICH_WEBHOOK_TOKENS=validate
status=0
for config in envoy/*.yaml; do
  if out="$("$ENVOY_BIN" --mode validate -c "$config" --log-level warn 2>&1)"; then
    echo "valid: $config"
  else
    echo "INVALID: $config" >&2
    echo "$out" | tail -20 >&2
    status=1
  fi
done
exit $status
