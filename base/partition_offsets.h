#pragma once
// Offsets of a topic's partitions, written "0:5459,1:4708" (partition:offset, ascending by
// partition): how a live answer names the records it reflects (Casewatch-Offsets), how
// `casewatch replay --offsets` takes them back, and how an engine tells the group's directory
// what it has applied.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "base/result.h"

namespace casewatch {

using PartitionOffsets = std::map<int32_t, int64_t>;

// "" for none.
std::string FormatPartitionOffsets(const PartitionOffsets& offsets);

// The inverse of FormatPartitionOffsets ("" is none). InvalidArgument naming the first item that
// is not PARTITION:OFFSET of two non-negative integers, or a partition named twice.
[[nodiscard]] Result<PartitionOffsets> ParsePartitionOffsets(std::string_view text);

}  // namespace casewatch
