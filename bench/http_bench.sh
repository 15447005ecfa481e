#!/usr/bin/env bash
# HTTP API benchmark (issue 4): casewatchd serving a large store, load from a second process
# (wrk) on loopback. Prints a Markdown table for docs/benchmarks.md.
#   ./run bench http --data DIR [--duration 20] [--connections "4 16 32"] [--streams 500]
#                    [--past-runs 5] [--rounds 5] [--rate 5000]
# DIR is a store made by `build/release/bench/engine_bench scale --cases 250000 --months 60
# --keep DIR` (after an engine change that adds projection fields: `casewatch rebuild --data DIR`
# once). It is copied to build/http-bench/store first, so DIR is never changed: casewatchd runs
# on the copy with an embedded broker and a fresh topic, its clock frozen at the store's
# projection instant, with no auth and no rate limit. The steps:
#   1. GET /api/v1/report (the live report) of five scopes, national to one offender manager,
#      named from /api/v1/breakdown: the first answer of each (rendered), then wrk --latency
#      rotating over them: paced to about --rate requests/s, then flat out once per connection
#      count;
#   2. a report as of a year before the end (from every stored case projection), timed by curl;
#   3. build/release/bench/sse_fanout: N event streams, then rounds of new cases' events POSTed
#      to /api/v1/events, timing each new report's arrival at every stream.
# Needs wrk, curl and jq. Logs and raw outputs are in build/http-bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
D=build/release/services
FANOUT=build/release/bench/sse_fanout
OUT=build/http-bench

DATA=""
DURATION=20
CONNECTIONS="4 16 32"
STREAMS=500
PAST_RUNS=5
ROUNDS=5
RATE=5000
while [ $# -gt 0 ]; do
  case "$1" in
    --data) DATA="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --streams) STREAMS="$2"; shift 2 ;;
    --past-runs) PAST_RUNS="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    *) echo "usage: $0 --data DIR [--duration S] [--connections \"4 16 32\"] [--streams N]" \
            "[--past-runs N] [--rounds N] [--rate R]" >&2; exit 2 ;;
  esac
done
if [ -z "$DATA" ] || [ ! -d "$DATA" ]; then
  echo "http_bench: --data DIR: a store made by" \
       "\`build/release/bench/engine_bench scale --cases 250000 --months 60 --keep DIR\`" >&2
  exit 2
fi
for tool in wrk curl jq; do
  command -v "$tool" >/dev/null || { echo "http_bench: needs $tool (apt-get install $tool)" >&2; exit 2; }
done
for bin in "$D/daemon/casewatchd" "$D/cli/casewatch" "$FANOUT"; do
  [ -x "$bin" ] || { echo "http_bench: $bin missing: build the release preset" >&2; exit 2; }
done
ulimit -n 8192 2>/dev/null || true  # the streams: one descriptor each, here and in casewatchd

say() { echo "http_bench: $*" >&2; }

# Milliseconds of a wrk duration (e.g. 317.00us, 1.20ms, 2.01s).
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.2f", v * 60000 }
    else { sub(/s$/, "", v); printf "%.2f", v * 1000 } }'
}
# casewatchd's CPU time in seconds (user + system) and resident memory in MiB.
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); split($0, f, " ");
                                                 printf "%.2f", (f[12] + f[13]) / hz }' "/proc/$PID/stat"; }
minor_faults() { awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[8] }' "/proc/$PID/stat"; }
rss_mib() { awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$PID/status"; }
peak_rss_mib() { awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$PID/status"; }

mkdir -p "$OUT"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

say "copying $DATA to $OUT/store"
rm -rf "$OUT/store"
cp -r --reflink=auto "$DATA" "$OUT/store"
rm -f "$OUT/store/audit.log"
AS_OF=$("$D/cli/casewatch" report --data "$OUT/store" | jq -r .as_of)
say "the store's projection instant: $AS_OF"

started=$(date +%s.%N)
"$D/daemon/casewatchd" --data "$OUT/store" --topic http-bench --no-auth --http-port 0 \
  --http-rate-limit 0 --clock simulated --clock-start "$AS_OF" --clock-speed 0 \
  >"$OUT/casewatchd.log" 2>&1 &
PID=$!
stop_engine() {
  if kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID"
    wait "$PID" || true
  fi
}
trap stop_engine EXIT

PORT=""
for _ in $(seq 1200); do
  PORT=$(sed -nE 's|.*http: listening on http://127\.0\.0\.1:([0-9]+).*|\1|p' "$OUT/casewatchd.log")
  [ -n "$PORT" ] && break
  kill -0 "$PID" 2>/dev/null || { cat "$OUT/casewatchd.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$PORT" ] || { say "casewatchd did not say its port"; exit 1; }
URL="http://127.0.0.1:$PORT"
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")" = 200 ]; do
  kill -0 "$PID" 2>/dev/null || { cat "$OUT/casewatchd.log" >&2; exit 1; }
  sleep 0.1
done
READY_S=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
READY_RSS=$(rss_mib)
say "casewatchd (pid $PID) ready on port $PORT after $READY_S s, RSS $READY_RSS MiB"

# --- 1. the live report of five scopes ---
ROW=$(curl -sf "$URL/api/v1/breakdown?by=offender_manager" | jq -c '.rows[(.rows | length) / 2 | floor]')
uri() { jq -rn --arg v "$1" '$v | @uri'; }
REGION=$(uri "$(jq -r .region <<<"$ROW")")
PDU=$(uri "$(jq -r .pdu <<<"$ROW")")
TEAM=$(uri "$(jq -r .team <<<"$ROW")")
OM=$(uri "$(jq -r .offender_manager <<<"$ROW")")
PATHS=(
  "/api/v1/report"
  "/api/v1/report?region=$REGION"
  "/api/v1/report?region=$REGION&pdu=$PDU"
  "/api/v1/report?region=$REGION&pdu=$PDU&team=$TEAM"
  "/api/v1/report?region=$REGION&pdu=$PDU&team=$TEAM&offender_manager=$OM"
)
NAMES=(national region pdu team offender_manager)
CASES=$(curl -sf "$URL/api/v1/report" | jq -r .cases)
FIRST=()
for i in "${!PATHS[@]}"; do
  # The first answer per scope renders the report (then it is kept until the next write).
  read -r code seconds bytes < <(curl -s -o /dev/null -w '%{http_code} %{time_total} %{size_download}\n' \
                                  "$URL${PATHS[$i]}")
  [ "$code" = 200 ] || { say "${PATHS[$i]}: HTTP $code"; exit 1; }
  FIRST+=("${NAMES[$i]} $(awk -v s="$seconds" 'BEGIN { printf "%.1f", s * 1000 }') ms")
  say "${PATHS[$i]}: first answer ${seconds} s, $bytes bytes"
done

# Two wrk scripts: as fast as each connection can go, and paced (each connection waits
# PACE_MS between answer and next request; wrk has no fixed-rate mode) to offer about --rate.
write_lua() {  # delay_ms
  echo "-- GET /api/v1/report, rotating over the scopes (written by bench/http_bench.sh)"
  echo "local paths = {"
  for p in "${PATHS[@]}"; do echo "  \"$p\","; done
  echo "}"
  echo "local n = 0"
  echo "request = function()"
  echo "  n = n + 1"
  echo "  return wrk.format(\"GET\", paths[(n % #paths) + 1])"
  echo "end"
  [ "$1" -gt 0 ] && echo "delay = function() return $1 end"
  true
}
PACE_MS=5
write_lua 0 >"$OUT/report_scopes.lua"
write_lua "$PACE_MS" >"$OUT/report_scopes_paced.lua"

# The report route's answers and time in the handler, from /metrics.
route_metric() {
  curl -sf "$URL/metrics" | awk -v k="$1" 'index($0, k) == 1 { s += $NF } END { printf "%.6f", s }'
}
# casewatchd's involuntary context switches (taken off a CPU while runnable).
preempted() { awk '/^nonvoluntary_ctxt_switches:/ { print $2 }' "/proc/$PID/status"; }

WRK_ROWS=()
run_wrk() {  # connections lua label
  local c=$1 lua=$2 label=$3 threads f
  threads=$(( c < 2 ? c : 2 ))
  f="$OUT/wrk-c$c-$(basename "$lua" .lua).txt"
  local cpu0 n0 t0 v0 cpu1 n1 t1 v1
  cpu0=$(cpu_seconds); v0=$(preempted)
  n0=$(route_metric 'casewatch_http_requests_total{route="report"')
  t0=$(route_metric 'casewatch_http_request_seconds_total{route="report"}')
  wrk -t"$threads" -c"$c" -d"${DURATION}s" --latency -s "$lua" "$URL" >"$f"
  cpu1=$(cpu_seconds); v1=$(preempted)
  n1=$(route_metric 'casewatch_http_requests_total{route="report"')
  t1=$(route_metric 'casewatch_http_request_seconds_total{route="report"}')
  local p50 p90 p99 rps bad errors cores handler switches ok
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$f")")
  p90=$(to_ms "$(awk '$1 == "90%" { print $2 }' "$f")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$f")")
  rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$f")
  bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$f")
  errors=$(awk '/Socket errors:/ { sub(/.*Socket errors: /, ""); print }' "$f")
  cores=$(awk -v a="$cpu0" -v b="$cpu1" -v d="$DURATION" 'BEGIN { printf "%.2f", (b - a) / d }')
  handler=$(awk -v n0="$n0" -v n1="$n1" -v t0="$t0" -v t1="$t1" \
                'BEGIN { printf "%.0f", (n1 > n0) ? (t1 - t0) / (n1 - n0) * 1e6 : 0 }')
  switches=$(awk -v a="$v0" -v b="$v1" -v d="$DURATION" 'BEGIN { printf "%.0f", (b - a) / d }')
  ok=$(awk -v p="$p99" -v r="$rps" 'BEGIN { print (p < 5 && r >= 5000) ? "✅" : "❌" }')
  WRK_ROWS+=("| $label, \`wrk -t$threads -c$c -d${DURATION}s\` | $p50 / $p90 / **$p99** ms | **$rps** | ${bad:-0} non-2xx${errors:+; socket errors: $errors} | $cores cores; $handler µs per answer in the handler; preempted $switches/s | $ok |")
  say "wrk -c$c $label: p50 $p50 ms, p90 $p90 ms, p99 $p99 ms, $rps req/s, casewatchd $cores cores, handler $handler µs"
}
# Paced: enough connections, each waiting PACE_MS after an answer (about a millisecond more in
# practice: wrk's timers), to offer a few per cent over --rate.
PACED_C=$(( (RATE * (PACE_MS + 1) * 102 / 100 + 999) / 1000 ))
run_wrk "$PACED_C" "$OUT/report_scopes_paced.lua" "paced to ≈ $RATE/s (${PACE_MS} ms between answer and next request)"
for c in $CONNECTIONS; do
  run_wrk "$c" "$OUT/report_scopes.lua" "flat out"
done

# --- 2. a report as of a year before the end ---
PAST="$(date -u -d "${AS_OF%%T*} -1 year -1 day" +%Y-%m-%d)T23:59:59Z"
PAST_TIMES=()
PAST_FAULTS=()
for _ in $(seq "$PAST_RUNS"); do
  faults0=$(minor_faults)
  read -r code seconds < <(curl -s -o "$OUT/past-report.json" -w '%{http_code} %{time_total}\n' \
                            "$URL/api/v1/report?as_of=$PAST")
  [ "$code" = 200 ] || { say "as_of=$PAST: HTTP $code: $(head -c 300 "$OUT/past-report.json")"; exit 1; }
  PAST_TIMES+=("$seconds")
  PAST_FAULTS+=("$(( ($(minor_faults) - faults0) / 1000 ))k")
  say "report as_of=$PAST: $seconds s, ${PAST_FAULTS[-1]} page faults, RSS $(rss_mib) MiB"
done
PAST_SORTED=$(printf '%s\n' "${PAST_TIMES[@]}" | sort -n)
PAST_MEDIAN=$(sed -n "$(( (PAST_RUNS + 1) / 2 ))p" <<<"$PAST_SORTED")
PAST_IN_ORDER=$(printf '%.2f, ' "${PAST_TIMES[@]}")
PAST_OVER=$(printf '%s\n' "${PAST_TIMES[@]}" | awk '$1 >= 2 { n++ } END { print n + 0 }')
if [ "$PAST_OVER" = 0 ]; then PAST_OK="✅"; else PAST_OK="❌ ($PAST_OVER of $PAST_RUNS runs)"; fi
PAST_CASES=$(jq -r .cases "$OUT/past-report.json")
read -r code seconds < <(curl -s -o /dev/null -w '%{http_code} %{time_total}\n' \
                          "$URL/api/v1/report?as_of=$PAST&region=$REGION&pdu=$PDU")
PAST_PDU="$(printf '%.2f' "$seconds") s (HTTP $code)"

# --- 3. event-stream fan-out ---
# New cases' events (recorded a month or more before the frozen clock), renamed per round.
"$D/cli/casewatch" simulate --cases 3 --start "$(date -u -d "${AS_OF%%T*} -4 months" +%Y-%m-%d)" \
  --months 3 --seed 7 --quiet --out "$OUT/new-cases.ndjson"
ROUND_FILES=()
for r in $(seq "$ROUNDS"); do
  sed -E "s/\"(eventId|caseId)\":\"/\"\1\":\"HB$r-/g" "$OUT/new-cases.ndjson" >"$OUT/round-$r.ndjson"
  ROUND_FILES+=("$OUT/round-$r.ndjson")
done
EVENTS_PER_ROUND=$(wc -l <"$OUT/new-cases.ndjson")
"$FANOUT" --port "$PORT" --clients "$STREAMS" --pid "$PID" "${ROUND_FILES[@]}" | tee "$OUT/sse.txt" >&2 || true
SSE=$(grep '^sse_fanout: clients=' "$OUT/sse.txt" || true)
field() { sed -nE "s/.* $1=([^ ]+).*/\1/p" <<<"$SSE"; }

PEAK=$(peak_rss_mib)
kill -TERM "$PID"
wait "$PID" && EXIT=0 || EXIT=$?
trap - EXIT

# --- the table ---
echo "Measured $(date -u +%Y-%m-%d), $(nproc) vCPUs, load average before the run $LOAD_BEFORE;"
echo "store: $CASES cases (\`$DATA\`, copied), engine clock frozen at $AS_OF."
echo
echo "| \`GET /api/v1/report\`, 5 scopes | latency p50 / p90 / p99 | requests/s | errors | casewatchd | target |"
echo "|---|---|---|---|---|---|"
for row in "${WRK_ROWS[@]}"; do echo "$row"; done
echo
echo "| figure | result | target |"
echo "|---|---|---|"
echo "| start-up on the store to \`/readyz\` 200 | $READY_S s, RSS $READY_RSS MiB | — |"
echo "| first answer per scope (renders the report; later answers reuse it until the next write) | $(IFS=,; echo "${FIRST[*]}" | sed 's/,/, /g') | — |"
echo "| \`GET /api/v1/report?as_of=$PAST\` (national, $PAST_CASES cases; from every stored case projection's timeline), $PAST_RUNS runs in a row | ${PAST_IN_ORDER%, } s (casewatchd page faults: ${PAST_FAULTS[*]}); median **$(printf '%.2f' "$PAST_MEDIAN") s** | < 2 s $PAST_OK |"
echo "| the same for one pdu | $PAST_PDU | < 2 s |"
if [ -n "$SSE" ]; then
  echo "| \`/api/v1/stream\` fan-out: $(field connected) of $(field clients) streams open (first report to all in $(field connect_ms) ms); $(field rounds) rounds of $EVENTS_PER_ROUND new-case events POSTed | new report at all streams $(field rounds_to_all) of $(field rounds) rounds; commit → first stream $(field commit_to_first_ms) ms, commit → **all $(field clients)** **$(field commit_to_all_ms) ms** (max $(field commit_to_all_max_ms)), first → last stream $(field spread_ms) ms; POST → all $(field post_to_all_ms) ms | 500 clients |"
  echo "| casewatchd with the streams | RSS $(field rss_before_mib) MiB → $(field rss_streams_mib) MiB with the streams open; CPU $(field cpu_s_per_round) s per round (commit, render, fan-out) | — |"
else
  echo "| \`/api/v1/stream\` fan-out | sse_fanout failed: see $OUT/sse.txt | 500 clients |"
fi
echo "| casewatchd peak RSS over the run; exit on SIGTERM | $PEAK MiB; exit $EXIT | — |"
