#pragma once
// Tests and benchmarks only: the engine against a Kafka cluster, librdkafka's mock or a real
// Apache Kafka cluster. A cluster with the engine's three topics, publishing a simulated stream
// keyed by case, the runner on its own thread with a frozen clock, and how far a store has
// consumed.

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "services/daemon/engine_loop.h"
#include "services/engine/testing/simulated_stream.h"
#include "services/kafka/mock_cluster.h"
#include "services/kafka/producer.h"

namespace casewatch::daemon::testing {

using engine::testing::SimulatedStream;

// One broker with case-events, case-alerts, case-events-dlq and case-events-derived of
// `partitions` each.
[[nodiscard]] Result<kafka::MockCluster> StartCluster(int partitions);

// The environment variable naming a real cluster for TestBroker: a directory made by
// scripts/kafka/cluster.sh (its file `bootstrap` holds the bootstrap servers).
inline constexpr char kRealClusterVariable[] = "CASEWATCH_KAFKA_CLUSTER";

// The engine's three topics.
struct TopicNames {
  std::string events = "case-events";
  std::string alerts = "case-alerts";
  std::string dead_letters = "case-events-dlq";
  std::string derived = "case-events-derived";
};

// Where one test's Kafka traffic goes. By default librdkafka's mock cluster in this process, with
// the engine's topics under their usual names. When $CASEWATCH_KAFKA_CLUSTER is set (the ctest
// label real_kafka sets it), the real Apache Kafka cluster it names, with three topics of this
// test's own (unique names, `partitions` partitions, replication 3, min.insync.replicas 2, as
// deploy/topics.sh makes them), so tests can share the cluster. Move-only.
class TestBroker {
 public:
  [[nodiscard]] static Result<TestBroker> Start(int partitions);

  const std::string& bootstrap_servers() const { return bootstrap_; }
  const TopicNames& topics() const { return topics_; }
  // The group's directory (casewatchd --group-directory-topic): one partition, compacted.
  const std::string& directory_topic() const { return directory_topic_; }
  // A real cluster's progress topic of casewatchd --tasks (--tasks-progress-topic): a partition
  // per partition of the events topic, compacted.
  const std::string& tasks_progress_topic() const { return tasks_progress_topic_; }
  // Where the engines of a group claim event ids (--event-ids-topic): a partition per partition
  // of the events topic, kept for ever.
  const std::string& event_ids_topic() const { return event_ids_topic_; }
  bool real() const { return !mock_.has_value(); }
  // The mock cluster, for its injected faults; only when !real().
  kafka::MockCluster& mock() { return *mock_; }
  // The cluster.sh directory of a real cluster (for its faults: kill, pause...); empty for the
  // mock.
  const std::filesystem::path& cluster_dir() const { return cluster_dir_; }

  // The engine's topics and brokers in `options`.
  void Configure(RunnerOptions& options) const;
  // casewatchd's flags for the brokers and topics: --brokers B --topic T ...
  std::vector<std::string> DaemonFlags() const;

 private:
  std::optional<kafka::MockCluster> mock_;
  std::string bootstrap_;
  std::filesystem::path cluster_dir_;
  TopicNames topics_;
  std::string progress_topic_;  // a real cluster's: the outbox's progress (exactly once)
  std::string tasks_progress_topic_;  // and the progress of casewatchd --tasks
  std::string directory_topic_ = "casewatchd-group-directory";
  std::string event_ids_topic_ = "casewatchd-event-ids";
};

// Queues records [from, to) keyed by case to `topic`, waiting whenever the local queue is full.
[[nodiscard]] Result<void> Produce(kafka::Producer& producer, const SimulatedStream& sim,
                                   size_t from, size_t to,
                                   const std::string& topic = "case-events");
// Produces records [from, to) to `topic` with a producer of its own and waits until every one is
// acknowledged.
[[nodiscard]] Result<void> Publish(const std::string& brokers, const SimulatedStream& sim,
                                   size_t from, size_t to,
                                   const std::string& topic = "case-events");

// The sum of the next offsets of `topic` stored in `data` (read as a secondary that keeps its
// files in a fresh directory under `scratch`); 0 when it cannot be read yet.
uint64_t ConsumedOffsets(const std::filesystem::path& data, const std::filesystem::path& scratch,
                         const std::string& topic = "case-events");

// Runner options for a test: `brokers`, a clock frozen at `frozen`.
RunnerOptions FrozenClockOptions(const std::string& brokers, Instant frozen);

// RunEngine on its own thread until Stop (or destruction).
class EngineThread {
 public:
  EngineThread(store::Store& store, RunnerOptions options);
  ~EngineThread();
  EngineThread(const EngineThread&) = delete;
  EngineThread& operator=(const EngineThread&) = delete;

  // Waits until `records` have been applied (accepted, duplicate or rejected); false after
  // `seconds`.
  bool WaitFor(uint64_t records, double seconds);
  // Stops after the current batch; RunEngine's result.
  const Result<void>& Stop();

  uint64_t applied() const { return applied_; }
  int64_t max_lag() const { return max_lag_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> applied_{0};
  std::atomic<int64_t> max_lag_{-1};
  Result<void> result_ = Ok();
  std::thread thread_;
};

}  // namespace casewatch::daemon::testing
