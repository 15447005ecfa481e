#pragma once
// The outbox's publishers. The engine writes alerts and dead letters into the store's outbox in
// the same atomic write as the state that raised them; a publisher sends them to Kafka and then
// deletes them from the store. Two ways:
//
// - exactly once (for consumers with isolation.level=read_committed): a transactional producer
//   sends outbox records in transactions, each ending with a progress record on a compacted
//   topic (key: the transactional.id; value: the highest outbox sequence in the transaction and a
//   fingerprint of that record, and for each partition of the events topic the offset of the
//   last record whose dead letter has been published). A restart fences the previous process and
//   ends its open transaction (InitTransactions), reads the last committed progress, checks that
//   this store holds the record it names, and deletes the records up to it: what was committed
//   is never sent again, what was not is sent in a new transaction. The record the progress
//   names stays in the store until a later one is published, so the store's outbox sequence
//   never goes back below it (the store numbers new records after the highest one it holds).
// - at least once: an idempotent producer; a record is deleted once acknowledged, so a crash
//   between the acknowledgement and the delete sends it again. For librdkafka's mock cluster
//   (development broker, fast tests), whose transactions are not real.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "services/kafka/kafka_config.h"
#include "services/store/store.h"

namespace casewatch::kafka {
class Consumer;
}  // namespace casewatch::kafka

namespace casewatch::daemon {

// Every published record carries its outbox sequence (decimal) in this header: unique per store
// and gap-free, so a consumer can check (or, at least once, de-duplicate) by it.
inline constexpr std::string_view kOutboxSequenceHeader = "casewatch.outbox.sequence";

enum class OutboxDelivery {
  kAuto,  // exactly once, unless the brokers are librdkafka's mock cluster
  kAtLeastOnce,
  kExactlyOnce,
};

struct OutboxOptions {
  OutboxDelivery delivery = OutboxDelivery::kAuto;
  // Exactly once: the producer's transactional.id; empty: DefaultTransactionalId.
  std::string transactional_id;
  std::string progress_topic = "casewatchd-outbox-progress";
  // Exactly once: the partition of the progress topic this id's progress goes to and is read
  // from, or -1: any (by key), read across the whole topic (one engine, a full-copy group, whose
  // progress topic has one partition). Task N of casewatchd --tasks keeps its own on partition N
  // of a topic of the tasks (--tasks-progress-topic), so that a read_committed read of it stops
  // only at the task's own open transaction, which InitTransactions ends, never at another
  // task's: the tasks run, die and move between engines apart.
  int32_t progress_partition = -1;
  // Where the engine's derived events and alerts go (EngineOptions): a transaction never ends
  // between a derived event and the alert that follows it, so the two are published together
  // or not at all.
  std::string derived_topic;
  std::string alerts_topic;
  // Exactly once: dead letters of records of `events_topic` are published once whichever store
  // publishes them. The progress carries, per partition, the offset of the last record whose
  // dead letter was published; one at or below it is dropped, not sent again (an engine coming
  // to lead behind the last one, a new store rebuilding from the topic). An engine coming to
  // lead publishes the dead letters it stored while following that are above it.
  std::string dead_letter_topic;
  std::string events_topic;
  // Exactly once: an engine of a group coming to lead, whose store need not be the one that
  // published last under the transactional.id. Its store takes over the numbering whatever it
  // holds (TakeOver in outbox_exactly_once.cc) instead of refusing to start.
  bool take_over = false;
  // Taking over: where TakeOver puts the derived events (envelopes) it publishes because the
  // store holds them and no leader published them (it derived them when it last led). Their
  // alerts are news to this engine's live readers (Engine::Lead). Not owned; may be null.
  std::vector<std::string>* published_at_takeover = nullptr;
  // Exactly once: the progress topic is read through this consumer (open on it, assigned afresh
  // for each read) rather than a new one. An engine of a group keeps one connected while it
  // follows, so that coming to lead does not wait for a consumer to connect. Not owned.
  kafka::Consumer* progress_reader = nullptr;
};

// "casewatchd-" + the events topic: one engine (and one store) per events topic, so the id names
// the engine whatever host or directory its store is in. A second engine started by mistake on
// the same topic with another store refuses to start (its store does not hold the record the
// progress names) before it fences the first.
std::string DefaultTransactionalId(std::string_view events_topic);

// Sends the store's outbox to Kafka. Owns its producer; single-threaded (the engine's loop).
class OutboxPublisher {
 public:
  virtual ~OutboxPublisher() = default;

  // Sends what the outbox holds that has not been sent, and deletes from the store what is known
  // to be published. Errors are those the engine cannot go on with (a fatal or fenced producer,
  // a record Kafka refuses for good); transient trouble is logged and retried by later calls.
  [[nodiscard]] virtual Result<void> Pump() = 0;
  // Pumps until everything in the outbox is published or `timeout` passes (at a clean stop).
  [[nodiscard]] virtual Result<void> Drain(std::chrono::milliseconds timeout) = 0;

  virtual uint64_t published() const = 0;  // records published since the start
  virtual uint64_t in_flight() const = 0;  // records sent, not yet known to be published
};

// `delivery`, kAuto resolved: at least once on librdkafka's mock cluster (asking the brokers),
// exactly once on any other. `stop` ends waits for the brokers.
[[nodiscard]] Result<OutboxDelivery> ResolveDelivery(const kafka::KafkaConfig& kafka,
                                                     OutboxDelivery delivery,
                                                     const std::atomic<bool>& stop);

// The publisher `options.delivery` asks for (ResolveDelivery). Exactly once, this first fences
// the previous process and deletes from the outbox what it published; FailedPrecondition when
// the progress names a record this store does not hold (not the store that published under that
// transactional.id: the message says what to do). `stop` ends waits for the brokers.
// `events_topic` gives the default transactional.id.
[[nodiscard]] Result<std::unique_ptr<OutboxPublisher>> OpenOutboxPublisher(
    store::Store& store, const kafka::KafkaConfig& kafka, const OutboxOptions& options,
    std::string_view events_topic, const std::atomic<bool>& stop);

namespace internal {
// Per partition of the events topic, the offset of the last record whose dead letter has been
// published under the transactional.id (by any store).
using DeadLetterMarks = std::map<int32_t, int64_t>;

// A progress record (exactly once): the outbox record it names, a fingerprint of that record's
// contents (FNV-1a, 64 bits, over topic, key and value) to recognise it in the store, and the
// dead-letter marks as of that record (nullopt: written by a version that kept none).
struct ProgressRecord {
  uint64_t sequence = 0;
  uint64_t fingerprint = 0;
  std::optional<DeadLetterMarks> dead_letters;
  bool operator==(const ProgressRecord&) const = default;
};
// Its value on the progress topic: "sequence=1041 fingerprint=9f1c0e2a7b3d4c5e
// dead_letters=0:5512,7:90" ("-" for no marks yet). Parsed by every later version: fields it does
// not know (" name=value") are skipped; nullopt for anything else.
std::string FormatProgress(const ProgressRecord& progress);
std::optional<ProgressRecord> ParseProgress(std::string_view text);

[[nodiscard]] Result<std::unique_ptr<OutboxPublisher>> OpenAtLeastOnce(
    store::Store& store, const kafka::KafkaConfig& kafka);
// `options.transactional_id` is set (not empty).
[[nodiscard]] Result<std::unique_ptr<OutboxPublisher>> OpenExactlyOnce(
    store::Store& store, const kafka::KafkaConfig& kafka, const OutboxOptions& options,
    const std::atomic<bool>& stop);
}  // namespace internal

}  // namespace casewatch::daemon
