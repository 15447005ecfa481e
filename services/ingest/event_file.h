#pragma once
// Loading an event file (NDJSON or binary delimited Envelopes) into an EventLog: the entry point
// of `casewatch replay`. Streams the file in chunks, so memory does not grow with its size.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "services/ingest/envelope_view.h"
#include "services/ingest/event_log.h"

namespace casewatch::ingest {

enum class FileFormat { kNdjson, kBinary };

// One rejected line or record. `line` is the 1-based line number (NDJSON) or record number
// (binary); `reason` says what is wrong in words a publisher can act on.
struct Problem {
  uint64_t line = 0;
  std::string reason;
};

struct LoadSummary {
  uint64_t accepted = 0;
  uint64_t duplicates = 0;
  uint64_t rejected = 0;  // invalid lines and records, and conflicting duplicates
};

// The format a path names: ".ndjson" or ".jsonl" is NDJSON, anything else binary.
FileFormat FormatOfPath(const std::string& path);

// Reads every event of `path` ("-" = stdin, whose format is sniffed: first non-blank byte '{'
// means NDJSON) with replay-file validation, accepting the valid ones into `log` in file order.
// Each bad line or record is passed to `on_problem`, skipped, and counted as rejected. Returns an
// Error (kNotFound or kIo, naming the path and the OS reason) only when the file cannot be read.
[[nodiscard]] Result<LoadSummary> LoadEventFile(
    const std::string& path, EventLog& log, const std::function<void(const Problem&)>& on_problem);

// As above with the format given rather than derived from the path.
[[nodiscard]] Result<LoadSummary> LoadEventFile(
    const std::string& path, FileFormat format, EventLog& log,
    const std::function<void(const Problem&)>& on_problem);

// What a load reports besides filling the log.
struct LoadHooks {
  std::function<void(const Problem&)> on_problem;        // each rejected line or record
  std::function<void(const EnvelopeView&)> on_accepted;  // each newly accepted event
  // Input bytes read so far and the file's size (0 when unknown, as for stdin), about every MiB.
  std::function<void(uint64_t read, uint64_t size)> on_progress;
};

// As above with hooks; the format is `format` when given, else as for the overloads above.
[[nodiscard]] Result<LoadSummary> LoadEventFile(const std::string& path,
                                                std::optional<FileFormat> format, EventLog& log,
                                                const LoadHooks& hooks);

// One record of an event file that parses (JSON mapping or wire format); not validated.
struct FileRecord {
  FileFormat format = FileFormat::kNdjson;
  uint64_t line = 0;       // 1-based line (NDJSON) or record (binary) number
  std::string_view bytes;  // the JSON line without its line end, or the binary Envelope without
                           // its length prefix
  const EnvelopeView& view;
  uint64_t end_offset = 0;  // input bytes read through this record (for progress)
};

struct ReadSummary {
  FileFormat format = FileFormat::kNdjson;  // as given, derived from the path, or sniffed
  uint64_t records = 0;                     // records handed to on_record
  uint64_t problems = 0;                    // lines and records that do not parse
};

// Reads every record of `path` ("-" = stdin) without validating or de-duplicating: the reader
// for tools that pass events on as they are (`casewatch publish`). The format is `format` when
// given, else the path's (FormatOfPath), else for stdin sniffed. Each record that parses goes to
// `on_record` (views valid during the call); returning an Error stops the read, and ReadEventFile
// returns that Error. Each line or record that does not parse goes to `on_problem` and is
// skipped. Errors as LoadEventFile's when the file cannot be read.
[[nodiscard]] Result<ReadSummary> ReadEventFile(
    const std::string& path, std::optional<FileFormat> format,
    const std::function<Result<void>(const FileRecord&)>& on_record,
    const std::function<void(const Problem&)>& on_problem);

}  // namespace casewatch::ingest
