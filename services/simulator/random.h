#pragma once
// The simulator's own pseudo-random numbers: splitmix64 for seeding and xoshiro256** for draws,
// with hand-written distributions. std:: distributions differ between standard libraries, and the
// simulator promises byte-identical output for the same seed everywhere.

#include <cmath>
#include <cstdint>
#include <initializer_list>

namespace casewatch::simulator {

// One step of splitmix64: a good 64-bit mix, also used to derive independent seeds.
constexpr uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A xoshiro256** generator. Cheap to copy; not thread-safe (one per case generation).
class Random {
 public:
  explicit Random(uint64_t seed) {
    for (uint64_t& word : state_) word = SplitMix64(seed);
  }

  uint64_t Next() {
    const uint64_t result = Rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, 1), 53 bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

  // Uniform integer in [lo, hi] (requires lo <= hi). The modulo bias is below 2^-40 for the
  // small ranges the simulator draws from.
  int64_t Between(int64_t lo, int64_t hi) {
    const uint64_t range = static_cast<uint64_t>(hi - lo) + 1;
    return lo + static_cast<int64_t>(Next() % range);
  }

  bool Chance(double probability) { return Uniform() < probability; }

  // Exponentially distributed with the given mean.
  double Exponential(double mean) { return -mean * std::log1p(-Uniform()); }

  // Index of a weight chosen with probability proportional to it.
  int Pick(std::initializer_list<double> weights) {
    double total = 0;
    for (double w : weights) total += w;
    double x = Uniform() * total;
    int index = 0;
    for (double w : weights) {
      if (x < w) return index;
      x -= w;
      ++index;
    }
    return index - 1;
  }

 private:
  static constexpr uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

}  // namespace casewatch::simulator
