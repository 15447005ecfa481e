#include "base/partition_offsets.h"

#include <charconv>

namespace casewatch {
namespace {

template <typename Integer>
bool ParseNonNegative(std::string_view digits, Integer& value) {
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  return error == std::errc() && end == digits.data() + digits.size() && value >= 0;
}

}  // namespace

std::string FormatPartitionOffsets(const PartitionOffsets& offsets) {
  std::string text;
  for (const auto& [partition, offset] : offsets) {
    if (!text.empty()) text += ',';
    text += std::to_string(partition);
    text += ':';
    text += std::to_string(offset);
  }
  return text;
}

Result<PartitionOffsets> ParsePartitionOffsets(std::string_view text) {
  PartitionOffsets offsets;
  for (std::string_view rest = text; !rest.empty();) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const size_t colon = item.find(':');
    int32_t partition = -1;
    int64_t offset = -1;
    if (colon == std::string_view::npos || !ParseNonNegative(item.substr(0, colon), partition) ||
        !ParseNonNegative(item.substr(colon + 1), offset) ||
        !offsets.emplace(partition, offset).second) {
      return InvalidArgument("\"" + std::string(item) +
                             "\" is not PARTITION:OFFSET (each partition once, e.g. "
                             "0:5459,1:4708)");
    }
  }
  return offsets;
}

}  // namespace casewatch
