#include "services/ingest/event_file.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>

#include "services/ingest/binary_envelope.h"
#include "services/ingest/internal/event_stream.h"
#include "services/ingest/json_envelope.h"
#include "services/ingest/ndjson_lines.h"
#include "services/ingest/validation.h"
#include "services/ingest/wire_decoder.h"

namespace casewatch::ingest {
namespace {

namespace pb = ::casewatch::events::v1;

using internal::kReadChunkBytes;
constexpr uint64_t kMaxRecordBytes = uint64_t{64} << 20;

struct FileCloser {
  bool owned = true;  // stdin is borrowed, not closed
  void operator()(FILE* file) const {
    if (owned) std::fclose(file);
  }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;

// A window onto a file, refilled in chunks of `chunk_bytes`, growing (doubling) when a record
// does not fit. The bytes from data() are always followed by at least kPadding readable bytes, as
// simdjson needs. The buffer is not cleared when allocated: only the pages reads reach are
// touched (a small file costs a few pages, not the whole chunk).
class InputBuffer {
 public:
  static constexpr size_t kPadding = JsonEnvelopeParser::kPadding;

  InputBuffer(FILE* file, std::string_view name, size_t chunk_bytes)
      : file_(file),
        name_(name),
        capacity_(std::max<size_t>(chunk_bytes, 1)),
        buffer_(std::make_unique_for_overwrite<char[]>(capacity_ + kPadding)) {
    std::memset(buffer_.get(), 0, kPadding);
  }

  const char* data() const { return buffer_.get() + begin_; }
  size_t available() const { return end_ - begin_; }
  bool at_eof() const { return eof_; }
  void Consume(size_t n) {
    begin_ += n;
    consumed_ += n;
  }
  uint64_t consumed() const { return consumed_; }  // bytes consumed since the start of input

  // Reads more bytes (at least one unless at end of input), keeping the unconsumed ones.
  Result<void> ReadMore() {
    if (eof_) return Ok();
    if (begin_ > 0) {
      std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (end_ == capacity_) {  // a record longer than the window: double it
      auto bigger = std::make_unique_for_overwrite<char[]>(capacity_ * 2 + kPadding);
      std::memcpy(bigger.get(), buffer_.get(), end_);
      buffer_ = std::move(bigger);
      capacity_ *= 2;
    }
    const size_t got = std::fread(buffer_.get() + end_, 1, capacity_ - end_, file_);
    if (got == 0) {
      if (std::ferror(file_)) {
        return IoError(
            fmt::format("cannot read events file \"{}\": {}", name_, std::strerror(errno)));
      }
      eof_ = true;
    }
    end_ += got;
    std::memset(buffer_.get() + end_, 0, kPadding);  // what the parser may read past the end
    return Ok();
  }

  // True when at least `n` bytes are available, reading as needed; false at end of input.
  Result<bool> Ensure(size_t n) {
    if (available() >= n) return true;  // the usual case: no call into the slow path
    return EnsureSlow(n);
  }

 private:
  Result<bool> EnsureSlow(size_t n) {
    while (available() < n && !eof_) {
      CW_TRY(ReadMore());
    }
    return available() >= n;
  }

  FILE* file_;
  std::string name_;
  size_t capacity_;                 // the window's size, without the padding
  std::unique_ptr<char[]> buffer_;  // [begin_, end_) unconsumed, then room, then padding
  size_t begin_ = 0;
  size_t end_ = 0;
  uint64_t consumed_ = 0;
  bool eof_ = false;
};

// The readers below hand each record to a Sink: `Reject(line, reason)` for one that does not
// parse, `Record(view, line, bytes, end)` for one that does (its bytes: the JSON line without its
// line end, or the binary record without its length prefix; `end`: input bytes consumed through
// it), which returns false to stop reading.

// The sink of LoadEventFile: validation and de-duplication into an EventLog.
class Loader {
 public:
  Loader(EventLog& log, const LoadHooks& hooks, uint64_t size)
      : log_(log), hooks_(hooks), size_(size) {}

  void Reject(uint64_t line, std::string reason) {
    ++summary_.rejected;
    if (hooks_.on_problem) hooks_.on_problem(Problem{line, std::move(reason)});
  }

  bool Record(const EnvelopeView& envelope, uint64_t line, std::string_view /*bytes*/,
              uint64_t end) {
    Apply(envelope, line);
    if (end >= next_progress_ && hooks_.on_progress) {
      hooks_.on_progress(end, size_);
      next_progress_ = end + kProgressEvery;
    }
    return true;
  }

  void Apply(const EnvelopeView& envelope, uint64_t line) {
    if (Result<void> valid = ValidateEnvelope(envelope, options_); !valid) {
      Reject(line, std::move(valid.error().message));
      return;
    }
    Result<Acceptance> accepted = log_.Accept(envelope, Origin{source_, line});
    if (!accepted) {
      Reject(line, std::move(accepted.error().message));
    } else if (accepted.value() == Acceptance::kDuplicate) {
      ++summary_.duplicates;
    } else {
      ++summary_.accepted;
      if (hooks_.on_accepted) hooks_.on_accepted(envelope);
    }
  }

  void set_source(uint16_t source) { source_ = source; }
  const LoadSummary& summary() const { return summary_; }

 private:
  static constexpr uint64_t kProgressEvery = uint64_t{1} << 20;

  EventLog& log_;
  const LoadHooks& hooks_;
  const uint64_t size_;
  uint64_t next_progress_ = 0;
  const ValidationOptions options_ = ValidationOptions::Replay();
  uint16_t source_ = 0;
  LoadSummary summary_;
};

// The sink of ReadEventFile: every record that parses goes to the caller.
class RecordSink {
 public:
  RecordSink(FileFormat format, const std::function<Result<void>(const FileRecord&)>& on_record,
             const std::function<void(const Problem&)>& on_problem)
      : format_(format), on_record_(on_record), on_problem_(on_problem) {
    summary_.format = format;
  }

  void Reject(uint64_t line, std::string reason) {
    ++summary_.problems;
    if (on_problem_) on_problem_(Problem{line, std::move(reason)});
  }

  bool Record(const EnvelopeView& envelope, uint64_t line, std::string_view bytes, uint64_t end) {
    ++summary_.records;
    Result<void> taken = on_record_(FileRecord{format_, line, bytes, envelope, end});
    if (!taken) stopped_ = std::move(taken).error();
    return taken.has_value();
  }

  const ReadSummary& summary() const { return summary_; }
  const std::optional<Error>& stopped() const { return stopped_; }

 private:
  const FileFormat format_;
  const std::function<Result<void>(const FileRecord&)>& on_record_;
  const std::function<void(const Problem&)>& on_problem_;
  ReadSummary summary_;
  std::optional<Error> stopped_;
};

// Lines as ndjson_lines.h defines them, cut from the window as it is refilled.
template <class Sink>
Result<void> LoadNdjson(InputBuffer& in, Sink& sink) {
  JsonEnvelopeParser parser;
  EnvelopeView view;
  uint64_t line_number = 0;
  size_t searched = 0;  // bytes of the current line already searched for '\n'
  for (;;) {
    const std::optional<NdjsonCut> cut =
        CutNdjsonLine(std::string_view(in.data(), in.available()), in.at_eof(), searched);
    if (!cut) {
      if (in.at_eof()) return Ok();
      searched = in.available();
      CW_TRY(in.ReadMore());
      continue;
    }
    ++line_number;
    if (!cut->blank) {
      if (Result<void> parsed = parser.ParsePadded(cut->text, view); !parsed) {
        sink.Reject(line_number, std::move(parsed.error().message));
      } else if (!sink.Record(view, line_number, cut->text, in.consumed() + cut->length)) {
        return Ok();
      }
    }
    in.Consume(cut->length);
    searched = 0;
  }
}

// Decodes a varint length prefix from up to `size` bytes: its value and length in bytes, 0 when
// incomplete, -1 when malformed (over 10 bytes).
int DecodeVarint(const char* data, size_t size, uint64_t& value) {
  value = 0;
  for (size_t i = 0; i < size && i < 10; ++i) {
    const auto byte = static_cast<uint8_t>(data[i]);
    value |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) return static_cast<int>(i + 1);
  }
  return size >= 10 ? -1 : 0;
}

template <class Sink>
Result<void> LoadBinary(InputBuffer& in, Sink& sink) {
  EnvelopeView view;
  uint64_t record = 0;
  for (;;) {
    Result<bool> more = in.Ensure(10);  // the longest varint; fewer at the end of the file
    if (!more) return more.error();
    if (in.available() == 0) return Ok();
    ++record;
    uint64_t size = 0;
    const int prefix = DecodeVarint(in.data(), in.available(), size);
    if (prefix == 0) {
      sink.Reject(record, "truncated: the file ends inside the record's length prefix");
      return Ok();
    }
    if (prefix < 0 || size > kMaxRecordBytes) {
      // Said by offset, not by bytes left, which only a whole read could tell (stdin has no size).
      sink.Reject(record, fmt::format("the length prefix at byte {} is not a plausible record "
                                      "length ({}); the file is not a delimited Envelope stream "
                                      "or is corrupt from there on, so the rest was not read",
                                      in.consumed(),
                                      prefix < 0 ? std::string("malformed varint")
                                                 : fmt::format("{} bytes", size)));
      return Ok();
    }
    const size_t total = static_cast<size_t>(prefix) + static_cast<size_t>(size);
    Result<bool> whole = in.Ensure(total);
    if (!whole) return whole.error();
    if (!whole.value()) {
      sink.Reject(record, fmt::format("truncated: the length prefix says {} bytes but the file "
                                      "ends after {}",
                                      size, in.available() - static_cast<size_t>(prefix)));
      return Ok();
    }
    const std::string_view bytes(in.data() + prefix, size);
    if (Result<void> decoded = DecodeEnvelope(bytes, view); !decoded) {
      sink.Reject(record, std::move(decoded.error().message));
    } else if (!sink.Record(view, record, bytes, in.consumed() + total)) {
      return Ok();
    }
    in.Consume(total);
  }
}

// An open input and its name in messages.
struct OpenFile {
  FilePtr file;
  std::string name;
};

Result<OpenFile> Open(const std::string& path) {
  if (path == "-") return OpenFile{FilePtr(stdin, FileCloser{false}), "stdin"};
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int error = errno;
    std::string message =
        fmt::format("cannot open events file \"{}\": {}", path, std::strerror(error));
    if (error == ENOENT) return NotFound(std::move(message));
    return IoError(std::move(message));
  }
  return OpenFile{FilePtr(file, FileCloser{true}), path};
}

// The format given, else sniffed: '{' as the first non-blank byte means NDJSON.
Result<FileFormat> FormatOf(InputBuffer& in, std::optional<FileFormat> given) {
  if (given) return *given;
  for (size_t i = 0;; ++i) {
    Result<bool> more = in.Ensure(i + 1);
    if (!more) return more.error();
    if (!more.value()) return FileFormat::kNdjson;  // empty or blank: either reads as nothing
    const char c = in.data()[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    return c == '{' ? FileFormat::kNdjson : FileFormat::kBinary;
  }
}

Result<LoadSummary> Load(const std::string& path, std::optional<FileFormat> given, EventLog& log,
                         const LoadHooks& hooks) {
  Result<OpenFile> opened = Open(path);
  if (!opened) return opened.error();
  const OpenFile& input = opened.value();
  InputBuffer in(input.file.get(), input.name, kReadChunkBytes);
  Result<FileFormat> format = FormatOf(in, given);
  if (!format) return format.error();
  // Typical record sizes (binary about 75 bytes, a JSON line about 220): an estimate, not a limit.
  struct stat info {};
  uint64_t size = 0;
  if (fstat(fileno(input.file.get()), &info) == 0 && S_ISREG(info.st_mode)) {
    size = static_cast<uint64_t>(info.st_size);
    const size_t bytes_per_event = format.value() == FileFormat::kBinary ? 64 : 200;
    log.Reserve(log.accepted() + static_cast<size_t>(info.st_size) / bytes_per_event);
  }
  Loader loader(log, hooks, size);
  if (format.value() == FileFormat::kNdjson) {
    loader.set_source(log.AddSource(input.name + " line"));
    CW_TRY(LoadNdjson(in, loader));
  } else {
    loader.set_source(log.AddSource(input.name + " record"));
    CW_TRY(LoadBinary(in, loader));
  }
  return loader.summary();
}

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

}  // namespace

FileFormat FormatOfPath(const std::string& path) {
  return EndsWith(path, ".ndjson") || EndsWith(path, ".jsonl") ? FileFormat::kNdjson
                                                               : FileFormat::kBinary;
}

Result<LoadSummary> LoadEventFile(const std::string& path, EventLog& log,
                                  const std::function<void(const Problem&)>& on_problem) {
  return LoadEventFile(path, std::nullopt, log, LoadHooks{on_problem});
}

Result<LoadSummary> LoadEventFile(const std::string& path, FileFormat format, EventLog& log,
                                  const std::function<void(const Problem&)>& on_problem) {
  return LoadEventFile(path, format, log, LoadHooks{on_problem});
}

Result<LoadSummary> LoadEventFile(const std::string& path, std::optional<FileFormat> format,
                                  EventLog& log, const LoadHooks& hooks) {
  if (!format && path != "-") format = FormatOfPath(path);
  return Load(path, format, log, hooks);
}

Result<ReadSummary> ReadEventFile(const std::string& path, std::optional<FileFormat> format,
                                  const std::function<Result<void>(const FileRecord&)>& on_record,
                                  const std::function<void(const Problem&)>& on_problem) {
  if (!format && path != "-") format = FormatOfPath(path);
  Result<OpenFile> opened = Open(path);
  if (!opened) return opened.error();
  return internal::ReadEventStream(opened.value().file.get(), opened.value().name, format,
                                   kReadChunkBytes, on_record, on_problem);
}

namespace internal {

Result<ReadSummary> ReadEventStream(FILE* file, std::string_view name,
                                    std::optional<FileFormat> given, size_t chunk_bytes,
                                    const std::function<Result<void>(const FileRecord&)>& on_record,
                                    const std::function<void(const Problem&)>& on_problem) {
  InputBuffer in(file, name, chunk_bytes);
  Result<FileFormat> format = FormatOf(in, given);
  if (!format) return format.error();
  RecordSink sink(format.value(), on_record, on_problem);
  if (format.value() == FileFormat::kNdjson) {
    CW_TRY(LoadNdjson(in, sink));
  } else {
    CW_TRY(LoadBinary(in, sink));
  }
  if (sink.stopped()) return *sink.stopped();
  return sink.summary();
}

}  // namespace internal
}  // namespace casewatch::ingest
