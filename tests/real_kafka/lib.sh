# Sourced by the real-cluster test scripts here and by bench/lib.sh. They set SRC (the
# source tree), CASEWATCH (the casewatch binary), WORK (a scratch directory holding events.ndjson)
# and CLUSTER (a cluster directory under WORK), and define fail MESSAGE. For role_of and leader:
# PORTS (engine n's HTTP port), PIDS (its process, "" when stopped) and ENGINES (the numbers).

step() { echo "$(date +%T) $*"; }

# The scripts' exit trap: kills the processes given (empty ones skipped), stops the cluster in
# $CLUSTER and removes $WORK (kept, and named, when CASEWATCH_KEEP_WORK is set: for a look at the
# logs after a failure).
stop_everything() {
  local pid
  for pid in "$@"; do
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  done
  "$SRC/scripts/kafka/cluster.sh" stop "$CLUSTER" >/dev/null 2>&1 || true
  if [ -n "${CASEWATCH_KEEP_WORK:-}" ]; then
    echo "kept $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}

# free_ports N: N TCP ports on 127.0.0.1 free now, on one line.
free_ports() {
  python3 -c '
import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"
}

# simulate_in_two_parts SEED: $WORK/events.ndjson (1,500 cases over 24 months from 2023), its
# first three quarters in a.ndjson and the rest in b.ndjson; sets total (its lines) and first
# (a's).
simulate_in_two_parts() {
  "$CASEWATCH" simulate --cases 1500 --months 24 --start 2023-01-01 --seed "$1" --quiet \
    --out "$WORK/events.ndjson" || fail "casewatch simulate failed"
  total=$(wc -l <"$WORK/events.ndjson")
  first=$((total * 3 / 4))
  head -n "$first" "$WORK/events.ndjson" >"$WORK/a.ndjson"
  tail -n +"$((first + 1))" "$WORK/events.ndjson" >"$WORK/b.ndjson"
}

# Starts a 3-node cluster in $CLUSTER and makes the topics with deploy/topics.sh; sets KAFKA (the
# release) and BOOTSTRAP.
start_cluster_with_topics() {
  KAFKA=$("$SRC/scripts/kafka/fetch.sh") || fail "the Kafka release cannot be fetched"
  BOOTSTRAP=$("$SRC/scripts/kafka/cluster.sh" start "$CLUSTER") || fail "the cluster did not start"
  BOOTSTRAP=$BOOTSTRAP KAFKA_BIN=$KAFKA/bin bash "$SRC/deploy/topics.sh" >"$WORK/topics.log" 2>&1 ||
    fail "deploy/topics.sh failed: $(tail -5 "$WORK/topics.log")"
}

# Sets REGION: the region with the most events in $WORK/events.ndjson.
busiest_region() {
  REGION=$(grep -o '"region":"[^"]*"' "$WORK/events.ndjson" | sort | uniq -c | sort -rn |
    head -1 | sed 's/.*"region":"\([^"]*\)"/\1/')
}

# equal_to_replay LABEL AS_OF... -- STORE...
# Each store's report equals `casewatch replay` of $WORK/events.ndjson at each instant, for the
# whole service and for the region with the most events (REGION, set for the caller's message),
# case items included; otherwise fails, naming LABEL, the store and the first differences.
equal_to_replay() {
  local label=$1 as_ofs=() as_of scope store flags
  shift
  while [ "$1" != -- ]; do as_ofs+=("$1"); shift; done
  shift
  busiest_region
  for as_of in "${as_ofs[@]}"; do
    for scope in national region; do
      flags=(--as-of "$as_of" --case-items)
      [ "$scope" = region ] && flags+=(--region "$REGION")
      "$CASEWATCH" replay --events "$WORK/events.ndjson" "${flags[@]}" >"$WORK/replay.json" \
        2>/dev/null || fail "replay ${flags[*]} failed"
      for store in "$@"; do
        "$CASEWATCH" report --data "$store" "${flags[@]}" >"$WORK/live.json" 2>"$WORK/live.err" ||
          fail "report of $store ${flags[*]}: $(cat "$WORK/live.err")"
        cmp -s "$WORK/live.json" "$WORK/replay.json" ||
          fail "$label: $store differs from replay at $as_of ($scope): $(diff <(tr ',' '\n' <"$WORK/live.json") <(tr ',' '\n' <"$WORK/replay.json") | head -10)"
      done
    done
  done
}

role_of() {  # engine $1's role as /readyz says ("" while it does not answer)
  curl -s --max-time 1 "http://127.0.0.1:${PORTS[$1]}/readyz" 2>/dev/null |
    grep -o '"role":"[a-z]*"' | cut -d'"' -f4 || true
}

leader() {  # the engine that leads, when exactly one running engine says so
  local n found=""
  for n in "${ENGINES[@]}"; do
    [ -n "${PIDS[$n]}" ] || continue
    if [ "$(role_of "$n")" = leader ]; then
      [ -z "$found" ] || { echo ""; return; }
      found=$n
    fi
  done
  echo "$found"
}
