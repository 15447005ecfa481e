#pragma once
// LogThrottle: keeps a line that repeats (an accept failing in a loop, a broker refusing every
// retry) from filling the disk. Each key may be written `burst` times per `interval`; further
// lines of that key are held back and counted, and the next line let through says how many
// were. Thread-safe; keys are forgotten when more than a few thousand accumulate.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/mutex.h"

namespace casewatch {

class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LogThrottle(Clock::duration interval = std::chrono::seconds(10), int burst = 5)
      : interval_(interval), burst_(burst) {}

  // Whether a line with `key` may be written now; when it may, `held_back` is the number of lines
  // of that key held back since the last one written (and is reset).
  bool Allow(std::string_view key, uint64_t& held_back) { return AllowAt(key, Clock::now(), held_back); }

  // As Allow, at a given time (for tests).
  bool AllowAt(std::string_view key, Clock::time_point now, uint64_t& held_back) {
    MutexLock lock(mutex_);
    if (keys_.size() > kMaxKeys) keys_.clear();  // forgetting only lets lines through
    Key& k = keys_[std::string(key)];
    if (k.written == 0 || now - k.window_start >= interval_) {
      k.window_start = now;
      k.written = 0;
    }
    if (k.written >= burst_) {
      ++k.held_back;
      return false;
    }
    ++k.written;
    held_back = k.held_back;
    k.held_back = 0;
    return true;
  }

 private:
  static constexpr size_t kMaxKeys = 4096;
  struct Key {
    Clock::time_point window_start{};
    int written = 0;
    uint64_t held_back = 0;
  };
  const Clock::duration interval_;
  const int burst_;
  Mutex mutex_;
  std::unordered_map<std::string, Key> keys_ CW_GUARDED_BY(mutex_);
};

// " (N similar lines held back)" for a throttled line, or "" when none were.
inline std::string HeldBackNote(uint64_t held_back) {
  if (held_back == 0) return {};
  return " (" + std::to_string(held_back) + " similar line" + (held_back == 1 ? "" : "s") +
         " held back)";
}

}  // namespace casewatch
