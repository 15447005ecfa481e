// Compiled by thread_safety_check.sh with Clang's -Wthread-safety -Werror: it must compile (so a
// failure of broken_lock.cc is the analysis speaking, not the set-up).
#include "base/mutex.h"

namespace casewatch {

class Counter {
 public:
  void Add() {
    MutexLock lock(mutex_);
    ++count_;
  }
  int count() const {
    MutexLock lock(mutex_);
    return count_;
  }

 private:
  mutable Mutex mutex_;
  int count_ CW_GUARDED_BY(mutex_) = 0;
};

int Use() {
  Counter c;
  c.Add();
  return c.count();
}

}  // namespace casewatch
