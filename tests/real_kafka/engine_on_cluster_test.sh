#!/usr/bin/env bash
# ctest's real_kafka_engine_on_cluster: casewatchd against a real 3-node Apache Kafka cluster
# (scripts/kafka/cluster.sh), the topics made by deploy/topics.sh itself.
#   1. deploy/topics.sh creates the three topics; each is replicated 3 times with
#      min.insync.replicas=2, and running it again changes nothing;
#   2. half the events are published, the engine consumes them; one broker is killed (SIGKILL),
#      the other half is published to the two left and consumed; the broker comes back;
#   3. the engine's report equals the replay of the same events, at three instants and for the
#      whole service and one region (case items included);
#   4. SIGTERM stops the engine with exit 0, and the cluster stops cleanly.
#
#   engine_on_cluster_test.sh SOURCE_DIR CASEWATCH_BIN CASEWATCHD_BIN
set -euo pipefail
SRC=$1 CASEWATCH=$2 CASEWATCHD=$3
# shellcheck source=tests/real_kafka/lib.sh
source "$(dirname "$0")/lib.sh"
WORK=$(mktemp -d /tmp/casewatch-real-kafka.XXXXXX)
CLUSTER=$WORK/cluster
ENGINE_PID=""

fail() {
  echo "FAIL: $*" >&2
  [ -f "$WORK/engine.log" ] && { echo "--- engine log (last 20 lines)" >&2; tail -20 "$WORK/engine.log" >&2; }
  exit 1
}
cleanup() {
  [ -n "$ENGINE_PID" ] && kill -KILL "$ENGINE_PID" 2>/dev/null
  "$SRC/scripts/kafka/cluster.sh" stop "$CLUSTER" || true
  rm -rf "$WORK"
}
trap cleanup EXIT

KAFKA=$("$SRC/scripts/kafka/fetch.sh") || fail "the Kafka release cannot be fetched"
BOOTSTRAP=$("$SRC/scripts/kafka/cluster.sh" start "$CLUSTER") || fail "the cluster did not start"
echo "cluster up: $BOOTSTRAP"

# 1. The topics, by the script production uses.
for run in 1 2; do
  BOOTSTRAP=$BOOTSTRAP KAFKA_BIN=$KAFKA/bin bash "$SRC/deploy/topics.sh" >"$WORK/topics$run.log" 2>&1 ||
    fail "deploy/topics.sh (run $run) failed: $(tail -5 "$WORK/topics$run.log")"
  if grep -q "warning" "$WORK/topics$run.log"; then fail "topics.sh warned: $(grep warning "$WORK/topics$run.log")"; fi
done
for topic in case-events case-alerts case-events-dlq case-events-derived; do
  described=$("$KAFKA/bin/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --describe --topic "$topic")
  grep -q "ReplicationFactor: 3" <<<"$described" || fail "$topic is not replicated 3 times: $described"
  grep -q "min.insync.replicas=2" <<<"$described" || fail "$topic lacks min.insync.replicas=2: $described"
  if grep -E "Isr: [0-9]+(,[0-9]+)?[[:space:]]" <<<"$described" | grep -q .; then
    fail "$topic has a partition with fewer than 3 in sync: $described"
  fi
done
"$KAFKA/bin/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" --describe --entity-type topics \
  --entity-name case-events | grep -q "retention.ms=-1" ||
  fail "case-events does not keep its records for ever (retention.ms=-1)"
echo "ok: topics.sh made three topics, replication 3, min.insync.replicas=2, case-events kept for ever (twice, idempotent)"

# 2. Events through the cluster, with a broker killed half way.
"$CASEWATCH" simulate --cases 400 --months 18 --start 2023-07-01 --seed 13 --quiet \
  --out "$WORK/events.ndjson"
total=$(wc -l <"$WORK/events.ndjson")
half=$((total / 2))
head -n "$half" "$WORK/events.ndjson" >"$WORK/first.ndjson"
tail -n +"$((half + 1))" "$WORK/events.ndjson" >"$WORK/second.ndjson"
END=2025-01-01T00:00:00Z

"$CASEWATCH" publish --brokers "$BOOTSTRAP" "$WORK/first.ndjson" >"$WORK/publish1.log" 2>&1 ||
  fail "publishing the first half failed: $(tail -3 "$WORK/publish1.log")"
"$CASEWATCHD" --no-http --brokers "$BOOTSTRAP" --data "$WORK/store" --clock simulated \
  --clock-start "$END" --clock-speed 0 >"$WORK/engine.log" 2>&1 &
ENGINE_PID=$!

consumed() {  # the accepted + duplicate counts of the engine's last status line
  grep -o 'accepted=[0-9]* duplicates=[0-9]*' "$WORK/engine.log" | tail -1 |
    awk -F'[= ]' '{print $2 + $4}'
}
wait_consumed() {  # until the engine's status counts $1 records (status lines come every 10 s)
  local deadline=$((SECONDS + 120))
  until [ "$(consumed)" = "$1" ]; do
    kill -0 "$ENGINE_PID" 2>/dev/null || fail "casewatchd exited"
    [ $SECONDS -lt $deadline ] || fail "the engine consumed $(consumed) records, not $1, in 120 s"
    sleep 1
  done
}
wait_consumed "$half"
echo "ok: the engine consumed the first $half events"

"$SRC/scripts/kafka/cluster.sh" kill "$CLUSTER" 1
"$CASEWATCH" publish --brokers "$BOOTSTRAP" "$WORK/second.ndjson" >"$WORK/publish2.log" 2>&1 ||
  fail "publishing the second half with node 1 killed failed: $(tail -3 "$WORK/publish2.log")"
wait_consumed "$total"
echo "ok: with node 1 killed, the second $((total - half)) events were published and consumed"
"$SRC/scripts/kafka/cluster.sh" start "$CLUSTER" >/dev/null || fail "node 1 did not come back"

# 3. Live equals replay.
equal_to_replay "live" 2024-03-31T23:59:59Z 2024-09-30T23:59:59Z "$END" -- "$WORK/store"
echo "ok: live equals replay at three instants, national and for $REGION, case items included"

# 4. A clean stop.
kill -TERM "$ENGINE_PID"
status=0
wait "$ENGINE_PID" || status=$?
ENGINE_PID=""
[ "$status" -eq 0 ] || fail "casewatchd exited $status on SIGTERM"
"$SRC/scripts/kafka/cluster.sh" stop "$CLUSTER"
echo "ok: the engine and the cluster stopped cleanly"
