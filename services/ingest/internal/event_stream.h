#pragma once
// The event-file reader over an open stream, with the size of its reads as a parameter, so that
// tests and fuzzers can put chunk boundaries anywhere (tests/fuzz/event_file_fuzz.cc). The public
// LoadEventFile and ReadEventFile read kReadChunkBytes at a time. Not for use outside
// services/ingest and its tests.

#include <cstddef>
#include <cstdio>
#include <functional>
#include <optional>
#include <string_view>

#include "base/result.h"
#include "services/ingest/event_file.h"

namespace casewatch::ingest::internal {

// How much the reader asks for at a time, and its window's size until a record needs more.
inline constexpr size_t kReadChunkBytes = size_t{1} << 20;

// ReadEventFile over `file` (read from where it stands, not closed; `name` is for messages),
// reading `chunk_bytes` (at least 1) at a time: the same records and problems, in the same order,
// whatever the chunk size. A nullopt `format` is sniffed, as for stdin.
[[nodiscard]] Result<ReadSummary> ReadEventStream(
    FILE* file, std::string_view name, std::optional<FileFormat> format, size_t chunk_bytes,
    const std::function<Result<void>(const FileRecord&)>& on_record,
    const std::function<void(const Problem&)>& on_problem);

}  // namespace casewatch::ingest::internal
