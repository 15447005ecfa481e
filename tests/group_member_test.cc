// kafka::GroupMember over a topic of several partitions, each partition a role: the group gives
// each to exactly one member, evenly; a member leaving hands its partitions to the others, which
// keep their own; a member joining takes a share; and no partition is ever held by two members at
// once. This is what docs/partitioned-group.md builds task ownership on. Runs on librdkafka's mock
// cluster, and (ctest label real_kafka) on the real cluster.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "services/daemon/testing/kafka_harness.h"
#include "services/kafka/group.h"

namespace casewatch {
namespace {

using daemon::testing::TestBroker;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kPartitions = 6;

class GroupOfMembers {
 public:
  explicit GroupOfMembers(const TestBroker& broker)
      : config_{broker.bootstrap_servers(), {}},
        options_{fmt::format("roles-{}-{}", getpid(), broker.topics().events),
                 broker.topics().events, seconds(6)} {}

  ~GroupOfMembers() {
    for (auto& member : members_) {
      if (member) member->Close();
    }
  }

  // Joins a member; its index.
  size_t Join() {
    auto joined = kafka::GroupMember::Join(config_, options_);
    EXPECT_TRUE(joined) << joined.error().message;
    members_.push_back(joined ? std::move(joined).value() : nullptr);
    return members_.size() - 1;
  }

  void Leave(size_t member) {
    members_[member]->Close();
    members_[member].reset();
  }

  // Each present member's partitions, read one member after the other within microseconds.
  std::vector<std::vector<int32_t>> Held() const {
    std::vector<std::vector<int32_t>> held;
    for (const auto& member : members_) {
      held.push_back(member ? member->Held() : std::vector<int32_t>{});
    }
    return held;
  }

  // Samples Held every 5 ms until `settled` holds of it, up to 60 s; fails the test if a partition
  // is ever held by two members at once. The last sample.
  std::vector<std::vector<int32_t>> WaitUntil(
      const std::function<bool(const std::vector<std::vector<int32_t>>&)>& settled) {
    const auto deadline = std::chrono::steady_clock::now() + seconds(60);
    std::vector<std::vector<int32_t>> held;
    while (std::chrono::steady_clock::now() < deadline) {
      held = Held();
      std::multiset<int32_t> all;
      for (const auto& h : held) all.insert(h.begin(), h.end());
      for (int32_t p = 0; p < kPartitions; ++p) {
        EXPECT_LE(all.count(p), 1u) << "partition " << p << " held by two members at once";
      }
      if (settled(held)) return held;
      std::this_thread::sleep_for(milliseconds(5));
    }
    ADD_FAILURE() << "the group did not settle within 60 s";
    return held;
  }

  const kafka::GroupMember* member(size_t i) const { return members_[i].get(); }

 private:
  kafka::KafkaConfig config_;
  kafka::GroupOptions options_;
  std::vector<std::unique_ptr<kafka::GroupMember>> members_;
};

// Every partition held, by the members present only, each holding `low` or `low + 1`.
std::function<bool(const std::vector<std::vector<int32_t>>&)> Balanced(
    std::vector<size_t> present) {
  return [present](const std::vector<std::vector<int32_t>>& held) {
    size_t total = 0;
    const size_t low = kPartitions / present.size();
    for (size_t i = 0; i < held.size(); ++i) {
      const bool here = std::find(present.begin(), present.end(), i) != present.end();
      if (!here && !held[i].empty()) return false;
      if (here && (held[i].size() < low || held[i].size() > low + 1)) return false;
      total += held[i].size();
    }
    return total == static_cast<size_t>(kPartitions);
  };
}

bool Includes(const std::vector<int32_t>& all, const std::vector<int32_t>& some) {
  return std::includes(all.begin(), all.end(), some.begin(), some.end());
}

TEST(GroupMember, PartitionsAreSharedOutEvenlyAndMoveOnlyWhenTheyMust) {
  auto started = TestBroker::Start(kPartitions);
  ASSERT_TRUE(started) << started.error().message;
  GroupOfMembers group(started.value());

  for (int i = 0; i < 3; ++i) group.Join();
  const auto three = group.WaitUntil(Balanced({0, 1, 2}));
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(three[i].size(), 2u) << "member " << i;
    EXPECT_EQ(group.member(i)->Leads(), !three[i].empty() && three[i].front() == 0)
        << "member " << i;
  }

  // A member leaving: its two go to the others, which keep their own.
  group.Leave(2);
  const auto two = group.WaitUntil(Balanced({0, 1}));
  EXPECT_TRUE(Includes(two[0], three[0])) << "member 0 lost a partition it did not need to";
  EXPECT_TRUE(Includes(two[1], three[1])) << "member 1 lost a partition it did not need to";

  // A member joining: it takes a share from the others, which keep the rest.
  group.Join();
  const auto again = group.WaitUntil(Balanced({0, 1, 3}));
  EXPECT_EQ(again[3].size(), 2u);
  EXPECT_TRUE(Includes(two[0], again[0])) << "member 0 gained a partition it did not need to";
  EXPECT_TRUE(Includes(two[1], again[1])) << "member 1 gained a partition it did not need to";
  int leaders = 0;
  for (size_t i : {0, 1, 3}) leaders += group.member(i)->Leads() ? 1 : 0;
  EXPECT_EQ(leaders, 1);
}

// Members stopped at any point of the others' rebalances, as in a rolling restart: each stops,
// neither crashing nor hanging. librdkafka 2.0.2 fails an assertion destroying a member that has
// joined but has no assignment yet (its issue 4312: this test hit it about one run in three
// before GroupMember waited for the assignment), and can hang closing a member that an
// assignment reaches while it closes (its issue 4527). Close waits at most 35 s for an
// assignment and 15 s to leave.
TEST(GroupMember, AMemberStoppedInTheMiddleOfRebalancesStopsWithoutCrashingOrHanging) {
  auto started = TestBroker::Start(kPartitions);
  ASSERT_TRUE(started) << started.error().message;
  GroupOfMembers group(started.value());
  for (int i = 0; i < 2; ++i) group.Join();
  group.WaitUntil(Balanced({0, 1}));
  size_t churn = group.Join();  // joins and leaves beside the member under test
  for (int round = 0; round < 6; ++round) {
    const size_t member = group.Join();
    // Stopped 0.3 s to 2.8 s after joining: before, during or after its first assignment, while
    // the churning member comes and goes.
    std::this_thread::sleep_for(milliseconds(300 + 500 * round));
    group.Leave(churn);
    churn = group.Join();
    std::this_thread::sleep_for(milliseconds(50 * round));
    const auto leaving = std::chrono::steady_clock::now();
    group.Leave(member);
    const auto took = std::chrono::steady_clock::now() - leaving;
    EXPECT_LT(took, seconds(45)) << "round " << round << ": leaving took "
                                 << std::chrono::duration_cast<milliseconds>(took).count()
                                 << " ms";
  }
  // The group still works: its members share the partitions out.
  group.WaitUntil(Balanced({0, 1, churn}));
}

}  // namespace
}  // namespace casewatch
