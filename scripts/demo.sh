#!/usr/bin/env bash
# The demo: simulate a probation service, replay its history, print the oversight report.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/release/services/cli/casewatch
OUT=build/demo
mkdir -p "$OUT"

echo "Simulating 2,000 cases over 24 months (a service whose practice is typical)..."
"$BIN" simulate --cases 2000 --start 2024-01-01 --months 24 --seed 7 --out "$OUT/events.ndjson"
echo "Replaying as of 2025-12-31 ..."
"$BIN" replay --events "$OUT/events.ndjson" --as-of 2025-12-31T23:59:59Z --text \
  --json-out "$OUT/report.json"
echo
echo "The JSON report is in $OUT/report.json; try:"
echo "  $BIN replay --events $OUT/events.ndjson --as-of 2025-06-30T23:59:59Z --from 2025-01-01 --text"
