#include "services/http/audit_log.h"

#include <fmt/format.h>

#include <memory>

#include "projections/report_json.h"

namespace casewatch::http {

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::filesystem::path& path) {
  std::unique_ptr<AuditLog> log(new AuditLog(path));
  log->out_.open(path, std::ios::app | std::ios::binary);
  if (!log->out_) return IoError(fmt::format("audit log {}: cannot be opened", path.string()));
  return log;
}

Result<void> AuditLog::RecordCaseAccess(Instant when, std::string_view who, std::string_view role,
                                        std::string_view case_id, std::string_view remote,
                                        int status) {
  std::string line = "{\"time\":";
  AppendJsonString(line, FormatInstant(when));
  line += ",\"who\":";
  AppendJsonString(line, who);
  line += ",\"role\":";
  AppendJsonString(line, role);
  line += ",\"action\":\"read_case_timeline\",\"case_id\":";
  AppendJsonString(line, case_id);
  line += ",\"remote\":";
  AppendJsonString(line, remote);
  line += fmt::format(",\"status\":{}}}\n", status);
  std::lock_guard lock(mutex_);
  out_ << line;
  out_.flush();
  if (!out_) return IoError(fmt::format("audit log {}: cannot be written", path_.string()));
  return Ok();
}

}  // namespace casewatch::http
