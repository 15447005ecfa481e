#include "services/daemon/testing/kafka_harness.h"

#include <fmt/format.h>

#include <chrono>

namespace casewatch::daemon::testing {

Result<kafka::MockCluster> StartCluster(int partitions) {
  CW_TRY(cluster, kafka::MockCluster::Start(1));
  for (const char* topic : {"case-events", "case-alerts", "case-events-dlq"}) {
    CW_TRY(cluster.CreateTopic(topic, partitions));
  }
  return std::move(cluster);
}

Result<void> Produce(kafka::Producer& producer, const SimulatedStream& sim, size_t from,
                     size_t to) {
  for (size_t i = from; i < to; ++i) {
    while (true) {
      auto queued = producer.Produce("case-events", sim.keys[i], sim.records[i]);
      if (queued) break;
      if (!IsRetryable(queued.error())) return queued.error();
      producer.Poll(std::chrono::milliseconds(5));
    }
  }
  return Ok();
}

Result<void> Publish(const std::string& brokers, const SimulatedStream& sim, size_t from,
                     size_t to) {
  CW_TRY(producer, kafka::Producer::Open(kafka::KafkaConfig{brokers, {}}));
  CW_TRY(Produce(producer, sim, from, to));
  CW_TRY(producer.Flush(std::chrono::seconds(120)));
  if (producer.failed() > 0) {
    return IoError(fmt::format("{} records were not delivered", producer.failed()));
  }
  return Ok();
}

uint64_t ConsumedOffsets(const std::filesystem::path& data, const std::filesystem::path& scratch) {
  static std::atomic<int> next{0};
  auto store = store::StoreReader::OpenSecondary(data, scratch / fmt::format("secondary-{}", next++));
  if (!store) return 0;
  uint64_t total = 0;
  if (auto offsets = store.value()->Offsets("case-events")) {
    for (const store::OffsetEntry& o : offsets.value()) total += o.next_offset;
  }
  return total;
}

RunnerOptions FrozenClockOptions(const std::string& brokers, Instant frozen) {
  RunnerOptions options;
  options.kafka.brokers = brokers;
  options.clock = [frozen] { return frozen; };
  return options;
}

EngineThread::EngineThread(store::Store& store, RunnerOptions options) {
  thread_ = std::thread([this, &store, options = std::move(options)] {
    result_ = RunEngine(store, options, stop_, [this](const RunnerStatus& s) {
      applied_ = s.counters.accepted + s.counters.duplicates + s.counters.rejected;
      max_lag_ = std::max<int64_t>(max_lag_, s.lag);
    });
  });
}

EngineThread::~EngineThread() { Stop(); }

bool EngineThread::WaitFor(uint64_t records, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (applied_.load() < records) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

const Result<void>& EngineThread::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  return result_;
}

}  // namespace casewatch::daemon::testing
