#!/usr/bin/env bash
# ctest's tsan_build: configures the tsan preset (clang, ThreadSanitizer, the thread-safety
# analysis as errors) in BUILD_DIR and builds what the tsan tests run: the HTTP tests, the engine
# over Kafka (with the binaries it starts) and the deliberate race.
#   build_tsan.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 dir=$2
cd "$src"
cmake --preset tsan -B "$dir" >/dev/null
# Two jobs: the longest step of the suite; ctest runs other tests beside it.
cmake --build "$dir" --target http_api_test http_server_test engine_kafka_test casewatch casewatchd tsan_race -j 2
