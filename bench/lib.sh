# Sourced by the benchmarks that run casewatchd on a real 3-node Apache Kafka cluster on this
# machine (group_bench.sh, tasks_bench.sh), from the source tree's root, once they have set WORK
# (their scratch directory, made afresh), CASES (the history's cases) and PIDS (their engines'
# processes, "" when stopped). Defines the binaries (release build), the exit trap, and:
#   bench_cluster_up N   a fresh WORK, the cluster started (with $EXTRA_PROPERTIES, when set, in
#                        its brokers' configuration), deploy/topics.sh's topics made, N free ports
#                        in PORTS; BOOTSTRAP: the brokers
#   bench_history        the history (CASES cases, published: $total events) and a second one to
#                        trickle in ($WORK/trickle.ndjson)
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
