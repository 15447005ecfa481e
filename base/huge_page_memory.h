#pragma once
// HugePageMemory: a std::pmr::memory_resource for bulk, long-lived data (a replay's case
// histories and event_id index). It hands out memory from large anonymous mappings that the
// kernel is asked to back with transparent huge pages (madvise MADV_HUGEPAGE). Why: faulting
// fresh memory in 4 KiB at a time is the largest single cost of a replay on the project's VMs
// (about 2.5 ms per MiB, docs/benchmarks.md); 2 MiB pages make it nearly free. Where the kernel
// has THP off, the memory is ordinary memory.
//
// Monotonic: blocks smaller than kOwnMappingBytes are carved from chunks and only come back when
// the resource is destroyed (put a pool resource in front of it for data that grows and
// shrinks); a block of at least kOwnMappingBytes gets a mapping of its own, unmapped on
// deallocate. Not thread-safe. Must outlive everything allocated from it.

#include <cstddef>
#include <memory_resource>
#include <vector>

namespace casewatch {

#if defined(__SANITIZE_ADDRESS__)
#define CASEWATCH_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CASEWATCH_ADDRESS_SANITIZER 1
#endif
#endif

// True in AddressSanitizer builds. Users of HugePageMemory (and of pools over it) then take
// their blocks from the heap instead: ASan sees the bounds of heap blocks, not of blocks carved
// from a resource's chunks.
#ifdef CASEWATCH_ADDRESS_SANITIZER
inline constexpr bool kBulkMemoryFromHeap = true;
#else
inline constexpr bool kBulkMemoryFromHeap = false;
#endif

class HugePageMemory final : public std::pmr::memory_resource {
 public:
  static constexpr size_t kHugePageBytes = size_t{2} << 20;
  static constexpr size_t kOwnMappingBytes = size_t{1} << 20;

  HugePageMemory() = default;
  ~HugePageMemory() override;
  HugePageMemory(const HugePageMemory&) = delete;
  HugePageMemory& operator=(const HugePageMemory&) = delete;

  // Bytes currently mapped (chunks and own mappings), touched or not.
  size_t mapped_bytes() const { return mapped_bytes_; }

 private:
  void* do_allocate(size_t bytes, size_t alignment) override;
  void do_deallocate(void* block, size_t bytes, size_t alignment) override;
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }

  void* Map(size_t bytes);  // huge-page aligned, `bytes` a multiple of kHugePageBytes
  void Unmap(void* base, size_t bytes);

  struct Chunk {
    void* base;
    size_t bytes;
  };
  std::vector<Chunk> chunks_;
  char* next_ = nullptr;  // free space in the newest chunk: [next_, end_)
  char* end_ = nullptr;
  size_t next_chunk_bytes_ = kHugePageBytes;  // doubles up to kMaxChunkBytes
  size_t mapped_bytes_ = 0;
};

}  // namespace casewatch
