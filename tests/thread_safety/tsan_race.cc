// Run by tsan_check.sh in the tsan build: two threads add to a counter guarded by a Mutex that
// one of them does not take. ThreadSanitizer must report the race (so a clean run of the HTTP and
// engine tests under it means something). Both threads are alive for the whole of both loops
// (they meet before and after them): on a loaded machine the first could otherwise finish before
// the second starts, and ThreadSanitizer may reuse a finished thread's slot and miss the race.
#include <atomic>
#include <thread>

#include "base/mutex.h"

namespace {

casewatch::Mutex mutex;
long counter = 0;  // guarded by `mutex`, by convention only: no annotation to stop the build
std::atomic<int> started{0};
std::atomic<int> finished{0};

// Waits until both threads have reached `meeting`.
void Meet(std::atomic<int>& meeting) {
  meeting.fetch_add(1);
  while (meeting.load() < 2) std::this_thread::yield();
}

void Careful() {
  Meet(started);
  for (int i = 0; i < 100000; ++i) {
    casewatch::MutexLock lock(mutex);
    ++counter;
  }
  Meet(finished);
}

void Careless() {
  Meet(started);
  for (int i = 0; i < 100000; ++i) ++counter;  // the broken lock
  Meet(finished);
}

}  // namespace

int main() {
  std::thread a(Careful);
  std::thread b(Careless);
  a.join();
  b.join();
  return counter > 0 ? 0 : 1;
}
