#!/usr/bin/env bash
# ctest's fuzz tests: runs one libFuzzer target for SECONDS against a scratch copy of its seed
# corpus in WORK (what it finds goes there, never into the source tree). A crash, a sanitizer
# report, a leak or an input taking over 10 s fails the test, which prints the end of the log; the
# failing input is kept in WORK/artifacts.
#   run_fuzzer.sh FUZZER SEED_CORPUS WORK SECONDS [libFuzzer flags...]
set -euo pipefail
fuzzer=$1 seeds=$2 work=$3 seconds=$4
shift 4
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
cp -R "$seeds"/. "$work/corpus/"
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$@" "$work/corpus" >"$work/log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
  echo "$(basename "$fuzzer") failed (exit $status); the end of $work/log:"
  tail -n 200 "$work/log"
  exit "$status"
fi
grep -E '^(INFO: seed corpus|Done|stat::number_of_executed_units|stat::new_units_added)' "$work/log" || true
