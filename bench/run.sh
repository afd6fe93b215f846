#!/usr/bin/env bash
# `make bench`: the filter in a real Envoy (--concurrency 1, pinned to one core) in front of the
# mock services on loopback, loaded with wrk at 16 connections (wrk and the mocks pinned to the
# other core), next to the same Envoy's limit row (bench/minimal-filter: the least a proxy-wasm
# filter can do for the route) and its direct_response floor. Writes bench/results.md and prints
# it. Takes about 20 minutes (8 with BENCH_RSS_RUN=0 and BENCH_REPEATS=3).
#
# The figure: Envoy's utime+stime (/proc/PID/stat) per answered 200, the product (enrich) and the
# minimal filter measured alternately in the same Envoy, BENCH_REPEATS rounds, the median. Every
# row also reports the connections Envoy accepted per 1000 requests (its listener's
# downstream_cx_total): a row that reconnects measures reconnects.
#
# Loads, at each upstream delay, repeated BENCH_REPEATS times in turn:
#   enrich  POST /api/v1/agent-assist/enrich, a different customer on every request, so every
#           request makes its own three upstream calls (token cached: fetched before the loads)
#   minimal the same on the `minimal` listener: bench/minimal-filter reads the body, makes the
#           same three calls with the same headers and answers with the three bodies. The limit
#   calls   the minimal filter again, on a listener of its own, making the product's host calls
#           beyond its own too (BENCH_PRODUCT_CALLS): the limit for a filter that keeps the
#           product's contracts (metrics, log line, token sharing, caller check, outcome
#           property); the product against it is what its wasm work costs
#   nomask  the same on a second listener of the same Envoy whose filter has the privacy rules
#           off (maskFields [], maskPatterns false): enrich minus nomask is the cost of masking
#           and scanning the answer and the prompt
#   same    the same, always one customer: concurrent requests share their upstream calls (the
#           filter coalesces identical calls)
#   bare    GET /floor on a listener with only the router: direct_response, the Envoy floor
#   chain   GET /floor on the enrich listener: the same direct_response through the wasm filter
#   proxy   GET /proxy on the bare listener, routed to the profile mock: one upstream round trip
#           through Envoy without the filter (enrich makes three)
#   mock    GET straight to the profile mock, no Envoy: the upstream's own latency
#
# Environment (all optional):
#   BENCH_DURATION=10      seconds of each load
#   BENCH_REPEATS=5        loads of each kind per upstream delay (the table shows the median)
#   BENCH_DELAYS="0 20"    upstream delays in ms (the mocks are restarted with --delay-ms)
#   BENCH_CONNECTIONS=16   wrk connections (one wrk thread)
#   BENCH_RSS_RUN=1        the RSS-flatness run: Envoy RSS after BENCH_RSS_FIRST (100000) and
#                          after BENCH_RSS_TOTAL (1000000) enrich requests; 0 skips it
#   BENCH_PLUGIN_CONFIG    the filter's configuration (JSON), default bench/config.json: bearer
#                          caller auth, default privacy, `fields`, `answer.maxBytes`, no cache, no
#                          card; every customer number points at the demo customer's data: the
#                          service paths carry it in a query parameter the mocks ignore, which
#                          keeps calls for different customers distinct
#   BENCH_COUNT=1          the host-call count (the product built with `count-host-calls` on a
#                          listener of its own, BENCH_COUNT_REQUESTS=2000 enrich requests); 0 skips
#   BENCH_VARIANTS         names of other builds of the filter, target/variants/NAME.wasm (made by
#                          bench/build-variant.sh COMMIT NAME), each loaded on a listener of its
#                          own (+30, +31, ...) and measured like enrich, in the same rounds; with
#                          NAME.count.wasm, its host calls are counted too (listeners +50, ...)
#   BENCH_FEATURES_OFF     "noauth nofields" (default): the product on listeners of its own (+40,
#                          +41, ...) with one feature of bench/config.json off: caller auth
#                          (noauth), the `fields` selections (nofields); loaded like enrich in the
#                          same rounds. The privacy rules off are the `nomask` kind
#   BENCH_ENVOY_ARGS       more Envoy arguments, e.g. "--component-log-level wasm:warn" (the product
#                          then neither formats nor sends its per-request info line)
#   BENCH_PERF=0           1: perf record (cpu-clock, call graphs) on Envoy during each enrich and
#                          minimal load; the top of each profile by shared object and by symbol
#                          goes to bench/profile.md (V8's generated code shows as one unnamed
#                          region: the wasm frames are not symbolized)
#   BENCH_ENVOY_CPU=1      the core Envoy is pinned to; BENCH_LOAD_CPU=0 the core of wrk and the
#                          mocks (no pinning on a machine with fewer than 2 cores)
#   BENCH_BUILD=1          0 skips the builds (uses what target/ has)
#   BENCH_OUT=bench/results.md
#   BENCH_KINDS            the loads to run (default "enrich minimal bare chain proxy mock"; the
#                          others: nomask, same); e.g. BENCH_KINDS="enrich nomask" BENCH_RSS_RUN=0
#                          for the privacy on/off comparison alone
#   BENCH_PRODUCT_CALLS    the `calls` kind's extra host calls per request (KIND:N,...; kinds:
#                          bench/minimal-filter/src/extra.rs); default: the product's calls beyond
#                          the minimal filter's, by kind ("Host calls per enrich request" in
#                          bench/results.md, current minus minimal filter)
#   BENCH_PORT_BASE=10100  enrich listener; bare listener +1, privacy-off listener +2, minimal
#                          +3, counting build +4, the `calls` kind +5, admin +11, mocks +21..+24
#
# What one host call of each kind costs Envoy (the minimal filter with N extra calls of one kind
# against it plain, same Envoy): bench/host-call-cost.sh (`make host-call-cost`, ~12 minutes); its
# section of bench/results.md is kept when this script rewrites the file.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

DURATION="${BENCH_DURATION:-10}"
REPEATS="${BENCH_REPEATS:-5}"
DELAYS="${BENCH_DELAYS-0 20}"
RSS_RUN="${BENCH_RSS_RUN:-1}"
RSS_FIRST="${BENCH_RSS_FIRST:-100000}"
RSS_TOTAL="${BENCH_RSS_TOTAL:-1000000}"
PLUGIN_CONFIG="$(one_line <<<"${BENCH_PLUGIN_CONFIG:-$(cat bench/config.json)}")"
OUT="${BENCH_OUT:-bench/results.md}"
LISTENER=$BASE FLOOR=$((BASE + 1)) NOMASK=$((BASE + 2)) MINIMAL=$((BASE + 3)) COUNTED=$((BASE + 4))
LIMIT_CALLS=$((BASE + 5))
PRODUCT_CALLS="${BENCH_PRODUCT_CALLS:-time:6,header_pairs:1,header:2,shared_data:1,counter:4,histogram:4,log:1,context:2,property:1}"
COUNT_WASM=target/count-host-calls/wasm32-wasip1/release/cognigy_enrich.wasm
COUNT="${BENCH_COUNT:-1}"
COUNT_REQUESTS="${BENCH_COUNT_REQUESTS:-2000}"
DIR=.run/bench
VARIANTS="${BENCH_VARIANTS:-}"
FEATURES_OFF="${BENCH_FEATURES_OFF-noauth nofields}"
KINDS="${BENCH_KINDS:-enrich minimal calls $VARIANTS nomask $FEATURES_OFF bare chain proxy mock}"
index_in() { # NAME WORD...: NAME's position among the WORDs (0-based), or nothing
  local name=$1 i=0 v
  shift
  for v in "$@"; do
    [[ $v == "$name" ]] && { echo $i; return; }
    i=$((i + 1))
  done
}
for v in $VARIANTS; do
  [[ -f target/variants/$v.wasm ]] || { echo "bench: target/variants/$v.wasm missing (bench/build-variant.sh)" >&2; exit 1; }
done

log() { echo "bench: $*" >&2; }
die() { log "$*"; exit 1; }

# --- tools and builds ----------------------------------------------------------------------------
scripts/install-tools.sh bench
if [[ "${BENCH_BUILD:-1}" == 1 ]]; then
  make --no-print-directory build >&2
  cargo build --release -p mock-upstreams >&2
  (cd bench/minimal-filter && cargo build --release --target wasm32-wasip1 --target-dir ../../target/minimal-filter) >&2
  if [[ "$COUNT" == 1 ]]; then
    cargo build --release --target wasm32-wasip1 --features count-host-calls --target-dir target/count-host-calls >&2
  fi
fi
[[ -f "$WASM" ]] || die "$WASM missing"
[[ -f "$MINIMAL_WASM" ]] || die "$MINIMAL_WASM missing"
[[ "$COUNT" != 1 || -f "$COUNT_WASM" ]] || die "$COUNT_WASM missing"
[[ -x "$MOCKS_BIN" ]] || die "$MOCKS_BIN missing"

mkdir -p "$DIR"
rm -f "$DIR"/perf-*.data
for port in $LISTENER $FLOOR $NOMASK $MINIMAL $COUNTED $LIMIT_CALLS $ADMIN $TOKEN_PORT $PROFILE_PORT $ORDERS_PORT $CRM_PORT; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port is in use (BENCH_PORT_BASE moves the benchmark's ports)"
  fi
done

BOOTSTRAP="$DIR/envoy-bench.yaml"
render_bootstrap() {
  local count_port="" count_wasm=""
  [[ "$COUNT" == 1 ]] && count_port=$COUNTED count_wasm=$COUNT_WASM
  local listeners="" v i=0
  for v in $VARIANTS; do
    listeners+=" v_$v=$((BASE + 30 + i))=target/variants/$v.wasm"
    [[ "$COUNT" == 1 && -f target/variants/$v.count.wasm ]] \
      && listeners+=" c_$v=$((BASE + 50 + i))=target/variants/$v.count.wasm"
    i=$((i + 1))
  done
  local features
  features="$(python3 - "$PLUGIN_CONFIG" $((BASE + 40)) $FEATURES_OFF <<'PY'
import copy, json, sys
base, port, out = json.loads(sys.argv[1]), int(sys.argv[2]), {}
for i, name in enumerate(sys.argv[3:]):
    c = copy.deepcopy(base)
    if name == "noauth":
        c["auth"] = {"enabled": False}
    elif name == "nofields":
        for service in c.get("services", {}).values():
            service.pop("fields", None)
    else:
        sys.exit(f"bench: unknown BENCH_FEATURES_OFF entry {name}")
    out[f"f_{name}"] = [port + i, c]
print(json.dumps(out))
PY
)"
  local minimal_listeners="{}"
  if [[ " $KINDS " == *" calls "* ]]; then
    minimal_listeners="$(python3 -c 'import json, sys; print(json.dumps({"minimal_calls": [int(sys.argv[1]), sys.argv[2]]}))' \
      "$LIMIT_CALLS" "$(minimal_config) extra=$PRODUCT_CALLS")"
  fi
  BENCH_CONFIG_LISTENERS="$features" BENCH_VARIANT_LISTENERS="$listeners" BENCH_MINIMAL_PORT=$MINIMAL BENCH_MINIMAL_WASM=$MINIMAL_WASM BENCH_MINIMAL_CONFIG="$(minimal_config)" \
    BENCH_MINIMAL_LISTENERS="$minimal_listeners" \
    BENCH_COUNT_PORT=$count_port BENCH_COUNT_WASM=$count_wasm \
    python3 bench/render-bootstrap.py "$BOOTSTRAP" "$WASM" "$LISTENER" "$FLOOR" "$ADMIN" \
    "$TOKEN_PORT" "$PROFILE_PORT" "$ORDERS_PORT" "$CRM_PORT" "$PLUGIN_CONFIG" "$NOMASK"
  "$ENVOY_BIN" --mode validate -c "$BOOTSTRAP" --log-level warn >"$DIR/validate.log" 2>&1 \
    || { cat "$DIR/validate.log" >&2; die "the benchmark bootstrap does not validate"; }
}

# --- processes -------------------------------------------------------------------------------------
ENVOY_PID="" MOCKS_PID="" WRK_PID=""
trap 'stop_pid WRK_PID; stop_pid ENVOY_PID; stop_pid MOCKS_PID' EXIT
trap 'exit 130' INT TERM

BEARER=""
start_mocks() { # DELAY_MS
  "${ON_LOAD_CPU[@]}" "$MOCKS_BIN" --delay-ms "$1" --token-port "$TOKEN_PORT" --profile-port "$PROFILE_PORT" \
    --orders-port "$ORDERS_PORT" --crm-port "$CRM_PORT" >"$DIR/mocks.log" 2>&1 &
  MOCKS_PID=$!
  for _ in $(seq 1 100); do
    if grep -q "listening" "$DIR/mocks.log" 2>/dev/null; then
      # A token of their own for the loads that reach the profile mock without the filter.
      BEARER="$(curl -fsS "http://127.0.0.1:$TOKEN_PORT/oauth2/token" \
        -d "grant_type=client_credentials&client_id=$ENRICH_CLIENT_ID&client_secret=$ENRICH_CLIENT_SECRET" \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')"
      return 0
    fi
    kill -0 "$MOCKS_PID" 2>/dev/null || { cat "$DIR/mocks.log" >&2; die "mocks exited"; }
    sleep 0.1
  done
  die "mocks did not start"
}

start_envoy() { # LOG_NAME: renders the bootstrap first (the minimal filter's bearer is the mocks')
  render_bootstrap
  # shellcheck disable=SC2086 # BENCH_ENVOY_ARGS is words
  "${ON_ENVOY_CPU[@]}" "$ENVOY_BIN" -c "$BOOTSTRAP" --concurrency 1 --log-path "$DIR/$1" ${BENCH_ENVOY_ARGS:-} &
  ENVOY_PID=$!
  for _ in $(seq 1 240); do
    curl -fsS "http://127.0.0.1:$ADMIN/ready" >/dev/null 2>&1 && return 0
    kill -0 "$ENVOY_PID" 2>/dev/null || { tail -20 "$DIR/$1" >&2; die "Envoy exited"; }
    sleep 0.25
  done
  die "Envoy not ready"
}

enrich_once() { # [PORT]
  curl -sS -o "$DIR/last-answer.json" -w '%{http_code}' -X POST \
    "http://127.0.0.1:${1:-$LISTENER}/api/v1/agent-assist/enrich" \
    -H "Authorization: Bearer $WEBHOOK_TOKEN" -H 'Content-Type: application/json' \
    -d '{"sessionId":"bench-warm","customerNumber":"CUST-992847","intent":"warm","variables":{}}'
}

CLK_TCK="$(getconf CLK_TCK)"
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$ENVOY_PID/status"; }

url_of() { # KIND
  case $1 in
    enrich | same) echo "http://127.0.0.1:$LISTENER/api/v1/agent-assist/enrich" ;;
    nomask) echo "http://127.0.0.1:$NOMASK/api/v1/agent-assist/enrich" ;;
    minimal) echo "http://127.0.0.1:$MINIMAL/api/v1/agent-assist/enrich" ;;
    calls) echo "http://127.0.0.1:$LIMIT_CALLS/api/v1/agent-assist/enrich" ;;
    counted) echo "http://127.0.0.1:$COUNTED/api/v1/agent-assist/enrich" ;;
    c_*) echo "http://127.0.0.1:$((BASE + 50 + $(index_in "${1#c_}" $VARIANTS)))/api/v1/agent-assist/enrich" ;;
    noauth | nofields) echo "http://127.0.0.1:$((BASE + 40 + $(index_in "$1" $FEATURES_OFF)))/api/v1/agent-assist/enrich" ;;
    bare) echo "http://127.0.0.1:$FLOOR/floor" ;;
    chain) echo "http://127.0.0.1:$LISTENER/floor" ;;
    proxy) echo "http://127.0.0.1:$FLOOR/proxy" ;;
    mock) echo "http://127.0.0.1:$PROFILE_PORT/api/v1/customers/CUST-992847" ;;
    *) echo "http://127.0.0.1:$((BASE + 30 + $(index_in "$1" $VARIANTS)))/api/v1/agent-assist/enrich" ;;
  esac
}

wrk_load() { # KIND SECONDS: wrk in the background (WRK_PID), its output in $DIR/wrk.out
  local enrich=""
  case $1 in bare | chain | proxy | mock) ;; same) enrich=same ;; *) enrich=distinct ;; esac
  BENCH_ENRICH=$enrich BENCH_BEARER="$BEARER" \
    "${ON_LOAD_CPU[@]}" wrk -t1 -c"$CONNS" -d"$2s" --timeout 10s -s bench/load.lua "$(url_of "$1")" >"$DIR/wrk.out" 2>&1 &
  WRK_PID=$!
}

prefix_of() { # KIND: the stat prefix of the listener the load goes to
  case $1 in
    enrich | same | chain) echo gateway ;;
    nomask) echo gateway_nomask ;;
    minimal) echo minimal ;;
    calls) echo minimal_calls ;;
    counted) echo gateway_count ;;
    bare | proxy) echo floor ;;
    mock) echo "" ;;
    c_*) echo "$1" ;;
    noauth | nofields) echo "f_$1" ;;
    *) echo "v_$1" ;;
  esac
}

connections() { # KIND: connections the kind's listener accepted so far (0 without Envoy)
  local prefix
  prefix="$(prefix_of "$1")"
  if [[ -n "$prefix" ]]; then stat_value "http.$prefix.downstream_cx_total"; else echo 0; fi
}

upstream_calls() { # service calls made so far (all three data clusters)
  local n=0 c
  for c in customer_profile orders crm; do
    n=$((n + $(stat_value "cluster.$c.upstream_rq_total")))
  done
  echo "$n"
}

# One load; prints "requests rps p50_us p99_us cpu_ms_per_request token_per_1k non2xx errors
# load1 upstream_calls_per_request reconnects_per_1k cpu_ms_per_answered_200 connections".
# Reconnects: the connections the listener accepted beyond wrk's BENCH_CONNECTIONS, per 1000
# requests (0 when every connection is kept for the whole load).
# With COUNT, the load runs until Envoy has seen COUNT more requests on the kind's listener (wrk
# is then interrupted, and reports what it did).
load() { # KIND [COUNT]
  local kind=$1 count=${2:-} tok0 cpu0 tok1 cpu1 up0 up1 cx0 cx1 line
  tok0="$(stat_value cluster.token_service.upstream_rq_total)"
  up0="$(upstream_calls)"
  cx0="$(connections "$kind")"
  cpu0="$(cpu_ticks)"
  if [[ -n "$count" ]]; then
    local seen0 target rq
    rq="http.$(prefix_of "$kind").downstream_rq_total"
    seen0="$(stat_value "$rq")"
    target=$((seen0 + count))
    wrk_load "$kind" 36000
    while kill -0 "$WRK_PID" 2>/dev/null; do
      (( $(stat_value "$rq") >= target )) && kill -INT "$WRK_PID"
      sleep 0.2
    done
    wait "$WRK_PID" || true
    WRK_PID=""
  else
    local perf_pid=""
    if [[ "${BENCH_PERF:-0}" == 1 && ( $kind == enrich || $kind == minimal ) ]]; then
      perf record -q -e cpu-clock -g -p "$ENVOY_PID" -o "$DIR/perf-$kind-$(date +%s).data" \
        -- sleep "$((DURATION > 2 ? DURATION - 1 : 1))" >/dev/null 2>&1 &
      perf_pid=$!
    fi
    wrk_load "$kind" "$DURATION"
    wait "$WRK_PID" || true
    WRK_PID=""
    [[ -z "$perf_pid" ]] || wait "$perf_pid" || true
  fi
  cpu1="$(cpu_ticks)"
  cx1="$(connections "$kind")"
  tok1="$(stat_value cluster.token_service.upstream_rq_total)"
  up1="$(upstream_calls)"
  cat "$DIR/wrk.out" >>"$DIR/wrk.log"
  line="$(grep '^BENCH ' "$DIR/wrk.out")" || die "no result from wrk: $(cat "$DIR/wrk.out")"
  field() { sed -E "s/.* $1=([0-9.]+).*/\1/" <<<"$line"; }
  awk -v r="$(field requests)" -v rps="$(field rps)" -v p50="$(field p50_us)" \
    -v p99="$(field p99_us)" -v n="$(field non2xx)" -v e="$(field errors)" \
    -v c0="$cpu0" -v c1="$cpu1" -v hz="$CLK_TCK" -v t0="$tok0" -v t1="$tok1" \
    -v l="$(cut -d' ' -f1 /proc/loadavg)" -v u0="$up0" -v u1="$up1" -v x0="$cx0" -v x1="$cx1" -v cn="$CONNS" 'BEGIN {
      ok = r - n; if (ok < 1) ok = 1
      printf "%d %.1f %d %d %.5f %.4f %d %d %s %.3f %.2f %.5f %d\n", r, rps, p50, p99,
        (c1 - c0) / hz * 1000 / r, (t1 - t0) / r * 1000, n, e, l, (u1 - u0) / r,
        ((x1 - x0 > cn) ? x1 - x0 - cn : 0) / r * 1000, (c1 - c0) / hz * 1000 / ok, x1 - x0 }'
}

# --- the loads ---------------------------------------------------------------------------------------
WASM_BYTES="$(stat -c %s "$WASM")"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
: >"$DIR/wrk.log"
RESULTS="$DIR/results.tsv" # delay kind repeat requests rps p50 p99 cpu tok non2xx errors load1 calls reconnects cpu200 cx
: >"$RESULTS"
COUNTS="$DIR/host-calls.tsv" # kind calls_per_request (the counting build)
rm -f "$COUNTS" # a previous run's counts are not this run's
COUNT_DONE=0
declare -A RSS_BEFORE RSS_AFTER
for delay in $DELAYS; do
  log "upstream delay ${delay} ms: starting the mocks and Envoy"
  start_mocks "$delay"
  start_envoy "envoy-delay$delay.log"
  status="$(enrich_once)"
  [[ "$status" == 200 ]] || { cat "$DIR/last-answer.json" >&2; die "warm-up enrich answered $status"; }
  status="$(enrich_once "$MINIMAL")"
  [[ "$status" == 200 ]] || { cat "$DIR/last-answer.json" >&2; die "warm-up of the minimal filter answered $status"; }
  # Warm the connection pools and the VM's code as well.
  for kind in $KINDS; do
    [[ $kind == mock ]] && continue
    wrk_load "$kind" 2
    wait "$WRK_PID" || true
    WRK_PID=""
  done
  RSS_BEFORE[$delay]="$(rss_kb)"
  for repeat in $(seq 1 "$REPEATS"); do
    for kind in $KINDS; do
      log "delay ${delay} ms, round $repeat/$REPEATS: $kind for ${DURATION}s"
      row="$(load "$kind")" && [[ -n "$row" ]] || die "the $kind load gave no figures"
      printf '%s\t%s\t%s\t%s\n' "$delay" "$kind" "$repeat" "$(tr ' ' '\t' <<<"$row")" >>"$RESULTS"
    done
  done
  RSS_AFTER[$delay]="$(rss_kb)"
  if [[ "$COUNT" == 1 && "$COUNT_DONE" == 0 ]]; then
    count_stats() { # KIND: the counting gauges of the kind's VM (named after its listener)
      curl -gfsS "http://127.0.0.1:$ADMIN/stats?filter=^wasmcustom[.]cognigy_enrich_bench[.]$(prefix_of "$1")[.]" \
        | sed "s/^wasmcustom[.]cognigy_enrich_bench[.]$(prefix_of "$1")[.]//; s/: / /"
    }
    : >"$COUNTS"
    for counted_kind in counted $(for v in $VARIANTS; do [[ -f target/variants/$v.count.wasm ]] && echo "c_$v"; done); do
      log "delay ${delay} ms: host calls of $COUNT_REQUESTS enrich requests ($counted_kind)"
      port="$(url_of "$counted_kind" | sed -E 's|http://127.0.0.1:([0-9]+)/.*|\1|')"
      status="$(enrich_once "$port")" # its VM fetches its own token first
      [[ "$status" == 200 ]] || { cat "$DIR/last-answer.json" >&2; die "$counted_kind answered $status"; }
      count_stats "$counted_kind" >"$DIR/counts-before.txt"
      load "$counted_kind" "$COUNT_REQUESTS" >"$DIR/count-load.txt"
      # The gauges are set when a request's context ends: read until they stand still.
      count_stats "$counted_kind" >"$DIR/counts-after.txt"
      for _ in $(seq 1 50); do
        sleep 0.1
        count_stats "$counted_kind" >"$DIR/counts-again.txt"
        cmp -s "$DIR/counts-after.txt" "$DIR/counts-again.txt" && break
        mv "$DIR/counts-again.txt" "$DIR/counts-after.txt"
      done
      awk -v kind="$counted_kind" 'NR == FNR { before[$1] = $2; next } { after[$1] = $2 }
        END {
          n = after["contexts"] - before["contexts"]
          for (k in after) if (k != "contexts" && after[k] - before[k] > 0)
            printf "%s\t%s\t%.2f\n", kind, substr(k, 7), (after[k] - before[k]) / n
          printf "%s\tcontexts\t%d\n", kind, n
        }' "$DIR/counts-before.txt" "$DIR/counts-after.txt" >>"$COUNTS"
    done
    COUNT_DONE=1
  fi
  stop_pid ENVOY_PID
  stop_pid MOCKS_PID
done

RSS_LINE=""
if [[ "$RSS_RUN" == 1 ]]; then
  log "RSS run: $RSS_TOTAL enrich requests at 0 ms upstream delay (a few minutes)"
  start_mocks 0
  start_envoy envoy-rss.log
  status="$(enrich_once)"
  [[ "$status" == 200 ]] || die "warm-up enrich answered $status"
  rss_start="$(rss_kb)"
  first="$(load enrich "$RSS_FIRST")"
  rss_first="$(rss_kb)"
  log "RSS run: $(cut -d' ' -f1 <<<"$first") requests done, RSS $rss_first kB; going on to $RSS_TOTAL"
  rest="$(load enrich $((RSS_TOTAL - RSS_FIRST)))"
  rss_total="$(rss_kb)"
  read -r n_first _ _ _ _ _ bad1 err1 _ _ <<<"$first"
  read -r n_rest rps_rest _ _ cpu_rest _ bad2 err2 _ _ <<<"$rest"
  RSS_LINE="$rss_start $n_first $rss_first $((n_first + n_rest)) $rss_total $((bad1 + err1 + bad2 + err2)) $rps_rest $cpu_rest"
  stop_pid ENVOY_PID
  stop_pid MOCKS_PID
fi
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- the report ----------------------------------------------------------------------------------------
col() { # DELAY KIND N: the Nth figure (1 = requests) of every round
  awk -F'\t' -v d="$1" -v k="$2" -v c="$3" '$1 == d && $2 == k { print $(3 + c) }' "$RESULTS"
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR > 1 && lo != hi) printf " [%s-%s]", lo, hi }'; }
fmt() { awk -v v="$2" "BEGIN { printf \"$1\", v }"; } # FORMAT VALUE
ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
mib() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }
verdict() { [[ "$1" == 1 ]] && echo "met" || echo "**missed**"; }
name_of() {
  case $1 in
    enrich) echo "enrich, a new customer each request" ;;
    minimal) echo "**limit**: the minimal filter, same request, same three calls" ;;
    calls) echo "the limit making the product's host calls too (\`extra=$PRODUCT_CALLS\`)" ;;
    nomask) echo "the same, privacy rules off" ;;
    same) echo "enrich, one customer (coalesced)" ;; bare) echo "floor: direct_response, bare listener (GET)" ;;
    chain) echo "floor: direct_response through the wasm filter (GET)" ;;
    proxy) echo "one proxied upstream call (no filter)" ;; mock) echo "the profile mock itself (no Envoy)" ;;
    noauth) echo "enrich, caller auth off" ;; nofields) echo "enrich, no \`fields\` selections" ;;
    *) echo "enrich, build \`$1\` (bench/build-variant.sh)" ;;
  esac
}
# DELAY A B: the ratio A/B of CPU per answered 200 in each round where both ran, one a line.
round_ratios() {
  awk -F'\t' -v d="$1" -v a="$2" -v b="$3" '$1 == d && $2 == a { x[$3] = $15 } $1 == d && $2 == b { y[$3] = $15 }
    END { for (r in x) if ((r in y) && y[r] > 0) printf "%.4f\n", x[r] / y[r] }' "$RESULTS"
}
# DELAY A B: a table cell "1.23x [1.10-1.40]": the median of the rounds' ratios A/B, their range.
ratio_cell() {
  echo "$(fmt %.2f "$(round_ratios "$1" "$2" "$3" | median)")x$(round_ratios "$1" "$2" "$3" | awk '{ printf "%.2f\n", $1 }' | range)"
}
# The sections of an existing results file under "## Where the bytes go" or "## Size" (the size
# work writes them), "## Notes" (written by hand: analysis of a run), "## What one host call
# costs" (bench/host-call-cost.sh writes it) and "## Where the wasm time goes"
# (bench/wasm-profile.sh writes it), kept as they are.
SIZE_SECTION=""
if [[ -f "$OUT" ]]; then
  SIZE_SECTION="$(awk '/^## / { keep = ($0 ~ /^## (Size|Notes|Where the bytes go|What one host call costs|Where the wasm time goes)/) } keep' "$OUT")"
fi

{
  echo "# \`make bench\` results"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(nproc) cores ($(awk '/^model name/ { sub(/.*: /, ""); print; exit }' /proc/cpuinfo)), $(free -g | awk '/^Mem:/ { print $2 }') GiB;" \
    "load average (1/5/15 min) $LOAD_BEFORE before, $LOAD_AFTER after: other work shares the machine, figures are noisy; compare ratios of the same run"
  echo "- Envoy $("$ENVOY_BIN" --version | sed -n 's/.*version: //p' | tr -d '\n') with \`--concurrency 1\` pinned to core $ENVOY_CPU;" \
    "the mocks and wrk $(wrk --version 2>&1 | head -1 | awk '{ print $2 }') (\`-t1 -c$CONNS\`) pinned to core $LOAD_CPU, on loopback"
  echo "- wasm: $WASM_BYTES bytes ($(fmt %.1f "$(awk -v b="$WASM_BYTES" 'BEGIN { print b / 1024 }')") KiB); minimal filter $(stat -c %s "$MINIMAL_WASM") bytes"
  echo "- plugin configuration (bench/config.json): \`$PLUGIN_CONFIG\`"
  echo "- each figure is the median of $REPEATS loads of ${DURATION} s [min-max], the kinds alternating within each round;" \
    "Envoy CPU is utime+stime of the whole process (/proc/PID/stat, clock ticks of $CLK_TCK Hz) over the load, per answered 200:"
  echo "  CPU-seconds per 1000 answered requests equal CPU-ms per request. Connections: the listener's \`downstream_cx_total\` over the load;" \
    "wrk opens its $CONNS at the start of each load, so reconnects are those beyond $CONNS, per 1000 requests (0: every connection kept)"
  echo
  for delay in $DELAYS; do
    bare_cpu="$(col "$delay" bare 12 | median)"
    min_cpu="$(col "$delay" minimal 12 | median)"
    echo "### Upstream delay ${delay} ms"
    echo
    echo "| load | requests/s | p50 ms | p99 ms | Envoy CPU-s / 1000 answered 200 | / limit | / bare floor | connections per load; reconnects / 1000 requests | upstream calls / request | token fetches / 1000 requests | non-2xx, errors | load avg |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
    for kind in $KINDS; do
      [[ -n "$(col "$delay" "$kind" 1)" ]] || continue
      cpu="$(col "$delay" "$kind" 12 | median)"
      if [[ $kind == mock ]]; then
        cpu_cell="(no Envoy)" r_bare="" r_min="" cx="-"
      else
        cpu_cell="$(fmt %.4f "$cpu")$(col "$delay" "$kind" 12 | awk '{ printf "%.4f\n", $1 }' | range)"
        r_bare="$(ratio "$cpu" "$bare_cpu")" r_min="$(ratio "$cpu" "$min_cpu")"
        cx="$(col "$delay" "$kind" 13 | median)$(col "$delay" "$kind" 13 | range); $(fmt %.1f "$(col "$delay" "$kind" 11 | median)")$(col "$delay" "$kind" 11 | range)"
      fi
      tok="-" calls="-"
      [[ $kind == enrich || $kind == nomask || $kind == same || $kind == minimal ]] && tok="$(col "$delay" "$kind" 6 | median)"
      [[ $kind == mock ]] || calls="$(fmt %.2f "$(col "$delay" "$kind" 10 | median)")"
      printf '| %s | %s%s | %s%s | %s | %s | %s | %s | %s | %s | %s | %s, %s | %s%s |\n' \
        "$(name_of "$kind")" \
        "$(fmt %.0f "$(col "$delay" "$kind" 2 | median)")" "$(col "$delay" "$kind" 2 | awk '{ printf "%.0f\n", $1 }' | range)" \
        "$(ms "$(col "$delay" "$kind" 3 | median)")" "$(col "$delay" "$kind" 3 | awk '{ printf "%.2f\n", $1 / 1000 }' | range)" \
        "$(ms "$(col "$delay" "$kind" 4 | median)")" "$cpu_cell" "$r_min" "$r_bare" "$cx" "$calls" "$tok" \
        "$(col "$delay" "$kind" 7 | awk '{ s += $1 } END { print s }')" "$(col "$delay" "$kind" 8 | awk '{ s += $1 } END { print s }')" \
        "$(col "$delay" "$kind" 9 | median)" "$(col "$delay" "$kind" 9 | range)"
    done
    echo
  done
  echo "| Envoy RSS (VmRSS) | before the loads | after the loads |"
  echo "|---|---|---|"
  for delay in $DELAYS; do
    echo "| ${delay} ms run | $(mib "${RSS_BEFORE[$delay]}") MiB | $(mib "${RSS_AFTER[$delay]}") MiB |"
  done
  if [[ -n "$RSS_LINE" ]]; then
    read -r rss_start n_first rss_first n_total rss_total bad rps_rest cpu_rest <<<"$RSS_LINE"
    growth="$(awk -v a="$rss_first" -v b="$rss_total" 'BEGIN { printf "%+.1f", (b - a) / a * 100 }')"
    flat="$(awk -v a="$rss_first" -v b="$rss_total" 'BEGIN { d = (b - a) / a; print (d < 0 ? -d : d) <= 0.05 ? 1 : 0 }')"
    echo "| RSS run (fresh Envoy, 0 ms delay) | $(mib "$rss_start") MiB after one request | $(mib "$rss_first") MiB after $n_first, $(mib "$rss_total") MiB after $n_total enrich requests ($growth %; non-2xx + errors: $bad; $(fmt %.0f "$rps_rest") requests/s, $(fmt %.4f "$cpu_rest") CPU-s / 1000 over the long load) |"
  fi
  echo
  echo "## The limit: the product against the minimal filter"
  echo
  echo "The minimal filter (bench/minimal-filter) reads the body, sends the product's three GETs (same clusters, same headers," \
    "a fixed bearer) and answers 200 with the three bodies: the least any proxy-wasm filter can do for this route. Both run in" \
    "the same Envoy, on listeners of their own, in turn. The ratio is taken in each round (the two loads next to each other)," \
    "then the median over the rounds."
  echo
  echo "| upstream delay | product / limit, CPU per answered 200 (median of rounds) [min-max] | p50 product | p50 limit | p50 difference |"
  echo "|---|---|---|---|---|"
  for delay in $DELAYS; do
    r="$(round_ratios "$delay" enrich minimal | median)"
    [[ -n "$r" ]] || continue
    pe="$(col "$delay" enrich 3 | median)" pm="$(col "$delay" minimal 3 | median)"
    echo "| ${delay} ms | $(ratio_cell "$delay" enrich minimal) | $(ms "$pe") ms | $(ms "$pm") ms | $(awk -v a="$pe" -v b="$pm" 'BEGIN { printf "%+.2f", (a - b) / 1000 }') ms |"
  done
  echo
  if [[ " $KINDS " == *" calls "* ]]; then
    echo "What the product's host calls account for: the minimal filter making them too (\`calls\`: the product's calls beyond" \
      "the limit's, by kind, \`extra=$PRODUCT_CALLS\`, results discarded) against the plain limit, and the product against it." \
      "The second ratio is what the product's own wasm work costs over a filter that keeps its contracts."
    echo
    echo "| upstream delay | limit with the product's host calls / limit | product / limit with the product's host calls | CPU-ms per request: limit, with the calls, product |"
    echo "|---|---|---|---|"
    for delay in $DELAYS; do
      [[ -n "$(round_ratios "$delay" calls minimal)" ]] || continue
      echo "| ${delay} ms | $(ratio_cell "$delay" calls minimal) | $(ratio_cell "$delay" enrich calls) |" \
        "$(fmt %.4f "$(col "$delay" minimal 12 | median)"), $(fmt %.4f "$(col "$delay" calls 12 | median)"), $(fmt %.4f "$(col "$delay" enrich 12 | median)") |"
    done
    echo
  fi
  if [[ -n "$VARIANTS" || -n "$FEATURES_OFF" ]]; then
    echo "## What each change bought, and what each feature costs"
    echo
    echo "Each build (bench/build-variant.sh COMMIT NAME: the filter as it was at that commit) and each configuration with one" \
      "feature off runs on a listener of its own in the same Envoy, loaded in the same rounds as the product and the limit." \
      "Ratios are per round, then the median; a feature's cost is the product's CPU minus that configuration's, per round, the median."
    echo
    for delay in $DELAYS; do
      [[ -n "$(col "$delay" enrich 1)" ]] || continue
      echo "### Upstream delay ${delay} ms"
      echo
      echo "| build or configuration | Envoy CPU-s / 1000 answered 200 | / limit (per round) | host calls / request | p50 ms |"
      echo "|---|---|---|---|---|"
      for kind in $VARIANTS enrich nomask $FEATURES_OFF; do
        [[ -n "$(col "$delay" "$kind" 1)" ]] || continue
        case $kind in
          enrich) label="**current** (this tree)" ck=counted ;;
          nomask) label="current, privacy rules off" ck="" ;;
          noauth) label="current, caller auth off" ck="" ;;
          nofields) label="current, no \`fields\` selections" ck="" ;;
          *) label="build \`$kind\`" ck="c_$kind" ;;
        esac
        calls="-"
        [[ -n "$ck" && -s "$COUNTS" ]] && calls="$(awk -F'\t' -v k="$ck" '$1 == k && $2 != "contexts" { t += $3; n++ } END { if (n) printf "%.1f", t }' "$COUNTS")"
        printf '| %s | %s%s | %s%s | %s | %s |\n' "$label" \
          "$(fmt %.4f "$(col "$delay" "$kind" 12 | median)")" "$(col "$delay" "$kind" 12 | awk '{ printf "%.4f\n", $1 }' | range)" \
          "$(fmt %.2f "$(round_ratios "$delay" "$kind" minimal | median)")" "$(round_ratios "$delay" "$kind" minimal | awk '{ printf "%.2f\n", $1 }' | range)" \
          "${calls:--}" "$(ms "$(col "$delay" "$kind" 3 | median)")"
      done
      echo
      for kind in nomask $FEATURES_OFF; do
        [[ -n "$(col "$delay" "$kind" 1)" ]] || continue
        d="$(awk -F'\t' -v d="$delay" -v k="$kind" '$1 == d && $2 == "enrich" { x[$3] = $15 } $1 == d && $2 == k { y[$3] = $15 }
          END { for (r in x) if (r in y) printf "%.5f\n", x[r] - y[r] }' "$RESULTS" | median)"
        echo "- $kind: the feature costs $(fmt %+.4f "$d") CPU-ms per request at ${delay} ms (product minus feature off, median of rounds)"
      done
      echo
    done
  fi
  if [[ -s "$COUNTS" ]]; then
    echo "## Host calls per enrich request"
    echo
    echo "Builds with \`--features count-host-calls\` (src/glue/count.rs) on listeners of their own, same configuration," \
      "$COUNT_REQUESTS enrich requests each at 0 ms upstream delay, token cached." \
      "Calls the glue makes into Envoy and callbacks into the VM it receives; \`on_memory_allocate\` is the host handing data back" \
      "(one per host call that returns bytes); \`set_effective_context\` includes the SDK's own before each callout reply." \
      "Not seen by the glue and not counted: \`proxy_on_log\` and \`proxy_on_delete\` (one each per request)." \
      "The minimal filter's column is read off its code (bench/minimal-filter/src/lib.rs) for the same request, whose body" \
      "arrives in two \`on_request_body\` callbacks as the product's count shows."
    echo
    builds="counted $(for v in $VARIANTS; do if grep -q "^c_$v	" "$COUNTS"; then echo "c_$v"; fi; done | tr '\n' ' ')"
    header="| kind | current" sep="|---|---"
    for b in $builds; do [[ $b == counted ]] || { header+=" | build \`${b#c_}\`"; sep+="|---"; }; done
    echo "$header | minimal filter |"
    echo "$sep|---|"
    awk -F'\t' -v builds="$builds" 'BEGIN {
        split("get_header_map_value 2 get_buffer_bytes 4 http_call 3 send_local_response 1 set_effective_context 3 " \
          "on_context_create 1 on_request_headers 1 on_request_body 2 on_http_call_response 3 on_done 1 on_memory_allocate 6", m, " ")
        for (i = 1; i < length(m); i += 2) minimal[m[i]] = m[i + 1]
        nb = split(builds, b, " ")
      }
      $2 != "contexts" { v[$1, $2] = $3; kinds[$2] = 1 }
      END {
        for (k in minimal) kinds[k] = 1
        for (k in kinds) {
          line = "| " k
          for (j = 1; j <= nb; j++) { x = ((b[j], k) in v) ? v[b[j], k] : 0; line = line " | " x; tot[j] += x }
          printf "%s | %d |\n", line, minimal[k] | "sort"; mt += minimal[k]
        }
        close("sort")
        line = "| **total**"
        for (j = 1; j <= nb; j++) line = line sprintf(" | **%.1f**", tot[j])
        printf "%s | **%d** |\n", line, mt
      }' "$COUNTS"
    echo
  fi
  echo "## Targets"
  echo
  r0="$(round_ratios 0 enrich minimal | median)"
  if [[ -n "$r0" ]]; then
    ok="$(awk -v r="$r0" 'BEGIN { print (r <= 1.15) ? 1 : 0 }')"
    echo "- Envoy CPU per answered request at most 1.15x the minimal filter (0 ms upstream delay, token cached): $(fmt %.2f "$r0")x: $(verdict "$ok")"
  fi
  r20="$(round_ratios 20 enrich minimal | median)"
  if [[ -n "$r20" ]]; then
    echo "  - at 20 ms upstream delay: $(fmt %.2f "$r20")x"
  fi
  pe="$(col 20 enrich 3 | median)" pm="$(col 20 minimal 3 | median)"
  if [[ -n "$pe" && -n "$pm" ]]; then
    ok="$(awk -v a="$pe" -v b="$pm" 'BEGIN { print (a - b <= 500) ? 1 : 0 }')"
    echo "- p50 at 20 ms upstream delay within 0.5 ms of the minimal filter's: $(ms "$pe") vs $(ms "$pm") ms: $(verdict "$ok")"
  fi
  for delay in $DELAYS; do
    bad="$(for kind in $KINDS; do [[ $kind == mock ]] || col "$delay" "$kind" 11; done | awk '$1 > 1 { n++ } END { print n + 0 }')"
    [[ -n "$(col "$delay" enrich 1)" ]] || continue
    echo "- every row keeps its connections at ${delay} ms (at most 1 reconnect per 1000 requests): $( ((bad == 0)) && echo met || echo "**missed** ($bad loads)")"
  done
  e0="$(col 0 enrich 12 | median)" b0="$(col 0 bare 12 | median)" p0="$(col 0 proxy 12 | median)"
  if [[ -n "$e0" && -n "$b0" ]]; then
    echo "- for scale (no target): enrich costs $(ratio "$e0" "$b0")x the bare floor$([[ -n "$min_cpu" ]] && echo ", the minimal filter $(ratio "$(col 0 minimal 12 | median)" "$b0")x")"
    if [[ -n "$p0" ]]; then
      envoy_only="$(awk -v b="$b0" -v p="$p0" 'BEGIN { print b + 3 * (p - b) }')"
      echo "  - one proxied upstream call costs $(ratio "$p0" "$b0")x the floor, so one downstream request plus three" \
        "upstream calls cost about $(fmt %.4f "$envoy_only") CPU-s / 1000 = $(ratio "$envoy_only" "$b0")x the floor in Envoy alone"
    fi
  fi
  for delay in $DELAYS; do
    on="$(col "$delay" enrich 12 | median)" off="$(col "$delay" nomask 12 | median)"
    on_p50="$(col "$delay" enrich 3 | median)" off_p50="$(col "$delay" nomask 3 | median)"
    if [[ -n "$on" && -n "$off" ]]; then
      echo "- privacy at ${delay} ms upstream delay (the demo customer's records, default rules vs off, same Envoy):" \
        "$(fmt %.4f "$on") vs $(fmt %.4f "$off") CPU-s / 1000 requests" \
        "($(awk -v a="$on" -v b="$off" 'BEGIN { printf "%+.4f CPU-ms per request, %+.1f %%", a - b, (a - b) / b * 100 }'));" \
        "p50 $(ms "$on_p50") vs $(ms "$off_p50") ms"
    fi
  done
  if [[ -n "$RSS_LINE" ]]; then
    echo "- RSS flat (within 5%) between $n_first and $n_total enrich requests: $growth %: $(verdict "$flat")"
  fi
  echo "- the wasm size target: see \"Where the bytes go\" (written by the size work, kept here by bench/run.sh)"
  echo
  if [[ -n "$SIZE_SECTION" ]]; then
    echo "$SIZE_SECTION"
    echo
  fi
  echo "## Reference: the Python FastAPI proxy this replaces"
  echo
  echo "| implementation | CPU per request | throughput |"
  echo "|---|---|---|"
  echo "| FastAPI proxy with a shared HTTP client | 4.1 ms | ~250 requests/s |"
  echo "| FastAPI proxy as usually written (a client per request) | 78 ms | ~13 requests/s |"
  echo "| Envoy direct_response floor | ~0.04 ms | |"
  if [[ -n "$e0" ]]; then
    echo "| this filter, 0 ms upstream delay (above) | $(fmt %.3f "$e0") ms | $(fmt %.0f "$(col 0 enrich 2 | median)") requests/s on one Envoy worker |"
  fi
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
cat "$OUT"

if [[ "${BENCH_PERF:-0}" == 1 ]]; then
  {
    echo "# Envoy profiles during \`make bench\` loads (BENCH_PERF=1, $(date -u '+%Y-%m-%d %H:%M UTC'))"
    echo
    echo "perf record -e cpu-clock on the Envoy process (no hardware counters on this machine), during each enrich and"
    echo "minimal load; load average $LOAD_BEFORE before, $LOAD_AFTER after. A stripped Envoy (the pip one) has V8 linked in,"
    echo "so \`envoy\` is Envoy and V8's runtime together (host-call trampolines, the allocator callbacks, logging, stats);"
    echo "V8's generated code (the wasm functions) has no symbols and shows as \`[JIT]\`: its share is the figure."
    echo
    echo "| load | envoy | [JIT] (wasm code) | kernel | libc | vdso |"
    echo "|---|---|---|---|---|---|"
    for f in $(ls "$DIR"/perf-*.data | sort); do
      kind="$(basename "$f" | cut -d- -f2)"
      { perf report -i "$f" --stdio --no-children --sort dso -g none 2>/dev/null | grep -v '^#' | grep -v '^$' \
        | awk -v k="$kind" '{ v[$2] = $1 } END { printf "| %s | %s | %s | %s | %s | %s |\n", k, v["envoy"], v["[JIT]"], v["[kernel.kallsyms]"], v["libc.so.6"], v["[vdso]"] }'; } || true
    done
    for kind in enrich minimal; do
      data="$(ls -t "$DIR"/perf-"$kind"-*.data 2>/dev/null | head -1 || true)"
      [[ -n "$data" ]] || continue
      echo
      echo "## $kind: top symbols (last load)"
      echo
      echo '```'
      { perf report -i "$data" --stdio --no-children --sort dso,sym -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -25; } || true
      echo '```'
    done
  } >bench/profile.md
  log "profiles in bench/profile.md"
fi
