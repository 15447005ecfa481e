#!/usr/bin/env bash
# Several engines in one group (casewatchd --group) on a real 3-node Apache Kafka cluster, all on
# this machine (release build). Prints the figures of docs/benchmarks.md, "Issue 15":
#   1. ingest of a pre-published history into new stores: one engine on its own, then three in a
#      group (each applies every record into its own store);
#   2. the live report from each of the three (curl, one request at a time);
#   3. failover: the leader killed (SIGKILL) --kills times while a publisher trickles events, then
#      stopped cleanly (SIGTERM) --stops times: the time from the signal until another engine's
#      /readyz says it leads (it has fenced the last leader and leads: alerts flow again).
#
#   bench/group_bench.sh [--cases N] [--kills K] [--stops S] [--session-timeout S] [--failover-only]
#   (defaults 4000 cases, 10 kills, 5 stops, 6 s). A session timeout under 6 s is allowed by the
#   test cluster's brokers (group.min.session.timeout.ms) for this run. --failover-only: no ingest
#   with three engines, no report timings (the one engine's catch-up is still measured: with no
#   kills and no stops, that is all).
set -euo pipefail
cd "$(dirname "$0")/.."
CASES=4000 KILLS=10 STOPS=5 SESSION=6 FAILOVER_ONLY=""
usage() {
  echo "usage: $0 [--cases N] [--kills K] [--stops S] [--session-timeout S] [--failover-only]" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --cases) CASES=$2; shift 2 ;;
    --kills) KILLS=$2; shift 2 ;;
    --stops) STOPS=$2; shift 2 ;;
    --session-timeout) SESSION=$2; shift 2 ;;
    --failover-only) FAILOVER_ONLY=1; shift ;;
    *) usage ;;
  esac
done
[[ "$SESSION" =~ ^[1-9][0-9]*$ ]] || { echo "--session-timeout: whole seconds, at least 1" >&2; usage; }
WORK=build/group-bench
PIDS=("" "" "" "")
ENGINES=(0 1 2)  # in the group; engine 3 runs alone
if [ "$SESSION" -lt 6 ]; then
  EXTRA_PROPERTIES="group.min.session.timeout.ms=$((SESSION * 1000))"
fi
# shellcheck source=lib.sh
source bench/lib.sh
bench_cluster_up 4
bench_history

start_engine() {  # engine $1; $2: --group or nothing
  "$CASEWATCHD" --brokers "$BOOTSTRAP" ${2:+--group bench --group-session-timeout $SESSION} \
    --data "$WORK/store$1" \
    --http-port "${PORTS[$1]}" --no-auth --clock simulated --clock-start "$END" \
    --clock-speed 0 >>"$WORK/engine$1.log" 2>&1 &
  PIDS[$1]=$!
}

# 1. Ingest: one engine on its own (an engine with no copy of the history, catching up before it
# serves), then three in a group, each from an empty store.
started=$(now_ms)
start_engine 3
until ready 3; do sleep 0.05; done
one=$(($(now_ms) - started))
stop_engine 3
if [ -n "$FAILOVER_ONLY" ]; then
  echo "| catch-up of $total events into a new store (to /readyz 200) | one engine: $one ms ($((total * 1000 / one)) events/s) |"
  [ "$KILLS" -gt 0 ] || [ "$STOPS" -gt 0 ] || exit 0
  for n in 0 1 2; do start_engine "$n" group; done
  for n in 0 1 2; do until ready "$n"; do sleep 0.05; done; done
else
  started=$(now_ms)
  for n in 0 1 2; do start_engine "$n" group; done
  for n in 0 1 2; do until ready "$n"; do sleep 0.05; done; done
  three=$(($(now_ms) - started))
  echo "| ingest of $total events into new stores (to /readyz 200) | one engine: $one ms ($((total * 1000 / one)) events/s) | three in a group: $three ms ($((total * 1000 / three)) events/s each, $((3 * total * 1000 / three)) applied in all) |"
fi
until [ -n "$(leader)" ]; do sleep 0.1; done

# 2. The report from each engine, one request at a time, once the leader's derived events have
# reached the followers (the stores quiet: each new write renders a new report).
[ -n "$FAILOVER_ONLY" ] || sleep 20
for n in 0 1 2; do
  [ -n "$FAILOVER_ONLY" ] && break
  report_timings "$n" "$(role_of "$n")"
done

# 3. Failovers, while a publisher trickles events.
start_trickle
failover() {  # $1: signal; FAILOVER_MS: the milliseconds until another engine leads
  local old new started
  old=$(leader)
  until [ -n "$old" ]; do sleep 0.1; old=$(leader); done
  started=$(now_ms)
  kill "-$1" "${PIDS[$old]}"
  wait "${PIDS[$old]}" 2>/dev/null || true
  PIDS[$old]=""
  while :; do
    new=$(leader)
    [ -n "$new" ] && break
    sleep 0.05
  done
  FAILOVER_MS=$(($(now_ms) - started))
  start_engine "$old" group
  until ready "$old" && [ "$(role_of "$old")" = follower ]; do sleep 0.1; done
  sleep 2
}
summary() {  # $1: name, then the times
  local name=$1
  shift
  [ $# -gt 0 ] || return 0
  printf '%s\n' "$@" | sort -n >"$WORK/times.txt"
  echo "| $name: $# times | p50 $(awk -v n=$# 'NR==int((n+1)/2)' "$WORK/times.txt") ms | max $(tail -1 "$WORK/times.txt") ms | all: $(tr '\n' ' ' <"$WORK/times.txt")|"
}
kills=()
for i in $(seq "$KILLS"); do failover KILL; kills+=("$FAILOVER_MS"); say "kill $i: $FAILOVER_MS ms"; done
summary "failover after the leader is killed (SIGKILL; session timeout $SESSION s)" "${kills[@]}"
stops=()
for i in $(seq "$STOPS"); do failover TERM; stops+=("$FAILOVER_MS"); say "stop $i: $FAILOVER_MS ms"; done
summary "handover when the leader stops (SIGTERM)" "${stops[@]}"
kill "$TRICKLE" 2>/dev/null || true
TRICKLE=""
for n in 0 1 2; do stop_engine "$n"; done
