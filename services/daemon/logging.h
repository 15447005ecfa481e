#pragma once
// casewatchd's log: one line per record on stdout, as text or as JSON lines (each message
// escaped by the JSON writer, whatever it holds), at a level from trace to error.

#include <string>

namespace casewatch::daemon {

void SetUpLogging(const std::string& format, const std::string& level);

}  // namespace casewatch::daemon
