#include "services/daemon/engine_loop.h"

#include <spdlog/spdlog.h>

#include "base/log_throttle.h"
#include "services/kafka/consumer.h"
#include "services/kafka/producer.h"

namespace casewatch::daemon {
namespace {

using engine::Engine;
using engine::InputRecord;

constexpr size_t kMaxInFlight = 10000;

// Publishes outbox records and deletes them once acknowledged. Single-threaded (the runner's).
class OutboxPublisher {
 public:
  OutboxPublisher(store::Store& store, kafka::Producer& producer)
      : store_(store), producer_(producer), next_(0) {}

  // Queues every outbox record not yet in flight, serves delivery reports, and deletes what was
  // acknowledged.
  Result<void> Pump() {
    if (in_flight_ < kMaxInFlight) {
      Result<void> queued = Ok();
      CW_TRY(store_.ScanOutbox(next_, [&](uint64_t sequence, const store::v1::OutboxRecord& r) {
        auto produced =
            producer_.Produce(r.topic(), r.key(), r.value(), [this, sequence](Result<void> done) {
              --in_flight_;
              if (done) {
                acknowledged_.push_back(sequence);
              } else {
                failed_.push_back(sequence);
                uint64_t held_back = 0;
                if (log_throttle_.Allow(done.error().message, held_back)) {
                  spdlog::warn("outbox: delivery failed, will retry: {}{}", done.error().message,
                               HeldBackNote(held_back));
                }
              }
            });
        if (!produced) {
          if (!IsRetryable(produced.error())) queued = produced.error();
          return false;  // queue full: the rest next time
        }
        ++in_flight_;
        next_ = sequence + 1;
        return in_flight_ < kMaxInFlight;
      }));
      CW_TRY(queued);
    }
    producer_.Poll(std::chrono::milliseconds(0));
    if (!failed_.empty()) {
      // Re-send from the earliest failure; acknowledged records after it are deleted anyway.
      next_ = std::min(next_, *std::min_element(failed_.begin(), failed_.end()));
      failed_.clear();
    }
    if (!acknowledged_.empty()) {
      store::WriteBatch batch = store_.NewWriteBatch();
      for (uint64_t sequence : acknowledged_) batch.DeleteOutbox(sequence);
      published_ += acknowledged_.size();
      acknowledged_.clear();
      // Not synced: losing a delete in a crash only means publishing that record again.
      CW_TRY(store_.Write(batch, false));
    }
    return Ok();
  }

  Result<void> Drain(std::chrono::milliseconds timeout) {
    CW_TRY(Pump());
    auto flushed = producer_.Flush(timeout);
    CW_TRY(Pump());
    return flushed;
  }

  uint64_t published() const { return published_; }
  uint64_t in_flight() const { return in_flight_; }

 private:
  store::Store& store_;
  kafka::Producer& producer_;
  uint64_t next_;
  uint64_t in_flight_ = 0;
  uint64_t published_ = 0;
  std::vector<uint64_t> acknowledged_;
  std::vector<uint64_t> failed_;
  LogThrottle log_throttle_;
};

Result<std::vector<kafka::PartitionStart>> StartPositions(kafka::Consumer& consumer,
                                                          const Engine& engine,
                                                          const std::atomic<bool>& stop) {
  std::vector<int32_t> partitions;
  for (int attempt = 0;; ++attempt) {
    auto found = consumer.Partitions(std::chrono::seconds(5));
    if (found) {
      partitions = std::move(found).value();
      break;
    }
    if (!IsRetryable(found.error()) || stop) return found.error();
    spdlog::warn("waiting for the brokers: {} (attempt {})", found.error().message, attempt + 1);
  }
  CW_TRY(stored, engine.StartOffsets());
  std::vector<kafka::PartitionStart> starts;
  for (int32_t partition : partitions) {
    kafka::PartitionStart start{partition, kafka::kBeginning};
    for (const store::OffsetEntry& entry : stored) {
      if (entry.partition == partition) start.offset = entry.next_offset;
    }
    starts.push_back(start);
  }
  return starts;
}

}  // namespace


Result<void> RunEngine(store::Store& store, RunnerOptions options, const std::atomic<bool>& stop,
                       const std::function<void(const RunnerStatus&)>& on_status) {
  CW_TRY(engine, Engine::Create(store, options.engine));
  CW_TRY(consumer, kafka::Consumer::Open(options.kafka, options.engine.topic));
  CW_TRY(producer, kafka::Producer::Open(options.kafka));
  OutboxPublisher outbox(store, producer);

  CW_TRY(starts, StartPositions(consumer, *engine, stop));
  CW_TRY(consumer.Assign(starts));
  for (const kafka::PartitionStart& s : starts) {
    spdlog::info("consuming {} partition {} from {}", options.engine.topic, s.partition,
                 s.offset == kafka::kBeginning ? std::string("the beginning")
                                               : fmt::format("offset {}", s.offset));
  }

  RunnerStatus status;
  // Far behind, batches are stored first (`deferring`), then the pending cases are projected a
  // bounded write at a time between live batches; a restart with pending cases finishes them.
  bool deferring = false;
  status.catching_up = engine->counters().cases_pending > 0;
  auto report = [&] {
    status.counters = engine->counters();
    status.lag = consumer.Lag();
    status.published = outbox.published();
    status.outbox_pending = outbox.in_flight();
    status.transient_errors = consumer.transient_errors();
    status.projection_instant = engine->projection_instant();
    if (on_status) on_status(status);
  };
  auto last_status = std::chrono::steady_clock::now();
  auto last_report = last_status;
  std::vector<InputRecord> records;
  std::vector<int64_t> timestamps;
  while (!stop.load()) {
    CW_TRY(batch, consumer.Poll(options.max_batch, options.poll_timeout));
    const Instant now = options.clock();
    const int64_t lag = consumer.Lag();
    if (!deferring && lag > options.catch_up_lag) {
      deferring = status.catching_up = true;
      spdlog::info("catching up: {} records behind; storing them first", lag);
    } else if (deferring && lag >= 0 && lag <= static_cast<int64_t>(options.max_batch)) {
      deferring = false;
      spdlog::info("catching up: stored; projecting {} cases", engine->counters().cases_pending);
    }
    if (!batch.empty()) {
      records.clear();
      for (const kafka::Message& m : batch.messages()) {
        records.push_back(InputRecord{m.partition, m.offset, m.key, m.value, "kafka"});
      }
      CW_TRY(deferring ? engine->ApplyDeferred(records, now) : engine->Apply(records, now));
      if (options.on_applied) {
        timestamps.clear();
        for (const kafka::Message& m : batch.messages()) timestamps.push_back(m.timestamp_ms);
        options.on_applied(timestamps);
      }
    }
    if (status.catching_up && !deferring) {
      CW_TRY(left, engine->ProjectPending(now));
      if (left == 0) {
        status.catching_up = false;
        spdlog::info("caught up");
      }
    } else if (batch.empty() && !deferring) {
      CW_TRY(engine->AdvanceTo(now));
    }
    CW_TRY(outbox.Pump());
    const auto tick = std::chrono::steady_clock::now();
    // Readers (readiness, metrics) see the status after every batch and, idle, a few times a
    // second; the log gets it every status_interval.
    if (!batch.empty() || tick - last_report >= std::chrono::milliseconds(200)) {
      last_report = tick;
      report();
      if (tick - last_status >= options.status_interval) {
        last_status = tick;
        spdlog::info(
            "status: accepted={} duplicates={} rejected={} missed_obligations={} lag={} "
            "published={} as_of={}",
            status.counters.accepted, status.counters.duplicates, status.counters.rejected,
            status.counters.missed_obligations, status.lag, status.published,
            FormatInstant(status.projection_instant));
      }
    }
  }
  spdlog::info("stopping: the last batch is written; publishing the outbox");
  if (auto drained = outbox.Drain(std::chrono::seconds(5)); !drained) {
    spdlog::warn("outbox not fully published ({}); it will be on the next start",
                 drained.error().message);
  }
  report();
  return Ok();
}

}  // namespace casewatch::daemon
