#include "services/ingest/event_file.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "services/ingest/binary_envelope.h"
#include "services/ingest/json_envelope.h"
#include "services/ingest/ndjson_lines.h"
#include "services/ingest/validation.h"
#include "services/ingest/wire_decoder.h"

namespace casewatch::ingest {
namespace {

namespace pb = ::casewatch::events::v1;

constexpr size_t kReadChunkBytes = size_t{1} << 20;
constexpr uint64_t kMaxRecordBytes = uint64_t{64} << 20;

struct FileCloser {
  bool owned = true;  // stdin is borrowed, not closed
  void operator()(FILE* file) const {
    if (owned) std::fclose(file);
  }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;

// A window onto a file, refilled in chunks. The bytes from data() are always followed by at
// least JsonEnvelopeParser::kPadding readable bytes, as simdjson needs.
class InputBuffer {
 public:
  InputBuffer(FILE* file, std::string_view name)
      : file_(file), name_(name), buffer_(kReadChunkBytes + JsonEnvelopeParser::kPadding) {}

  const char* data() const { return buffer_.data() + begin_; }
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
      std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    const size_t capacity = buffer_.size() - JsonEnvelopeParser::kPadding;
    if (end_ == capacity) buffer_.resize(capacity * 2 + JsonEnvelopeParser::kPadding);
    const size_t room = buffer_.size() - JsonEnvelopeParser::kPadding - end_;
    const size_t got = std::fread(buffer_.data() + end_, 1, room, file_);
    if (got == 0) {
      if (std::ferror(file_)) {
        return IoError(
            fmt::format("cannot read events file \"{}\": {}", name_, std::strerror(errno)));
      }
      eof_ = true;
    }
    end_ += got;
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
  std::vector<char> buffer_;  // [begin_, end_) unconsumed, then room, then padding
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
      sink.Reject(record, fmt::format("the length prefix is not a plausible record length ({}); "
                                      "the file is not a delimited Envelope stream or is corrupt "
                                      "from here on, so the rest ({} bytes or more) was not read",
                                      prefix < 0 ? std::string("malformed varint")
                                                 : fmt::format("{} bytes", size),
                                      in.available()));
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

Result<FilePtr> Open(const std::string& path) {
  if (path == "-") return FilePtr(stdin, FileCloser{false});
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int error = errno;
    std::string message =
        fmt::format("cannot open events file \"{}\": {}", path, std::strerror(error));
    if (error == ENOENT) return NotFound(std::move(message));
    return IoError(std::move(message));
  }
  return FilePtr(file, FileCloser{true});
}

// Stdin's format: '{' as the first non-blank byte means NDJSON.
Result<FileFormat> Sniff(InputBuffer& in) {
  for (size_t i = 0;; ++i) {
    Result<bool> more = in.Ensure(i + 1);
    if (!more) return more.error();
    if (!more.value()) return FileFormat::kNdjson;  // empty or blank: either reads as nothing
    const char c = in.data()[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    return c == '{' ? FileFormat::kNdjson : FileFormat::kBinary;
  }
}

// An open input with its format decided (given, or sniffed for stdin).
struct OpenInput {
  FilePtr file;
  std::string name;
  std::unique_ptr<InputBuffer> in;
  FileFormat format = FileFormat::kNdjson;
};

Result<OpenInput> OpenWithFormat(const std::string& path, std::optional<FileFormat> format) {
  Result<FilePtr> file = Open(path);
  if (!file) return file.error();
  OpenInput input;
  input.file = std::move(file).value();
  input.name = path == "-" ? std::string("stdin") : path;
  input.in = std::make_unique<InputBuffer>(input.file.get(), input.name);
  if (!format) {
    Result<FileFormat> sniffed = Sniff(*input.in);
    if (!sniffed) return sniffed.error();
    format = sniffed.value();
  }
  input.format = *format;
  return input;
}

Result<LoadSummary> Load(const std::string& path, std::optional<FileFormat> format, EventLog& log,
                         const LoadHooks& hooks) {
  Result<OpenInput> opened = OpenWithFormat(path, format);
  if (!opened) return opened.error();
  OpenInput& input = opened.value();
  // Typical record sizes (binary about 75 bytes, a JSON line about 220): an estimate, not a limit.
  struct stat info {};
  uint64_t size = 0;
  if (fstat(fileno(input.file.get()), &info) == 0 && S_ISREG(info.st_mode)) {
    size = static_cast<uint64_t>(info.st_size);
    const size_t bytes_per_event = input.format == FileFormat::kBinary ? 64 : 200;
    log.Reserve(log.accepted() + static_cast<size_t>(info.st_size) / bytes_per_event);
  }
  Loader loader(log, hooks, size);
  if (input.format == FileFormat::kNdjson) {
    loader.set_source(log.AddSource(input.name + " line"));
    CW_TRY(LoadNdjson(*input.in, loader));
  } else {
    loader.set_source(log.AddSource(input.name + " record"));
    CW_TRY(LoadBinary(*input.in, loader));
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
  Result<OpenInput> opened = OpenWithFormat(path, format);
  if (!opened) return opened.error();
  OpenInput& input = opened.value();
  RecordSink sink(input.format, on_record, on_problem);
  if (input.format == FileFormat::kNdjson) {
    CW_TRY(LoadNdjson(*input.in, sink));
  } else {
    CW_TRY(LoadBinary(*input.in, sink));
  }
  if (sink.stopped()) return *sink.stopped();
  return sink.summary();
}

}  // namespace casewatch::ingest
