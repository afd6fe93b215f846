#!/usr/bin/env bash
# `make host-call-cost`: what one host call of each kind costs Envoy (1.40, V8) per call, measured.
# One Envoy (--concurrency 1, pinned to one core; wrk -t1 and the mocks on the other, 0 ms
# upstream delay) runs the minimal filter (bench/minimal-filter, the limit row of `make bench`)
# on one listener as it is ("plain"), and once more per kind on listeners of their own with the
# configuration word `extra=KIND:N`: N more host calls of that kind per enrich request. Every
# load of a kind sits between two loads of plain (P K1 P K2 ... P Kn, rounds one after the
# other, one more P at the end), and a kind's cost per call in a round is
#   (Envoy CPU per answered 200 with the extra calls - the mean of its two plain neighbours) / N
# and the report gives the median over the rounds [min-max]. Envoy CPU is utime+stime of the
# whole process (/proc/PID/stat), as bench/run.sh measures it. The machine's load drifts within
# minutes, so a kind is only compared with the loads right next to it; the kinds' order rotates
# from round to round.
#
# Writes the section "## What one host call costs (bench/host-call-cost.sh)" of bench/results.md
# (replacing an earlier one; bench/run.sh keeps it when it rewrites the file) and prints it. The
# estimate at its end multiplies the product's host calls over the minimal filter's (the table
# "Host calls per enrich request" of the same file, written by `make bench`) by these costs.
#
# Environment (all optional):
#   HOSTCOST_CALLS     KIND:N words, the kinds measured and their extra calls per request
#                      (default below; kinds: see bench/minimal-filter/src/extra.rs)
#   HOSTCOST_DURATION=5   seconds of each load
#   HOSTCOST_REPEATS=7    rounds (about 11 minutes with the defaults)
#   HOSTCOST_OUT=bench/results.md
#   BENCH_CONNECTIONS=16, BENCH_ENVOY_CPU=1, BENCH_LOAD_CPU=0, BENCH_BUILD=1, BENCH_PORT_BASE=10100,
#   BENCH_ENVOY_ARGS: as for bench/run.sh. Ports: BASE (the product, idle), +1 (floor), +3 (plain),
#   +11 (admin), +21..+24 (mocks), +60.. (one per kind)
# Run it under `flock /tmp/cognigy-fixed-ports.lock` (the Makefile target does).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

# N: one load of the plain filter varies by 10-20 % of its few hundred microseconds per request,
# so a kind's N extra calls must add several tens of microseconds to stand out. A first pass gave
# ~0.1-0.6 us for the calls that return nothing, ~1-2 us for those that return bytes and 2-4 us
# for a log line: N is 200-400, 50-100 and 40 so that each kind adds roughly 50-150 us. The log
# lines go to Envoy's log file (tens of MB/s during that kind's loads; deleted at the end).
CALLS="${HOSTCOST_CALLS:-time:200 counter:200 histogram:200 log:40 property:400 shared_data:100 header:100 header_pairs:50 context:400}"
DURATION="${HOSTCOST_DURATION:-5}"
REPEATS="${HOSTCOST_REPEATS:-7}"
OUT="${HOSTCOST_OUT:-bench/results.md}"
LISTENER=$BASE FLOOR=$((BASE + 1)) MINIMAL=$((BASE + 3))
PLUGIN_CONFIG="$(one_line <bench/config.json)"
DIR=.run/host-call-cost

log() { echo "host-call-cost: $*" >&2; }
die() { log "$*"; exit 1; }

KINDS=()
declare -A N_OF PORT_OF
i=0
for word in $CALLS; do
  kind="${word%%:*}" n="${word#*:}"
  [[ $kind =~ ^[a-z_]+$ && $n =~ ^[1-9][0-9]*$ ]] || die "HOSTCOST_CALLS: $word is not KIND:N"
  KINDS+=("$kind") N_OF[$kind]=$n PORT_OF[$kind]=$((BASE + 60 + i))
  i=$((i + 1))
done

# --- builds ------------------------------------------------------------------------------------------
scripts/install-tools.sh bench
if [[ "${BENCH_BUILD:-1}" == 1 ]]; then
  # The product only fills the gateway listener the bootstrap is rendered from; it stays idle.
  make --no-print-directory build >&2
  cargo build --release -p mock-upstreams >&2
  (cd bench/minimal-filter && cargo build --release --target wasm32-wasip1 --target-dir ../../target/minimal-filter) >&2
fi
for f in "$WASM" "$MINIMAL_WASM" "$MOCKS_BIN"; do [[ -f $f ]] || die "$f missing"; done
mkdir -p "$DIR"
for port in $LISTENER $FLOOR $MINIMAL $ADMIN $TOKEN_PORT $PROFILE_PORT $ORDERS_PORT $CRM_PORT "${PORT_OF[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port is in use (BENCH_PORT_BASE moves the ports)"
  fi
done

# --- processes (as bench/run.sh) ------------------------------------------------------------------------
ENVOY_PID="" MOCKS_PID="" WRK_PID=""
trap 'stop_pid WRK_PID; stop_pid ENVOY_PID; stop_pid MOCKS_PID' EXIT
trap 'exit 130' INT TERM

BEARER=""
start_mocks() {
  "${ON_LOAD_CPU[@]}" "$MOCKS_BIN" --delay-ms 0 --token-port "$TOKEN_PORT" --profile-port "$PROFILE_PORT" \
    --orders-port "$ORDERS_PORT" --crm-port "$CRM_PORT" >"$DIR/mocks.log" 2>&1 &
  MOCKS_PID=$!
  for _ in $(seq 1 100); do
    if grep -q "listening" "$DIR/mocks.log" 2>/dev/null; then
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


BOOTSTRAP="$DIR/envoy.yaml"
start_envoy() {
  local plain listeners kind
  plain="$(minimal_config)"
  listeners="$(for kind in "${KINDS[@]}"; do
    printf '%s\t%s\t%s\n' "x_$kind" "${PORT_OF[$kind]}" "$plain extra=$kind:${N_OF[$kind]}"
  done | python3 -c 'import json, sys
print(json.dumps({n: [int(p), c] for n, p, c in (l.rstrip("\n").split("\t") for l in sys.stdin)}))')"
  BENCH_MINIMAL_PORT=$MINIMAL BENCH_MINIMAL_WASM=$MINIMAL_WASM BENCH_MINIMAL_CONFIG="$plain" \
    BENCH_MINIMAL_LISTENERS="$listeners" \
    python3 bench/render-bootstrap.py "$BOOTSTRAP" "$WASM" "$LISTENER" "$FLOOR" "$ADMIN" \
    "$TOKEN_PORT" "$PROFILE_PORT" "$ORDERS_PORT" "$CRM_PORT" "$PLUGIN_CONFIG"
  # shellcheck disable=SC2086 # BENCH_ENVOY_ARGS is words
  "${ON_ENVOY_CPU[@]}" "$ENVOY_BIN" -c "$BOOTSTRAP" --concurrency 1 --log-path "$DIR/envoy.log" ${BENCH_ENVOY_ARGS:-} &
  ENVOY_PID=$!
  for _ in $(seq 1 240); do
    curl -fsS "http://127.0.0.1:$ADMIN/ready" >/dev/null 2>&1 && return 0
    kill -0 "$ENVOY_PID" 2>/dev/null || { tail -20 "$DIR/envoy.log" >&2; die "Envoy exited"; }
    sleep 0.25
  done
  die "Envoy not ready"
}

CLK_TCK="$(getconf CLK_TCK)"
port_of() { if [[ $1 == plain ]]; then echo "$MINIMAL"; else echo "${PORT_OF[$1]}"; fi; }
url_of() { echo "http://127.0.0.1:$(port_of "$1")/api/v1/agent-assist/enrich"; }
enrich_once() { # KIND: the status of one enrich request
  curl -sS -o "$DIR/last-answer.json" -w '%{http_code}' -X POST "$(url_of "$1")" \
    -H "Authorization: Bearer $WEBHOOK_TOKEN" -H 'Content-Type: application/json' \
    -d '{"sessionId":"bench-warm","customerNumber":"CUST-992847","intent":"warm","variables":{}}'
}
wrk_run() { # KIND SECONDS: wrk (the bench's load.lua, a new customer each request) into $DIR/wrk.out
  BENCH_ENRICH=distinct "${ON_LOAD_CPU[@]}" wrk -t1 -c"$CONNS" -d"$2s" --timeout 10s -s bench/load.lua \
    "$(url_of "$1")" >"$DIR/wrk.out" 2>&1 &
  WRK_PID=$!
  wait "$WRK_PID" || true
  WRK_PID=""
}
# One load; prints "requests rps non2xx errors load1 cpu_us_per_answered_200".
load() { # KIND
  local cpu0 cpu1 line
  cpu0="$(cpu_ticks)"
  wrk_run "$1" "$DURATION"
  cpu1="$(cpu_ticks)"
  cat "$DIR/wrk.out" >>"$DIR/wrk.log"
  line="$(grep '^BENCH ' "$DIR/wrk.out")" || die "no result from wrk: $(cat "$DIR/wrk.out")"
  field() { sed -E "s/.* $1=([0-9.]+).*/\1/" <<<"$line"; }
  awk -v r="$(field requests)" -v rps="$(field rps)" -v n="$(field non2xx)" -v e="$(field errors)" \
    -v c0="$cpu0" -v c1="$cpu1" -v hz="$CLK_TCK" -v l="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
      ok = r - n; if (ok < 1) ok = 1
      printf "%d %.1f %d %d %s %.2f\n", r, rps, n, e, l, (c1 - c0) / hz * 1e6 / ok }'
}

# --- the loads -----------------------------------------------------------------------------------------
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
RESULTS="$DIR/results.tsv" # round kind slot requests rps non2xx errors load1 cpu_us
: >"$RESULTS"
: >"$DIR/wrk.log"
start_mocks
start_envoy
for kind in plain "${KINDS[@]}"; do
  status="$(enrich_once "$kind")"
  [[ "$status" == 200 ]] || { cat "$DIR/last-answer.json" >&2; die "warm-up of $kind answered $status"; }
  wrk_run "$kind" 2 # the connection pools and the VM's code
done
measure() { # ROUND KIND: one load, a line of $RESULTS
  log "round $1/$REPEATS: $2 for ${DURATION}s"
  local row
  row="$(load "$2")" && [[ -n "$row" ]] || die "the $2 load gave no figures"
  printf '%s\t%s\t%s\n' "$1" "$2" "$(tr ' ' '\t' <<<"$row")" >>"$RESULTS"
}
for round in $(seq 1 "$REPEATS"); do
  # The kinds rotated by one place each round, each after a plain load.
  for j in $(seq 0 $((${#KINDS[@]} - 1))); do
    measure "$round" plain
    measure "$round" "${KINDS[$(((j + round - 1) % ${#KINDS[@]}))]}"
  done
done
measure "$REPEATS" plain
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

# Checks that the extra calls happened: the counter's value and the log lines, against the
# requests each listener saw (warm-ups included).
CHECKS=""
if [[ -n "${N_OF[counter]:-}" ]]; then
  rq="$(stat_value "http.x_counter.downstream_rq_total")"
  value="$(stat_value "wasmcustom.bench_probe_calls")"
  CHECKS+="counter: ${value:-none} increments for $rq requests x ${N_OF[counter]}; "
fi
ENVOY_VERSION="$("$ENVOY_BIN" --version | sed -n 's/.*version: //p' | tr -d '\n')"
log_rq=""
[[ -n "${N_OF[log]:-}" ]] && log_rq="$(stat_value "http.x_log.downstream_rq_total")"
stop_pid ENVOY_PID # flushes the log file
stop_pid MOCKS_PID
if [[ -n "$log_rq" ]]; then
  CHECKS+="log: $(grep -c 'bench-probe-0000' "$DIR/envoy.log" || true) lines for $log_rq requests x ${N_OF[log]}"
fi
rm -f "$DIR/envoy.log" # some hundred MB of probe lines

# --- the report ------------------------------------------------------------------------------------------
SECTION="$(python3 - "$RESULTS" "$OUT" "$CALLS" <<PY
import os, re, statistics, sys
results, out, calls = sys.argv[1], sys.argv[2], sys.argv[3].split()
n_of = {w.split(":")[0]: int(w.split(":")[1]) for w in calls}
rows = [l.rstrip("\n").split("\t") for l in open(results) if l.strip()]
# Each kind's load against the mean of the plain loads right before and after it.
cpu, diff, p, bad = {}, {}, [], 0
plains = [i for i, r in enumerate(rows) if r[1] == "plain"]
for i, (rnd, kind, _req, _rps, non2xx, errors, _load, us) in enumerate(rows):
    bad += int(non2xx) + int(errors)
    if kind == "plain":
        p.append(float(us))
        continue
    near = [float(rows[j][7]) for j in (max([j for j in plains if j < i], default=None),
                                        min([j for j in plains if j > i], default=None)) if j is not None]
    if near:
        cpu.setdefault(kind, []).append(float(us))
        diff.setdefault(kind, []).append(float(us) - statistics.mean(near))
def rng(v, f):
    return f" [{f.format(min(v))}-{f.format(max(v))}]"
print("## What one host call costs (bench/host-call-cost.sh)")
print()
print("- date: $(date -u '+%Y-%m-%d %H:%M UTC'); load average (1/5/15 min) $LOAD_BEFORE before, $LOAD_AFTER after")
print("- Envoy $ENVOY_VERSION, \`--concurrency 1\` pinned to core $ENVOY_CPU; wrk (\`-t1 -c$CONNS\`, a new customer each request) and the mocks (0 ms delay) pinned to core $LOAD_CPU")
print("- method: one Envoy runs the minimal filter (bench/minimal-filter) plain and, on a listener of its own per kind, with"
      " \`extra=KIND:N\`: N more host calls of that kind per enrich request, in its last body callback before the three dispatches,"
      " results discarded (bench/minimal-filter/src/extra.rs); the figure is the whole process, so it includes the wasm side of each"
      " call (the loop, and for calls that return bytes the VM's allocation and free). $REPEATS rounds of ${DURATION} s loads; every load of a kind sits"
      " between two loads of plain (the kinds' order rotated one place per round). Envoy CPU = utime+stime of the process per answered 200."
      " Cost of one call = (the kind's CPU per request - the mean of its two plain neighbours) / N, the median over the rounds"
      " [min-max]. Calls that return bytes (\`shared_data\`, \`header\`, \`header_pairs\`) include the host's"
      " \`proxy_on_memory_allocate\` call into the VM and the copy; \`context\` alternates the root's context and the request's."
      " N differs by kind so that each kind adds some 50-150 us per request, well above one load's noise (bench/host-call-cost.sh says why)")
print(f"- the plain minimal filter: {statistics.median(p):.1f} us of Envoy CPU per request{rng(p, '{:.1f}')} (median of its {len(p)} loads)")
print(f"- non-2xx responses and socket errors over all loads: {bad}; ${CHECKS:-no checks}")
print()
print("| kind | host call | N extra per request | Envoy CPU us / request with them, median [min-max] | us per call, median of rounds [min-max] |")
print("|---|---|---|---|---|")
call = {"time": "proxy_get_current_time_nanoseconds", "counter": "proxy_increment_metric (counter)",
        "histogram": "proxy_record_metric (histogram)", "log": "proxy_log (info, ~200 bytes)",
        "property": "proxy_set_property (filter state)", "shared_data": "proxy_get_shared_data (300 bytes) + allocation",
        "header": "proxy_get_header_map_value (x-request-id) + allocation",
        "header_pairs": "proxy_get_header_map_pairs (request headers) + allocation",
        "context": "proxy_set_effective_context"}
cost = {}
for kind, n in n_of.items():
    per = [d / n for d in diff.get(kind, [])]
    if not per:
        continue
    cost[kind] = statistics.median(per)
    v = cpu[kind]
    print(f"| {kind} | {call.get(kind, kind)} | {n} | {statistics.median(v):.1f}{rng(v, '{:.1f}')} | **{cost[kind]:.2f}**{rng(per, '{:.2f}')} |")
print()
# The product's extra calls over the minimal filter, from the host-call table of the same file.
text = open(out).read() if out and os.path.exists(out) else ""
m = re.search(r"^## Host calls per enrich request\n(.*?)(?=^## )", text, re.M | re.S)
host = {"get_current_time_nanoseconds": "time", "increment_metric": "counter", "record_metric": "histogram",
        "log": "log", "set_property": "property", "get_shared_data": "shared_data",
        "get_header_map_value": "header", "get_header_map_pairs": "header_pairs", "set_effective_context": "context"}
if m:
    terms, total, missing = [], 0.0, []
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0] not in host:
            continue
        extra = float(cells[1]) - float(cells[-1])
        kind = host[cells[0]]
        if round(extra) <= 0:
            continue
        if kind not in cost:
            missing.append(kind)
            continue
        total += extra * cost[kind]
        terms.append(f"{extra:.0f} {kind} x {cost[kind]:.2f}")
    print(f"- the product's extra host calls over the minimal filter (table \"Host calls per enrich request\" above, column"
          f" \"current\" minus \"minimal filter\"; the extra \`on_memory_allocate\` callbacks are inside the bytes-returning kinds):"
          f" {' + '.join(terms)} = **{total:.1f} us** of Envoy CPU per request"
          + (f" (not measured: {', '.join(missing)})" if missing else "")
          + ", against the ~110 us more per request that the product spends in Envoy and V8's runtime (issue 17, perf: bench/profile.md): "
          + f"{total / 110 * 100:.0f} % of it")
else:
    print("- no \"Host calls per enrich request\" table in the results file: no estimate for the product")
PY
)"
bench/put-section.py "$OUT" "## What one host call costs" <<<"$SECTION"
echo "$SECTION"
