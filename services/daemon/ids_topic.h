#pragma once
// IdsTopic: event ids checked across the engines of a group (casewatchd --tasks --group), through
// a topic of claims (--event-ids-topic) that every engine reads into its own ledger
// (store::IdLedger, DIR/event-ids).
//
// A task about to accept events whose ids its store does not hold looks them up in the ledger.
// An id no event has claimed yet is claimed: the engine that runs the task writes the claim (the
// event's partition, offset and content fingerprint, keyed by the id, to the partition of the
// ids topic the id hashes to) and waits until its ledger has read it back. Every claim on one id
// is on one partition, in one order, so the first is the same for every engine: the event that
// made it has the id; any other event with it is a duplicate (the same content) or a conflict,
// as a second copy in one store would be. A task's standby copies, and an engine that takes the
// task over and catches it up, find the claims the engine that ran it made, and so decide as it
// did. A standby ahead of that engine waits for its claims, and makes them itself once the group
// gives it the task (that engine may have gone before making them). A claim says which event has
// which content, whoever writes it, so a second claim by the same event changes nothing.
//
// Claims are made only for valid events (validation comes first), and an event that claimed an
// id first is always accepted, so an id is never held by an event that was not accepted.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/mutex.h"
#include "base/result.h"
#include "services/engine/id_claims.h"
#include "services/kafka/kafka_config.h"
#include "services/kafka/producer.h"
#include "services/store/id_ledger.h"

namespace casewatch::daemon {

class IdsTopic : public engine::IdCheck {
 public:
  struct Options {
    kafka::KafkaConfig kafka;
    std::string topic;                // the ids topic
    std::filesystem::path ledger;     // the ledger's directory
    size_t tasks = 0;                 // task t is partition t of the events topic
  };
  // Opens the ledger, checks the topic, and starts reading it from where the ledger stands.
  [[nodiscard]] static Result<std::unique_ptr<IdsTopic>> Start(const Options& options);
  ~IdsTopic() override;  // stops reading and joins its thread
  IdsTopic(const IdsTopic&) = delete;
  IdsTopic& operator=(const IdsTopic&) = delete;

  // What this engine is to task t: it runs it or has been given it (and makes its claims), keeps
  // a copy of it (and waits for the claims of the engine that runs it), or neither (a Claim under
  // way gives up).
  enum class Role { kNone, kStandby, kRuns };
  void SetRole(size_t task, Role role);

  [[nodiscard]] Result<std::vector<std::optional<engine::HeldElsewhere>>> Claim(
      size_t task, std::span<const std::string_view> ids,
      std::span<const std::array<uint64_t, 2>> contents,
      std::span<const int64_t> offsets) override;
  void Release(size_t) override {}  // a claim, once read back, holds for ever

  // Claims this engine wrote, and claims its ledger has read (its own and every other engine's).
  uint64_t claims_written() const { return written_.load(); }
  uint64_t claims_read() const { return read_.load(); }
  // Whether the ledger has read what the topic held at Start (no look-up is answered before).
  bool caught_up() const { return caught_up_.load(); }
  // Claim calls waiting for claims now.
  uint64_t waiting() const { return waiting_.load(); }

 private:
  IdsTopic() = default;
  void Read();  // the reader's thread
  // Claims a Claim call wrote that the brokers refused (under waiters_mutex_).
  struct Undelivered {
    uint64_t count = 0;
    std::string first;  // why the first was refused
  };
  // Queues claims on `ids` (at `at`) for task `task`; a claim not delivered is counted in
  // `undelivered` as the reader serves the delivery reports.
  Result<void> Write(size_t task, std::span<const std::string_view> ids,
                     std::span<const std::array<uint64_t, 2>> contents,
                     std::span<const int64_t> offsets, std::span<const size_t> at,
                     const std::shared_ptr<Undelivered>& undelivered);

  Options options_;
  int32_t partitions_ = 0;  // of the ids topic
  std::unique_ptr<store::IdLedger> ledger_;
  std::unique_ptr<std::vector<std::atomic<Role>>> roles_;
  Mutex producer_mutex_;
  std::optional<kafka::Producer> producer_ CW_GUARDED_BY(producer_mutex_);
  std::atomic<bool> stop_{false};
  std::atomic<bool> caught_up_{false};  // the ledger has read what the topic held at Start
  // The Claim calls under way, by the ids they wait for: the reader hands each a first claim on
  // one of its ids as it reads it, so that a waiting call looks nothing up again.
  struct Waiter {
    std::vector<std::pair<size_t, store::IdClaim>> arrived;  // (index in its ids, first claim)
  };
  std::mutex waiters_mutex_;
  std::condition_variable arrived_;  // something arrived, or the ledger caught up or failed
  std::unordered_map<std::string, std::vector<std::pair<Waiter*, size_t>>> waiting_for_;
  Mutex failure_mutex_;
  std::optional<Error> failure_ CW_GUARDED_BY(failure_mutex_);  // the reader's, once it stopped
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> read_{0};
  std::atomic<uint64_t> waiting_{0};
  std::thread reader_;
  // The reader's consumer lives on its thread; opened in Start.
  struct Reading;
  std::unique_ptr<Reading> reading_;
};

}  // namespace casewatch::daemon
