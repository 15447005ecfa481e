#include "base/huge_page_memory.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory_resource>
#include <sstream>
#include <string>
#include <vector>

namespace casewatch {
namespace {

bool TransparentHugePagesOff() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  return !std::getline(in, line) || line.find("[never]") != std::string::npos;
}

// The "THPeligible" value in /proc/self/smaps for the mapping that holds `address` ("" if none).
std::string ThpEligibility(const void* address) {
  std::ifstream in("/proc/self/smaps");
  const auto at = reinterpret_cast<uintptr_t>(address);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    uintptr_t begin = 0;
    uintptr_t end = 0;
    char dash = 0;
    std::istringstream header(line);
    if (header >> std::hex >> begin >> dash >> end && dash == '-') {
      inside = begin <= at && at < end;
    } else if (inside && line.starts_with("THPeligible:")) {
      std::string key;
      std::string value;
      std::istringstream(line) >> key >> value;
      return value;
    }
  }
  return "";
}

TEST(HugePageMemory, SmallBlocksAreAlignedDistinctAndWritable) {
  HugePageMemory memory;
  std::vector<char*> blocks;
  for (size_t size : {1, 7, 64, 1000, 4096, 100000}) {
    for (size_t alignment : {1, 8, 64, 4096}) {
      auto* block = static_cast<char*>(memory.allocate(size, alignment));
      ASSERT_EQ(reinterpret_cast<uintptr_t>(block) % alignment, 0u) << size << "/" << alignment;
      std::memset(block, static_cast<int>(blocks.size()), size);
      blocks.push_back(block);
    }
  }
  // Each block still holds what was written to it: none overlaps a later one.
  size_t i = 0;
  for (size_t size : {1, 7, 64, 1000, 4096, 100000}) {
    for (int k = 0; k < 4; ++k, ++i) {
      EXPECT_EQ(blocks[i][0], static_cast<char>(i));
      EXPECT_EQ(blocks[i][size - 1], static_cast<char>(i));
    }
  }
}

TEST(HugePageMemory, ChunksGrowAndLargeBlocksGetTheirOwnMappingUntilFreed) {
  HugePageMemory memory;
  EXPECT_EQ(memory.mapped_bytes(), 0u);
  void* small = memory.allocate(100, 8);
  EXPECT_EQ(memory.mapped_bytes(), HugePageMemory::kHugePageBytes);
  const size_t large_bytes = HugePageMemory::kOwnMappingBytes * 3;  // rounds up to 4 MiB
  void* large = memory.allocate(large_bytes, 64);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(large) % HugePageMemory::kHugePageBytes, 0u);
  EXPECT_EQ(memory.mapped_bytes(), 3 * HugePageMemory::kHugePageBytes);
  memory.deallocate(large, large_bytes, 64);
  EXPECT_EQ(memory.mapped_bytes(), HugePageMemory::kHugePageBytes);
  memory.deallocate(small, 100, 8);  // monotonic: stays mapped
  EXPECT_EQ(memory.mapped_bytes(), HugePageMemory::kHugePageBytes);
}

TEST(HugePageMemory, MappingsAreAdvisedForHugePages) {
  if (TransparentHugePagesOff()) GTEST_SKIP() << "transparent huge pages are off on this kernel";
  HugePageMemory memory;
  void* block = memory.allocate(HugePageMemory::kOwnMappingBytes * 4, 64);
  EXPECT_EQ(ThpEligibility(block), "1");
  memory.deallocate(block, HugePageMemory::kOwnMappingBytes * 4, 64);
}

TEST(HugePageMemory, ServesAPoolResourceForGrowingVectors) {
  HugePageMemory memory;
  std::pmr::unsynchronized_pool_resource pool(&memory);
  std::vector<std::pmr::vector<uint64_t>> vectors;
  for (int v = 0; v < 100; ++v) {
    auto& vector = vectors.emplace_back(&pool);
    for (uint64_t k = 0; k < 1000; ++k) vector.push_back(k * v);
  }
  for (int v = 0; v < 100; ++v) {
    ASSERT_EQ(vectors[v].size(), 1000u);
    EXPECT_EQ(vectors[v][999], 999u * v);
  }
}

}  // namespace
}  // namespace casewatch
