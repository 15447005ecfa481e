#pragma once
// GroupMember: membership of a Kafka consumer group, used to share roles out among several
// processes and nothing else. It subscribes to a topic under the group's name with the
// cooperative-sticky assignor and reads no record (each partition it is given is paused at the
// topic's end; nothing is committed). Each partition of the topic is a role, held by one member
// at a time (Held). The member holding partition 0 leads (Leads). With one partition there is
// nothing to balance, so sticky assignment leaves it where it is when members join or leave: the
// leader changes only when it leaves (Close, a clean stop) or the group coordinator stops hearing
// from it (session.timeout.ms: killed, frozen, cut off). With N partitions the assignor spreads
// them evenly and, when members join or leave, moves only what it must (docs/partitioned-group.md
// plans a task per partition on this).
//
// A thread of its own serves the group (heartbeats, rebalances), so a long batch of the caller's
// cannot cost it its membership. Leads, Held and Failure may be called from any thread.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "services/kafka/kafka_config.h"

namespace casewatch::kafka {

struct GroupOptions {
  std::string group;  // group.id
  std::string topic;  // subscribed to: one partition, the leadership
  // How long the group waits for a member it no longer hears from before it gives that member's
  // partitions to others: the floor of a failover. The brokers allow 6 s at least by default
  // (group.min.session.timeout.ms).
  std::chrono::milliseconds session_timeout{6000};
  // Called on the member's thread with the partitions the group takes from this member, before
  // it gives them up (cooperative: only those that move; also when the group stopped hearing from
  // this member and the partitions are lost). The group waits while it runs: a holder finishes
  // and stops its work on them here, so that the next holder never overlaps it. Optional.
  std::function<void(std::span<const int32_t> partitions)> on_revoke;
  // Called on the member's thread with the partitions the group gives this member, as it takes
  // them (Held may lag behind both callbacks by a moment). Optional.
  std::function<void(std::span<const int32_t> partitions)> on_assign;
};

class GroupMember {
 public:
  // Joins in the background; Leads is false until the group has given this member partition 0.
  [[nodiscard]] static Result<std::unique_ptr<GroupMember>> Join(const KafkaConfig& config,
                                                                 GroupOptions options);
  // Leaves the group (Close) and stops the thread.
  ~GroupMember();
  GroupMember(const GroupMember&) = delete;
  GroupMember& operator=(const GroupMember&) = delete;

  bool Leads() const { return leads_.load(); }
  // The partitions of the topic the group has given this member, ascending; empty before the
  // first assignment and after Close.
  std::vector<int32_t> Held() const;
  // A fatal error of the membership (a security failure, the group refused): set once, for the
  // caller to stop on.
  std::optional<Error> Failure() const;
  // Leaves the group now: the others rebalance at once instead of after the session timeout.
  void Close();

 private:
  struct Impl;
  explicit GroupMember(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> leads_{false};
  friend struct Impl;
};

}  // namespace casewatch::kafka
