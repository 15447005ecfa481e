#pragma once
// Consumer: reads one Kafka topic from partitions and offsets the caller chooses. There is no
// consumer-group subscription (so no group join to wait for, and no offsets committed to Kafka):
// the engine keeps its offsets in its own store and passes them to Assign.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "services/kafka/kafka_config.h"

namespace casewatch::kafka {

// One record as read. The views point into the Batch that returned it: valid while it lives.
struct Message {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string_view key;
  std::string_view value;
  int64_t timestamp_ms = -1;  // the producer's CreateTime, or -1 when the record has none
  // The record's headers (name, value), in order; empty for most records.
  std::vector<std::pair<std::string_view, std::string_view>> headers;
};

namespace internal {
struct BatchStorage;  // the librdkafka messages a Batch owns (consumer.cc)
}  // namespace internal

// The records one Poll returned, in the order librdkafka delivered them (offset order within a
// partition). Owns librdkafka's message buffers, released when the Batch is destroyed; move-only.
// Destroy every Batch before its Consumer.
class Batch {
 public:
  Batch();
  ~Batch();
  Batch(Batch&&) noexcept;
  Batch& operator=(Batch&&) noexcept;

  std::span<const Message> messages() const { return messages_; }
  bool empty() const { return messages_.empty(); }
  size_t size() const { return messages_.size(); }

 private:
  friend class Consumer;
  std::vector<Message> messages_;
  std::unique_ptr<internal::BatchStorage> storage_;
};

// Where to start reading a partition: the next offset to read, or kBeginning for the earliest
// offset the broker still has.
inline constexpr int64_t kBeginning = -2;
struct PartitionStart {
  int32_t partition = 0;
  int64_t offset = kBeginning;
};

// A consumer of one topic. Owns a librdkafka consumer (and its background threads, which fetch
// ahead into a local queue); created by Open, closed (rd_kafka_consumer_close, then destroyed)
// by the destructor. Move-only; a moved-from Consumer may only be destroyed.
// Threads: Partitions, Assign and Poll are called from one thread at a time (the engine's ingest
// thread); Lag, transient_errors and topic may be called from any thread.
//
// Defaults (each may be overridden through KafkaConfig::properties): group.id=casewatchd (needed
// by librdkafka for assign(); no group is joined and nothing is committed, so a broker refusing
// the group is only a warning), enable.auto.commit=false, enable.auto.offset.store=false,
// enable.partition.eof=true (where each partition ends: AtEnd, Behind), fetch.wait.max.ms=10 (low
// latency), auto.offset.reset=error (an offset the broker no longer has is an Error from Poll,
// never a silent jump), isolation.level=read_committed (librdkafka's default, made explicit:
// records of transactions not committed, or aborted, are never returned, and a partition is read
// only up to its last stable offset, before the first transaction still open).
class Consumer {
 public:
  [[nodiscard]] static Result<Consumer> Open(const KafkaConfig& config, std::string topic);

  ~Consumer();
  Consumer(Consumer&&) noexcept;
  Consumer& operator=(Consumer&&) noexcept;

  // The topic's partition ids, ascending, from the brokers' metadata. Unavailable when the
  // brokers cannot be reached within `timeout` or the topic does not exist (the message says
  // which); InvalidArgument, at once, when they refuse the credentials or TLS fails.
  [[nodiscard]] Result<std::vector<int32_t>> Partitions(std::chrono::milliseconds timeout);

  // Replaces the assignment: read exactly these partitions, each from its start. Offsets must be
  // >= 0 or kBeginning; an empty span unassigns everything. The first time, waits up to 0.5 s for
  // the topic's metadata, so that reading starts at once rather than after librdkafka's 500 ms
  // leader retry (failing there is not an error: librdkafka keeps trying in the background).
  [[nodiscard]] Result<void> Assign(std::span<const PartitionStart> starts);

  // Up to `max_messages` records, waiting up to `timeout` for the first (then taking only what
  // has already arrived). Transient errors (broker down, connection lost, leader moved) are not
  // failures: librdkafka recovers by itself, they are logged and counted in transient_errors(),
  // and the batch is just shorter, possibly empty. A fatal error (offset out of range,
  // authorisation, a fatal client error) is an Error; records read before it in the same call are
  // returned first and the Error comes from the next Poll.
  [[nodiscard]] Result<Batch> Poll(size_t max_messages, std::chrono::milliseconds timeout);

  // Sum over assigned partitions of (high watermark − next offset to read), from the watermarks
  // librdkafka cached from its last fetch responses (no broker round trip); -1 when unknown (no
  // fetch response yet for some partition, or nothing assigned).
  int64_t Lag() const;
  // The same per assigned partition, in partition order: {partition, lag, -1 when unknown}.
  // With statistics.interval.ms set (librdkafka's statistics, served by Poll), also whether the
  // brokers serve the partition now: unavailable while it has no leader or its leader's broker
  // cannot be reached, since the first statistics that showed it so (wall clock). The lag of an
  // unavailable partition is the last known; what was read of it is all there is.
  struct PartitionLag {
    int32_t partition;
    int64_t lag;
    std::optional<std::chrono::system_clock::time_point> unavailable_since = std::nullopt;
  };
  std::vector<PartitionLag> PartitionLags() const;
  // Their sum, as Lag gives it: -1 when any is unknown or there are none.
  static int64_t TotalLag(std::span<const PartitionLag> lags);

  // The end (high watermark) of each assigned partition now, asked of the partitions' leaders:
  // a target for Behind. Indexed by partition id, -1 for a partition not assigned. Unavailable
  // when some leader does not answer within `timeout`.
  [[nodiscard]] Result<std::vector<int64_t>> EndOffsets(std::chrono::milliseconds timeout);

  // How many records are still to be read before every assigned partition reaches `targets`
  // (from EndOffsets): a partition counts as there once its next offset is at its target, or once
  // it has reported its end since Assign (past a transaction's commit marker, which is not a
  // record). On the polling thread.
  int64_t Behind(std::span<const int64_t> targets) const;

  // Whether every assigned partition has reported its end since Assign (read_committed: the end
  // of what is committed). With no transaction open on the topic, it has then read everything
  // committed so far, without asking the leaders where each partition ends. On the polling
  // thread.
  bool AtEnd() const;

  // Transient errors seen by Poll since Open.
  uint64_t transient_errors() const;

  const std::string& topic() const;

 private:
  friend Result<void> ReadAssignedToEnd(Consumer&, std::span<const PartitionStart>,
                                        std::chrono::milliseconds,
                                        const std::function<void(const Message&)>&);
  struct Impl;
  explicit Consumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reads every partition of `topic` from its beginning (or from `from`, for the partitions it
// names) to its end as it is when reached (with read_committed, unless `config` says otherwise:
// its last stable offset), calling `visit` for each record, in offset order within a partition.
// Deliberately not to the high watermark: a read before fencing (the outbox's first look at its
// progress, a restart's restore) must not wait for the transaction a killed process left open,
// which only the caller's InitTransactions, or the brokers' transaction timeout, ends.
// For small topics read whole: the outbox's progress records, the engine's derived events, a
// test's view of what was published. Unavailable when the brokers or the topic cannot be
// reached, or some partition's end is not reached, within `timeout`.
[[nodiscard]] Result<void> ReadToEnd(const KafkaConfig& config, const std::string& topic,
                                     std::chrono::milliseconds timeout,
                                     const std::function<void(const Message&)>& visit,
                                     std::span<const PartitionStart> from = {});

// The same through `consumer`, open on the topic already (its connections made: no new consumer
// to start), which is assigned afresh: afterwards it stands at the topic's end.
[[nodiscard]] Result<void> ReadToEnd(Consumer& consumer, std::chrono::milliseconds timeout,
                                     const std::function<void(const Message&)>& visit,
                                     std::span<const PartitionStart> from = {});

// ReadToEnd of one partition only, from its beginning: a reader of a partition that one writer
// owns (a task's outbox progress) is not held back by the transactions others leave open on the
// topic's other partitions. Unavailable also when the topic has no such partition.
[[nodiscard]] Result<void> ReadPartitionToEnd(const KafkaConfig& config, const std::string& topic,
                                              int32_t partition, std::chrono::milliseconds timeout,
                                              const std::function<void(const Message&)>& visit);
[[nodiscard]] Result<void> ReadPartitionToEnd(Consumer& consumer, int32_t partition,
                                              std::chrono::milliseconds timeout,
                                              const std::function<void(const Message&)>& visit);

}  // namespace casewatch::kafka
