#include "services/ingest/ndjson_lines.h"

#include <algorithm>
#include <cstring>

namespace casewatch::ingest {

std::optional<NdjsonCut> CutNdjsonLine(std::string_view input, bool at_end, size_t searched) {
  searched = std::min(searched, input.size());
  const void* newline = searched == input.size()
                            ? nullptr  // memchr must not see a null pointer, even for 0 bytes
                            : std::memchr(input.data() + searched, '\n', input.size() - searched);
  size_t length = 0;
  std::string_view text;
  if (newline != nullptr) {
    text = input.substr(0, static_cast<size_t>(static_cast<const char*>(newline) - input.data()));
    length = text.size() + 1;
  } else if (at_end && !input.empty()) {
    text = input;  // a last line without '\n'
    length = input.size();
  } else {
    return std::nullopt;
  }
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  const bool blank = text.find_first_not_of(" \t\r") == std::string_view::npos;
  return NdjsonCut{text, length, blank};
}

std::optional<NdjsonLine> NdjsonLines::Next() {
  while (std::optional<NdjsonCut> cut = CutNdjsonLine(rest_, /*at_end=*/true)) {
    rest_.remove_prefix(cut->length);
    ++number_;
    if (!cut->blank) return NdjsonLine{number_, cut->text};
  }
  return std::nullopt;
}

}  // namespace casewatch::ingest
