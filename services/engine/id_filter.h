// IdFilter: which event ids a catch-up into a new store has stored, approximately (a Bloom
// filter that grows), so that most ids -- the new ones -- need no look-up in the store's id index.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace casewatch::engine {

class IdFilter {
 public:
  void Add(std::string_view id) {
    if (layers_.empty() || layers_.back().count >= layers_.back().capacity) Grow();
    Layer& layer = layers_.back();
    const uint64_t h = Hash(id);
    for (int i = 0; i < kProbes; ++i) {
      const uint64_t bit = Probe(h, i, layer.bits.size() * 64);
      layer.bits[bit / 64] |= uint64_t{1} << (bit % 64);
    }
    ++layer.count;
  }

  // False: certainly never added. True: probably added (about 1% of ids never added say so).
  bool MayContain(std::string_view id) const {
    const uint64_t h = Hash(id);
    for (const Layer& layer : layers_) {
      bool all = true;
      for (int i = 0; i < kProbes && all; ++i) {
        const uint64_t bit = Probe(h, i, layer.bits.size() * 64);
        all = (layer.bits[bit / 64] >> (bit % 64)) & 1;
      }
      if (all) return true;
    }
    return false;
  }

  size_t bytes() const {
    size_t total = 0;
    for (const Layer& layer : layers_) total += layer.bits.size() * 8;
    return total;
  }

 private:
  static constexpr int kProbes = 7;          // for 10 bits a key: ~1% false positives a layer
  static constexpr uint64_t kBitsPerKey = 10;
  static constexpr uint64_t kFirstCapacity = uint64_t{1} << 20;

  struct Layer {
    std::vector<uint64_t> bits;
    uint64_t capacity = 0;
    uint64_t count = 0;
  };

  void Grow() {
    Layer layer;
    layer.capacity = layers_.empty() ? kFirstCapacity : layers_.back().capacity * 2;
    layer.bits.assign(layer.capacity * kBitsPerKey / 64 + 1, 0);
    layers_.push_back(std::move(layer));
  }

  static uint64_t Hash(std::string_view id) { return std::hash<std::string_view>{}(id); }

  // Double hashing: the i-th probe of `h` in a table of `size` bits.
  static uint64_t Probe(uint64_t h, int i, uint64_t size) {
    const uint64_t h2 = (h >> 33) | (h << 31) | 1;
    return (h + static_cast<uint64_t>(i) * h2) % size;
  }

  std::vector<Layer> layers_;
};

}  // namespace casewatch::engine
