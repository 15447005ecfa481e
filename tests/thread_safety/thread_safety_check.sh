#!/usr/bin/env bash
# ctest's thread_safety_catches_a_broken_lock: Clang's thread-safety analysis, as the tsan preset
# runs it over the whole build (-Wthread-safety, errors), accepts good_lock.cc and refuses
# broken_lock.cc with its "requires holding mutex" diagnostic.
#   thread_safety_check.sh SOURCE_DIR
set -uo pipefail
src=$1
here="$src/tests/thread_safety"
flags=(-std=c++20 -fsyntax-only -Wthread-safety -Werror -I "$src")
if ! clang++ "${flags[@]}" "$here/good_lock.cc"; then
  echo "FAIL: good_lock.cc does not compile: the check cannot be trusted"
  exit 1
fi
out=$(clang++ "${flags[@]}" "$here/broken_lock.cc" 2>&1)
status=$?
if [ "$status" -eq 0 ]; then
  echo "FAIL: broken_lock.cc compiled: the thread-safety analysis did not catch the broken lock"
  exit 1
fi
if ! grep -q "requires holding mutex 'mutex_'" <<<"$out"; then
  echo "FAIL: broken_lock.cc failed for another reason:"
  echo "$out"
  exit 1
fi
echo "ok: the analysis refuses broken_lock.cc:"
grep "requires holding" <<<"$out"
