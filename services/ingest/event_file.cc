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
  void Consume(size_t n) { begin_ += n; }

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
  std::string_view name_;
  std::vector<char> buffer_;  // [begin_, end_) unconsumed, then room, then padding
  size_t begin_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
};

bool IsBlank(std::string_view line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

// Validation and de-duplication shared by both formats.
class Loader {
 public:
  Loader(EventLog& log, const std::function<void(const Problem&)>& on_problem)
      : log_(log), on_problem_(on_problem) {}

  void Reject(uint64_t line, std::string reason) {
    ++summary_.rejected;
    if (on_problem_) on_problem_(Problem{line, std::move(reason)});
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
    }
  }

  void set_source(uint16_t source) { source_ = source; }
  const LoadSummary& summary() const { return summary_; }

 private:
  EventLog& log_;
  const std::function<void(const Problem&)>& on_problem_;
  const ValidationOptions options_ = ValidationOptions::Replay();
  uint16_t source_ = 0;
  LoadSummary summary_;
};

Result<void> LoadNdjson(InputBuffer& in, Loader& loader) {
  JsonEnvelopeParser parser;
  EnvelopeView view;
  uint64_t line_number = 0;
  size_t scanned = 0;  // bytes of the current line already searched for '\n'
  for (;;) {
    const char* start = in.data();
    const auto* newline =
        static_cast<const char*>(std::memchr(start + scanned, '\n', in.available() - scanned));
    size_t length = 0;
    if (newline != nullptr) {
      length = static_cast<size_t>(newline - start);
    } else if (!in.at_eof()) {
      scanned = in.available();
      CW_TRY(in.ReadMore());
      continue;
    } else if (in.available() == 0) {
      return Ok();
    } else {
      length = in.available();  // a last line without '\n'
    }
    ++line_number;
    std::string_view line(start, length);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!IsBlank(line)) {
      if (Result<void> parsed = parser.ParsePadded(line, view); !parsed) {
        loader.Reject(line_number, std::move(parsed.error().message));
      } else {
        loader.Apply(view, line_number);
      }
    }
    in.Consume(newline != nullptr ? length + 1 : length);
    scanned = 0;
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

Result<void> LoadBinary(InputBuffer& in, Loader& loader) {
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
      loader.Reject(record, "truncated: the file ends inside the record's length prefix");
      return Ok();
    }
    if (prefix < 0 || size > kMaxRecordBytes) {
      loader.Reject(record, fmt::format("the length prefix is not a plausible record length ({}); "
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
      loader.Reject(record, fmt::format("truncated: the length prefix says {} bytes but the file "
                                        "ends after {}",
                                        size, in.available() - static_cast<size_t>(prefix)));
      return Ok();
    }
    if (Result<void> decoded = DecodeEnvelope(std::string_view(in.data() + prefix, size), view);
        !decoded) {
      loader.Reject(record, std::move(decoded.error().message));
    } else {
      loader.Apply(view, record);
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

Result<LoadSummary> Load(const std::string& path, std::optional<FileFormat> format, EventLog& log,
                         const std::function<void(const Problem&)>& on_problem) {
  Result<FilePtr> file = Open(path);
  if (!file) return file.error();
  const std::string name = path == "-" ? std::string("stdin") : path;
  InputBuffer in(file.value().get(), name);
  if (!format) {
    Result<FileFormat> sniffed = Sniff(in);
    if (!sniffed) return sniffed.error();
    format = sniffed.value();
  }
  // Typical record sizes (binary about 75 bytes, a JSON line about 220): an estimate, not a limit.
  struct stat info {};
  if (fstat(fileno(file.value().get()), &info) == 0 && S_ISREG(info.st_mode)) {
    const size_t bytes_per_event = format == FileFormat::kBinary ? 64 : 200;
    log.Reserve(log.accepted() + static_cast<size_t>(info.st_size) / bytes_per_event);
  }
  Loader loader(log, on_problem);
  if (*format == FileFormat::kNdjson) {
    loader.set_source(log.AddSource(name + " line"));
    CW_TRY(LoadNdjson(in, loader));
  } else {
    loader.set_source(log.AddSource(name + " record"));
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
  if (path == "-") return Load(path, std::nullopt, log, on_problem);
  return Load(path, FormatOfPath(path), log, on_problem);
}

Result<LoadSummary> LoadEventFile(const std::string& path, FileFormat format, EventLog& log,
                                  const std::function<void(const Problem&)>& on_problem) {
  return Load(path, format, log, on_problem);
}

}  // namespace casewatch::ingest
