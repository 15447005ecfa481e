#pragma once
// Producer: an idempotent Kafka producer (enable.idempotence=true, so acks=all and no duplicates
// or reordering from its own retries).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "services/kafka/kafka_config.h"

namespace casewatch::kafka {

// Owns a librdkafka producer and its background threads, which batch, send and retry queued
// records; created by Open, destroyed by the destructor, which discards records not yet delivered
// without running their callbacks (call Flush first). Move-only; a moved-from Producer may only
// be destroyed.
// Threads: one thread at a time calls Produce, Poll and Flush; delivery callbacks run on that
// thread, inside Poll or Flush. delivered() and failed() may be read from any thread.
//
// Defaults (overridable through KafkaConfig::properties): enable.idempotence=true, acks=all,
// linger.ms=5.
class Producer {
 public:
  [[nodiscard]] static Result<Producer> Open(const KafkaConfig& config);

  ~Producer();
  Producer(Producer&&) noexcept;
  Producer& operator=(Producer&&) noexcept;

  // Told once per record whether the brokers acknowledged it. A failure is Unavailable when
  // librdkafka gave up on a transient problem (message.timeout.ms passed with the brokers down),
  // InvalidArgument when the record or configuration is wrong (too large, not authorised), IoError
  // otherwise.
  using DeliveryCallback = std::function<void(Result<void>)>;

  // Queues one record (key and value are copied). Unavailable when the local queue is full: Poll
  // to serve delivery reports, then retry. An empty key is sent as a null key.
  [[nodiscard]] Result<void> Produce(std::string_view topic, std::string_view key,
                                     std::string_view value, DeliveryCallback on_delivery = {});

  // Serves delivery reports (running their callbacks), waiting up to `timeout` for the first.
  void Poll(std::chrono::milliseconds timeout);

  // Waits until every queued record's delivery report has been served. Unavailable when some are
  // still outstanding after `timeout` (the message says how many); IoError after a fatal producer
  // error. Records that failed are reported to their callbacks and counted in failed(), not here.
  [[nodiscard]] Result<void> Flush(std::chrono::milliseconds timeout);

  // The topic's partition ids, ascending, from the brokers' metadata: a way to check the brokers
  // and the topic before producing. Unavailable when the brokers cannot be reached within
  // `timeout` or the topic does not exist; InvalidArgument, at once, when they refuse the
  // credentials or TLS fails. Serves delivery reports while it waits, as Poll does.
  [[nodiscard]] Result<std::vector<int32_t>> Partitions(const std::string& topic,
                                                        std::chrono::milliseconds timeout);

  // Records the brokers acknowledged, and records that failed, since Open.
  uint64_t delivered() const;
  uint64_t failed() const;

 private:
  struct Impl;
  explicit Producer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace casewatch::kafka
