// libFuzzer target: bytes as NDJSON text. NdjsonLines must give exactly the lines of the plain
// split below (std::string operations, the rules of ndjson_lines.h written out again), and so must
// CutNdjsonLine fed the text a few bytes at a time, as the file reader feeds it from its window.
//
// Input: byte 0 picks how many bytes the incremental feed adds at a time (1 to 16); the rest is
// the text.
#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "services/ingest/ndjson_lines.h"

namespace casewatch::ingest {
namespace {

struct Line {
  uint64_t number = 0;
  std::string text;
  size_t offset = 0;  // where the text starts in the input
  bool operator==(const Line&) const = default;
};

// Lines end at '\n'; one '\r' before the end is dropped; lines of only ' ', '\t', '\r' are skipped
// but counted; nothing after a final '\n' is a line.
std::vector<Line> Reference(const std::string& text) {
  std::vector<Line> lines;
  uint64_t number = 0;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(begin, end - begin);
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t\r") != std::string::npos) {
      lines.push_back(Line{number, line, begin});
    }
    begin = end + 1;
  }
  return lines;
}

std::vector<Line> Split(std::string_view text) {
  std::vector<Line> lines;
  NdjsonLines splitter(text);
  while (std::optional<NdjsonLine> line = splitter.Next()) {
    lines.push_back(Line{line->number, std::string(line->text),
                         static_cast<size_t>(line->text.data() - text.data())});
  }
  if (splitter.Next()) __builtin_trap();  // done stays done
  return lines;
}

// As the file reader cuts lines: from a window of the text that grows `step` bytes at a time when
// it holds no whole line, searching only the bytes it has not searched before.
std::vector<Line> CutIncrementally(std::string_view text, size_t step) {
  std::vector<Line> lines;
  uint64_t number = 0;
  size_t begin = 0;      // the window's start in the text
  size_t available = 0;  // the window's size
  size_t searched = 0;
  for (;;) {
    const bool at_end = begin + available == text.size();
    const std::optional<NdjsonCut> cut =
        CutNdjsonLine(text.substr(begin, available), at_end, searched);
    if (!cut) {
      if (at_end) return lines;
      searched = available;
      available = std::min(available + step, text.size() - begin);
      continue;
    }
    if (cut->length == 0 || cut->length > available) __builtin_trap();
    ++number;
    if (!cut->blank) {
      lines.push_back(Line{number, std::string(cut->text),
                           static_cast<size_t>(cut->text.data() - text.data())});
    }
    begin += cut->length;
    available -= cut->length;
    searched = 0;
  }
}

std::string Describe(const std::vector<Line>& lines) {
  std::string out;
  for (const Line& line : lines) {
    out += fmt::format("  {} at byte {}: {:?}\n", line.number, line.offset, line.text);
  }
  return out;
}

}  // namespace
}  // namespace casewatch::ingest

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace casewatch::ingest;
  if (size < 1) return 0;
  const size_t step = 1 + data[0] % 16;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::vector<Line> expected = Reference(text);
  const std::vector<Line> split = Split(text);
  const std::vector<Line> cut = CutIncrementally(text, step);
  if (split != expected || cut != expected) {
    std::fprintf(stderr,
                 "ndjson_lines_fuzz: the splitter differs from the reference\n"
                 "reference:\n%sNdjsonLines:\n%sCutNdjsonLine %zu bytes at a time:\n%s",
                 Describe(expected).c_str(), Describe(split).c_str(), step, Describe(cut).c_str());
    __builtin_trap();
  }
  return 0;
}
