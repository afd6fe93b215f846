#!/usr/bin/env bash
# `make bench-wasm-profile`: where the filter's wasm time goes per enrich request, by function.
# Envoy's V8 cannot name the wasm frames (the pip Envoy is stripped, V8 flags cannot be set), so
# the product (the optimized module with its names kept, cognigy_enrich.named.wasm: the shipped
# code) and the minimal filter (bench/minimal-filter, as `make bench` loads it) run in Node.js's
# V8 behind a small proxy-wasm host in JavaScript (bench/proxy-wasm-host.mjs), driven by
# bench/wasm-profile.mjs with `make bench`'s requests (bench/load.lua: a new customer number on
# every request, token cached, the mocks' bodies from bench/fixtures) and checked one by one.
# Each module: WASMPROF_BATCHES timed batches of WASMPROF_REQUESTS after WASMPROF_WARMUP requests
# (the best batch is the figure), then WASMPROF_PROFILE_RUNS runs of their own under V8's CPU
# profiler (WASMPROF_REQUESTS after the same warm-up; the least disturbed is kept), summarized by
# bench/cpuprofile-buckets.mjs. No Envoy, no ports.
#
# Writes the section "## Where the wasm time goes (bench/wasm-profile.sh)" of bench/results.md
# (replacing an earlier one; bench/run.sh keeps it) and prints it. The profiles stay in
# .run/wasm-profile/*.cpuprofile (Chrome DevTools opens them).
#
# Environment (all optional):
#   WASMPROF_WARMUP=2000 WASMPROF_REQUESTS=20000 WASMPROF_BATCHES=7 WASMPROF_PROFILE_RUNS=5
#   WASMPROF_INTERVAL_US=100   the profiler's sampling interval
#   WASMPROF_OUT=bench/results.md
#   WASMPROF_REUSE=0           1: no runs, the section rewritten from the last run's files in
#                              .run/wasm-profile (after a change to the summary)
#   BENCH_BUILD=1              0 skips the builds (uses what target/ has)
set -euo pipefail
cd "$(dirname "$0")/.."

WARMUP="${WASMPROF_WARMUP:-2000}"
REQUESTS="${WASMPROF_REQUESTS:-20000}"
BATCHES="${WASMPROF_BATCHES:-7}"
PROFILE_RUNS="${WASMPROF_PROFILE_RUNS:-5}"
INTERVAL="${WASMPROF_INTERVAL_US:-100}"
OUT="${WASMPROF_OUT:-bench/results.md}"
DIR=.run/wasm-profile
PRODUCT_WASM=target/wasm32-wasip1/release/cognigy_enrich.named.wasm
MINIMAL_WASM=target/minimal-filter/wasm32-wasip1/release/minimal_filter.wasm

log() { echo "wasm-profile: $*" >&2; }

if [[ "${BENCH_BUILD:-1}" == 1 ]]; then
  make --no-print-directory build >&2
  (cd bench/minimal-filter && cargo build --release --target wasm32-wasip1 --target-dir ../../target/minimal-filter) >&2
fi
[[ -f "$PRODUCT_WASM" ]] || { log "$PRODUCT_WASM missing (make build with binaryen: scripts/optimize-wasm.sh)"; exit 1; }
[[ -f "$MINIMAL_WASM" ]] || { log "$MINIMAL_WASM missing"; exit 1; }

measure() { # both modules, timed then profiled; the files of the run in $DIR
  LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
  RUN_DATE="$(date -u '+%Y-%m-%d %H:%M UTC')"
  for module in product minimal; do
    log "$module: $BATCHES x $REQUESTS requests after $WARMUP"
    node --no-warnings bench/wasm-profile.mjs --module "$module" --warmup "$WARMUP" \
      --requests "$REQUESTS" --batches "$BATCHES" >"$DIR/$module.timing.json"
    cat "$DIR/$module.timing.json" >&2
    # The sampler's intervals are wall-clock time: a run the machine's other work disturbed shows
    # it in every bucket. Of PROFILE_RUNS runs, the least disturbed (least time per request) is kept.
    best=""
    for run in $(seq 1 "$PROFILE_RUNS"); do
      log "$module: profiled run $run/$PROFILE_RUNS, $REQUESTS requests after $WARMUP"
      node --no-warnings bench/wasm-profile.mjs --module "$module" --warmup "$WARMUP" \
        --requests "$REQUESTS" --batches 1 --interval-us "$INTERVAL" \
        --profile "$DIR/$module.run$run.cpuprofile" >"$DIR/$module.run$run.json"
      cat "$DIR/$module.run$run.json" >&2
      us="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["best_us"])' "$DIR/$module.run$run.json")"
      if [[ -z "$best" ]] || python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)' "$us" "$best"; then
        best=$us
        cp "$DIR/$module.run$run.cpuprofile" "$DIR/$module.cpuprofile"
        cp "$DIR/$module.run$run.json" "$DIR/$module.profiled.json"
      fi
    done
    rm -f "$DIR/$module".run*.cpuprofile "$DIR/$module".run*.json
  done
  LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
  printf 'LOAD_BEFORE=%q LOAD_AFTER=%q RUN_DATE=%q WARMUP=%q REQUESTS=%q BATCHES=%q PROFILE_RUNS=%q INTERVAL=%q\n' \
    "$LOAD_BEFORE" "$LOAD_AFTER" "$RUN_DATE" "$WARMUP" "$REQUESTS" "$BATCHES" "$PROFILE_RUNS" "$INTERVAL" >"$DIR/run.env"
}

mkdir -p "$DIR"
if [[ "${WASMPROF_REUSE:-0}" == 1 ]]; then
  for f in product.timing.json product.profiled.json product.cpuprofile minimal.timing.json \
    minimal.profiled.json minimal.cpuprofile run.env; do
    [[ -f "$DIR/$f" ]] || { log "WASMPROF_REUSE=1: $DIR/$f missing"; exit 1; }
  done
  # shellcheck disable=SC1091 # written below by the run being reused
  source "$DIR/run.env"
else
  measure
fi

TABLES="$(node bench/cpuprofile-buckets.mjs --requests "$REQUESTS" --top 25 \
  "product=$DIR/product.cpuprofile" "minimal=$DIR/minimal.cpuprofile")"

SECTION="$(python3 - "$DIR" "$LOAD_BEFORE" "$LOAD_AFTER" "$(node --version)" "$TABLES" "$RUN_DATE" \
  "$(stat -c %s "$PRODUCT_WASM")" "$(stat -c %s "$MINIMAL_WASM")" "$WARMUP" "$REQUESTS" "$BATCHES" "$PROFILE_RUNS" "$INTERVAL" <<'PY'
import json, os, sys
d, load0, load1, node, tables, now, psize, msize, warmup, n, batches, pruns, interval = sys.argv[1:]
t = {m: json.load(open(os.path.join(d, f"{m}.timing.json"))) for m in ("product", "minimal")}
p = {m: json.load(open(os.path.join(d, f"{m}.profiled.json"))) for m in ("product", "minimal")}
print("## Where the wasm time goes (bench/wasm-profile.sh)")
print()
print(f"`make bench-wasm-profile`, {now}: Node.js {node} (V8) on this machine, load average {load0} before, {load1} after (other work shares it: compare the two modules of one run). "
      "Envoy's V8 cannot name the wasm frames, so each module runs behind a small proxy-wasm host in JavaScript (bench/proxy-wasm-host.mjs: ABI 0.2.1 as the Rust SDK 0.2.5 uses it, "
      "node:wasi for WASI, the secrets in the WASI environment as Envoy's `environment_variables` give them), driven by bench/wasm-profile.mjs with `make bench`'s enrich requests: "
      "the headers Envoy hands the filter for wrk's POST, a new customer number on every request, the body in two callbacks, the three callouts answered with the mocks' bodies (bench/fixtures), "
      "token cached after the first request; every answer checked (a 200 with the four keys; the minimal filter's: the three bodies). "
      f"Modules: the product's optimized module with its names kept (`cognigy_enrich.named.wasm`, the shipped code; {psize} bytes) and the minimal filter as `make bench` loads it ({msize} bytes).")
print()
print(f"Time per request inside the host's request() (the module's callbacks, their host calls and this host's work behind them), {warmup} requests of warm-up, then {batches} batches of {n}; best batch [all batches]:")
print()
print("| module | us per request (best) | batches | host calls per request | of them |")
print("|---|---:|---|---:|---|")
for m in ("product", "minimal"):
    r = t[m]
    calls = ", ".join(f"{k} {v:g}" for k, v in r["host_calls_by_kind"].items())
    print(f"| {m} | **{r['best_us']:.1f}** | {' / '.join(f'{x:.1f}' for x in r['us_per_request'])} | {r['host_calls_per_request']:g} | {calls} |")
print()
print("The host calls per request are those Envoy counts for the same requests (\"Host calls per enrich request\" above): the emulation makes the module do the same work. "
      f"Under the profiler (V8's CPU profiler as `node --cpu-prof` runs it, sampling every {interval} us, started after the warm-up; {n} requests; of {pruns} such runs the least disturbed is kept) a request took "
      f"{p['product']['best_us']:.1f} us (product) and {p['minimal']['best_us']:.1f} us (minimal) in the timed part; "
      "the tables give the profile's self time per request (the sampler's intervals, the checks outside the timed part included). "
      "The wasm rows are the module's own code as V8's optimizing tier runs it; the wrappers are V8's JS<->wasm transitions of this host (Envoy's are C++); "
      "the JS rows are this host and driver, not Envoy's cost. A function's bucket is the crate of its own path (drop glue: of what it drops); "
      "generic code of core/alloc/std instantiated for the filter's types stays in core/alloc/std.")
print()
print(tables)
PY
)"

bench/put-section.py "$OUT" "## Where the wasm time goes" <<<"$SECTION"
echo "$SECTION"
