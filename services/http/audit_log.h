#pragma once
// The audit log of case-timeline access: one JSON line per access (when, who, role, which case,
// from where, and the answer), appended and flushed before the response is sent. It names cases
// by their pseudonymous case id only; it is the one log that names them at all.

#include <filesystem>
#include <fstream>
#include <mutex>
#include <string_view>

#include "base/result.h"
#include "projections/calendar.h"

namespace casewatch::http {

class AuditLog {
 public:
  [[nodiscard]] static Result<std::unique_ptr<AuditLog>> Open(const std::filesystem::path& path);

  [[nodiscard]] Result<void> RecordCaseAccess(Instant when, std::string_view who,
                                              std::string_view role, std::string_view case_id,
                                              std::string_view remote, int status);

 private:
  explicit AuditLog(std::filesystem::path path) : path_(std::move(path)) {}
  std::filesystem::path path_;
  std::mutex mutex_;
  std::ofstream out_;
};

}  // namespace casewatch::http
