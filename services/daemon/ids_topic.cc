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
  CW_TRY(producer, kafka::Producer::Open(options.kafka));
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
    auto batch = consumer.Poll(10000, std::chrono::milliseconds(100));
    if (!batch) {
      spdlog::error("event ids: cannot read {} ({}); no task here accepts an event new to its "
                    "store until this engine restarts",
                    options_.topic, batch.error().message);
      MutexLock lock(failure_mutex_);
      failure_ = batch.error();
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
      auto added = ledger_->Add(partition, by_partition[partition], offset);
      if (!added) {
        spdlog::error("event ids: {}; no task here accepts an event new to its store until this "
                      "engine restarts",
                      added.error().message);
        MutexLock lock(failure_mutex_);
        failure_ = added.error();
        return;
      }
      read_ += by_partition[partition].size();
    }
    if (!next.empty()) ++generation_;
    if (!caught_up_.load() && consumer.Behind(reading_->targets) == 0) {
      caught_up_ = true;
      ++generation_;
      spdlog::info("event ids: the ledger has read {} to where it stood at start ({} claims read "
                   "now)",
                   options_.topic, read_.load());
    }
  }
}

Result<void> IdsTopic::Write(size_t task, std::span<const std::string_view> ids,
                             std::span<const std::array<uint64_t, 2>> contents,
                             std::span<const int64_t> offsets, std::span<const size_t> at) {
  MutexLock lock(producer_mutex_);
  kafka::Producer& producer = *producer_;
  // Shared with the delivery callbacks, which may outlive this call when it gives up.
  struct Failures {
    uint64_t count = 0;
    std::string first;
  };
  auto failures = std::make_shared<Failures>();
  for (size_t k : at) {
    const std::string value = store::EncodeIdClaim(
        {static_cast<int32_t>(task), offsets.empty() ? -1 : offsets[k], contents[k]});
    while (true) {
      auto queued = producer.Produce(
          options_.topic, ids[k], value,
          [failures](Result<void> delivered) {
            if (!delivered && failures->count++ == 0) failures->first = delivered.error().message;
          },
          {}, PartitionOf(ids[k], partitions_));
      if (queued) break;
      if (!IsRetryable(queued.error())) return queued.error();
      producer.Poll(std::chrono::milliseconds(5));
    }
  }
  while (true) {
    auto flushed = producer.Flush(std::chrono::seconds(10));
    if (flushed) break;
    if (!IsRetryable(flushed.error())) return flushed.error();
    if ((*roles_)[task].load() == Role::kNone) {
      return Unavailable(fmt::format("event ids: task {} is no longer run or copied here; its "
                                     "batch is given up",
                                     task));
    }
    spdlog::warn("event ids: task {}'s claims not delivered to {} yet ({}); waiting", task,
                 options_.topic, flushed.error().message);
  }
  if (failures->count > 0) {
    return Unavailable(fmt::format("{} of task {}'s claims on event ids were not delivered to {} "
                                   "({}); its batch is read again",
                                   failures->count, task, options_.topic, failures->first));
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
  std::vector<size_t> open(ids.size());  // the ids no claim was found on yet
  for (size_t k = 0; k < ids.size(); ++k) open[k] = k;
  bool written = false;
  uint64_t looked_at = ~uint64_t{0};
  ++waiting_;
  struct Done {
    std::atomic<uint64_t>& waiting;
    ~Done() { --waiting; }
  } done{waiting_};
  const auto began = std::chrono::steady_clock::now();
  auto next_note = began + std::chrono::seconds(10);
  while (!open.empty()) {
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
    const uint64_t generation = generation_.load();
    if (caught_up_.load() && generation != looked_at) {
      looked_at = generation;
      std::vector<std::string_view> asked;
      for (size_t k : open) asked.push_back(ids[k]);
      CW_TRY(found, ledger_->Find(asked));
      std::vector<size_t> still;
      for (size_t j = 0; j < open.size(); ++j) {
        const size_t k = open[j];
        if (!found[j]) {
          still.push_back(k);
          continue;
        }
        const store::IdClaim& first = *found[j];
        if (first.partition == static_cast<int32_t>(task) && first.content == contents[k]) {
          continue;  // this event's claim (or an identical copy's in this partition): it has it
        }
        held[k] = engine::HeldElsewhere{
            static_cast<size_t>(first.partition), first.content,
            fmt::format("partition {} offset {}", first.partition, first.offset)};
      }
      open = std::move(still);
      if (open.empty()) break;
    }
    const auto now = std::chrono::steady_clock::now();
    if (caught_up_.load() && !written &&
        (role == Role::kRuns || now - began >= kStandbyPatience)) {
      CW_TRY(Write(task, ids, contents, offsets, open));
      written = true;
      continue;
    }
    if (now >= next_note) {
      next_note = now + std::chrono::seconds(10);
      spdlog::warn("event ids: task {} has waited {} s for the claims on {} event ids ({}); {}",
                   task, std::chrono::duration_cast<std::chrono::seconds>(now - began).count(),
                   open.size(), options_.topic,
                   !caught_up_.load() ? "the ledger is still reading what the topic held at start"
                   : role == Role::kRuns ? "its claims are written, not read back yet"
                                         : "a standby waits for the engine that runs the task");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(role == Role::kRuns ? 1 : 5));
  }
  return held;
}

}  // namespace casewatch::daemon
