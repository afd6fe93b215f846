# What bench/run.sh and bench/host-call-cost.sh share (sourced from the repository's root, not
# run): the ports below BENCH_PORT_BASE, the binaries, the cores, the demo secrets, and a few
# functions. minimal_config expects PLUGIN_CONFIG and BEARER, cpu_ticks ENVOY_PID.

CONNS="${BENCH_CONNECTIONS:-16}"
BASE="${BENCH_PORT_BASE:-10100}"
ADMIN=$((BASE + 11))
TOKEN_PORT=$((BASE + 21)) PROFILE_PORT=$((BASE + 22)) ORDERS_PORT=$((BASE + 23)) CRM_PORT=$((BASE + 24))
ENVOY_BIN="${ENVOY_BIN:-.venv/bin/envoy}"
WASM=target/wasm32-wasip1/release/cognigy_enrich.wasm
MOCKS_BIN=target/release/mock-upstreams
MINIMAL_WASM=target/minimal-filter/wasm32-wasip1/release/minimal_filter.wasm
ENVOY_CPU="${BENCH_ENVOY_CPU:-1}" LOAD_CPU="${BENCH_LOAD_CPU:-0}"
# Prefixes of the commands run on each core (taskset execs the command: $! stays its pid).
ON_ENVOY_CPU=() ON_LOAD_CPU=()
if (($(nproc) >= 2)); then
  ON_ENVOY_CPU=(taskset -c "$ENVOY_CPU") ON_LOAD_CPU=(taskset -c "$LOAD_CPU")
fi
WEBHOOK_TOKEN=bench-webhook-token
export ENRICH_CLIENT_ID=cognigy-proxy-client ENRICH_CLIENT_SECRET=proxy-secret-key
export ENRICH_WEBHOOK_TOKENS=$WEBHOOK_TOKEN BENCH_WEBHOOK_TOKEN=$WEBHOOK_TOKEN

one_line() { python3 -c 'import json, sys; print(json.dumps(json.loads(sys.stdin.read())))'; }
stop_pid() { # VAR: kills the process whose pid VAR holds, if any
  local pid="${!1}"
  if [[ -n "$pid" ]]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    printf -v "$1" '%s' ""
  fi
}
# The minimal filter's configuration: the product's enrich path, deadline and service paths
# (orders with the product's default limit, 5), and the bearer the mocks issued (BEARER).
minimal_config() {
  python3 - "$PLUGIN_CONFIG" "$BEARER" <<'PY'
import json, sys
c, bearer = json.loads(sys.argv[1]), sys.argv[2]
s = c.get("services", {})
calls = [("customer_profile", "customerProfile", "/api/v1/customers/{customerNumber}"),
         ("orders", "recentOrders", "/api/v1/orders?customerId={customerNumber}&limit={limit}&sort=createdDesc"),
         ("crm", "openTickets", "/api/v1/crm/tickets?customerId={customerNumber}&status=open")]
words = [f"bearer={bearer}", f"path={c.get('enrichPath', '/api/v1/agent-assist/enrich')}",
         f"timeoutMs={c.get('deadlineMs', 4500)}"]
for cluster, key, default in calls:
    path = s.get(key, {}).get("path", default).replace("{limit}", str(s.get(key, {}).get("limit", 5)))
    words.append(f"call={s.get(key, {}).get('cluster', cluster)},{path}")
print(" ".join(words))
PY
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$ENVOY_PID/stat"; } # utime+stime, all threads
stat_value() { # NAME
  curl -fsS "http://127.0.0.1:$ADMIN/stats?filter=^$1\$" | awk -F': ' '{ print $2 }'
}
