#!/usr/bin/env bash
# Starts the mock upstreams and Envoy with the demo configuration in the background, checks that
# the enrich route answers, and prints a curl command. `make stop` (scripts/run-demo.sh stop)
# stops both. ENVOY overrides the Envoy command, e.g. ENVOY="func-e run". DEMO_CONFIG picks another
# bootstrap, e.g. DEMO_CONFIG=envoy/envoy-jwt.yaml (callers authenticate with a JWT, minted by
# scripts/demo-jwt.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

RUN_DIR=.run
ENVOY="${ENVOY:-.venv/bin/envoy}"
CONFIG="${DEMO_CONFIG:-envoy/envoy.yaml}"
export ENRICH_CLIENT_ID="${ENRICH_CLIENT_ID:-cognigy-proxy-client}"
export ENRICH_CLIENT_SECRET="${ENRICH_CLIENT_SECRET:-proxy-secret-key}"
export ENRICH_WEBHOOK_TOKENS="${ENRICH_WEBHOOK_TOKENS:-demo-webhook-token}"

stop() {
  for name in envoy mocks; do
    if [[ -f "$RUN_DIR/$name.pid" ]]; then
      kill "$(cat "$RUN_DIR/$name.pid")" 2>/dev/null || true
      rm -f "$RUN_DIR/$name.pid"
    fi
  done
}

if [[ "${1:-}" == stop ]]; then
  stop
  echo "stopped"
  exit 0
fi

stop
mkdir -p "$RUN_DIR"
for port in 9001 9002 9003 9004 9901 10000; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is already in use; stop whatever holds it (or 'make stop') and retry" >&2
    exit 1
  fi
done

# Neither process keeps the caller's terminal or pipe: with their output in the log files,
# `make run | tail -3` returns once the demo is up.
target/release/mock-upstreams < /dev/null > "$RUN_DIR/mocks.log" 2>&1 &
echo $! > "$RUN_DIR/mocks.pid"
# Envoy writes its log to --log-path; what it prints before that (or on a crash) goes there too.
: > "$RUN_DIR/envoy.log"
# shellcheck disable=SC2086 # ENVOY may be a command with arguments ("func-e run").
$ENVOY -c "$CONFIG" --concurrency 2 --disable-hot-restart --log-path "$RUN_DIR/envoy.log" \
  < /dev/null >> "$RUN_DIR/envoy.log" 2>&1 &
echo $! > "$RUN_DIR/envoy.pid"

for _ in $(seq 1 120); do
  if curl -fsS http://127.0.0.1:9901/ready >/dev/null 2>&1; then break; fi
  if ! kill -0 "$(cat "$RUN_DIR/envoy.pid")" 2>/dev/null; then
    echo "Envoy exited; see $RUN_DIR/envoy.log" >&2
    tail -20 "$RUN_DIR/envoy.log" >&2 || true
    stop
    exit 1
  fi
  sleep 0.5
done

CREDENTIAL=demo-webhook-token
if grep -q jwt_authn "$CONFIG"; then
  CREDENTIAL="$(scripts/demo-jwt.sh 3600)"
fi
CURL="curl -sS -X POST http://127.0.0.1:10000/api/v1/agent-assist/enrich \\
  -H 'Authorization: Bearer $CREDENTIAL' -H 'Content-Type: application/json' \\
  -d '{\"sessionId\":\"demo-session-1\",\"customerNumber\":\"CUST-992847\",\"intent\":\"order_status\",\"variables\":{}}'"
status="$(eval "$CURL -o /dev/null -w '%{http_code}'")"
if [[ "$status" != 200 ]]; then
  echo "the enrich route answered $status; see $RUN_DIR/envoy.log" >&2
  stop
  exit 1
fi
cat <<MSG

cognigy-enrich is running: Envoy on 127.0.0.1:10000 (admin 127.0.0.1:9901), mocks on 9001-9004.
Try it:

$CURL

The same enrichment as an MCP tool (Streamable HTTP; see "The MCP endpoint" in README.md):
http://127.0.0.1:10000/mcp with the same Authorization header.

Logs: $RUN_DIR/envoy.log, $RUN_DIR/mocks.log. Stop with: make stop
MSG
