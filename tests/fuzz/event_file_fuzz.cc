// libFuzzer target: bytes as an event file, read by ReadEventFile's machinery
// (internal::ReadEventStream) a few bytes at a time and at the default chunk size. Both reads must
// hand over exactly the same records (numbers, bytes, end offsets) and problems, in the same order,
// and those must be what a plain split of the same bytes in memory gives: for NDJSON, the lines of
// NdjsonLines, each a record when JsonEnvelopeParser accepts it and otherwise a problem with its
// message; for binary, the length-delimited records cut below, each a record when DecodeEnvelope
// accepts it. So every chunk boundary the reader meets — inside a line end, a "\r\n", a length
// prefix, a record longer than its window — is tried against input held whole.
//
// Input: byte 0 picks the format (NDJSON, binary, or sniffed as for stdin), byte 1 the small chunk
// size (1 to 64 bytes); the rest is the file.
#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "services/ingest/event_file.h"
#include "services/ingest/internal/event_stream.h"
#include "services/ingest/json_envelope.h"
#include "services/ingest/ndjson_lines.h"
#include "services/ingest/wire_decoder.h"

namespace casewatch::ingest {
namespace {

// A record or a problem, as the reader hands it over.
struct Item {
  bool record = false;
  uint64_t number = 0;
  std::string text;         // a record's bytes, or a problem's reason
  uint64_t end_offset = 0;  // records only
  bool any_reason = false;  // expected only: a problem whose wording is not checked

  bool Matches(const Item& read) const {
    return record == read.record && number == read.number && (any_reason || text == read.text) &&
           end_offset == read.end_offset;
  }
};

std::string Describe(const Item& item) {
  if (item.any_reason) return fmt::format("problem {}: (any reason)", item.number);
  return fmt::format("{} {}: {:?}{}", item.record ? "record" : "problem", item.number, item.text,
                     item.record ? fmt::format(" ending at byte {}", item.end_offset) : "");
}

struct Read {
  std::optional<FileFormat> format;  // as the summary says; nullopt when the read failed
  std::string error;
  uint64_t records = 0;
  uint64_t problems = 0;
  std::vector<Item> items;
};

std::string Describe(const Read& read) {
  std::string out =
      fmt::format("format {}, {} records, {} problems{}\n",
                  !read.format                         ? "none"
                  : read.format == FileFormat::kNdjson ? "NDJSON"
                                                       : "binary",
                  read.records, read.problems, read.error.empty() ? "" : ", error: " + read.error);
  for (const Item& item : read.items) out += "  " + Describe(item) + "\n";
  return out;
}

Read ReadAt(std::string& file_bytes, std::optional<FileFormat> format, size_t chunk_bytes) {
  Read read;
  FILE* file = fmemopen(file_bytes.data(), file_bytes.size(), "rb");
  if (file == nullptr) __builtin_trap();
  Result<ReadSummary> summary = internal::ReadEventStream(
      file, "fuzz input", format, chunk_bytes,
      [&](const FileRecord& r) -> Result<void> {
        if (r.format != format.value_or(r.format)) __builtin_trap();
        read.items.push_back(Item{true, r.line, std::string(r.bytes), r.end_offset});
        return Ok();
      },
      [&](const Problem& p) {
        read.items.push_back(Item{false, p.line, p.reason});
      });
  std::fclose(file);
  if (summary) {
    read.format = summary.value().format;
    read.records = summary.value().records;
    read.problems = summary.value().problems;
  } else {
    read.error = summary.error().message;
  }
  return read;
}

FileFormat Sniffed(std::string_view bytes) {
  const size_t first = bytes.find_first_not_of(" \t\r\n");
  return first == std::string_view::npos || bytes[first] == '{' ? FileFormat::kNdjson
                                                                : FileFormat::kBinary;
}

// What the reader must find in NDJSON: the splitter's lines, each parsed on its own.
std::vector<Item> ExpectedNdjson(std::string_view bytes) {
  static JsonEnvelopeParser parser;
  EnvelopeView view;
  std::vector<Item> items;
  NdjsonLines lines(bytes);
  while (std::optional<NdjsonLine> line = lines.Next()) {
    if (Result<void> parsed = parser.Parse(line->text, view); !parsed) {
      items.push_back(Item{false, line->number, parsed.error().message});
      continue;
    }
    // The record's end: through the '\n' after its text (past a dropped '\r'), or the input's end.
    const size_t text_end =
        static_cast<size_t>(line->text.data() - bytes.data()) + line->text.size();
    const size_t newline = bytes.find('\n', text_end);
    items.push_back(Item{true, line->number, std::string(line->text),
                         newline == std::string_view::npos ? bytes.size() : newline + 1});
  }
  return items;
}

// What the reader must find in a binary file: varint length, that many bytes, again; the first
// prefix that is cut short, malformed (over 10 bytes) or over 64 MiB, or a record cut short, ends
// the file with one problem.
std::vector<Item> ExpectedBinary(std::string_view bytes) {
  std::vector<Item> items;
  EnvelopeView view;
  size_t at = 0;
  for (uint64_t number = 1; at < bytes.size(); ++number) {
    uint64_t size = 0;
    size_t prefix = 0;
    bool complete = false;
    while (prefix < 10 && at + prefix < bytes.size()) {
      const auto byte = static_cast<uint8_t>(bytes[at + prefix]);
      size |= uint64_t{byte & 0x7fu} << (7 * prefix);
      ++prefix;
      if ((byte & 0x80) == 0) {
        complete = true;
        break;
      }
    }
    if (!complete || size > (uint64_t{64} << 20) || size > bytes.size() - at - prefix) {
      items.push_back(Item{false, number, "", 0, /*any_reason=*/true});
      break;
    }
    const std::string_view record = bytes.substr(at + prefix, size);
    at += prefix + size;
    if (Result<void> decoded = DecodeEnvelope(record, view); !decoded) {
      items.push_back(Item{false, number, decoded.error().message});
    } else {
      items.push_back(Item{true, number, std::string(record), at});
    }
  }
  return items;
}

// Whether `read` is `expected`, item by item.
bool Same(const std::vector<Item>& expected, const std::vector<Item>& read) {
  if (expected.size() != read.size()) return false;
  for (size_t i = 0; i < expected.size(); ++i) {
    if (!expected[i].Matches(read[i])) return false;
  }
  return true;
}

[[noreturn]] void Differ(std::string_view what, const std::string& details) {
  std::fprintf(stderr, "event_file_fuzz: %.*s\n%s", static_cast<int>(what.size()), what.data(),
               details.c_str());
  __builtin_trap();
}

}  // namespace
}  // namespace casewatch::ingest

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace casewatch::ingest;
  if (size < 2) return 0;
  const std::optional<FileFormat> given = data[0] % 3 == 0   ? std::optional(FileFormat::kNdjson)
                                          : data[0] % 3 == 1 ? std::optional(FileFormat::kBinary)
                                                             : std::nullopt;
  const size_t small_chunk = 1 + data[1] % 64;
  std::string bytes(reinterpret_cast<const char*>(data) + 2, size - 2);

  const Read small = ReadAt(bytes, given, small_chunk);
  const Read whole = ReadAt(bytes, given, internal::kReadChunkBytes);
  const auto both = [&] {  // only when there is something to report
    return fmt::format("at {} bytes a chunk: {}at the default chunk size: {}", small_chunk,
                       Describe(small), Describe(whole));
  };
  if (!small.error.empty() || !whole.error.empty()) Differ("a read failed", both());
  if (small.format != whole.format || small.records != whole.records ||
      small.problems != whole.problems || !Same(whole.items, small.items)) {
    Differ("the chunk size changed what was read", both());
  }

  const FileFormat format = given.value_or(Sniffed(bytes));
  if (whole.format != format) Differ("the format is not the one given or sniffed", both());
  uint64_t records = 0;
  for (const Item& item : whole.items) records += item.record ? 1 : 0;
  if (whole.records != records || whole.problems != whole.items.size() - records) {
    Differ("the summary does not count what was handed over", both());
  }
  const std::vector<Item> expected =
      format == FileFormat::kNdjson ? ExpectedNdjson(bytes) : ExpectedBinary(bytes);
  if (!Same(expected, whole.items)) {
    std::string details = both() + "expected from the bytes in memory:\n";
    for (const Item& item : expected) details += "  " + Describe(item) + "\n";
    Differ("the reader differs from the split in memory", details);
  }
  return 0;
}
