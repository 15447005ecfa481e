#!/usr/bin/env bash
# The caseload view, period reports and the monthly trend on a large store (issue 14): casewatchd
# --read-only on DIR, requests from curl on loopback, one at a time. Prints a Markdown table for
# docs/benchmarks.md.
#   bench/caseload_bench.sh --data DIR [--requests 300]
# DIR is a store made by `build/release/bench/engine_bench scale --cases 250000 --months 60
# --keep DIR`. casewatchd serves it read-only (no broker, no engine); RocksDB may still tidy its
# own files in DIR. Scopes are picked from /api/v1/breakdown: the first region's first PDU, and
# that PDU's first team. Needs curl and jq.
set -euo pipefail
cd "$(dirname "$0")/.."
D=build/release/services
OUT=build/caseload-bench
DATA=""
REQUESTS=300
while [ $# -gt 0 ]; do
  case "$1" in
    --data) DATA="$2"; shift 2 ;;
    --requests) REQUESTS="$2"; shift 2 ;;
    *) echo "usage: $0 --data DIR [--requests N]" >&2; exit 2 ;;
  esac
done
if [ -z "$DATA" ] || [ ! -d "$DATA" ]; then
  echo "caseload_bench: --data DIR: a store made by" \
       "\`build/release/bench/engine_bench scale --cases 250000 --months 60 --keep DIR\`" >&2
  exit 2
fi
for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "caseload_bench: needs $tool" >&2; exit 2; }
done
[ -x "$D/daemon/casewatchd" ] || { echo "caseload_bench: build the release preset first" >&2; exit 2; }
mkdir -p "$OUT"

"$D/daemon/casewatchd" --read-only --data "$DATA" --no-auth --http-port 0 >"$OUT/casewatchd.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null || true' EXIT
PORT=""
for _ in $(seq 1 600); do
  PORT=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$OUT/casewatchd.log" | grep -o '[0-9]*$' || true)
  [ -n "$PORT" ] && break
  kill -0 $PID 2>/dev/null || { cat "$OUT/casewatchd.log" >&2; exit 1; }
  sleep 0.5
done
[ -n "$PORT" ] || { echo "caseload_bench: casewatchd did not start serving" >&2; exit 1; }
BASE="http://127.0.0.1:$PORT"
enc() { jq -rn --arg v "$1" '$v|@uri'; }

REGION=$(curl -sf "$BASE/api/v1/breakdown" | jq -r '.rows[0].region')
PDU=$(curl -sf "$BASE/api/v1/breakdown?region=$(enc "$REGION")" | jq -r '.rows[0].pdu')
TEAM=$(curl -sf "$BASE/api/v1/breakdown?region=$(enc "$REGION")&pdu=$(enc "$PDU")" |
  jq -r '.rows[0].team')
AS_OF=$(curl -sf "$BASE/api/v1/meta" | jq -r '.as_of')
PDU_Q="region=$(enc "$REGION")&pdu=$(enc "$PDU")"
TEAM_Q="$PDU_Q&team=$(enc "$TEAM")"

# p50, p99 and max of N timed GETs of $1, in milliseconds.
timed() {
  local url="$1" n="$2"
  for _ in $(seq 1 20); do curl -sf -o /dev/null "$url"; done  # warm
  for _ in $(seq 1 "$n"); do curl -sf -o /dev/null -w '%{time_total}\n' "$url"; done |
    sort -n | awk '{ t[NR] = $1 * 1000 } END {
      printf "%.1f | %.1f | %.1f", t[int(NR * 0.5 + 0.5)], t[int(NR * 0.99 + 0.5)], t[NR] }'
}

CASES_PDU=$(curl -sf "$BASE/api/v1/worklist?$PDU_Q&page_size=1" | jq '.total')
CASES_TEAM=$(curl -sf "$BASE/api/v1/worklist?$TEAM_Q&page_size=1" | jq '.total')
echo "| request | open items in scope | p50 ms | p99 ms | max ms |"
echo "|---|---|---|---|---|"
echo "| caseload view, team $TEAM (page of 25) | $CASES_TEAM | $(timed "$BASE/api/v1/worklist?$TEAM_Q&page_size=25" "$REQUESTS") |"
echo "| caseload view, PDU $PDU (page of 25) | $CASES_PDU | $(timed "$BASE/api/v1/worklist?$PDU_Q&page_size=25" "$REQUESTS") |"
echo "| caseload CSV, PDU $PDU (every item) | $CASES_PDU | $(timed "$BASE/api/v1/worklist?$PDU_Q&format=csv" 50) |"
# A period report: the last full quarter before the store's instant, for the PDU and nationally.
TO=$(date -u -d "${AS_OF:0:10} -$(( $(date -u -d "${AS_OF:0:10}" +%-d) )) days" +%Y-%m-%d)
FROM=$(date -u -d "${TO:0:7}-01 -2 months" +%Y-%m-%d)
echo "| period report $FROM to $TO, PDU $PDU | — | $(timed "$BASE/api/v1/report?$PDU_Q&from=$FROM&to=$TO" 5) |"
echo "| period report $FROM to $TO, national | — | $(timed "$BASE/api/v1/report?from=$FROM&to=$TO" 5) |"
# The 12-month trend from history: the first call computes every month from the stored projections
# (once per casewatchd, then in the background); the rest are sums of per-allocation months.
FIRST=$(curl -sf -o /dev/null -w '%{time_total}' "$BASE/api/v1/trend?interval=month&months=12" |
  awk '{ printf "%.0f", $1 * 1000 }')
MONTHS=$(curl -sf "$BASE/api/v1/trend?interval=month&months=120" | jq '.months | length')
echo "| monthly trend: the first call, computing all $MONTHS months from the history | — | $FIRST | — | — |"
echo "| 12-month trend, team $TEAM | — | $(timed "$BASE/api/v1/trend?interval=month&months=12&$TEAM_Q" "$REQUESTS") |"
echo "| 12-month trend, PDU $PDU | — | $(timed "$BASE/api/v1/trend?interval=month&months=12&$PDU_Q" "$REQUESTS") |"
echo "| 12-month trend, national | — | $(timed "$BASE/api/v1/trend?interval=month&months=12" "$REQUESTS") |"
