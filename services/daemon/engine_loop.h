#pragma once
// Runner: the engine's main loop against Kafka. Assigns every partition of the events topic
// itself, starting at the offsets the store holds (so a restart resumes exactly where the last
// durable write ended), then repeats: poll a batch, Engine::Apply it (one atomic write with the
// offsets), publish what the write put in the outbox (alerts, dead letters), and when idle let
// the clock advance (deadlines). Far behind (options.catch_up_lag), it stores batches first and
// projects each touched case once when caught up. Stops after the current batch when `stop`
// becomes true.
//
// Runs on the calling thread; librdkafka's own threads fetch and send in the background.
// Delivery to the alerts and dead-letter topics is exactly once for read_committed consumers
// (Kafka transactions), or at least once on librdkafka's mock cluster or when asked (outbox.h).

#include <atomic>
#include <chrono>
#include <functional>
#include <span>

#include "base/result.h"
#include "services/daemon/outbox.h"
#include "services/engine/engine.h"
#include "services/engine/engine_status.h"
#include "services/kafka/kafka_config.h"
#include "services/store/store.h"

namespace casewatch::daemon {

struct RunnerOptions {
  kafka::KafkaConfig kafka;
  engine::EngineOptions engine;
  OutboxOptions outbox;
  std::function<Instant()> clock;  // the engine clock
  size_t max_batch = 5000;
  // More records than this behind (consumer lag): catch up, storing batches first and projecting
  // each touched case once when the lag is down to a batch (Engine::ApplyDeferred, ProjectPending).
  int64_t catch_up_lag = 100000;
  // While catching up (storing first), records per poll and durable write; 0: ten times
  // max_batch (casewatchd --max-batch sets both). Fewer, larger synced writes: in process, 50000
  // stores a backlog a third faster than 5000. What has arrived is taken, so this bounds a
  // write, it does not wait for one.
  size_t catch_up_batch = 0;
  // Several engines on one events topic: each joins this Kafka consumer group (kafka::GroupMember,
  // subscribed to the outbox's progress topic, of one partition; nothing is read through it,
  // offsets stay in the store). The one the group gives that partition leads: it derives and publishes, exactly once, fencing the last
  // leader first. The others follow: each applies every record into its own store and serves
  // reads, derives nothing, publishes nothing, and reads the leader's derived events back from
  // the derived topic. "" = an engine on its own, which always leads.
  std::string group;
  std::chrono::milliseconds group_session_timeout{6000};
  // A standby of one task (casewatchd --tasks --group --standby-replicas): with `group` empty,
  // follows the task's partition into the store as a follower of the group above does, deriving
  // and publishing nothing, until `leads` says the group has given the task to this engine; it
  // then takes the task over as a follower coming to lead does (fencing the last owner), and
  // calls `on_lead` on its own thread before its next batch. Unset: no standby.
  std::function<bool()> leads;
  std::function<Result<void>()> on_lead;
  // One task of an engine whose partitions are shared out (casewatchd --tasks): the partition of
  // the events topic it consumes and of the derived topic it restores from (its engine sends its
  // derived events there: EngineOptions::derived_partition). -1: every partition.
  int32_t partition = -1;
  // A task writes whenever `clock` has moved on since its last write, idle or not, so that the
  // tasks of a process stand at one instant (their clock moves in steps: Application gives them
  // one in whole seconds) and their counts add up as of it.
  bool write_each_tick = false;
  std::chrono::milliseconds poll_timeout{20};
  std::chrono::milliseconds status_interval{10000};
  // Called after each batch is durably applied, with the producer timestamps (ms since the
  // epoch, -1 unknown) of its records: for latency measurements.
  std::function<void(std::span<const int64_t> timestamps_ms)> on_applied;
};

using RunnerStatus = engine::EngineStatus;

// Runs until `stop`; `on_status` (optional) is called after every batch and, when idle, every
// 200 ms, on this thread.
[[nodiscard]] Result<void> RunEngine(store::Store& store, RunnerOptions options,
                                     const std::atomic<bool>& stop,
                                     const std::function<void(const RunnerStatus&)>& on_status);

}  // namespace casewatch::daemon
