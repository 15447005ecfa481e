#!/usr/bin/env bash
# The demo: a simulated probation service published to Kafka (a local development broker),
# consumed by the engine into its store; the engine's report is then checked against a replay of
# the same events and printed.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/release/services/cli/casewatch
ENGINE=build/release/services/engine/casewatchd
OUT=build/demo
rm -rf "$OUT"
mkdir -p "$OUT"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

echo "1. Simulating 2,000 cases over 24 months (a service whose practice is typical)..."
"$BIN" simulate --cases 2000 --start 2024-01-01 --months 24 --seed 7 --quiet --out "$OUT/events.bin"

echo "2. Starting a development Kafka broker (librdkafka's mock cluster)..."
"$BIN" dev-broker --port 0 --partitions 4 > "$OUT/broker.out" 2> "$OUT/broker.log" &
pids+=($!)
for _ in $(seq 50); do grep -q "listening on" "$OUT/broker.out" 2>/dev/null && break; sleep 0.1; done
BROKERS=$(sed -nE 's/.*listening on ([0-9.:]+).*/\1/p' "$OUT/broker.out" | head -1)
echo "   broker at $BROKERS"

echo "3. Starting casewatchd (store $OUT/store; clock frozen at the simulation's end)..."
"$ENGINE" --brokers "$BROKERS" --data "$OUT/store" --clock simulated \
  --clock-start 2026-01-01T00:00:00Z --clock-speed 0 > "$OUT/engine.log" 2>&1 &
pids+=($!)

echo "4. Publishing the events, keyed by case..."
"$BIN" publish --brokers "$BROKERS" "$OUT/events.bin"

echo "5. Waiting for the engine to apply them..."
previous=""
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
