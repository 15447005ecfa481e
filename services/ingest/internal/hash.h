#pragma once
// Fast non-cryptographic hashing (wyhash-style multiply-mix): Hash64 for the event_id and case_id
// indexes, FingerprintBuilder for 128-bit content fingerprints (two independent 64-bit lanes).
// Not for untrusted-adversary settings: a crafted collision could make a conflict look like a
// duplicate.

#include <cstdint>
#include <cstring>
#include <string_view>

namespace casewatch::ingest::internal {

__extension__ typedef unsigned __int128 Uint128;

inline uint64_t MixMultiply(uint64_t a, uint64_t b) {
  const Uint128 product = static_cast<Uint128>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

inline uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline uint64_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Reads n <= 16 bytes into two words with overlapping loads (no copy, no branch per byte); the
// words differ for different inputs of the same length.
inline void LoadShort(const char* p, size_t n, uint64_t& a, uint64_t& b) {
  a = b = 0;
  if (n >= 8) {
    a = Load64(p);
    b = Load64(p + n - 8);
  } else if (n >= 4) {
    a = Load32(p);
    b = Load32(p + n - 4);
  } else if (n > 0) {
    a = static_cast<uint64_t>(static_cast<uint8_t>(p[0])) << 16 |
        static_cast<uint64_t>(static_cast<uint8_t>(p[n / 2])) << 8 | static_cast<uint8_t>(p[n - 1]);
  }
}

inline uint64_t Hash64(std::string_view bytes, uint64_t seed) {
  constexpr uint64_t kP0 = 0xa0761d6478bd642full, kP1 = 0xe7037ed1a0b428dbull,
                     kP2 = 0x8ebc6af09c88c6e3ull, kP3 = 0x589965cc75374cc3ull;
  const char* p = bytes.data();
  size_t n = bytes.size();
  uint64_t h = seed ^ MixMultiply(seed ^ kP0, n ^ kP1);
  while (n >= 16) {
    h = MixMultiply(Load64(p) ^ kP1, Load64(p + 8) ^ h);
    p += 16;
    n -= 16;
  }
  uint64_t a, b;
  LoadShort(p, n, a, b);
  h = MixMultiply(a ^ kP2 ^ h, b ^ kP3);
  return MixMultiply(h ^ kP0, h ^ kP3 ^ bytes.size());
}

struct Fingerprint {
  uint64_t high = 0;
  uint64_t low = 0;
  friend bool operator==(const Fingerprint&, const Fingerprint&) = default;
};

// A 128-bit fingerprint built field by field, without first copying the fields into one buffer.
// Two independent multiply-mix lanes; every field is absorbed with its length, so boundaries
// cannot shift.
class FingerprintBuilder {
 public:
  void Add(uint64_t a, uint64_t b) {
    lane1_ = MixMultiply(a ^ lane1_ ^ 0xa0761d6478bd642full, b ^ 0xe7037ed1a0b428dbull);
    lane2_ = MixMultiply(b ^ lane2_ ^ 0x8ebc6af09c88c6e3ull, a ^ 0x589965cc75374cc3ull);
  }
  // A field of bytes. Its length goes into its first block, so a field of up to 16 bytes costs
  // one mix; short tails are read with overlapping loads rather than a copy.
  void Add(std::string_view bytes) {
    const char* p = bytes.data();
    const size_t n = bytes.size();
    const uint64_t length = (static_cast<uint64_t>(n) + 1) * 0x9e3779b97f4a7c15ull;
    if (n <= 16) {
      uint64_t a, b;
      LoadShort(p, n, a, b);
      Add(a ^ length, b);
      return;
    }
    Add(Load64(p) ^ length, Load64(p + 8));
    size_t i = 16;
    for (; i + 16 <= n; i += 16) Add(Load64(p + i), Load64(p + i + 8));
    if (i < n) Add(Load64(p + n - 16), Load64(p + n - 8));  // the last 16, overlapping
  }
  Fingerprint Finish() const {
    return Fingerprint{MixMultiply(lane1_ ^ 0x243f6a8885a308d3ull, lane2_ ^ 0x13198a2e03707344ull),
                       MixMultiply(lane2_ ^ 0xa4093822299f31d0ull, lane1_ ^ 0x082efa98ec4e6c89ull)};
  }

 private:
  uint64_t lane1_ = 0x452821e638d01377ull;
  uint64_t lane2_ = 0xbe5466cf34e90c6cull;
};

}  // namespace casewatch::ingest::internal
