#!/usr/bin/env bash
# Installs the Debian packages the build, tests and demo need. Idempotent: when everything is
# already installed it only asks dpkg and returns.
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake ninja-build git pkg-config ccache
  # libraries
  protobuf-compiler libprotobuf-dev libsimdjson-dev libfmt-dev libspdlog-dev libcli11-dev
  libboost-dev librdkafka-dev librocksdb-dev libssl-dev
  # tests and benchmarks (openssl: the TLS tests' certificates)
  libgtest-dev libgmock-dev libbenchmark-dev openssl
  # the dashboard's browser test (tests/e2e)
  chromium
  # the fuzz tests (tests/fuzz): clang with libFuzzer and the sanitizers' runtimes, and
  # llvm-symbolizer for file:line in their reports
  clang libclang-rt-14-dev llvm
  # the real Apache Kafka cluster of the tests and benchmarks (scripts/kafka): Java 17 to run it,
  # Maven to fetch it from Maven Central, python3 to find free loopback ports
  default-jre-headless maven python3
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node.js and npm may come from elsewhere than Debian (a newer release): only add Debian's when absent.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The browser tests (tests/e2e): playwright-core, exactly as pinned in the committed lock file.
# npm ci runs only when node_modules is missing or older than the lock file. Without it those
# tests cannot run, so a failed npm ci fails the set-up.
E2E="$(cd "$(dirname "$0")/.." && pwd)/tests/e2e"
if [ ! -f "$E2E/node_modules/.package-lock.json" ] ||
   [ "$E2E/package-lock.json" -nt "$E2E/node_modules/.package-lock.json" ]; then
  echo "setup: npm ci in tests/e2e" >&2
  if ! (cd "$E2E" && npm ci --no-audit --no-fund --loglevel=error); then
    echo "setup: npm ci failed in tests/e2e (node $(node --version 2>/dev/null || echo missing)," \
      "npm $(npm --version 2>/dev/null || echo missing)): the browser tests need its playwright-core;" \
      "the npm registry must be reachable" >&2
    exit 1
  fi
fi

# The pinned Apache Kafka release for the real-cluster tests (scripts/kafka/fetch.sh): fetched from
# Maven Central once and cached; the tests cannot run without it, so a failed fetch fails the
# set-up (fetch.sh says why).
if ! "$(dirname "$0")/kafka/fetch.sh" >/dev/null; then
  echo "setup: could not fetch Apache Kafka (see above): the real-cluster tests need it" >&2
  exit 1
fi
