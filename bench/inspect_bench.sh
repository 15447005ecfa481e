#!/usr/bin/env bash
# Inspection benchmark (issue 5): `casewatch inspect` of a 250k-case, ~15M-event history as of a
# past date, with a case sample, a comparison with the year before and all three outputs, from
# an event file and (given --data) from an engine's store. Prints a Markdown table for
# docs/benchmarks.md.
#   ./run bench inspect [--events FILE] [--data DIR] [--runs 3] [--as-of T] [--compare-as-of T0]
# Without --events, build/inspect-bench/s250k.bin is simulated once (250,000 cases over 60 months
# from 2020-01-01, seed 1). DIR is a store made by `build/release/bench/engine_bench scale
# --cases 250000 --months 60 --keep DIR`; it is only read (as a secondary). Needs GNU time and jq.
set -euo pipefail
cd "$(dirname "$0")/.."
B=build/release/services/cli/casewatch
OUT=build/inspect-bench
mkdir -p "$OUT"

EVENTS=""
DATA=""
RUNS=3
AS_OF=2024-12-31T23:59:59Z
COMPARE=2023-12-31T23:59:59Z
while [ $# -gt 0 ]; do
  case "$1" in
    --events) EVENTS="$2"; shift 2 ;;
    --data) DATA="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --as-of) AS_OF="$2"; shift 2 ;;
    --compare-as-of) COMPARE="$2"; shift 2 ;;
    *) echo "inspect_bench: unknown flag $1" >&2; exit 2 ;;
  esac
done
if [ -z "$EVENTS" ]; then
  EVENTS="$OUT/s250k.bin"
  if [ ! -s "$EVENTS" ]; then
    echo "simulating $EVENTS ..." >&2
    "$B" simulate --cases 250000 --start 2020-01-01 --months 60 --seed 1 --out "$EVENTS"
  fi
fi

# One source: RUNS timed runs; prints "median_seconds max_seconds peak_rss_mib".
measure() {
  local times=() rss=0
  for run in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$B" inspect "$@" --as-of "$AS_OF" \
      --from "${AS_OF:0:4}-01-01" --sample 80 --seed 1 --compare-as-of "$COMPARE" \
      --html "$OUT/report.html" --json "$OUT/report.json" --csv "$OUT/report.csv" \
      --progress none 2>>"$OUT/inspect.log"
    read -r seconds kib <"$OUT/time.txt"
    times+=("$seconds")
    [ "$kib" -gt "$rss" ] && rss="$kib"
  done
  local sorted
  sorted=$(printf '%s\n' "${times[@]}" | sort -n)
  echo "$(echo "$sorted" | sed -n "$(((RUNS + 1) / 2))p") $(echo "$sorted" | tail -1) $((rss / 1024)) ($(echo "$sorted" | paste -sd/))"
}

echo "| source | events | median s | slowest s | peak RSS MiB | runs (s) |"
echo "|---|---|---|---|---|---|"
read -r median slowest rss runs <<<"$(measure --events "$EVENTS")"
events=$(jq '.data_quality.accepted' "$OUT/report.json")
echo "| event file $(basename "$EVENTS") ($(du -h "$EVENTS" | cut -f1)) | $events | $median | $slowest | $rss | $runs |"
if [ -n "$DATA" ]; then
  read -r median slowest rss runs <<<"$(measure --data "$DATA")"
  events=$(jq '.data_quality.accepted' "$OUT/report.json")
  echo "| engine store $(basename "$DATA") ($(du -sh "$DATA" | cut -f1)) | $events | $median | $slowest | $rss | $runs |"
fi
