#pragma once
// The audit log of case-timeline access: one JSON line per access (when, who, role, which case,
// from where, and the answer). Each line is appended whole or not at all and is on disk (synced)
// before the answer is sent, so "no record, no answer" holds across a crash too. When a write
// fails (disk full) the caller refuses the answer; the next access tries again, so the log
// recovers by itself once the file can be written. It names cases by their pseudonymous case id
// only; it is the one log that names them at all (its own failures are logged without them).
//
// Thread-safe: writers take turns on a mutex.

#include <filesystem>
#include <memory>
#include <string_view>

#include "base/log_throttle.h"
#include "base/mutex.h"
#include "base/result.h"
#include "projections/calendar.h"

namespace casewatch::http {

class AuditLog {
 public:
  // Opens (creating, mode 0640) the log at `path`. A line left incomplete by a crash during an
  // earlier write is cut off (it was never acknowledged).
  [[nodiscard]] static Result<std::unique_ptr<AuditLog>> Open(const std::filesystem::path& path);
  ~AuditLog();

  [[nodiscard]] Result<void> RecordCaseAccess(Instant when, std::string_view who,
                                              std::string_view role, std::string_view case_id,
                                              std::string_view remote, int status);

 private:
  explicit AuditLog(std::filesystem::path path) : path_(std::move(path)) {}
  [[nodiscard]] Result<void> OpenFile() CW_REQUIRES(mutex_);
  [[nodiscard]] Result<void> Append(std::string_view line) CW_REQUIRES(mutex_);

  const std::filesystem::path path_;
  Mutex mutex_;
  int fd_ CW_GUARDED_BY(mutex_) = -1;  // -1: closed after a failure, opened by the next write
  LogThrottle log_throttle_;
};

}  // namespace casewatch::http
