#!/usr/bin/env bash
# Checks that `./run test` passes on a minimal Debian 12 where nothing is preinstalled: a
# verification tool for the set-up scripts, not part of `./run test` itself.
#
#   scripts/debian12_check.sh [--root-cache DIR] [--work DIR] [--logs DIR]
#
# It debootstraps a minimal bookworm once (`--variant=minbase`, cached outside the repository in
# /var/tmp/casewatch-debian12-root and re-used), copies that pristine tree afresh for each run (so
# every run starts minimal), mounts /proc, /sys, /dev, /dev/pts and /dev/shm inside the copy,
# puts a clean `git clone` of this repository's committed HEAD (not the working tree) in
# /root/casewatch, and runs `./run test` there as root: scripts/setup.sh itself then installs the
# compiler, CMake, git, Debian's Node.js 18 and npm, chromium and the rest. It prints where the log
# is and ctest's summary, and exits with `./run test`'s code.
#
# Needs root (sudo is used otherwise), debootstrap (installed with apt-get when missing), the
# Debian mirror and the npm registry (NODE_EXTRA_CA_CERTS, when set, is passed in). With 2 cores
# the build takes 20-40 minutes (ccache starts cold in the chroot).
set -euo pipefail

# The whole script is one compound command, read before any of it runs: an edit of this file
# during a run (which lasts half an hour) cannot change what the run does.
{

REPO="$(cd "$(dirname "$0")/.." && pwd)"
ROOT_CACHE=/var/tmp/casewatch-debian12-root
WORK=/var/tmp/casewatch-debian12-run
LOGS=/var/tmp/casewatch-debian12-logs
MIRROR=http://deb.debian.org/debian

while [ $# -gt 0 ]; do
  case "$1" in
    --root-cache) ROOT_CACHE="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    --logs) LOGS="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "debian12_check: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  exec sudo --preserve-env=NODE_EXTRA_CA_CERTS "$0" --root-cache "$ROOT_CACHE" --work "$WORK" --logs "$LOGS"
fi

say() { echo "debian12_check: $*" >&2; }

if ! command -v debootstrap >/dev/null; then
  say "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

# The pristine root filesystem, made once. A half-made one (no marker) is made again.
if [ ! -f "$ROOT_CACHE/.casewatch-pristine" ]; then
  say "debootstrap --variant=minbase bookworm into $ROOT_CACHE (once; re-used afterwards)"
  rm -rf "$ROOT_CACHE"
  debootstrap --variant=minbase bookworm "$ROOT_CACHE" "$MIRROR" >"$ROOT_CACHE.debootstrap.log" 2>&1 || {
    say "debootstrap failed; its log: $ROOT_CACHE.debootstrap.log"
    tail -20 "$ROOT_CACHE.debootstrap.log" >&2
    exit 1
  }
  date -u +%FT%TZ >"$ROOT_CACHE/.casewatch-pristine"
fi

# A fresh copy for this run. Nothing may still be mounted in a previous run's copy.
if grep -q " $WORK/" /proc/mounts; then
  say "something is still mounted under $WORK (another run?); unmount it first:"
  grep " $WORK/" /proc/mounts >&2
  exit 1
fi
rm -rf "$WORK"
cp -a "$ROOT_CACHE" "$WORK"
rm -f "$WORK/.casewatch-pristine"

mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" 2>/dev/null || say "could not unmount ${mounted[i]}"
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mount_in() {  # mount_in TARGET mount-arguments...
  local target="$WORK$1"
  shift
  mkdir -p "$target"
  mount "$@" "$target"
  mounted+=("$target")
}
mount_in /proc -t proc proc
mount_in /sys -t sysfs sysfs
mount_in /dev --bind /dev
mount --make-private "$WORK/dev"  # what is mounted below it must not show on the host's /dev
mount_in /dev/pts -t devpts devpts -o newinstance,ptmxmode=0666
mount_in /dev/shm -t tmpfs shm -o mode=1777

# Name resolution as on the host; no service started by a package's maintainer scripts.
cp -L /etc/resolv.conf "$WORK/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' >"$WORK/usr/sbin/policy-rc.d"
chmod +x "$WORK/usr/sbin/policy-rc.d"

# A host whose HTTPS goes through a TLS-inspecting proxy trusts the proxy's CA through
# NODE_EXTRA_CA_CERTS (npm ci needs it to reach the registry): that file is passed in as the
# host's environment would pass it. Not in /etc/ssl/certs, which ca-certificates rewrites.
chroot_env=()
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  cp -L "$NODE_EXTRA_CA_CERTS" "$WORK/etc/host-extra-ca-certs.crt"
  chroot_env+=(NODE_EXTRA_CA_CERTS=/etc/host-extra-ca-certs.crt)
fi

# The committed HEAD, cloned (the working tree's changes are not taken).
HEAD_COMMIT="$(git -C "$REPO" rev-parse HEAD)"
git clone --quiet --no-hardlinks "$REPO" "$WORK/root/casewatch"
git -C "$WORK/root/casewatch" checkout --quiet --detach "$HEAD_COMMIT"

mkdir -p "$LOGS"
LOG="$LOGS/run-$(date -u +%Y%m%dT%H%M%SZ)-${HEAD_COMMIT:0:10}.log"
say "commit $HEAD_COMMIT in $WORK/root/casewatch"
say "running ./run test in the chroot; log: $LOG"
start=$(date +%s)
set +e
chroot "$WORK" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "${chroot_env[@]}" \
  /bin/bash -c 'cd /root/casewatch && ./run test' \
  >"$LOG" 2>&1
rc=$?
set -e
end=$(date +%s)

echo "debian12_check: ./run test exited $rc after $(((end - start) / 60)) min $(((end - start) % 60)) s"
echo "debian12_check: node in the chroot: $(chroot "$WORK" node --version 2>/dev/null || echo none)," \
  "chromium: $(chroot "$WORK" dpkg-query -W -f='${Version}' chromium 2>/dev/null || echo none)"
echo "debian12_check: log: $LOG"
echo "--- ctest summary ---"
if grep -q 'tests passed' "$LOG"; then
  sed -n '/tests passed/,$p' "$LOG"
else
  echo "(ctest did not finish; the end of the log:)"
  tail -40 "$LOG"
fi
exit "$rc"
}
