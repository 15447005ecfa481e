#include "services/http/audit_log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "base/json_writer.h"

namespace casewatch::http {

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::filesystem::path& path) {
  std::unique_ptr<AuditLog> log(new AuditLog(path));
  {
    MutexLock lock(log->mutex_);
    CW_TRY(log->OpenFile());
  }
  return log;
}

AuditLog::~AuditLog() {
  if (fd_ >= 0) ::close(fd_);
}

Result<void> AuditLog::OpenFile() {
  fd_ = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd_ < 0) {
    return IoError(fmt::format("audit log {}: cannot be opened: {}", path_.string(),
                               std::strerror(errno)));
  }
  // A torn last line (a crash mid-write) goes: everything before it was whole.
  struct stat info {};
  if (::fstat(fd_, &info) != 0 || !S_ISREG(info.st_mode) || info.st_size == 0) return Ok();
  char last = '\n';
  if (::pread(fd_, &last, 1, info.st_size - 1) == 1 && last != '\n') {
    off_t keep = info.st_size - 1;
    char byte = 0;
    while (keep > 0 && ::pread(fd_, &byte, 1, keep - 1) == 1 && byte != '\n') --keep;
    if (::ftruncate(fd_, keep) == 0) {
      spdlog::warn("audit log {}: cut off an incomplete last line ({} bytes) left by an earlier "
                   "write that did not finish",
                   path_.string(), info.st_size - keep);
    }
  }
  return Ok();
}

Result<void> AuditLog::Append(std::string_view line) {
  if (fd_ < 0) {
    CW_TRY(OpenFile());
  }
  struct stat info {};
  const bool regular = ::fstat(fd_, &info) == 0 && S_ISREG(info.st_mode);
  // One write: O_APPEND puts the whole line at the end, or as much as fits when the disk fills.
  const ssize_t written = ::write(fd_, line.data(), line.size());
  std::string why;
  if (written < 0) {
    why = std::strerror(errno);
  } else if (static_cast<size_t>(written) < line.size()) {
    why = "only part of the record fitted";
  } else if (::fdatasync(fd_) != 0) {
    why = std::string("cannot be synced: ") + std::strerror(errno);
  } else {
    return Ok();
  }
  // Whole or not at all: what part of the line reached the file goes again.
  if (regular && written > 0 && ::ftruncate(fd_, info.st_size) != 0) {
    why += fmt::format(", and the part written could not be removed ({})", std::strerror(errno));
  }
  ::close(fd_);
  fd_ = -1;  // opened afresh next time: the file may have been replaced meanwhile
  return IoError(fmt::format("audit log {}: cannot be written: {}", path_.string(), why));
}

Result<void> AuditLog::RecordCaseAccess(Instant when, std::string_view who, std::string_view role,
                                        std::string_view case_id, std::string_view remote,
                                        int status) {
  JsonWriter record;
  record.BeginObject();
  record.Key("time").String(FormatInstant(when));
  record.Key("who").String(who).Key("role").String(role);
  record.Key("action").String("read_case_timeline").Key("case_id").String(case_id);
  record.Key("remote").String(remote).Key("status").Int(status);
  record.EndObject().Whitespace("\n");
  const std::string line = record.Take();
  MutexLock lock(mutex_);
  Result<void> appended = Append(line);
  if (!appended) {
    uint64_t held_back = 0;
    if (log_throttle_.Allow("audit", held_back)) {
      spdlog::error("{}; case timelines are refused (503) until it can be written{}",
                    appended.error().message, HeldBackNote(held_back));
    }
  }
  return appended;
}

}  // namespace casewatch::http
