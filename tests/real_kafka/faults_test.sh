#!/usr/bin/env bash
# ctest's real_kafka.faults: casewatchd on a real 3-node Apache Kafka cluster of its own, topics by
# deploy/topics.sh, while the cluster fails under it:
#   1. mid-ingest, the leader of a busy partition of case-events is killed (SIGKILL) and comes back;
#      then another broker is frozen (SIGSTOP) for 30 s and thawed; the publisher keeps going;
#   2. the whole cluster is stopped and started again, and more events are published; while it
#      is down, the engine says (its /readyz, and the Casewatch-Unavailable header of its report,
#      which still answers) that every partition is unreachable, and once it is back, that none is;
#   3. throughout, the engine never exits; frozen (SIGSTOP) while part b is published, it reports
#      the lag it then has; at the end its report equals the replay of the same events at three
#      instants, for the whole service and one region, case items included: nothing lost,
#      nothing counted twice;
#   4. the engine is stopped, its store deleted, and it is started again on an empty store: it
#      rebuilds from the topics (unlimited retention) to an identical report; the missed
#      obligations (derived events) the first store recorded all come back from
#      case-events-derived, none is derived anew, and no alert is published a second time
#      (case-alerts' end offsets do not move).
#
#   faults_test.sh SOURCE_DIR CASEWATCH_BIN CASEWATCHD_BIN
set -euo pipefail
SRC=$1 CASEWATCH=$2 CASEWATCHD=$3
# shellcheck source=tests/real_kafka/lib.sh
source "$(dirname "$0")/lib.sh"
WORK=$(mktemp -d /tmp/casewatch-kafka-faults.XXXXXX)
CLUSTER=$WORK/cluster
CLUSTER_SH=$SRC/scripts/kafka/cluster.sh
ENGINE_PID="" PUBLISH_PID=""
END=2025-01-01T00:00:00Z

fail() {
  echo "FAIL: $*" >&2
  for log in engine.log publish-a.log; do
    [ -f "$WORK/$log" ] && { echo "--- $log (last 15 lines)" >&2; tail -15 "$WORK/$log" >&2; }
  done
  exit 1
}
cleanup() { stop_everything "$PUBLISH_PID" "$ENGINE_PID"; }
trap cleanup EXIT

start_cluster_with_topics
step "cluster up ($BOOTSTRAP), topics made by deploy/topics.sh"

simulate_in_two_parts 29
# Part a paced over about 75 s, so the faults below land mid-ingest; a delivery timeout of 5 min,
# as a production publisher would set, so records to a frozen leader wait for the next one.
rate=$((first / 75 + 1))

PORT=$(free_ports 1)
start_engine() {
  "$CASEWATCHD" --http-port "$PORT" --no-auth --brokers "$BOOTSTRAP" --data "$WORK/store" \
    --clock simulated --clock-start "$END" --clock-speed 0 >>"$WORK/engine.log" 2>&1 &
  ENGINE_PID=$!
}
alive() { kill -0 "$ENGINE_PID" 2>/dev/null || fail "casewatchd exited"; }
status_field() {  # the value of $1= in the engine's last status line
  grep -o "status: .*" "$WORK/engine.log" | tail -1 | grep -o " $1=[0-9-]*" | cut -d= -f2
}
consumed() {
  local accepted duplicates
  accepted=$(status_field accepted) duplicates=$(status_field duplicates)
  echo $((${accepted:-0} + ${duplicates:-0}))
}
wait_consumed() {  # until the engine's status counts $1 records (status lines come every 10 s)
  local deadline=$((SECONDS + $2))
  until [ "$(consumed)" = "$1" ]; do
    alive
    [ $SECONDS -lt $deadline ] || fail "the engine consumed $(consumed) records, not $1, in $2 s"
    sleep 1
  done
}
leader_of() {  # the node leading partition $1 of case-events
  "$KAFKA/bin/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --describe --topic case-events |
    grep -E "Partition: $1[[:space:]]" | grep -o 'Leader: [0-9-]*' | cut -d' ' -f2
}
sleep_alive() {  # sleeps $1 s, checking every second that the engine is running
  local i
  for ((i = 0; i < $1; i++)); do alive; sleep 1; done
}
unreachable() {  # how many partitions the engine's /readyz says the brokers do not serve
  curl -s --max-time 2 "http://127.0.0.1:$PORT/readyz" | grep -o '"unavailable_since"' | wc -l
}

start_engine
"$CASEWATCH" publish --brokers "$BOOTSTRAP" --rate "$rate" --timeout 300 "$WORK/a.ndjson" >"$WORK/publish-a.log" 2>&1 &
PUBLISH_PID=$!
step "publishing $first events at $rate/s; the engine consumes as they come"

# 1. The leader of partition 0 killed, back after 10 s; then another broker frozen for 30 s.
sleep_alive 10
leader=$(leader_of 0)
[[ $leader =~ ^[1-3]$ ]] || fail "no leader found for case-events partition 0 ('$leader')"
"$CLUSTER_SH" kill "$CLUSTER" "$leader"
step "killed node $leader (SIGKILL), the leader of case-events partition 0, at $(consumed) consumed"
sleep_alive 10
"$CLUSTER_SH" start-node "$CLUSTER" "$leader"
step "node $leader started again"
frozen=$((leader % 3 + 1))
sleep_alive 5
"$CLUSTER_SH" pause "$CLUSTER" "$frozen"
step "froze node $frozen (SIGSTOP) for 30 s, at $(consumed) consumed"
sleep_alive 30
"$CLUSTER_SH" resume "$CLUSTER" "$frozen"
step "thawed node $frozen"
wait "$PUBLISH_PID" || fail "the paced publish failed: $(tail -3 "$WORK/publish-a.log")"
PUBLISH_PID=""
wait_consumed "$first" 180
step "ok: all $first events of part a consumed through a leader kill and a frozen broker"

# 2. The whole cluster stopped and started again; the engine waits, then takes part b.
"$CLUSTER_SH" stop "$CLUSTER"
step "cluster stopped"
partitions=$(curl -s --max-time 2 "http://127.0.0.1:$PORT/readyz" | grep -o '"partition":' | wc -l)
[ "$partitions" -gt 0 ] || fail "/readyz lists no partition"
for ((i = 0; i < 15; i++)); do
  alive
  [ "$(unreachable)" -eq "$partitions" ] && break
  sleep 1
done
[ "$(unreachable)" -eq "$partitions" ] ||
  fail "15 s after the cluster stopped, /readyz names $(unreachable) of $partitions partitions unreachable"
headers=$(curl -s -D - -o "$WORK/cut-off.json" --max-time 5 "http://127.0.0.1:$PORT/api/v1/report")
grep -q '^HTTP/1.1 200' <<<"$headers" || fail "the report is refused with the cluster down: $headers"
named=$(grep -i '^Casewatch-Unavailable:' <<<"$headers" | grep -o '[0-9]* since' | wc -l)
[ "$named" -eq "$partitions" ] ||
  fail "the report names $named of $partitions partitions unreachable: $(grep -i unavailable <<<"$headers")"
step "ok: with the cluster down, /readyz and the report's Casewatch-Unavailable name all $partitions partitions"
sleep_alive 5
"$CLUSTER_SH" start "$CLUSTER" >/dev/null || fail "the cluster did not start again"
step "cluster started again"
# Part b is published while the engine is frozen (SIGSTOP, as a stalled host would), so it is
# certainly behind when thawed: a fast engine otherwise keeps pace and its lag is never above 0.
kill -STOP "$ENGINE_PID"
"$CASEWATCH" publish --brokers "$BOOTSTRAP" "$WORK/b.ndjson" >"$WORK/publish-b.log" 2>&1 || {
  kill -CONT "$ENGINE_PID"
  fail "publishing part b failed: $(tail -3 "$WORK/publish-b.log")"
}
kill -CONT "$ENGINE_PID"
step "part b published while the engine was frozen; engine thawed"
wait_consumed "$total" 180
step "ok: after the whole cluster's restart, all $total events consumed"
[ "$(unreachable)" -eq 0 ] || fail "the cluster is back, but /readyz names $(unreachable) partitions unreachable"
curl -s -D - -o /dev/null --max-time 5 "http://127.0.0.1:$PORT/api/v1/report" |
  grep -qi '^Casewatch-Unavailable:' && fail "the cluster is back, but the report names partitions unreachable"
step "ok: the cluster back, no partition named unreachable"

# 3. The engine never exited, reported lag, and equals the replay.
alive
max_lag=$(grep -o 'status: .*' "$WORK/engine.log" | grep -o ' peak_lag=[0-9-]*' |
  cut -d= -f2 | sort -n | tail -1)
[ "${max_lag:-0}" -gt 0 ] ||
  fail "the engine never reported a lag above 0, though it was frozen while part b was published"
step "ok: the engine ran throughout; largest lag reported $max_lag"
equal_to_replay "after the faults" 2023-12-31T23:59:59Z 2024-06-30T23:59:59Z "$END" -- "$WORK/store"
step "ok: live equals replay at three instants, national and for $REGION, case items included"

# 4. The store deleted: rebuilt from the topic, identical.
kill -TERM "$ENGINE_PID"
code=0
wait "$ENGINE_PID" || code=$?
ENGINE_PID=""
[ "$code" -eq 0 ] || fail "casewatchd exited $code on SIGTERM"
missed_before=$(status_field missed_obligations)
# A stop publishes the outbox for at most 5 s and leaves the rest for the next start (it says
# so); on this busy machine that can happen, and the store is about to be deleted with it.
for ((i = 0; i < 5; i++)); do
  tail -n 5 "$WORK/engine.log" | grep -q "outbox not fully published" || break
  step "the stop left some of the outbox unpublished: started again to publish the rest"
  start_engine
  sleep_alive 5
  kill -TERM "$ENGINE_PID"
  code=0
  wait "$ENGINE_PID" || code=$?
  ENGINE_PID=""
  [ "$code" -eq 0 ] || fail "casewatchd exited $code on SIGTERM (publishing the rest)"
done
tail -n 5 "$WORK/engine.log" | grep -q "outbox not fully published" &&
  fail "five stops left some of the outbox unpublished"
"$CASEWATCH" report --data "$WORK/store" --case-items >"$WORK/before.json"
alert_offsets() {
  "$KAFKA/bin/kafka-get-offsets.sh" --bootstrap-server "$BOOTSTRAP" --topic case-alerts | sort
}
alert_offsets >"$WORK/alerts-before.txt"
rm -rf "$WORK/store"
mv "$WORK/engine.log" "$WORK/engine-first.log"
step "store deleted ($missed_before missed obligations recorded); starting on an empty store"
started=$SECONDS
start_engine
wait_consumed "$total" 300
step "rebuilt from the topic in $((SECONDS - started)) s (status lines come every 10 s)"
kill -TERM "$ENGINE_PID"
code=0
wait "$ENGINE_PID" || code=$?
ENGINE_PID=""
[ "$code" -eq 0 ] || fail "casewatchd exited $code on SIGTERM after the rebuild"
"$CASEWATCH" report --data "$WORK/store" --case-items >"$WORK/after.json"
cmp -s "$WORK/before.json" "$WORK/after.json" || fail "the rebuilt store's report differs"
restored=$(status_field derived_restored)
derived_anew=$(status_field missed_obligations)
# On a mismatch, what the next look needs: the restore's own line, and where each partition of
# the derived topic ends now (its high watermark: records, and a marker per transaction).
derived_ends() {
  "$KAFKA/bin/kafka-get-offsets.sh" --bootstrap-server "$BOOTSTRAP" --topic case-events-derived \
    2>&1 | sort -t: -k2 -n | tr '\n' ' '
}
[ "$restored" = "$missed_before" ] ||
  fail "$restored derived events restored from case-events-derived; the first store recorded $missed_before
$(grep -h "restored .* derived events\|outbox:" "$WORK/engine.log" | head -3)
case-events-derived ends now at: $(derived_ends)"
[ "$derived_anew" = 0 ] || fail "the rebuilt store derived $derived_anew obligation_missed events anew"
alert_offsets >"$WORK/alerts-after.txt"
cmp -s "$WORK/alerts-before.txt" "$WORK/alerts-after.txt" ||
  fail "the rebuild published alerts: $(diff "$WORK/alerts-before.txt" "$WORK/alerts-after.txt" | head -5)"
equal_to_replay "after the rebuild from Kafka" 2023-12-31T23:59:59Z 2024-06-30T23:59:59Z "$END" -- \
  "$WORK/store"
step "ok: the store rebuilt from Kafka is identical: report equal, its $restored derived events restored, none derived anew, no alert published again"
"$CLUSTER_SH" stop "$CLUSTER"
