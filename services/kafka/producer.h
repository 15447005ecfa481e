#pragma once
// Producer: an idempotent Kafka producer (enable.idempotence=true, so acks=all and no duplicates
// or reordering from its own retries); transactional when its configuration sets
// transactional.id.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
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

  struct Header {
    std::string_view name;
    std::string_view value;
  };
  static constexpr int32_t kAnyPartition = -1;  // the partitioner's choice, by key

  // Queues one record (key, value and headers are copied) for `partition` of the topic, or the
  // one the partitioner picks by key. Unavailable when the local queue is full: Poll to serve
  // delivery reports, then retry. An empty key is sent as a null key, an empty value as a null
  // value (a tombstone, on a compacted topic).
  [[nodiscard]] Result<void> Produce(std::string_view topic, std::string_view key,
                                     std::string_view value, DeliveryCallback on_delivery = {},
                                     std::span<const Header> headers = {},
                                     int32_t partition = kAnyPartition);

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

  // Whether the brokers are librdkafka's mock cluster (MockCluster, `casewatch dev-broker`), whose
  // transactions are not real, from the cluster id they report ("mockCluster..."). Unavailable
  // when they do not answer within `timeout`.
  [[nodiscard]] Result<bool> BrokersAreMockCluster(std::chrono::milliseconds timeout);

  // Transactions: only for a producer whose configuration sets transactional.id; then every
  // Produce falls inside one. Blocking calls, on the producer's thread. Errors: Unavailable when
  // the call may simply be made again (it resumes what librdkafka goes on doing in the
  // background); otherwise the producer is done for and must be destroyed: FailedPrecondition
  // when another producer with the same transactional.id fenced this one, InvalidArgument when the
  // principal may not use the transactional.id (TransactionalId Write and Describe ACLs), IoError
  // for any other fatal error. Each message names the transactional.id and the cause.

  // Fences every earlier producer with this transactional.id and ends the transaction it left
  // open: aborted, or committed if its commit had begun. Waits up to `timeout`.
  [[nodiscard]] Result<void> InitTransactions(std::chrono::milliseconds timeout);
  [[nodiscard]] Result<void> BeginTransaction();

  enum class TransactionEnd { kCommitted, kAborted };
  // Delivers what the transaction holds and commits it, waiting up to `timeout`. kAborted: an
  // abortable error (a record the brokers refused, partitions under min.insync.replicas for too
  // long, ...) made the transaction fail, and it has been aborted here: read_committed consumers
  // will never see its records, which are to be produced again in a new transaction; the reason is
  // logged and kept in last_abort_reason(). Unavailable: not committed yet (call again).
  [[nodiscard]] Result<TransactionEnd> CommitTransaction(std::chrono::milliseconds timeout);
  // Aborts the open transaction (records queued but not sent are discarded).
  [[nodiscard]] Result<void> AbortTransaction(std::chrono::milliseconds timeout);
  const std::string& last_abort_reason() const;

  // Records queued or in flight whose delivery reports have not been served yet (Poll serves
  // them). Zero means a commit has nothing left to deliver and waits only for the coordinator.
  size_t outstanding() const;

  // Records the brokers acknowledged, and records that failed, since Open.
  uint64_t delivered() const;
  uint64_t failed() const;

 private:
  struct Impl;
  explicit Producer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace casewatch::kafka
