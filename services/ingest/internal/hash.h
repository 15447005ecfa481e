#pragma once
// Fast non-cryptographic 64-bit hashing of byte strings (wyhash-style multiply-mix). Used for the
// event_id and case_id indexes and, with two independent seeds, for 128-bit content fingerprints.
// Not for untrusted-adversary settings: a crafted collision could make a conflict look like a
// duplicate, which is why fingerprints use two independent 64-bit halves.

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

inline uint64_t LoadTail(const char* p, size_t n) {  // 0 < n < 8
  uint64_t v = 0;
  std::memcpy(&v, p, n);
  return v;
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
  uint64_t a = 0, b = 0;
  if (n >= 8) {
    a = Load64(p);
    b = n > 8 ? LoadTail(p + 8, n - 8) : 0;
  } else if (n > 0) {
    a = LoadTail(p, n);
  }
  h = MixMultiply(a ^ kP2 ^ h, b ^ kP3);
  return MixMultiply(h ^ kP0, h ^ kP3 ^ bytes.size());
}

struct Fingerprint {
  uint64_t high = 0;
  uint64_t low = 0;
  friend bool operator==(const Fingerprint&, const Fingerprint&) = default;
};

inline Fingerprint Fingerprint128(std::string_view bytes) {
  return Fingerprint{Hash64(bytes, 0x243f6a8885a308d3ull), Hash64(bytes, 0x13198a2e03707344ull)};
}

// A 128-bit fingerprint built field by field, without first copying the fields into one buffer.
// Two independent multiply-mix lanes; every field is absorbed with its length, so boundaries
// cannot shift.
class FingerprintBuilder {
 public:
  void Add(uint64_t a, uint64_t b) {
    lane1_ = MixMultiply(a ^ lane1_ ^ 0xa0761d6478bd642full, b ^ 0xe7037ed1a0b428dbull);
    lane2_ = MixMultiply(b ^ lane2_ ^ 0x8ebc6af09c88c6e3ull, a ^ 0x589965cc75374cc3ull);
  }
  void Add(std::string_view bytes) {
    const char* p = bytes.data();
    size_t n = bytes.size();
    Add(n, 0x1d8e4e27c47d124full);
    for (; n >= 16; p += 16, n -= 16) Add(Load64(p), Load64(p + 8));
    if (n >= 8) {
      Add(Load64(p), n > 8 ? LoadTail(p + 8, n - 8) : 0);
    } else if (n > 0) {
      Add(LoadTail(p, n), 0);
    }
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
