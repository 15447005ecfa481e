#!/usr/bin/env bash
# ctest's fuzz_build: configures the fuzz preset (clang, libFuzzer, ASan + UBSan) in BUILD_DIR and
# builds its fuzzers, for the fuzz tests of a build that is not itself a fuzzing build.
#   build_fuzzers.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 dir=$2
cd "$src"
cmake --preset fuzz -B "$dir" >/dev/null
# One job: ctest runs other tests beside this one.
cmake --build "$dir" --target fuzzers -j 1
