#!/usr/bin/env bash
# Replay benchmark: simulated histories of ~100k and ~1M events, NDJSON and binary, replayed by
# `casewatch replay --stats` (one thread). Prints events/s (median of N runs) and peak RSS as a
# Markdown table for docs/benchmarks.md. Data goes to bench/data/ (not committed).
#   ./run bench [runs]        (default 5 runs each)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/release/services/cli/casewatch
RUNS="${1:-5}"
DATA=bench/data
mkdir -p "$DATA"

generate() {  # name cases
  local name=$1 cases=$2
  for ext in ndjson bin; do
    if [ ! -s "$DATA/$name.$ext" ]; then
      "$BIN" simulate --cases "$cases" --start 2020-01-01 --months 24 --seed 1 --quiet \
        --out "$DATA/$name.$ext"
    fi
  done
}
generate e100k 2000
generate e1m 20000

echo "| input | records | events/s (median of $RUNS) | min–max events/s | peak RSS |"
echo "|---|---|---|---|---|"
for name in e100k e1m; do
  for ext in ndjson bin; do
    rates=()
    rss=0
    records=0
    for _ in $(seq "$RUNS"); do
      line=$("$BIN" replay --events "$DATA/$name.$ext" --as-of 2021-12-31T23:59:59Z --stats \
               2>&1 >/dev/null | grep '^stats:')
      records=$(sed -E 's/.*records=([0-9]+).*/\1/' <<<"$line")
      rates+=("$(sed -E 's/.*events_per_second=([0-9]+).*/\1/' <<<"$line")")
      r=$(sed -E 's/.*peak_rss_mib=([0-9.]+).*/\1/' <<<"$line")
      rss=$(awk -v a="$rss" -v b="$r" 'BEGIN { print (b > a) ? b : a }')
    done
    sorted=$(printf '%s\n' "${rates[@]}" | sort -n)
    median=$(sed -n "$(( (RUNS + 1) / 2 ))p" <<<"$sorted")
    echo "| $name.$ext | $records | $median | $(head -1 <<<"$sorted")–$(tail -1 <<<"$sorted") | ${rss} MiB |"
  done
done
