#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets/) for SECONDS each: `make fuzz` (FUZZ_SECONDS, 60 by
# default) and `make fuzz-smoke` (a few seconds each, part of `make test`).
#   scripts/fuzz.sh [SECONDS]        FUZZ_TARGETS="payload engine" limits the targets
# Each target starts from its committed seeds (fuzz/seeds/<target>) plus what earlier runs found
# (fuzz/corpus/<target>, not committed). A crash, a timeout, an allocation over MALLOC_MB or a
# process over RSS_MB fails the run; the input lands in fuzz/artifacts/<target>/ and the line to
# reproduce it is printed. Crashes become regression tests in the core, fixed at the root.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${1:-${FUZZ_SECONDS:-60}}"
read -r -a targets <<< "${FUZZ_TARGETS:-payload replies aggregate engine credentials privacy mcp}"
RSS_MB="${RSS_MB:-2048}"
MALLOC_MB="${MALLOC_MB:-256}"
# cargo-fuzz builds with -Zsanitizer=address; this machine has only the stable toolchain, which
# accepts the flag when told it is bootstrapping.
export RUSTC_BOOTSTRAP=1

# The largest input each target reads: the request body limit for the payload, less elsewhere
# (more bytes there only lengthen the same lists).
max_len() {
  case "$1" in
    payload) echo 65536 ;;
    engine) echo 8192 ;;
    *) echo 16384 ;;
  esac
}

mkdir -p out
started=$SECONDS
if ! cargo fuzz build > out/build.log 2>&1; then
  echo "fuzz: building the targets failed; the end of $PWD/out/build.log:" >&2
  tail -40 out/build.log >&2
  exit 1
fi
echo "fuzz: targets built in $((SECONDS - started))s"
status=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "seeds/$t"
  log="out/$t.log"
  if cargo fuzz run "$t" "corpus/$t" "seeds/$t" -- \
      -max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=10 \
      -rss_limit_mb="$RSS_MB" -malloc_limit_mb="$MALLOC_MB" -print_final_stats=1 \
      > "$log" 2>&1; then
    runs="$(awk '/stat::number_of_executed_units/ {print $2}' "$log")"
    rate="$(awk '/stat::average_exec_per_sec/ {print $2}' "$log")"
    rss="$(awk '/stat::peak_rss_mb/ {print $2}' "$log")"
    cov="$(grep -o 'cov: [0-9]*' "$log" | tail -1)"
    printf 'fuzz %-10s ok: %s runs in %ss (%s/s), %s, peak RSS %s MB\n' \
      "$t" "$runs" "$seconds" "$rate" "$cov" "$rss"
  else
    status=1
    echo "fuzz $t FAILED; the end of $PWD/$log:" >&2
    grep -v '^#[0-9]' "$log" | tail -40 >&2
    artifact="$(ls -t "artifacts/$t"/* 2>/dev/null | head -1 || true)"
    if [[ -n "$artifact" ]]; then
      echo "reproduce: (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run $t $artifact)" >&2
    fi
  fi
done
exit $status
