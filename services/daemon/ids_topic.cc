#include "services/daemon/ids_topic.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <memory>

#include "services/kafka/consumer.h"

namespace casewatch::daemon {

struct IdsTopic::Reading {
  kafka::Consumer consumer;
  std::vector<int64_t> targets;  // where each partition ended at Start
};

namespace {

// The partition of the ids topic an id's claims go to: FNV-1a, so that every engine, whatever
// its librdkafka, puts one id's claims on one partition.
int32_t PartitionOf(std::string_view id, int32_t partitions) {
  uint64_t hash = 14695981039346656037ULL;
  for (char c : id) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 1099511628211ULL;
  }
  return static_cast<int32_t>(hash % static_cast<uint64_t>(partitions));
}

}  // namespace

Result<std::unique_ptr<IdsTopic>> IdsTopic::Start(const Options& options) {
  std::unique_ptr<IdsTopic> ids(new IdsTopic());
  ids->options_ = options;
  ids->roles_ = std::make_unique<std::vector<std::atomic<Role>>>(options.tasks);
  CW_TRY(ledger, store::IdLedger::Open(options.ledger));
  ids->ledger_ = std::move(ledger);
  kafka::KafkaConfig claims = options.kafka;
  claims.properties.push_back({"linger.ms", "1"});  // a batch of claims waits on its way back
  CW_TRY(producer, kafka::Producer::Open(claims));
  auto partitions = producer.Partitions(options.topic, std::chrono::seconds(30));
  if (!partitions) {
    return Error{partitions.error().kind,
                 fmt::format("the event ids topic {}, where the engines of a group claim event ids "
                             "(--event-ids-topic; deploy/topics.sh makes it): {}",
                             options.topic, partitions.error().message)};
  }
  ids->partitions_ = static_cast<int32_t>(partitions.value().size());
  {
    MutexLock lock(ids->producer_mutex_);
    ids->producer_.emplace(std::move(producer));
  }
  CW_TRY(consumer, kafka::Consumer::Open(options.kafka, options.topic));
  CW_TRY(read_to, ids->ledger_->Offsets());
  std::vector<kafka::PartitionStart> starts;
  for (int32_t p : partitions.value()) {
    auto at = read_to.find(p);
    starts.push_back({p, at == read_to.end() ? kafka::kBeginning : at->second});
  }
  CW_TRY(consumer.Assign(starts));
  CW_TRY(targets, consumer.EndOffsets(std::chrono::seconds(30)));
  ids->reading_.reset(new Reading{std::move(consumer), std::move(targets)});
  ids->reader_ = std::thread([raw = ids.get()] { raw->Read(); });
  return ids;
}

IdsTopic::~IdsTopic() {
  stop_ = true;
  if (reader_.joinable()) reader_.join();
}

void IdsTopic::SetRole(size_t task, Role role) {
  if (task < roles_->size()) (*roles_)[task] = role;
}

void IdsTopic::Read() {
  kafka::Consumer& consumer = reading_->consumer;
  std::map<int32_t, std::vector<store::IdLedger::Record>> by_partition;
  std::map<int32_t, int64_t> next;
  uint64_t unreadable = 0;
  while (!stop_.load()) {
    {
      MutexLock lock(producer_mutex_);
      producer_->Poll(std::chrono::milliseconds(0));  // the claims' delivery reports
    }
    auto batch = consumer.Poll(10000, std::chrono::milliseconds(20));
    if (!batch) {
      spdlog::error("event ids: cannot read {} ({}); no task here accepts an event new to its "
                    "store until this engine restarts",
                    options_.topic, batch.error().message);
      {
        MutexLock lock(failure_mutex_);
        failure_ = batch.error();
      }
      arrived_.notify_all();
      return;
    }
    by_partition.clear();
    next.clear();
    for (const kafka::Message& m : batch.value().messages()) {
      next[m.partition] = m.offset + 1;
      auto claim = store::DecodeIdClaim(m.value);
      if (!claim || m.key.empty()) {
        if (unreadable++ == 0) {
          spdlog::warn("event ids: record {} of {} partition {} is not a claim ({}); skipped, as "
                       "is any other (only casewatchd writes this topic)",
                       m.offset, options_.topic, m.partition,
                       claim ? "no key" : claim.error().message);
        }
        continue;
      }
      by_partition[m.partition].push_back({m.key, claim.value()});
    }
    for (const auto& [partition, offset] : next) {
      const std::vector<store::IdLedger::Record>& records = by_partition[partition];
      auto added = ledger_->Add(partition, records, offset);
      if (!added) {
        spdlog::error("event ids: {}; no task here accepts an event new to its store until this "
                      "engine restarts",
                      added.error().message);
        {
          MutexLock lock(failure_mutex_);
          failure_ = added.error();
        }
        arrived_.notify_all();
        return;
      }
      read_ += records.size();
      std::lock_guard<std::mutex> lock(waiters_mutex_);
      if (waiting_for_.empty()) continue;
      for (size_t k = 0; k < records.size(); ++k) {
        if (!added.value()[k]) continue;
        const auto waiting = waiting_for_.find(std::string(records[k].id));
        if (waiting == waiting_for_.end()) continue;
        for (const auto& [waiter, at] : waiting->second) {
          waiter->arrived.emplace_back(at, records[k].claim);
        }
      }
    }
    if (!next.empty()) arrived_.notify_all();
    if (!caught_up_.load() && consumer.Behind(reading_->targets) == 0) {
      caught_up_ = true;
      arrived_.notify_all();
      spdlog::info("event ids: the ledger has read {} to where it stood at start ({} claims read "
                   "now)",
                   options_.topic, read_.load());
    }
  }
}

Result<void> IdsTopic::Write(size_t task, std::span<const std::string_view> ids,
                             std::span<const std::array<uint64_t, 2>> contents,
                             std::span<const int64_t> offsets, std::span<const size_t> at,
                             const std::shared_ptr<Undelivered>& undelivered) {
  // Queued only: the claims are sent at once (linger.ms=1) and the reader serves their delivery
  // reports; the caller waits to read them back, or for a failure reported to `undelivered`.
  MutexLock lock(producer_mutex_);
  kafka::Producer& producer = *producer_;
  for (size_t k : at) {
    const std::string value = store::EncodeIdClaim(
        {static_cast<int32_t>(task), offsets.empty() ? -1 : offsets[k], contents[k]});
    while (true) {
      auto queued = producer.Produce(
          options_.topic, ids[k], value,
          [this, undelivered](Result<void> delivered) {
            if (delivered) return;
            {
              std::lock_guard<std::mutex> waiters(waiters_mutex_);
              if (undelivered->count++ == 0) undelivered->first = delivered.error().message;
            }
            arrived_.notify_all();
          },
          {}, PartitionOf(ids[k], partitions_));
      if (queued) break;
      if (!IsRetryable(queued.error())) return queued.error();
      producer.Poll(std::chrono::milliseconds(5));
    }
  }
  written_ += at.size();
  return Ok();
}

Result<std::vector<std::optional<engine::HeldElsewhere>>> IdsTopic::Claim(
    size_t task, std::span<const std::string_view> ids,
    std::span<const std::array<uint64_t, 2>> contents, std::span<const int64_t> offsets) {
  if (task >= roles_->size()) {
    return InvalidArgument(fmt::format("event ids: no task {} (there are {})", task,
                                       roles_->size()));
  }
  std::vector<std::optional<engine::HeldElsewhere>> held(ids.size());
  if (ids.empty()) return held;
  // Waits for the ids from now on: a first claim the reader reads from here is handed over,
  // one read before is found by the look-up below (one read in between, by both).
  Waiter me;
  {
    std::lock_guard<std::mutex> lock(waiters_mutex_);
    for (size_t k = 0; k < ids.size(); ++k) waiting_for_[std::string(ids[k])].emplace_back(&me, k);
  }
  ++waiting_;
  struct Done {
    IdsTopic& ids_topic;
    Waiter& waiter;
    std::span<const std::string_view> ids;
    ~Done() {
      --ids_topic.waiting_;
      std::lock_guard<std::mutex> lock(ids_topic.waiters_mutex_);
      for (std::string_view id : ids) {
        const auto waiting = ids_topic.waiting_for_.find(std::string(id));
        if (waiting == ids_topic.waiting_for_.end()) continue;
        std::erase_if(waiting->second, [&](const auto& w) { return w.first == &waiter; });
        if (waiting->second.empty()) ids_topic.waiting_for_.erase(waiting);
      }
    }
  } done{*this, me, ids};

  std::vector<bool> decided(ids.size(), false);
  size_t open = ids.size();
  const auto decide = [&](size_t k, const store::IdClaim& first) {
    if (decided[k]) return;
    decided[k] = true;
    --open;
    if (first.partition == static_cast<int32_t>(task) && first.content == contents[k]) {
      return;  // this event's claim (or an identical copy's in this partition): it has the id
    }
    held[k] = engine::HeldElsewhere{
        static_cast<size_t>(first.partition), first.content,
        fmt::format("partition {} offset {}", first.partition, first.offset)};
  };
  bool looked_up = false;
  bool written = false;
  const auto undelivered = std::make_shared<Undelivered>();
  const auto began = std::chrono::steady_clock::now();
  auto next_note = began + std::chrono::seconds(10);
  while (open > 0) {
    {
      MutexLock lock(failure_mutex_);
      if (failure_) {
        return Error{failure_->kind, fmt::format("event ids: the ledger stopped reading {}: {}",
                                                 options_.topic, failure_->message)};
      }
    }
    const Role role = (*roles_)[task].load();
    if (role == Role::kNone) {
      return Unavailable(fmt::format("event ids: task {} is no longer run or copied here; its "
                                     "batch is given up",
                                     task));
    }
    if (caught_up_.load() && !looked_up) {
      looked_up = true;
      CW_TRY(found, ledger_->Find(ids));
      for (size_t k = 0; k < ids.size(); ++k) {
        if (found[k]) decide(k, *found[k]);
      }
      if (open == 0) break;
    }
    const auto now = std::chrono::steady_clock::now();
    if (looked_up && !written && role == Role::kRuns) {
      std::vector<size_t> unclaimed;
      for (size_t k = 0; k < ids.size(); ++k) {
        if (!decided[k]) unclaimed.push_back(k);
      }
      CW_TRY(Write(task, ids, contents, offsets, unclaimed, undelivered));
      written = true;
    }
    if (now >= next_note) {
      next_note = now + std::chrono::seconds(10);
      spdlog::warn("event ids: task {} has waited {} s for the claims on {} event ids ({}); {}",
                   task, std::chrono::duration_cast<std::chrono::seconds>(now - began).count(),
                   open, options_.topic,
                   !caught_up_.load() ? "the ledger is still reading what the topic held at start"
                   : written           ? "its claims are written, not read back yet"
                                       : "a standby waits for the engine that runs the task");
    }
    std::vector<std::pair<size_t, store::IdClaim>> arrived;
    {
      std::unique_lock<std::mutex> lock(waiters_mutex_);
      arrived_.wait_for(lock, std::chrono::milliseconds(50), [&] {
        return !me.arrived.empty() || (caught_up_.load() && !looked_up) ||
               undelivered->count > 0;
      });
      arrived.swap(me.arrived);
      if (undelivered->count > 0) {
        return Unavailable(fmt::format("{} of task {}'s claims on event ids were not delivered "
                                       "to {} ({}); its batch is read again",
                                       undelivered->count, task, options_.topic,
                                       undelivered->first));
      }
    }
    for (const auto& [k, first] : arrived) decide(k, first);
  }
  return held;
}

}  // namespace casewatch::daemon
