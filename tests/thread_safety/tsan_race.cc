// Run by tsan_check.sh in the tsan build: two threads add to a counter guarded by a Mutex that
// one of them does not take. ThreadSanitizer must report the race (so a clean run of the HTTP and
// engine tests under it means something).
#include <thread>

#include "base/mutex.h"

namespace {

casewatch::Mutex mutex;
long counter = 0;  // guarded by `mutex`, by convention only: no annotation to stop the build

void Careful() {
  for (int i = 0; i < 100000; ++i) {
    casewatch::MutexLock lock(mutex);
    ++counter;
  }
}

void Careless() {
  for (int i = 0; i < 100000; ++i) ++counter;  // the broken lock
}

}  // namespace

int main() {
  std::thread a(Careful);
  std::thread b(Careless);
  a.join();
  b.join();
  return counter > 0 ? 0 : 1;
}
