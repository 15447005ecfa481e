# Sourced by the benchmarks that run casewatchd on a real 3-node Apache Kafka cluster on this
# machine (group_bench.sh, tasks_bench.sh), from the source tree's root, once they have set WORK
# (their scratch directory, made afresh), CASES (the history's cases) and PIDS (their engines'
# processes, "" when stopped). Defines the binaries (release build), the exit trap, and:
#   bench_cluster_up N   a fresh WORK, the cluster started (with $EXTRA_PROPERTIES, when set, in
#                        its brokers' configuration), deploy/topics.sh's topics made, N free ports
#                        in PORTS; BOOTSTRAP: the brokers
#   bench_history        the history (CASES cases, published: $total events) and a second one to
#                        trickle in ($WORK/trickle.ndjson)
#   report_timings N WHAT  320 GET /api/v1/report from engine N, one at a time: the row of the
#                        last 300's p50 and p99, WHAT saying which engine it is
#   start_trickle        the trickle published at 300 events/s in the background (TRICKLE)
#   stop_engine N, ready N, now_ms, say
BIN=build/release/services
CASEWATCH=$BIN/cli/casewatch
CASEWATCHD=$BIN/daemon/casewatchd
CLUSTER=$WORK/cluster
END=2025-01-01T00:00:00Z
SRC=.
# shellcheck source=../tests/real_kafka/lib.sh
source tests/real_kafka/lib.sh
TRICKLE=""
cleanup() {
  local pid
  for pid in "$TRICKLE" "${PIDS[@]}"; do [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; done
  scripts/kafka/cluster.sh stop "$CLUSTER" >/dev/null 2>&1 || true
}
trap cleanup EXIT
now_ms() { date +%s%3N; }
say() { echo "$(date +%T) $*" >&2; }

bench_cluster_up() {
  scripts/kafka/cluster.sh stop "$CLUSTER" >/dev/null 2>&1 || true
  rm -rf "$WORK"
  mkdir -p "$CLUSTER"
  if [ -n "${EXTRA_PROPERTIES:-}" ]; then echo "$EXTRA_PROPERTIES" >"$CLUSTER/extra.properties"; fi
  KAFKA=$(scripts/kafka/fetch.sh)
  BOOTSTRAP=$(scripts/kafka/cluster.sh start "$CLUSTER")
  BOOTSTRAP=$BOOTSTRAP KAFKA_BIN=$KAFKA/bin bash deploy/topics.sh >"$WORK/topics.log" 2>&1
  read -r -a PORTS <<<"$(free_ports "$1")"
}

bench_history() {
  "$CASEWATCH" simulate --cases "$CASES" --months 24 --start 2023-01-01 --seed 7 --quiet \
    --out "$WORK/events.ndjson"
  total=$(wc -l <"$WORK/events.ndjson")
  "$CASEWATCH" simulate --cases 2000 --months 24 --start 2023-01-01 --seed 8 --quiet \
    --out "$WORK/trickle.ndjson"
  "$CASEWATCH" publish --brokers "$BOOTSTRAP" "$WORK/events.ndjson" >"$WORK/publish.log" 2>&1
  say "cluster up, $total events published"
}

stop_engine() { kill -TERM "${PIDS[$1]}"; wait "${PIDS[$1]}" || true; PIDS[$1]=""; }
ready() { curl -sf --max-time 1 "http://127.0.0.1:${PORTS[$1]}/readyz" >/dev/null 2>&1; }

# The report route's requests and seconds in handlers so far, from engine $1's /metrics.
report_handling() {
  curl -s --max-time 2 "http://127.0.0.1:${PORTS[$1]}/metrics" |
    awk '/^casewatch_http_requests_total\{route="report"/ {n += $2}
         /^casewatch_http_request_seconds_total\{route="report"\}/ {s = $2}
         END {printf "%d %f\n", n, s}'
}

report_timings() {
  local n=$1 what=$2 i p50 p99 before after
  before=$(report_handling "$n")
  for i in $(seq 320); do
    curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:${PORTS[$n]}/api/v1/report"
  done | tail -n 300 | sort -n >"$WORK/report$n.txt"
  after=$(report_handling "$n")
  p50=$(awk 'NR==150' "$WORK/report$n.txt") p99=$(awk 'NR==297' "$WORK/report$n.txt")
  # The mean time in the handler (Api::Handle: no queueing, no connection), beside the client's.
  local handled
  handled=$(awk -v b="$before" -v a="$after" 'BEGIN {split(b, x, " "); split(a, y, " ");
    if (y[1] > x[1]) printf "%.2f", (y[2] - x[2]) * 1000 / (y[1] - x[1]); else printf "-"}')
  echo "| GET /api/v1/report from engine $n ($what), 300 requests | p50 $(awk -v x="$p50" 'BEGIN{printf "%.2f", x*1000}') ms | p99 $(awk -v x="$p99" 'BEGIN{printf "%.2f", x*1000}') ms | mean in the handler $handled ms |"
}

start_trickle() {
  "$CASEWATCH" publish --brokers "$BOOTSTRAP" --rate 300 "$WORK/trickle.ndjson" \
    >"$WORK/trickle.log" 2>&1 &
  TRICKLE=$!
}
