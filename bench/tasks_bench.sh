#!/usr/bin/env bash
# casewatchd --tasks (a task per partition of the events topic, each with its own store) on a
# real 3-node Apache Kafka cluster, all on this machine (release build). Prints the figures of
# docs/benchmarks.md, "Issue 15: a task per partition":
#   1. ingest of a pre-published history into new stores, to /readyz 200: one engine with one
#      store, then one engine with --tasks (deploy/topics.sh's 12 partitions: 12 tasks);
#   2. three engines with --tasks --group sharing the partitions out: the time until every
#      partition is served and every engine is ready, and the live report from each (its own
#      partitions' counts and the other engines', asked for at every request: Casewatch-Peers);
#   3. takeover: one of the three killed (SIGKILL) --kills times while a publisher trickles
#      events. Measured from the signal: until the two left serve every partition again (each
#      partition in one of their /readyz), and until both are ready again (the partitions they
#      took caught up), and until a live report from each of them is whole again (no partition
#      missing: the killed one's partitions counted from the standbys' copies, Casewatch-Copies,
#      or from their new owners); and how many of the partitions moved were taken over by a
#      standby copy
#      (--standby-replicas; the others from the engine's own older copy). The killed one then
#      restarts on its store and takes its share back.
#
#   bench/tasks_bench.sh [--cases N] [--kills K] [--standby-replicas R] [--group-only]
#                        [--peer-refresh-ms MS]
#   (defaults 4000 cases, 5 kills, 1 standby and 250 ms: casewatchd's defaults). --group-only: no
#   step 1. --peer-refresh-ms 0: the peers asked at every live report (no merged counts kept).
set -euo pipefail
cd "$(dirname "$0")/.."
CASES=4000 KILLS=5 STANDBYS=1 GROUP_ONLY= REFRESH=250
usage() {
  echo "usage: $0 [--cases N] [--kills K] [--standby-replicas R] [--group-only]" \
    "[--peer-refresh-ms MS]" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --cases) CASES=$2; shift 2 ;;
    --kills) KILLS=$2; shift 2 ;;
    --standby-replicas) STANDBYS=$2; shift 2 ;;
    --group-only) GROUP_ONLY=1; shift ;;
    --peer-refresh-ms) REFRESH=$2; shift 2 ;;
    *) usage ;;
  esac
done
WORK=build/tasks-bench
PARTITIONS=12  # deploy/topics.sh
PIDS=("" "" "" "" "")
# shellcheck source=lib.sh
source bench/lib.sh
bench_cluster_up 5
bench_history

start_engine() {  # engine $1, then its flags
  local n=$1
  shift
  "$CASEWATCHD" --brokers "$BOOTSTRAP" "$@" --data "$WORK/store$n" --http-port "${PORTS[$n]}" \
    --no-auth --clock simulated --clock-start "$END" --clock-speed 0 >>"$WORK/engine$n.log" 2>&1 &
  PIDS[$n]=$!
}
held() {  # the partitions engine $1 serves itself (its /readyz, not the copies it keeps)
  curl -s --max-time 1 "http://127.0.0.1:${PORTS[$1]}/readyz" | sed 's/"standby":.*//' |
    grep -o '"partition":[0-9]*' | cut -d: -f2 || true
}
whole() {  # of 50 live reports from engine $1, those for every partition, the others' counts added
  local i headers count=0
  for i in $(seq 50); do
    headers=$(curl -s --max-time 1 -D - -o /dev/null \
      "http://127.0.0.1:${PORTS[$1]}/api/v1/report" | tr -d '\r')
    if grep -qi '^casewatch-peers:' <<<"$headers" &&
      ! grep -qi '^casewatch-missing:' <<<"$headers"; then
      count=$((count + 1))
    fi
  done
  echo "$count"
}
answers_whole() {  # engine $1's live report lacks no partition (no Casewatch-Missing) and
  # adds no counts of engine $2 (killed: an answer merged before the kill, given again for up
  # to four --peer-refresh-ms, is not one made without it)
  local headers
  headers=$(curl -s --max-time 1 -D - -o /dev/null \
    "http://127.0.0.1:${PORTS[$1]}/api/v1/report" | tr -d '\r')
  grep -q '^HTTP/1.1 200' <<<"$headers" && ! grep -qi '^casewatch-missing:' <<<"$headers" &&
    ! grep -qi "^casewatch-peers:.*:${PORTS[$2]}\(,\|\$\)" <<<"$headers"
}
served() {  # how many partitions engines "$@" hold between them
  local n
  for n in "$@"; do held "$n"; done | sort -u | grep -c . || true
}
timed_ready() {  # starts engine $1 with flags "${@:2}"; READY_MS: the ms until /readyz is 200
  local started
  started=$(now_ms)
  start_engine "$@"
  until ready "$1"; do sleep 0.05; done
  READY_MS=$(($(now_ms) - started))
}

# 1. Ingest: one store, then a task per partition, each from new stores.
if [ -z "$GROUP_ONLY" ]; then
  timed_ready 3
  one=$READY_MS
  stop_engine 3
  timed_ready 4 --tasks
  tasks=$READY_MS
  stop_engine 4
  echo "| ingest of $total events into new stores (to /readyz 200) | one engine, one store: $one ms ($((total * 1000 / one)) events/s) | one engine, $PARTITIONS tasks (--tasks): $tasks ms ($((total * 1000 / tasks)) events/s) |"
fi

# 2. Three engines sharing the partitions out.
GROUP=(--tasks --group bench-tasks --standby-replicas "$STANDBYS" --peer-refresh-ms "$REFRESH")
started=$(now_ms)
for n in 0 1 2; do start_engine "$n" "${GROUP[@]}"; done
until [ "$(served 0 1 2)" -eq "$PARTITIONS" ] && ready 0 && ready 1 && ready 2; do sleep 0.1; done
three=$(($(now_ms) - started))
echo "| three engines with --tasks --group, new stores: every partition served and every engine ready | $three ms | each applies only its share: $((total * 1000 / three)) events/s in all |"
# Ready means the partitions each engine serves are caught up; the copies kept for the others
# (--standby-replicas) may still be following. The quiet figures wait for them too.
copies_current() {  # engine $1's copies (/readyz "standby") all at lag 0
  ! curl -s --max-time 1 "http://127.0.0.1:${PORTS[$1]}/readyz" |
    sed -n 's/.*"standby":\[\([^]]*\)\].*/\1/p' | grep -o '"lag":[0-9]*' | grep -qv '"lag":0$'
}
until copies_current 0 && copies_current 1 && copies_current 2; do sleep 0.1; done
echo "| the same, until the copies kept for the others (--standby-replicas $STANDBYS) are caught up too | $(($(now_ms) - started)) ms | |"
sleep 2
for n in 0 1 2; do
  report_timings "$n" "its own $(held "$n" | wc -l) of $PARTITIONS partitions; the others' counts added (Casewatch-Peers, nothing missing) in $(whole "$n") of 50 answers"
done

# 3. Takeovers, while a publisher trickles events.
start_trickle
sleep 3
# The same reports while every engine writes (each peer's counts change at every write: fetched
# again rather than answered 304), and a /readyz beside them for what the shared cores cost.
for n in 0 1 2; do report_timings "$n" "while 300 events/s trickle in"; done
for i in $(seq 300); do
  curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:${PORTS[0]}/readyz"
done | sort -n >"$WORK/readyz.txt"
echo "| GET /readyz from engine 0 at the same time, 300 requests | p50 $(awk 'NR==150{printf "%.2f", $1*1000}' "$WORK/readyz.txt") ms | p99 $(awk 'NR==297{printf "%.2f", $1*1000}' "$WORK/readyz.txt") ms |"
served_ms=() ready_ms=() whole_ms=() moved_all=0 by_standby=0
took_over() {  # takeovers by a standby in the engines' logs so far
  cat "$WORK"/engine[012].log | grep -c "taken over by its standby here" || true
}
for i in $(seq "$KILLS"); do
  victim=$((i % 3))
  others=()
  for n in 0 1 2; do [ "$n" -ne "$victim" ] && others+=("$n"); done
  moved=$(held "$victim" | wc -l)
  standby_before=$(took_over)
  started=$(now_ms)
  kill -KILL "${PIDS[$victim]}"
  wait "${PIDS[$victim]}" 2>/dev/null || true
  PIDS[$victim]=""
  served_at="" whole_at=""
  until [ -n "$served_at" ] && [ -n "$whole_at" ]; do
    if [ -z "$whole_at" ] && answers_whole "${others[0]}" "$victim" &&
      answers_whole "${others[1]}" "$victim"; then
      whole_at=$(now_ms)
    fi
    if [ -z "$served_at" ] && [ "$(served "${others[@]}")" -eq "$PARTITIONS" ]; then
      served_at=$(now_ms)
    fi
    sleep 0.02
  done
  served_ms+=($((served_at - started)))
  whole_ms+=($((whole_at - started)))
  until ready "${others[0]}" && ready "${others[1]}"; do sleep 0.05; done
  ready_ms+=($(($(now_ms) - started)))
  standby_now=$(($(took_over) - standby_before))
  moved_all=$((moved_all + moved)) by_standby=$((by_standby + standby_now))
  say "kill $i (engine $victim, $moved partitions, $standby_now taken over by a standby): answers whole again after ${whole_ms[-1]} ms, served again after ${served_ms[-1]} ms, ready after ${ready_ms[-1]} ms"
  start_engine "$victim" "${GROUP[@]}"
  until [ "$(held "$victim" | wc -l)" -gt 0 ] && ready "$victim" &&
    [ "$(served 0 1 2)" -eq "$PARTITIONS" ]; do sleep 0.1; done
  sleep 2
done
summary() {  # $1: name, then the times
  local name=$1
  shift
  printf '%s\n' "$@" | sort -n >"$WORK/times.txt"
  echo "| $name: $# times | p50 $(awk -v n=$# 'NR==int((n+1)/2)' "$WORK/times.txt") ms | max $(tail -1 "$WORK/times.txt") ms | all: $(tr '\n' ' ' <"$WORK/times.txt")|"
}
summary "a third of the partitions served again after their engine is killed (SIGKILL; session timeout 6 s; --standby-replicas $STANDBYS)" "${served_ms[@]}"
summary "the same, until the engines that took them are caught up (/readyz 200)" "${ready_ms[@]}"
summary "the same, until a live report from each of the two left lacks no partition (from copies, or from the new owners)" "${whole_ms[@]}"
echo "| partitions moved by the kills, taken over by a standby copy | $by_standby of $moved_all | the rest from the engine's own older copy, if it had one, or from Kafka |"
kill "$TRICKLE" 2>/dev/null || true
TRICKLE=""
for n in 0 1 2; do stop_engine "$n"; done
