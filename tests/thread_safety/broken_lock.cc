// Compiled by thread_safety_check.sh with Clang's -Wthread-safety -Werror: it must NOT compile.
// A field guarded by a mutex, read without it — what the analysis is there to catch.
#include "base/mutex.h"

namespace casewatch {

class Counter {
 public:
  void Add() {
    MutexLock lock(mutex_);
    ++count_;
  }
  int count() const { return count_; }  // the broken lock: no MutexLock here

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
