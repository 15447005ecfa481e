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
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
