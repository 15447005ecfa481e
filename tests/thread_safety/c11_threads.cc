// Linked into every executable of the tsan preset only (CMakeLists.txt, CASEWATCH_TSAN).
//
// Debian's librdkafka runs its threads with C11's <threads.h> (thrd_create, mtx_lock, cnd_wait).
// glibc implements those by calling its pthread functions internally, past the interceptors of
// Clang 14's ThreadSanitizer, so TSan never learns of librdkafka's threads (the first allocation on
// one crashes it) nor of its locks. Defining the C11 functions here, in the executable, makes the
// dynamic linker bind librdkafka's calls to these, which go through the intercepted pthread calls:
// its threads are known and its locks order the memory it hands to our code.

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <threads.h>

#include <new>

static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t));
static_assert(sizeof(cnd_t) == sizeof(pthread_cond_t));
static_assert(sizeof(thrd_t) == sizeof(pthread_t));

namespace {

pthread_mutex_t* AsPthread(mtx_t* mutex) { return reinterpret_cast<pthread_mutex_t*>(mutex); }
pthread_cond_t* AsPthread(cnd_t* cond) { return reinterpret_cast<pthread_cond_t*>(cond); }

int FromPthread(int status) {
  switch (status) {
    case 0: return thrd_success;
    case EBUSY: return thrd_busy;
    case ETIMEDOUT: return thrd_timedout;
    case ENOMEM: return thrd_nomem;
    default: return thrd_error;
  }
}

struct ThreadStart {
  thrd_start_t function;
  void* argument;
};

void* RunThread(void* start_pointer) {
  ThreadStart start = *static_cast<ThreadStart*>(start_pointer);
  delete static_cast<ThreadStart*>(start_pointer);
  return reinterpret_cast<void*>(static_cast<intptr_t>(start.function(start.argument)));
}

}  // namespace

extern "C" {

int thrd_create(thrd_t* thread, thrd_start_t function, void* argument) {
  auto* start = new (std::nothrow) ThreadStart{function, argument};
  if (start == nullptr) return thrd_nomem;
  int status = pthread_create(thread, nullptr, RunThread, start);
  if (status != 0) delete start;
  return FromPthread(status);
}

int thrd_join(thrd_t thread, int* result) {
  void* value = nullptr;
  int status = pthread_join(thread, &value);
  if (status == 0 && result != nullptr) {
    *result = static_cast<int>(reinterpret_cast<intptr_t>(value));
  }
  return FromPthread(status);
}

int thrd_detach(thrd_t thread) { return FromPthread(pthread_detach(thread)); }

int mtx_init(mtx_t* mutex, int type) {
  pthread_mutexattr_t attributes;
  pthread_mutexattr_init(&attributes);
  if (type & mtx_recursive) pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_RECURSIVE);
  int status = pthread_mutex_init(AsPthread(mutex), &attributes);
  pthread_mutexattr_destroy(&attributes);
  return FromPthread(status);
}

int mtx_lock(mtx_t* mutex) { return FromPthread(pthread_mutex_lock(AsPthread(mutex))); }
int mtx_trylock(mtx_t* mutex) { return FromPthread(pthread_mutex_trylock(AsPthread(mutex))); }
int mtx_unlock(mtx_t* mutex) { return FromPthread(pthread_mutex_unlock(AsPthread(mutex))); }
void mtx_destroy(mtx_t* mutex) { pthread_mutex_destroy(AsPthread(mutex)); }

int cnd_init(cnd_t* cond) { return FromPthread(pthread_cond_init(AsPthread(cond), nullptr)); }
int cnd_signal(cnd_t* cond) { return FromPthread(pthread_cond_signal(AsPthread(cond))); }
int cnd_broadcast(cnd_t* cond) { return FromPthread(pthread_cond_broadcast(AsPthread(cond))); }
int cnd_wait(cnd_t* cond, mtx_t* mutex) {
  return FromPthread(pthread_cond_wait(AsPthread(cond), AsPthread(mutex)));
}
int cnd_timedwait(cnd_t* cond, mtx_t* mutex, const struct timespec* deadline) {
  return FromPthread(pthread_cond_timedwait(AsPthread(cond), AsPthread(mutex), deadline));
}
void cnd_destroy(cnd_t* cond) { pthread_cond_destroy(AsPthread(cond)); }

}  // extern "C"
