#pragma once
// Mutex, SharedMutex and their scoped locks: std::mutex and std::shared_mutex with the
// annotations Clang's thread-safety analysis needs (base/thread_annotations.h), so that a field
// marked CW_GUARDED_BY(mutex_) is only touched with mutex_ held, or the build fails.

#include <mutex>
#include <shared_mutex>

#include "base/thread_annotations.h"

namespace casewatch {

class CW_CAPABILITY("mutex") Mutex {
 public:
  void Lock() CW_ACQUIRE() { mutex_.lock(); }
  void Unlock() CW_RELEASE() { mutex_.unlock(); }

 private:
  std::mutex mutex_;
};

// Holds a Mutex for its scope.
class CW_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mutex) CW_ACQUIRE(mutex) : mutex_(mutex) { mutex_.Lock(); }
  ~MutexLock() CW_RELEASE() { mutex_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mutex_;
};

class CW_CAPABILITY("mutex") SharedMutex {
 public:
  void Lock() CW_ACQUIRE() { mutex_.lock(); }
  void Unlock() CW_RELEASE() { mutex_.unlock(); }
  void LockShared() CW_ACQUIRE_SHARED() { mutex_.lock_shared(); }
  void UnlockShared() CW_RELEASE_SHARED() { mutex_.unlock_shared(); }

 private:
  std::shared_mutex mutex_;
};

// Holds a SharedMutex exclusively for its scope.
class CW_SCOPED_CAPABILITY WriterLock {
 public:
  explicit WriterLock(SharedMutex& mutex) CW_ACQUIRE(mutex) : mutex_(mutex) { mutex_.Lock(); }
  ~WriterLock() CW_RELEASE() { mutex_.Unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  SharedMutex& mutex_;
};

// Holds a SharedMutex shared for its scope.
class CW_SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(SharedMutex& mutex) CW_ACQUIRE_SHARED(mutex) : mutex_(mutex) {
    mutex_.LockShared();
  }
  ~ReaderLock() CW_RELEASE() { mutex_.UnlockShared(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  SharedMutex& mutex_;
};

}  // namespace casewatch
