#!/usr/bin/env bash
# ctest's tsan_catches_a_broken_lock: tsan_race (built by the tsan preset) must be reported by
# ThreadSanitizer as a data race.
#   tsan_check.sh TSAN_RACE_BINARY
set -uo pipefail
out=$(TSAN_OPTIONS="halt_on_error=1 exitcode=66" "$1" 2>&1)
status=$?
if [ "$status" -ne 66 ] || ! grep -q "ThreadSanitizer: data race" <<<"$out"; then
  echo "FAIL: ThreadSanitizer did not report the race in tsan_race (exit $status):"
  echo "$out" | tail -20
  exit 1
fi
echo "ok: ThreadSanitizer reports the race:"
grep -m1 -A3 "ThreadSanitizer: data race" <<<"$out"
