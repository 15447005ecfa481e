// The at-least-once outbox publisher: an idempotent producer, each record deleted from the store
// once the brokers acknowledged it (outbox.h).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <vector>

#include "base/log_throttle.h"
#include "services/daemon/outbox.h"
#include "services/kafka/producer.h"

namespace casewatch::daemon::internal {
namespace {

constexpr uint64_t kMaxInFlight = 10000;

// Owns the producer. Single-threaded (the engine's loop): delivery callbacks run inside Pump.
class AtLeastOnceOutbox final : public OutboxPublisher {
 public:
  AtLeastOnceOutbox(store::Store& store, kafka::Producer producer)
      : store_(store), producer_(std::move(producer)) {}

  // Queues every outbox record not yet in flight, serves delivery reports, and deletes what was
  // acknowledged.
  Result<void> Pump() override {
    if (in_flight_ < kMaxInFlight) {
      Result<void> queued = Ok();
      CW_TRY(store_.ScanOutbox(next_, [&](uint64_t sequence, const store::v1::OutboxRecord& r) {
        if (r.published_fingerprint() != 0) {  // a placeholder (exactly-once): nothing to send
          acknowledged_.push_back(sequence);
          next_ = sequence + 1;
          return true;
        }
        const std::string sequence_text = std::to_string(sequence);
        const kafka::Producer::Header header{kOutboxSequenceHeader, sequence_text};
        auto on_delivery = [this, sequence](Result<void> done) {
          --in_flight_;
          if (done) {
            acknowledged_.push_back(sequence);
            return;
          }
          failed_.push_back(sequence);
          uint64_t held_back = 0;
          if (log_throttle_.Allow(done.error().message, held_back)) {
            spdlog::warn("outbox: delivery failed, will retry: {}{}", done.error().message,
                         HeldBackNote(held_back));
          }
        };
        auto produced = producer_.Produce(
            r.topic(), r.key(), r.value(), std::move(on_delivery), std::span(&header, 1),
            r.has_partition() ? r.partition() : kafka::Producer::kAnyPartition);
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

  Result<void> Drain(std::chrono::milliseconds timeout) override {
    CW_TRY(Pump());
    auto flushed = producer_.Flush(timeout);
    CW_TRY(Pump());
    return flushed;
  }

  uint64_t published() const override { return published_; }
  uint64_t in_flight() const override { return in_flight_; }

 private:
  store::Store& store_;
  kafka::Producer producer_;
  uint64_t next_ = 0;
  uint64_t in_flight_ = 0;
  uint64_t published_ = 0;
  std::vector<uint64_t> acknowledged_;
  std::vector<uint64_t> failed_;
  LogThrottle log_throttle_;
};

}  // namespace

Result<std::unique_ptr<OutboxPublisher>> OpenAtLeastOnce(store::Store& store,
                                                         const kafka::KafkaConfig& kafka) {
  CW_TRY(producer, kafka::Producer::Open(kafka));
  spdlog::info("outbox: at least once (idempotent producer; a crash may publish a record again)");
  return std::unique_ptr<OutboxPublisher>(new AtLeastOnceOutbox(store, std::move(producer)));
}

}  // namespace casewatch::daemon::internal
