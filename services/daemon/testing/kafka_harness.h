#pragma once
// Tests and benchmarks only: the engine against librdkafka's mock cluster. A cluster with the
// engine's three topics, publishing a simulated stream keyed by case, the runner on its own
// thread with a frozen clock, and how far a store has consumed.

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>

#include "services/daemon/engine_loop.h"
#include "services/engine/testing/simulated_stream.h"
#include "services/kafka/mock_cluster.h"
#include "services/kafka/producer.h"

namespace casewatch::daemon::testing {

using engine::testing::SimulatedStream;

// One broker with case-events, case-alerts and case-events-dlq of `partitions` each.
[[nodiscard]] Result<kafka::MockCluster> StartCluster(int partitions);

// Queues records [from, to) keyed by case, waiting whenever the local queue is full.
[[nodiscard]] Result<void> Produce(kafka::Producer& producer, const SimulatedStream& sim,
                                   size_t from, size_t to);
// Produces records [from, to) with a producer of its own and waits until every one is
// acknowledged.
[[nodiscard]] Result<void> Publish(const std::string& brokers, const SimulatedStream& sim,
                                   size_t from, size_t to);

// The sum of the next offsets of case-events stored in `data` (read as a secondary that keeps
// its files in a fresh directory under `scratch`); 0 when it cannot be read yet.
uint64_t ConsumedOffsets(const std::filesystem::path& data, const std::filesystem::path& scratch);

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
