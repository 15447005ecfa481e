#include "base/log_throttle.h"

#include <gtest/gtest.h>

namespace casewatch {
namespace {

TEST(LogThrottle, ARepeatedLineIsHeldBackAfterItsBurstAndCountedInTheNextOne) {
  LogThrottle throttle(std::chrono::seconds(10), 3);
  const auto t0 = LogThrottle::Clock::time_point{} + std::chrono::hours(1);
  uint64_t held_back = 99;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(throttle.AllowAt("accept", t0, held_back));
    EXPECT_EQ(held_back, 0u);
  }
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(throttle.AllowAt("accept", t0, held_back));
  // Another key has its own allowance.
  EXPECT_TRUE(throttle.AllowAt("other", t0, held_back));
  // A new window: the line goes out and says how many were held back.
  EXPECT_TRUE(throttle.AllowAt("accept", t0 + std::chrono::seconds(10), held_back));
  EXPECT_EQ(held_back, 1000u);
  EXPECT_EQ(HeldBackNote(held_back), " (1000 similar lines held back)");
  EXPECT_EQ(HeldBackNote(0), "");
}

}  // namespace
}  // namespace casewatch
