#!/usr/bin/env bash
# The demo. By default, live: a simulated probation service is published to a local development
# broker in accelerated time (a simulated day every 2 s) and consumed by the engine, whose
# dashboard shows the indicators move; it runs until Ctrl-C, or for --for SECONDS.
# With --verify: everything is published at once to an engine whose clock is frozen at the
# simulation's end, and the engine's live report is checked against a replay of the same events.
#
#   scripts/demo.sh [--for SECONDS] [--verify]
#
# Environment: CASEWATCH_HTTP_PORT (default 8080; any free port when 8080 is taken and the
# variable is unset), CASEWATCH_BUILD_DIR (default build/release), CASEWATCH_DEMO_DIR (where it
# writes the store, logs and reports; default build/demo, emptied first).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: scripts/demo.sh [--for SECONDS] [--verify]" >&2; exit 2; }
RUN_FOR=""
VERIFY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --for)
      if [ $# -lt 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]]; then usage; fi
      RUN_FOR=$2
      shift 2
      ;;
    --verify) VERIFY=1; shift ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage ;;
  esac
done

BUILD=${CASEWATCH_BUILD_DIR:-build/release}
BIN=$BUILD/services/cli/casewatch
ENGINE=$BUILD/services/daemon/casewatchd
OUT=${CASEWATCH_DEMO_DIR:-build/demo}
for b in "$BIN" "$ENGINE"; do
  [ -x "$b" ] || { echo "demo: $b is missing: build first (./run demo does)" >&2; exit 1; }
done
rm -rf "$OUT"
mkdir -p "$OUT"

# Background processes, stopped in reverse order of starting (publisher, engine, broker) with
# SIGTERM, each given time to finish cleanly.
pids=()
cleanup() {
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || continue
    for _ in $(seq 100); do kill -0 "${pids[i]}" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "${pids[i]}" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  pids=()
}
trap cleanup EXIT

start_broker() {
  "$BIN" dev-broker --port 0 --partitions 4 > "$OUT/broker.out" 2> "$OUT/broker.log" &
  pids+=($!)
  for _ in $(seq 100); do grep -q "listening on" "$OUT/broker.out" 2>/dev/null && break; sleep 0.1; done
  BROKERS=$(sed -nE 's/.*listening on ([0-9.:]+).*/\1/p' "$OUT/broker.out" | head -1)
  if [ -z "$BROKERS" ]; then
    echo "demo: the development broker did not start:" >&2
    cat "$OUT/broker.log" >&2
    exit 1
  fi
  echo "   broker at $BROKERS"
}

# --- --verify: the engine's live report equals the replay ----------------------------------------
verify() {
  echo "1. Simulating 2,000 cases over 24 months (a service whose practice is typical)..."
  "$BIN" simulate --cases 2000 --start 2024-01-01 --months 24 --seed 7 --quiet --out "$OUT/events.bin"

  echo "2. Starting a development Kafka broker (librdkafka's mock cluster)..."
  start_broker

  echo "3. Starting casewatchd (store $OUT/store; clock frozen at the simulation's end)..."
  "$ENGINE" --brokers "$BROKERS" --data "$OUT/store" --clock simulated \
    --clock-start 2026-01-01T00:00:00Z --clock-speed 0 --no-http > "$OUT/engine.log" 2>&1 &
  pids+=($!)

  echo "4. Publishing the events, keyed by case..."
  "$BIN" publish --brokers "$BROKERS" "$OUT/events.bin"

  echo "5. Waiting for the engine to apply them..."
  local previous="" current=""
  for _ in $(seq 60); do
    sleep 1
    current=$("$BIN" report --data "$OUT/store" 2>/dev/null || true)
    if [ -n "$current" ] && [ "$current" = "$previous" ]; then break; fi
    previous=$current
  done
  printf '%s\n' "$current" > "$OUT/engine-report.json"
  "$BIN" replay --events "$OUT/events.bin" --as-of 2026-01-01T00:00:00Z \
    --json-out "$OUT/replay-report.json" --text 2>/dev/null
  echo
  if [ "$(cat "$OUT/engine-report.json")" = "$(cat "$OUT/replay-report.json")" ]; then
    echo "The engine's live report equals the replay of the same events (as of 2026-01-01)."
  else
    echo "The engine's report differs from the replay: see $OUT/engine-report.json" >&2
    exit 1
  fi
  echo
  echo "Try: $BIN report --data $OUT/store --case-items | head -c 2000"
  echo "     $BIN report --data $OUT/store --as-of 2025-06-30T23:59:59Z --from 2025-01-01"
}

if [ "$VERIFY" = 1 ]; then
  verify
  exit 0
fi

# --- The live demo -------------------------------------------------------------------------------
# The service runs from 2025-01-01 to the end of 2026; the clocks start half a year in, so the
# first six months arrive at once as the backlog and the rest as it happens, a day every 2 s.
START=2025-07-01T00:00:00Z
SPEED=43200

# The first line of an HTTP answer from the engine ("HTTP/1.1 200 OK"), or nothing. Uses bash's
# /dev/tcp, so that curl is not needed.
http_status_line() {
  # shellcheck disable=SC2016  # expanded by the inner bash
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" "$2" >&3
    head -n 1 <&3' _ "$1" "$2" 2>/dev/null || true
}

PORT=${CASEWATCH_HTTP_PORT:-8080}
if [ -z "${CASEWATCH_HTTP_PORT:-}" ] && (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null; then
  echo "(port 8080 is taken: the engine will take any free port; CASEWATCH_HTTP_PORT chooses one)"
  PORT=0
fi

echo "1. Simulating a probation service: 2,000 cases from 2025-01-01 over 24 months..."
"$BIN" simulate --cases 2000 --start 2025-01-01 --months 24 --seed 7 --quiet --out "$OUT/events.bin"

echo "2. Starting a development Kafka broker (librdkafka's mock cluster)..."
start_broker

echo "3. Starting casewatchd and the paced publisher, their clocks at $START, a day every 2 s..."
"$ENGINE" --brokers "$BROKERS" --data "$OUT/store" --clock simulated --clock-start "$START" \
  --clock-speed "$SPEED" --http-port "$PORT" --no-auth > "$OUT/engine.log" 2>&1 &
ENGINE_PID=$!
pids+=("$ENGINE_PID")
"$BIN" publish --brokers "$BROKERS" --paced --clock-start "$START" --clock-speed "$SPEED" \
  "$OUT/events.bin" > "$OUT/publish.log" 2>&1 &
PUBLISH_PID=$!
pids+=("$PUBLISH_PID")

# casewatchd has exited: cleanly when a Ctrl-C reached it first (exit 0), else a failure.
engine_ended() {
  local code=0
  wait "$ENGINE_PID" || code=$?
  if [ "$code" = 0 ]; then
    echo
    echo "casewatchd stopped; stopping the demo."
    exit 0
  fi
  echo "demo: casewatchd exited with code $code; the end of $OUT/engine.log:" >&2
  tail -n 20 "$OUT/engine.log" >&2
  exit 1
}

echo "4. Waiting for the engine to be ready..."
URL=""
ready=0
deadline=$((SECONDS + 60))
while [ "$SECONDS" -lt "$deadline" ]; do
  kill -0 "$ENGINE_PID" 2>/dev/null || engine_ended
  # The engine's log exists once its background shell has opened it, which may come after
  # this loop's first look (sed on a missing file would end the script under pipefail).
  if [ -z "$URL" ] && [ -f "$OUT/engine.log" ]; then
    URL=$(sed -nE 's#.*http: listening on (http://[0-9.]+:[0-9]+).*#\1#p' "$OUT/engine.log" | head -1)
  fi
  if [ -n "$URL" ] && [[ "$(http_status_line "${URL##*:}" /readyz)" == *" 200"* ]]; then
    ready=1
    break
  fi
  sleep 0.1
done
if [ "$ready" = 0 ]; then
  echo "demo: the engine did not answer /readyz with 200 within a minute; see $OUT/engine.log" >&2
  exit 1
fi

cat <<EOF

  ======================================================================
     Casewatch dashboard:   $URL/
  ======================================================================

  A simulated day passes every 2 seconds: watch the indicators move.

  The API (no token needed: this engine listens on 127.0.0.1 only):
    curl $URL/api/v1/report                    # the oversight report, now
    curl '$URL/api/v1/breakdown?by=region'     # one report per region
    curl '$URL/api/v1/worklist?group=overdue'  # the caseload: what is overdue, high risk first
    curl $URL/api/v1/cases/CASE_ID             # one case's timeline (ids: see the worklist)
    curl -N $URL/api/v1/stream                 # the scores each time they change
    curl $URL/metrics                          # Prometheus metrics

  Logs: $OUT/engine.log, $OUT/publish.log
  Afterwards, to look at this store again (no broker, nothing changes):
    $ENGINE --read-only --data $OUT/store --no-auth
EOF
if [ -n "$RUN_FOR" ]; then
  echo "  Running for $RUN_FOR s (Ctrl-C stops it sooner)."
else
  echo "  Ctrl-C stops the demo."
fi
echo

# The publisher's latest progress line, shortened: "simulated 2025-07-14 06:00, 1234 of 97607
# events sent".
progress() {
  local line
  line=$(grep -E '^publish: (simulated|[0-9]+ published)' "$OUT/publish.log" | tail -n 1 || true)
  line=${line#publish: }
  printf '%s' "${line%, [0-9]* delivered*}"
}

trap 'echo; echo "Stopping... (to look again: $ENGINE --read-only --data $OUT/store --no-auth)"; exit 0' INT TERM
started=$SECONDS
last_status=""
while [ -z "$RUN_FOR" ] || [ $((SECONDS - started)) -lt "$RUN_FOR" ]; do
  kill -0 "$ENGINE_PID" 2>/dev/null || engine_ended
  status=$(progress)
  if [ -n "$status" ] && [ "$status" != "$last_status" ]; then
    if [ -t 1 ]; then printf '\r  %s\033[K' "$status"; else printf '  %s\n' "$status"; fi
    last_status=$status
  fi
  sleep 1
done
[ -t 1 ] && echo
echo "Stopping after $RUN_FOR s."
