#!/usr/bin/env bash
# Installs the Debian packages the build, tests and demo need. Idempotent: when everything is
# already installed it only asks dpkg and returns.
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake ninja-build git pkg-config ccache
  # libraries
  protobuf-compiler libprotobuf-dev libsimdjson-dev libfmt-dev libspdlog-dev libcli11-dev
  libboost-dev librdkafka-dev librocksdb-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # the dashboard's browser test (tests/e2e)
  chromium
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

# The dashboard's browser test: playwright-core, exactly as pinned in the committed lock file.
# npm ci runs only when node_modules is missing or older than the lock file.
E2E="$(cd "$(dirname "$0")/.." && pwd)/tests/e2e"
if [ ! -f "$E2E/node_modules/.package-lock.json" ] ||
   [ "$E2E/package-lock.json" -nt "$E2E/node_modules/.package-lock.json" ]; then
  echo "setup: npm ci in tests/e2e" >&2
  (cd "$E2E" && npm ci --no-audit --no-fund --loglevel=error) ||
    echo "setup: npm ci failed in tests/e2e; the dashboard e2e test will be skipped" >&2
fi
