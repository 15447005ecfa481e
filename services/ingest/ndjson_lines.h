#pragma once
// How NDJSON text splits into lines: the one definition, used by the event-file reader and by
// `POST /api/v1/events`. A line ends at '\n' (the last one may have none); one '\r' before its end
// is dropped; a line of only spaces, tabs and '\r' is blank and skipped; line numbers count every
// line from 1, blank ones included, so they match what an editor shows.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace casewatch::ingest {

// The first line cut from some NDJSON input.
struct NdjsonCut {
  std::string_view text;  // the line without its end: no '\n', one '\r' before it dropped
  size_t length = 0;      // input bytes the line takes, its '\n' included
  bool blank = false;     // only spaces, tabs and '\r' (or nothing)
};

// Cuts the first line from `input`. When `input` holds no '\n', its bytes are the last line if
// `at_end`, and otherwise the line is incomplete; either way nullopt when there is no (complete)
// line: `input` empty, or more input needed. `searched`: how many leading bytes of `input` are
// already known to hold no '\n' (a reader that refills its window need not search them again).
std::optional<NdjsonCut> CutNdjsonLine(std::string_view input, bool at_end, size_t searched = 0);

// One non-blank line of NDJSON text.
struct NdjsonLine {
  uint64_t number = 0;    // 1-based, blank lines counted
  std::string_view text;  // as NdjsonCut::text: a view into the text being split
};

// The non-blank lines of NDJSON text held in memory, in order:
//   NdjsonLines lines(body);
//   while (std::optional<NdjsonLine> line = lines.Next()) Use(line->number, line->text);
// Does not own the text, which must outlive it.
class NdjsonLines {
 public:
  explicit NdjsonLines(std::string_view text) : rest_(text) {}

  // The next non-blank line, or nullopt when there is none left.
  std::optional<NdjsonLine> Next();

 private:
  std::string_view rest_;  // the text after the last line returned
  uint64_t number_ = 0;    // lines cut so far, blank ones included
};

}  // namespace casewatch::ingest
