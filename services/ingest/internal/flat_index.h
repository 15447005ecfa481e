#pragma once
// An open-addressing hash index from a key's 64-bit hash to a dense uint32 index into the
// caller's own storage; the caller compares keys. 8 bytes a slot, linear probing, load <= 3/4,
// so a million keys cost 16 MB, taken from the memory resource it is given. Not thread-safe.

#include <cstdint>
#include <memory_resource>
#include <optional>
#include <vector>

namespace casewatch::ingest::internal {

class FlatIndex {
 public:
  static constexpr uint32_t kMaxEntries = 0xFFFFFFFEu;

  explicit FlatIndex(std::pmr::memory_resource* memory = std::pmr::get_default_resource())
      : slots_(memory) {}

  // The index of the entry whose key equals the probe (`same(index)` says so), or, when there
  // is none, inserts `new_index` and returns nullopt.
  template <class SameKey>
  std::optional<uint32_t> FindOrInsert(uint64_t hash, uint32_t new_index, SameKey same) {
    if ((size_ + 1) * 4 > capacity_ * 3) Rehash(capacity_ == 0 ? 1024 : capacity_ * 2);
    const uint32_t tag = static_cast<uint32_t>(hash >> 32);
    const size_t mask = capacity_ - 1;
    for (size_t i = tag & mask;; i = (i + 1) & mask) {
      const uint64_t slot = slots_[i];
      if (slot == 0) {
        slots_[i] = Pack(tag, new_index);
        ++size_;
        return std::nullopt;
      }
      if (static_cast<uint32_t>(slot >> 32) == tag) {
        const uint32_t index = static_cast<uint32_t>(slot) - 1;
        if (same(index)) return index;
      }
    }
  }

  template <class SameKey>
  std::optional<uint32_t> Find(uint64_t hash, SameKey same) const {
    if (capacity_ == 0) return std::nullopt;
    const uint32_t tag = static_cast<uint32_t>(hash >> 32);
    const size_t mask = capacity_ - 1;
    for (size_t i = tag & mask;; i = (i + 1) & mask) {
      const uint64_t slot = slots_[i];
      if (slot == 0) return std::nullopt;
      if (static_cast<uint32_t>(slot >> 32) == tag) {
        const uint32_t index = static_cast<uint32_t>(slot) - 1;
        if (same(index)) return index;
      }
    }
  }

  // Makes room for `entries` keys without growing.
  void Reserve(size_t entries) {
    size_t capacity = 1024;
    while (capacity * 3 < entries * 4) capacity *= 2;
    if (capacity > capacity_) Rehash(capacity);
  }

  size_t size() const { return size_; }
  size_t memory_bytes() const { return capacity_ * sizeof(uint64_t); }

 private:
  // Slot: high 32 bits = hash tag (also the home position), low 32 = index + 1; 0 = empty.
  static uint64_t Pack(uint32_t tag, uint32_t index) {
    return (static_cast<uint64_t>(tag) << 32) | (static_cast<uint64_t>(index) + 1);
  }

  void Rehash(size_t capacity) {
    std::pmr::vector<uint64_t> old(capacity, 0, slots_.get_allocator());
    old.swap(slots_);
    capacity_ = capacity;
    const size_t mask = capacity_ - 1;
    for (const uint64_t slot : old) {
      if (slot == 0) continue;
      size_t i = static_cast<uint32_t>(slot >> 32) & mask;
      while (slots_[i] != 0) i = (i + 1) & mask;
      slots_[i] = slot;
    }
  }

  std::pmr::vector<uint64_t> slots_;
  size_t capacity_ = 0;  // a power of two, or 0
  size_t size_ = 0;
};

}  // namespace casewatch::ingest::internal
