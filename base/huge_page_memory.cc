#include "base/huge_page_memory.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <new>

namespace casewatch {
namespace {

constexpr size_t kMaxChunkBytes = size_t{64} << 20;

size_t RoundUp(size_t bytes, size_t to) { return (bytes + to - 1) / to * to; }

}  // namespace

HugePageMemory::~HugePageMemory() {
  for (const Chunk& chunk : chunks_) Unmap(chunk.base, chunk.bytes);
}

void* HugePageMemory::Map(size_t bytes) {
  // Over-map by one huge page and trim, so that the mapping starts on a huge-page boundary: only
  // aligned 2 MiB ranges can be backed by huge pages.
  const size_t padded = bytes + kHugePageBytes;
  void* raw = mmap(nullptr, padded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = RoundUp(start, kHugePageBytes);
  if (aligned > start) munmap(raw, aligned - start);
  const size_t tail = padded - (aligned - start) - bytes;
  if (tail > 0) munmap(reinterpret_cast<void*>(aligned + bytes), tail);
  void* base = reinterpret_cast<void*>(aligned);
  madvise(base, bytes, MADV_HUGEPAGE);  // advice only: without THP the memory still works
  mapped_bytes_ += bytes;
  return base;
}

void HugePageMemory::Unmap(void* base, size_t bytes) {
  munmap(base, bytes);
  mapped_bytes_ -= bytes;
}

void* HugePageMemory::do_allocate(size_t bytes, size_t alignment) {
  if (alignment > kHugePageBytes) throw std::bad_alloc();
  if (bytes >= kOwnMappingBytes) return Map(RoundUp(bytes, kHugePageBytes));
  const auto next = reinterpret_cast<uintptr_t>(next_);
  const uintptr_t at = RoundUp(next, alignment);
  if (next_ == nullptr || at + bytes > reinterpret_cast<uintptr_t>(end_)) {
    const size_t chunk_bytes = next_chunk_bytes_;
    next_chunk_bytes_ = std::min(next_chunk_bytes_ * 2, kMaxChunkBytes);
    void* base = Map(chunk_bytes);
    chunks_.push_back(Chunk{base, chunk_bytes});
    next_ = static_cast<char*>(base) + bytes;  // a fresh chunk is aligned for anything we serve
    end_ = static_cast<char*>(base) + chunk_bytes;
    return base;
  }
  next_ = reinterpret_cast<char*>(at + bytes);
  return reinterpret_cast<void*>(at);
}

void HugePageMemory::do_deallocate(void* block, size_t bytes, size_t /*alignment*/) {
  if (bytes >= kOwnMappingBytes) Unmap(block, RoundUp(bytes, kHugePageBytes));
}

}  // namespace casewatch
