#!/usr/bin/env bash
# ctest's real_kafka.group: three casewatchd in one group (--group) on a real 3-node Apache Kafka
# cluster of their own, topics by deploy/topics.sh, each with its own store and HTTP port:
#   1. exactly one leads (/readyz role), the others follow;
#   2. mid-ingest the leader is killed (SIGKILL), twice, and once stopped cleanly (SIGTERM): each
#      time another engine leads within seconds (the time is printed), and the stopped one,
#      started again, follows;
#   3. a follower's store is wiped and it is started again: it rebuilds from the topics and
#      follows; a fourth engine joins with an empty store; all four are restarted one at a time
#      (a rolling restart, each waiting for the last's /readyz); then two of them, the leader
#      among them, are removed;
#   4. a client asks every engine's /api/v1/report every 100 ms throughout: every engine that is
#      running answers 200 (or, its store new and nothing projected yet, 503 not_ready), and in
#      every round at least one answers 200; each 200 names the records it reflects
#      (Casewatch-Offsets) or says it has cases not yet counted (Casewatch-Pending), and a sample
#      of the first kind, spread over the run, each equals `casewatch replay --brokers --offsets`
#      of exactly those records;
#   5. at the end each remaining engine's live report over HTTP (leader and follower) equals the
#      replay of the same events at its as_of, national and for a region, and their stores'
#      reports equal it at three instants, case items included;
#   6. every alert appears exactly once to a read_committed consumer of case-alerts, and each is
#      the alert of one derived event on case-events-derived (also exactly once);
#   7. the live stream (/api/v1/stream) of each engine that runs from part b to the end, leader
#      or follower, carries every alert raised meanwhile, once, and no other;
#   8. conflicting copies of early events (their event_id, other content), published slowly
#      through the kills of part a, are rejected: the dead letter of each appears exactly once to
#      a read_committed consumer of case-events-dlq, whichever engine led when it was read;
#   9. every engine's /api/v1/group lists the running engines, live, and which one leads: at the
#      start, after each failover (a killed leader listed silent, a stopped one gone), after the
#      rolling restart and after the removals.
#
#   group_test.sh SOURCE_DIR CASEWATCH_BIN CASEWATCHD_BIN
set -euo pipefail
SRC=$1 CASEWATCH=$2 CASEWATCHD=$3
# shellcheck source=tests/real_kafka/lib.sh
source "$(dirname "$0")/lib.sh"
WORK=$(mktemp -d /tmp/casewatch-kafka-group.XXXXXX)
CLUSTER=$WORK/cluster
CLUSTER_SH=$SRC/scripts/kafka/cluster.sh
PUBLISH_PID="" CONFLICTS_PID="" POLL_PID="" STREAM_PIDS=()
PIDS=("" "" "" "")
ENGINES=(0 1 2 3)
END=2025-01-01T00:00:00Z
GROUP=casewatchd-group-test

fail() {
  echo "FAIL: $*" >&2
  local n
  for n in 0 1 2 3; do
    [ -f "$WORK/engine$n.log" ] && { echo "--- engine$n.log (last 12 lines)" >&2; tail -12 "$WORK/engine$n.log" >&2; }
  done
  exit 1
}
cleanup() {
  stop_everything "$PUBLISH_PID" "$CONFLICTS_PID" "$POLL_PID" "${PIDS[@]}" "${STREAM_PIDS[@]}"
}
trap cleanup EXIT

start_cluster_with_topics
step "cluster up ($BOOTSTRAP), topics made by deploy/topics.sh"

read -r -a PORTS <<<"$(free_ports 4)"

simulate_in_two_parts 31
rate=$((first / 60 + 1))  # part a over about a minute: the kills land mid-ingest

url_of() { echo "http://127.0.0.1:${PORTS[$1]}"; }
start_engine() {  # engine $1 (0..2), its store, log and port its own
  "$CASEWATCHD" --brokers "$BOOTSTRAP" --group "$GROUP" --data "$WORK/store$1" \
    --http-port "${PORTS[$1]}" --advertise-url "$(url_of "$1")" --no-auth \
    --clock simulated --clock-start "$END" --clock-speed 0 \
    >>"$WORK/engine$1.log" 2>&1 &
  PIDS[$1]=$!
}
wait_leader() {  # prints the new leader (not $1) once one leads; fails after $2 s
  local deadline=$((SECONDS + $2)) l
  while :; do
    l=$(leader)
    if [ -n "$l" ] && [ "$l" != "$1" ]; then echo "$l"; return; fi
    [ $SECONDS -lt $deadline ] || fail "no engine led within $2 s (besides ${1:-none})"
    sleep 0.1
  done
}
alive() {
  local n
  for n in "${ENGINES[@]}"; do
    [ -z "${PIDS[$n]}" ] || kill -0 "${PIDS[$n]}" 2>/dev/null || fail "engine $n exited"
  done
}
now_ms() { date +%s%3N; }

# The group as engine $1's /api/v1/group lists it: "URL LIVE ROLE" lines, sorted.
group_seen_by() {
  curl -s --max-time 2 "http://127.0.0.1:${PORTS[$1]}/api/v1/group" 2>/dev/null |
    python3 -c 'import json, sys
for e in json.load(sys.stdin)["engines"]: print(e["url"], int(e["live"]), e["role"])' \
      2>/dev/null | sort || true
}
# The running engines, live, engine $1 leading, and the lines given after it; sorted.
group_expected() {
  local lead=$1 n
  shift
  {
    for n in 0 1 2 3; do
      [ -n "${PIDS[$n]}" ] || continue
      echo "$(url_of "$n") 1 $([ "$n" = "$lead" ] && echo leader || echo follower)"
    done
    [ $# -eq 0 ] || printf '%s\n' "$@"
  } | sort
}
# Waits up to 20 s until engine $1 lists the group as $2.
wait_group() {
  local deadline=$((SECONDS + 20)) seen
  while :; do
    seen=$(group_seen_by "$1")
    [ "$seen" = "$2" ] && return
    [ $SECONDS -lt $deadline ] ||
      fail "engine $1 lists the group as [$(tr '\n' ';' <<<"$seen")], not [$(tr '\n' ';' <<<"$2")]"
    sleep 0.3
  done
}

for n in 0 1 2; do start_engine $n; done
first_leader=$(wait_leader "" 90)
step "three engines in group $GROUP; engine $first_leader leads"
for n in 0 1 2; do wait_group "$n" "$(group_expected "$first_leader")"; done
step "ok: each engine's /api/v1/group lists the three, live, engine $first_leader leading"

# A client of every engine, every 100 ms: each answer is counted; a refusal by a running engine,
# or a round in which no engine answers, is a failure (written to poll.failures). Each answer
# names the records its counts reflect (Casewatch-Offsets), or says it has cases not yet counted
# (Casewatch-Pending); the first kind are kept (answers/, poll.answers) to be checked against a
# replay of exactly those records.
mkdir -p "$WORK/answers"
touch "$WORK/poll.pending" "$WORK/poll.answers"
(
  asked=0
  while :; do
    answered=0
    for n in 0 1 2 3; do
      asked=$((asked + 1))
      code=$(curl -s -D "$WORK/poll.head" -o "$WORK/poll.body" -w '%{http_code}' --max-time 2 \
        "http://127.0.0.1:${PORTS[$n]}/api/v1/report" 2>/dev/null || true)
      case "$code" in
        200) echo ok >>"$WORK/poll.ok"; answered=1
             offsets=$(tr -d '\r' <"$WORK/poll.head" | sed -n 's/^casewatch-offsets: //Ip')
             if grep -qi '^casewatch-pending: ' "$WORK/poll.head"; then
               echo "$n" >>"$WORK/poll.pending"
             elif [ -n "$offsets" ]; then
               cp "$WORK/poll.body" "$WORK/answers/$asked.json"
               echo "$asked $n $offsets" >>"$WORK/poll.answers"
             elif ! grep -q '"cases":0,' "$WORK/poll.body"; then
               # No offsets: no record of the events topic reflected, so no case counted.
               echo "engine $n counted cases without naming their records at $(date +%T.%N): $(head -c 200 "$WORK/poll.body")" >>"$WORK/poll.failures"
             fi ;;
        000) ;;  # not running (killed, restarting, not yet added): the others answer
        # A new store with nothing projected yet says so.
        503) grep -q '"not_ready"' "$WORK/poll.body" ||
               echo "engine $n answered 503 at $(date +%T.%N): $(cat "$WORK/poll.body")" >>"$WORK/poll.failures" ;;
        *) echo "engine $n answered $code at $(date +%T.%N)" >>"$WORK/poll.failures" ;;
      esac
    done
    [ $answered -eq 1 ] || echo "no engine answered at $(date +%T.%N)" >>"$WORK/poll.failures"
    sleep 0.1
  done
) &
POLL_PID=$!

"$CASEWATCH" publish --brokers "$BOOTSTRAP" --rate "$rate" --timeout 300 "$WORK/a.ndjson" \
  >"$WORK/publish-a.log" 2>&1 &
PUBLISH_PID=$!
step "publishing $first events at $rate/s"
# Conflicting copies of the first 240 events (another actor; one per event_id: the simulation
# repeats some events, as a redelivering source would), 4 a second from 5 s in: long after their
# originals (read first, so accepted), and through the kills below.
CONFLICTS=240
awk -F'"' -v max="$CONFLICTS" '!seen[$4]++ { print; if (++n == max) exit }' "$WORK/a.ndjson" |
  sed 's/"actor":"[^"]*"/"actor":"a-conflicting-copy"/' >"$WORK/conflicts.ndjson"
(sleep 5 && exec "$CASEWATCH" publish --brokers "$BOOTSTRAP" --rate 4 --timeout 300 \
  "$WORK/conflicts.ndjson") >"$WORK/publish-conflicts.log" 2>&1 &
CONFLICTS_PID=$!

failover() {  # $1: the signal for the leader; prints the time until another leads
  local old started new
  old=$(leader)
  [ -n "$old" ] || fail "no single leader before the failover"
  started=$(now_ms)
  kill "-$1" "${PIDS[$old]}"
  wait "${PIDS[$old]}" 2>/dev/null || true
  PIDS[$old]=""
  new=$(wait_leader "$old" 60)
  step "SIG$1 to leader engine $old: engine $new leads after $(($(now_ms) - started)) ms"
  # Killed, it is listed silent (its last word: it led); stopped cleanly, it has left the list.
  if [ "$1" = KILL ]; then
    wait_group "$new" "$(group_expected "$new" "$(url_of "$old") 0 leader")"
    step "ok: engine $new lists engine $old silent, its last word that it led"
  else
    wait_group "$new" "$(group_expected "$new")"
    step "ok: engine $new no longer lists engine $old, which left the directory"
  fi
  start_engine "$old"
  local deadline=$((SECONDS + 30))
  until [ "$(role_of "$old")" = follower ]; do
    [ $SECONDS -lt $deadline ] || fail "engine $old, started again, does not follow within 30 s"
    sleep 0.5
  done
  [ "$(leader)" = "$new" ] || fail "engine $new no longer the only leader once engine $old rejoined"
}
sleep 10
failover KILL
sleep 8
failover KILL
sleep 8
failover TERM
wait "$PUBLISH_PID" || fail "the paced publish failed: $(tail -3 "$WORK/publish-a.log")"
PUBLISH_PID=""
wait "$CONFLICTS_PID" ||
  fail "publishing the conflicting copies failed: $(tail -3 "$WORK/publish-conflicts.log")"
CONFLICTS_PID=""

stop_engine() {  # SIGTERM; it must exit 0
  local code=0
  kill -TERM "${PIDS[$1]}"
  wait "${PIDS[$1]}" || code=$?
  PIDS[$1]=""
  [ "$code" -eq 0 ] || fail "engine $1 exited $code on SIGTERM"
}
wait_ready() {  # engine $1's /readyz 200, within $2 s
  local deadline=$((SECONDS + $2))
  until curl -sf --max-time 1 "http://127.0.0.1:${PORTS[$1]}/readyz" >/dev/null 2>&1; do
    alive
    [ $SECONDS -lt $deadline ] || fail "engine $1 not ready within $2 s"
    sleep 0.2
  done
}
wiped=$(( ($(leader) + 1) % 3 ))
stop_engine "$wiped"
rm -rf "$WORK/store$wiped"
start_engine "$wiped"
wait_ready "$wiped" 120
[ "$(role_of "$wiped")" = follower ] || fail "engine $wiped, its store wiped, does not follow"
step "engine $wiped's store wiped: rebuilt from the topics, it follows"
start_engine 3
wait_ready 3 120
[ "$(role_of 3)" = follower ] || fail "the fourth engine does not follow"
step "a fourth engine joined with an empty store: caught up, it follows"
for n in 0 1 2 3; do
  was=$(role_of "$n")
  stop_engine "$n"
  start_engine "$n"
  wait_ready "$n" 120
  # The leader restarted: the group's rebalance (with the restarted engine joining) and the
  # fencing take seconds; reads go on meanwhile.
  wait_leader "" 30 >/dev/null
  step "engine $n ($was) restarted and ready; engine $(leader) leads"
done
step "ok: rolling restart of all four, one at a time"
for n in 0 1 2 3; do wait_group "$n" "$(group_expected "$(leader)")"; done
step "ok: each of the four lists the four, live, engine $(leader) leading"

consume() {  # event ids of topic $1 as a read_committed consumer sees them, one per line
  java -Xmx256m -cp "$KAFKA/libs/*" org.apache.kafka.tools.consumer.ConsoleConsumer \
    --bootstrap-server "$BOOTSTRAP" --topic "$1" --from-beginning --timeout-ms 15000 \
    --consumer-property isolation.level=read_committed 2>/dev/null |
    grep -ao "$2" | sort
}
# Every engine's live stream from here on; then the derived events so far (any derived after
# this read must reach every stream that stays open).
for n in 0 1 2 3; do
  curl -sN "http://127.0.0.1:${PORTS[$n]}/api/v1/stream" >"$WORK/stream$n.txt" 2>/dev/null &
  STREAM_PIDS+=($!)
done
sleep 1
consume case-events-derived 'missed-[0-9a-f]\{16\}' | uniq >"$WORK/derived-before-b.txt"
"$CASEWATCH" publish --brokers "$BOOTSTRAP" "$WORK/b.ndjson" >"$WORK/publish-b.log" 2>&1 ||
  fail "publishing part b failed: $(tail -3 "$WORK/publish-b.log")"
step "all $total events published"

gone=$(leader)
stop_engine "$gone"
other=$(( (gone + 1) % 4 ))
stop_engine "$other"
ENGINES=()
for n in 0 1 2 3; do [ -n "${PIDS[$n]}" ] && ENGINES+=("$n"); done
new=$(wait_leader "$gone" 60)
step "engines $gone (the leader) and $other removed: engine $new leads, ${ENGINES[*]} remain"
for n in "${ENGINES[@]}"; do wait_group "$n" "$(group_expected "$new")"; done
step "ok: engines ${ENGINES[*]} list only themselves, engine $new leading"

# Every engine caught up: its lag 0 and its consumed records all.
caught_up() {
  local n body
  for n in "${ENGINES[@]}"; do
    body=$(curl -s --max-time 2 "http://127.0.0.1:${PORTS[$n]}/readyz" || true)
    [[ $body == *'"status":"ready"'* && $body == *'"lag":0,'* ]] || return 1
  done
}
deadline=$((SECONDS + 180))
until caught_up; do
  alive
  [ $SECONDS -lt $deadline ] || fail "the engines did not all catch up in 180 s"
  sleep 1
done
sleep 12  # the leader's sweep and the followers' derived events
kill "$POLL_PID"
POLL_PID=""
[ ! -s "$WORK/poll.failures" ] || fail "requests failed: $(head -3 "$WORK/poll.failures")"
step "ok: $(wc -l <"$WORK/poll.ok") reports answered by the running engines every 100 ms, none refused"
for pid in "${STREAM_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
STREAM_PIDS=()
# What each running engine answers now (its live view: a follower's as well as the leader's)
# equals the replay at the answer's as_of, the frozen clock's instant.
busiest_region
same_json() { python3 -c 'import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
sys.exit(0 if a == b else 1)' "$1" "$2"; }
for scope in national region; do
  flags=(--as-of "$END") query=""
  if [ "$scope" = region ]; then
    flags+=(--region "$REGION")
    query="?region=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$REGION")"
  fi
  "$CASEWATCH" replay --events "$WORK/events.ndjson" "${flags[@]}" >"$WORK/replay-now.json" ||
    fail "replay ${flags[*]} failed"
  for n in "${ENGINES[@]}"; do
    curl -sf --max-time 5 "http://127.0.0.1:${PORTS[$n]}/api/v1/report$query" >"$WORK/live$n.json" ||
      fail "engine $n did not answer /api/v1/report$query"
    grep -q "\"as_of\":\"$END\"" "$WORK/live$n.json" ||
      fail "engine $n's report is not as of $END: $(head -c 200 "$WORK/live$n.json")"
    same_json "$WORK/live$n.json" "$WORK/replay-now.json" ||
      fail "engine $n ($(role_of "$n")) answers a $scope report that differs from replay at $END: $(diff <(tr ',' '\n' <"$WORK/live$n.json") <(tr ',' '\n' <"$WORK/replay-now.json") | head -10)"
  done
done
step "ok: the live reports of engines ${ENGINES[*]} (leader and follower) equal replay, national and for $REGION"
for n in "${ENGINES[@]}"; do stop_engine "$n"; done

stores=()
for n in "${ENGINES[@]}"; do stores+=("$WORK/store$n"); done
equal_to_replay "at the end" 2023-12-31T23:59:59Z 2024-06-30T23:59:59Z "$END" -- "${stores[@]}"
step "ok: the stores of engines ${ENGINES[*]} equal replay at three instants, national and for $REGION"

consume case-alerts '"event_id":"[^"]*"' | cut -d'"' -f4 >"$WORK/alerts.txt"
consume case-events-derived 'missed-[0-9a-f]\{16\}' >"$WORK/derived-all.txt"
alerts=$(wc -l <"$WORK/alerts.txt")
[ "$alerts" -gt 0 ] || fail "no alert was published"
dupes=$(uniq -d "$WORK/alerts.txt" | wc -l)
[ "$dupes" -eq 0 ] || fail "$dupes alerts appear more than once: $(uniq -d "$WORK/alerts.txt" | head -3)"
uniq "$WORK/derived-all.txt" >"$WORK/derived.txt"
cmp -s "$WORK/alerts.txt" "$WORK/derived.txt" ||
  fail "the alerts are not the derived events': $(diff "$WORK/alerts.txt" "$WORK/derived.txt" | head -5)"
step "ok: $alerts alerts, each exactly once to a read_committed consumer, one per derived event"

# The DLQ's records are DeadLetter protobufs; the reason names the event_id.
consume case-events-dlq 'event_id "[^"]*" was already accepted' | cut -d'"' -f2 >"$WORK/letters.txt"
cut -d'"' -f4 "$WORK/conflicts.ndjson" | sort >"$WORK/conflicts.txt"
dupes=$(uniq -d "$WORK/letters.txt" | wc -l)
[ "$dupes" -eq 0 ] ||
  fail "$dupes dead letters appear more than once: $(uniq -d "$WORK/letters.txt" | head -3)"
cmp -s "$WORK/letters.txt" "$WORK/conflicts.txt" ||
  fail "the dead letters are not one per conflicting copy: $(diff "$WORK/letters.txt" "$WORK/conflicts.txt" | head -5)"
step "ok: each of the $CONFLICTS conflicting copies dead-lettered exactly once through the kills"

comm -23 "$WORK/derived.txt" "$WORK/derived-before-b.txt" >"$WORK/derived-since.txt"
since=$(wc -l <"$WORK/derived-since.txt")
[ "$since" -gt 0 ] || fail "no obligation_missed was derived after part b: the stream check tests nothing"
for n in "${ENGINES[@]}"; do
  grep -A1 '^event: alert' "$WORK/stream$n.txt" | grep -o '"event_id":"[^"]*"' | cut -d'"' -f4 |
    sort >"$WORK/streamed$n.txt"
  dupes=$(uniq -d "$WORK/streamed$n.txt" | wc -l)
  [ "$dupes" -eq 0 ] || fail "engine $n's stream repeats $dupes alerts: $(uniq -d "$WORK/streamed$n.txt" | head -3)"
  unknown=$(comm -23 "$WORK/streamed$n.txt" "$WORK/derived.txt" | head -3)
  [ -z "$unknown" ] || fail "engine $n's stream has alerts of no derived event: $unknown"
  missing=$(comm -23 "$WORK/derived-since.txt" "$WORK/streamed$n.txt" | wc -l)
  [ "$missing" -eq 0 ] || fail "engine $n's stream lacks $missing of the $since alerts raised since part b: $(comm -23 "$WORK/derived-since.txt" "$WORK/streamed$n.txt" | head -3)"
done
step "ok: the live streams of engines ${ENGINES[*]} carried each of the $since alerts raised since part b once"

# Answers polled throughout, each with its own offsets (a sample of 10, spread over the run, of
# those whose offsets differ): each equals the replay of exactly the records below them.
distinct=$(sort -u -k3,3 "$WORK/poll.answers" | sort -n >"$WORK/poll.distinct"; wc -l <"$WORK/poll.distinct")
[ "$distinct" -ge 10 ] || fail "only $distinct distinct offsets among the polled answers"
checked=0
while read -r asked n offsets; do
  as_of=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["as_of"])' "$WORK/answers/$asked.json")
  "$CASEWATCH" replay --brokers "$BOOTSTRAP" --topic case-events --offsets "$offsets" \
    --as-of "$as_of" >"$WORK/replay-offsets.json" 2>"$WORK/replay-offsets.log" ||
    fail "replay --offsets $offsets failed: $(tail -3 "$WORK/replay-offsets.log")"
  same_json "$WORK/answers/$asked.json" "$WORK/replay-offsets.json" ||
    fail "engine $n's answer at $offsets differs from the replay of those records: $(diff <(tr ',' '\n' <"$WORK/answers/$asked.json") <(tr ',' '\n' <"$WORK/replay-offsets.json") | head -10)"
  checked=$((checked + 1))
done < <(awk -v n="$distinct" 'NR == 1 || NR == n || (NR - 1) % int(n / 9) == 0' "$WORK/poll.distinct" | head -10)
step "ok: of $(wc -l <"$WORK/poll.ok") answers, $(wc -l <"$WORK/poll.answers") named their offsets ($distinct distinct; $checked checked, each equal to the replay of exactly those records) and $(wc -l <"$WORK/poll.pending") said they had cases not yet counted"
"$CLUSTER_SH" stop "$CLUSTER"
