#!/usr/bin/env bash
# The Kafka figures of docs/benchmarks.md, each on librdkafka's mock cluster and on a real 3-node
# Apache Kafka cluster (scripts/kafka/cluster.sh, topics by deploy/topics.sh) in the same run.
# The brokers share the machine with the engine and the publisher.
#
#   ./run bench kafka [--cases N] [--months M] [--history FILE] [--catch-up-only]
#       (release build; default 250000 cases, 60 months from 2021-01-01, simulated once into
#       bench/data/; --history reuses a binary history of those cases and months made so, e.g. by
#       engine_bench catchup --history FILE)
#
#   1. engine_bench ingest (4,000 cases x 24 months, pre-published, durable writes) and
#      engine_bench latency (10k events/s for 20 s), mock then real;
#   2. `casewatch publish` of a history of N cases x M months (binary file, simulated once into
#      bench/data/) to the dev broker, then to the real cluster;
#   3. catch-up: casewatchd on an empty store against the real cluster holding that history,
#      timed from start until it logs "caught up" (every event stored and every case projected);
#      then its report against `casewatch replay` of the same file. --catch-up-only runs this
#      step alone, on the cluster (and topic) a previous run left in build/kafka-bench.
set -euo pipefail
cd "$(dirname "$0")/.."
CASES=250000 MONTHS=60 HISTORY="" ONLY_CATCH_UP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --cases) CASES=$2; shift 2 ;;
    --months) MONTHS=$2; shift 2 ;;
    --history) HISTORY=$2; shift 2 ;;
    --catch-up-only) ONLY_CATCH_UP=1; shift ;;
    *) echo "kafka_bench: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
BUILD=build/release
CASEWATCH=$BUILD/services/cli/casewatch
CASEWATCHD=$BUILD/services/daemon/casewatchd
ENGINE_BENCH=$BUILD/bench/engine_bench
WORK=build/kafka-bench
CLUSTER=$WORK/cluster
DATA=bench/data
mkdir -p "$WORK" "$DATA"
ENGINE_PID="" BROKER_PID=""
cleanup() {
  [ -n "$ENGINE_PID" ] && kill -KILL "$ENGINE_PID" 2>/dev/null
  [ -n "$BROKER_PID" ] && kill -TERM "$BROKER_PID" 2>/dev/null
  scripts/kafka/cluster.sh stop "$CLUSTER" >/dev/null 2>&1 || true
}
trap cleanup EXIT
say() { echo "$(date +%T) $*" >&2; }

KAFKA=$(scripts/kafka/fetch.sh)
scripts/kafka/cluster.sh stop "$CLUSTER" >/dev/null 2>&1 || true
[ $ONLY_CATCH_UP = 1 ] || rm -rf "$CLUSTER"
BOOTSTRAP=$(scripts/kafka/cluster.sh start "$CLUSTER")
[ $ONLY_CATCH_UP = 1 ] || BOOTSTRAP=$BOOTSTRAP KAFKA_BIN=$KAFKA/bin bash deploy/topics.sh >"$WORK/topics.log"
say "cluster up: $BOOTSTRAP"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(uname -sr)"

# 1. The engine's ingest and latency, mock then real.
[ $ONLY_CATCH_UP = 1 ] || for broker in mock real; do
  env=()
  [ $broker = real ] && env=(CASEWATCH_KAFKA_CLUSTER="$CLUSTER")
  echo "$broker: $(env "${env[@]}" "$ENGINE_BENCH" ingest --cases 4000 --months 24)"
  echo "$broker: $(env "${env[@]}" "$ENGINE_BENCH" latency --rate 10000 --seconds 20)"
done

# 2. casewatch publish of the big history.
# The engine's clock, frozen at the end of the history.
END=$(date -u -d "2021-01-01 + $MONTHS months" +%Y-%m-%dT00:00:00Z)
HISTORY=${HISTORY:-$DATA/history-${CASES}x${MONTHS}.bin}
if [ ! -s "$HISTORY" ]; then
  say "simulating $CASES cases x $MONTHS months into $HISTORY"
  "$CASEWATCH" simulate --cases "$CASES" --months "$MONTHS" --start 2021-01-01 --seed 1 --quiet \
    --out "$HISTORY"
fi
publish() {  # label brokers: casewatch publish's own summary line and the wall time
  local started=$SECONDS line
  line=$("$CASEWATCH" publish --brokers "$2" "$HISTORY" 2>&1 | grep '^publish:' | tail -1)
  echo "$1: $line in $((SECONDS - started)) s"
}
if [ $ONLY_CATCH_UP = 0 ]; then
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$CASEWATCH" dev-broker --port "$port" --partitions 12 >"$WORK/dev-broker.log" 2>&1 &
BROKER_PID=$!
sleep 1
publish "mock (dev-broker, keeps only the last ~5 MiB of each partition)" "127.0.0.1:$port"
kill -TERM "$BROKER_PID"; wait "$BROKER_PID" || true; BROKER_PID=""
publish "real" "$BOOTSTRAP"
fi

# 3. Catch-up from the real cluster into an empty store.
rm -rf "$WORK/store" "$WORK/engine.log"
started=$(date +%s.%N)
"$CASEWATCHD" --no-http --brokers "$BOOTSTRAP" --data "$WORK/store" --clock simulated \
  --clock-start "$END" --clock-speed 0 >"$WORK/engine.log" 2>&1 &
ENGINE_PID=$!
records=$("$CASEWATCH" replay --events "$HISTORY" --as-of "$END" --stats 2>&1 >/dev/null |
  sed -n 's/.*records=\([0-9]*\).*/\1/p')
consumed() {  # accepted + duplicates + rejected of the engine's last status line
  grep -o 'status: accepted=[0-9]* duplicates=[0-9]* rejected=[0-9]*' "$WORK/engine.log" |
    tail -1 | awk -F'[= ]' '{print $3 + $5 + $7}'
}
until [ "$(consumed)" = "$records" ] && grep -q "caught up" "$WORK/engine.log"; do
  kill -0 "$ENGINE_PID" || { tail "$WORK/engine.log" >&2; exit 1; }
  sleep 1
done
stored_at=$(grep -m1 "catching up: stored" "$WORK/engine.log" | cut -d' ' -f1)
caught_up_at=$(grep -m1 "caught up" "$WORK/engine.log" | cut -d' ' -f1)
seconds=$(echo "$(date +%s.%N) - $started" | bc)
echo "catch-up: $records events into an empty store from the real cluster, stored and every case" \
  "projected, in $seconds s = $(echo "$records / $seconds" | bc) events/s (stored at $stored_at," \
  "caught up at $caught_up_at)"
kill -TERM "$ENGINE_PID"; wait "$ENGINE_PID"; ENGINE_PID=""
"$CASEWATCH" report --data "$WORK/store" >"$WORK/live.json"
"$CASEWATCH" replay --events "$HISTORY" --as-of "$END" >"$WORK/replay.json"
if cmp -s "$WORK/live.json" "$WORK/replay.json"; then
  echo "catch-up: the store's report equals casewatch replay of the same history"
else
  echo "catch-up: the store's report DIFFERS from casewatch replay"; exit 1
fi
