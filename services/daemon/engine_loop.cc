#include "services/daemon/engine_loop.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <thread>

#include "services/daemon/outbox.h"
#include "services/kafka/consumer.h"
#include "services/kafka/group.h"

namespace casewatch::daemon {
namespace {

using engine::Engine;
using engine::InputRecord;

// How long a new store waits for the partitions' leaders to say where the topic ends.
constexpr std::chrono::seconds kEndOffsetsWait{30};

// Where to start reading each of `partitions`: the next offset `stored` holds for it, or the
// beginning.
std::vector<kafka::PartitionStart> StartsOf(const std::vector<int32_t>& partitions,
                                            const std::vector<store::OffsetEntry>& stored) {
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

// The partitions `stored` names, each from its stored offset (kafka::ReadToEnd reads the others
// from the beginning).
std::vector<kafka::PartitionStart> StoredStarts(const std::vector<store::OffsetEntry>& stored) {
  std::vector<kafka::PartitionStart> starts;
  for (const store::OffsetEntry& entry : stored) {
    starts.push_back({entry.partition, entry.next_offset});
  }
  return starts;
}

Result<std::vector<kafka::PartitionStart>> StartPositions(kafka::Consumer& consumer,
                                                          const Engine& engine,
                                                          const std::atomic<bool>& stop,
                                                          int32_t only = -1) {
  std::vector<int32_t> partitions;
  for (int attempt = 0;; ++attempt) {
    auto found = consumer.Partitions(std::chrono::seconds(5));
    if (found && only >= 0) {
      if (std::find(found.value().begin(), found.value().end(), only) == found.value().end()) {
        return InvalidArgument(
            fmt::format("topic {} has no partition {}", consumer.topic(), only));
      }
      found.value() = {only};
    }
    if (found) {
      partitions = std::move(found).value();
      break;
    }
    if (!IsRetryable(found.error()) || stop) return found.error();
    spdlog::warn("waiting for the brokers: {} (attempt {})", found.error().message, attempt + 1);
    // A missing topic is answered at once: wait before asking again.
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  CW_TRY(stored, engine.StartOffsets());
  return StartsOf(partitions, stored);
}

// Before the events topic: the derived events on options.engine.derived_topic, from the offsets
// the store holds to the topic's end, handed to Engine::RestoreDerived in batches. A store
// rebuilt from Kafka gets the lost store's obligation_missed events this way; a store that has
// them skips them. Waits, saying why, while the topic cannot be read.
// `follower`: a follower's reader of the topic, for the follower coming to lead once the last
// leader is fenced (its open transaction aborted, so the end of what is committed is the topic's
// end): read through it (connected already: no consumer to start), the rest of what the last
// leader published is news for this engine's live readers (Engine::Restoring::kNews).
Result<void> RestoreDerivedEvents(Engine& engine, const RunnerOptions& options,
                                  const std::atomic<bool>& stop,
                                  kafka::Consumer* follower = nullptr) {
  const std::string& topic = options.engine.derived_topic;
  if (topic.empty()) return Ok();
  CW_TRY(stored, engine.DerivedStartOffsets());
  std::vector<kafka::PartitionStart> from = StoredStarts(stored);
  kafka::KafkaConfig committed = options.kafka;
  committed.properties.push_back(kafka::Property{"isolation.level", "read_committed"});
  const uint64_t before = engine.counters().derived_restored;
  for (int attempt = 1;; ++attempt) {
    struct Held {
      int32_t partition;
      int64_t offset;
      std::string key;
      std::string value;
    };
    std::vector<Held> held;
    Result<void> restored = Ok();
    auto flush = [&]() -> Result<void> {
      std::vector<InputRecord> records;
      for (const Held& h : held) {
        records.push_back(InputRecord{h.partition, h.offset, h.key, h.value, "kafka"});
      }
      CW_TRY(engine.RestoreDerived(records, options.clock(),
                                   follower != nullptr ? Engine::Restoring::kNews
                                                       : Engine::Restoring::kHistory));
      held.clear();
      return Ok();
    };
    auto visit = [&](const kafka::Message& m) {
      // A task's derived events are on its own partition (EngineOptions::derived_partition).
      if (!restored || (options.partition >= 0 && m.partition != options.partition)) return;
      held.push_back(Held{m.partition, m.offset, std::string(m.key), std::string(m.value)});
      if (held.size() >= options.max_batch) restored = flush();
    };
    Result<void> read =
        follower != nullptr
            ? kafka::ReadToEnd(*follower, std::chrono::minutes(30), visit, from)
            : kafka::ReadToEnd(committed, topic, std::chrono::minutes(30), visit, from);
    CW_TRY(restored);
    if (read) {
      CW_TRY(flush());
      break;
    }
    if (!IsRetryable(read.error()) || stop) return read.error();
    spdlog::warn("waiting for the derived-events topic {} (deploy/topics.sh creates it; "
                 "--derived-topic names it): {} (attempt {})",
                 topic, read.error().message, attempt);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    // Resume after what is stored now.
    CW_TRY(now_stored, engine.DerivedStartOffsets());
    from = StoredStarts(now_stored);
  }
  const uint64_t restored = engine.counters().derived_restored - before;
  if (restored > 0) {
    spdlog::info("restored {} derived events from {} (the log of record)", restored, topic);
  }
  return Ok();
}

// A follower's reader of the derived topic, from the offsets its store holds: the leader's
// derived events as they are committed.
Result<kafka::Consumer> FollowDerived(const Engine& engine, const RunnerOptions& options) {
  CW_TRY(consumer, kafka::Consumer::Open(options.kafka, options.engine.derived_topic));
  CW_TRY(partitions, consumer.Partitions(std::chrono::seconds(30)));
  // A task's standby: only the task's own partition (EngineOptions::derived_partition).
  if (options.partition >= 0) partitions = {options.partition};
  CW_TRY(stored, engine.DerivedStartOffsets());
  CW_TRY(consumer.Assign(StartsOf(partitions, stored)));
  return consumer;
}

// The engine's view of a polled batch, in `records` (cleared first: reused from batch to batch).
void RecordsOf(const kafka::Batch& batch, std::vector<InputRecord>& records) {
  records.clear();
  for (const kafka::Message& m : batch.messages()) {
    records.push_back(InputRecord{m.partition, m.offset, m.key, m.value, "kafka"});
  }
}

}  // namespace


Result<void> RunEngine(store::Store& store, RunnerOptions options, const std::atomic<bool>& stop,
                       const std::function<void(const RunnerStatus&)>& on_status) {
  OutboxOptions outbox_options = options.outbox;
  outbox_options.derived_topic = options.engine.derived_topic;
  outbox_options.alerts_topic = options.engine.alerts_topic;
  outbox_options.dead_letter_topic = options.engine.dead_letter_topic;
  outbox_options.events_topic = options.engine.topic;
  // One engine: the outbox first (a new store may take over a lost one's outbox numbering, which
  // the engine then continues). A group's engine follows until the group makes it the leader.
  std::unique_ptr<kafka::GroupMember> member;
  std::unique_ptr<OutboxPublisher> outbox;
  std::optional<kafka::Consumer> progress_reader;  // a follower's (OutboxOptions::progress_reader)
  const bool standby = options.group.empty() && options.leads != nullptr;
  // In logs: what comes to lead.
  const std::string who = standby ? fmt::format("task {}'s standby", options.partition)
                                  : fmt::format("group {}", options.group);
  if (standby) {
    spdlog::info("{}: following partition {} until the group gives the task to this engine",
                 who, options.partition);
  } else if (options.group.empty()) {
    CW_TRY(opened,
           OpenOutboxPublisher(store, options.kafka, outbox_options, options.engine.topic, stop));
    outbox = std::move(opened);
  } else {
    // The outbox's progress topic has one partition: whoever holds it leads.
    const kafka::GroupOptions group{options.group, options.outbox.progress_topic,
                                    options.group_session_timeout};
    CW_TRY(joined, kafka::GroupMember::Join(options.kafka, group));
    member = std::move(joined);
    spdlog::info("group {}: joined (on {}); following until the group makes this engine its leader",
                 options.group, options.outbox.progress_topic);
    // Ready while following, not looked for when coming to lead: the delivery, and a reader of
    // the progress topic with its connections made (a first read to the end).
    CW_TRY(delivery, ResolveDelivery(options.kafka, outbox_options.delivery, stop));
    outbox_options.delivery = delivery;
    if (delivery == OutboxDelivery::kExactlyOnce) {
      kafka::KafkaConfig committed = options.kafka;
      committed.properties.push_back(kafka::Property{"isolation.level", "read_committed"});
      CW_TRY(reader, kafka::Consumer::Open(committed, options.outbox.progress_topic));
      progress_reader.emplace(std::move(reader));
      if (auto read = kafka::ReadToEnd(*progress_reader, kEndOffsetsWait, [](const auto&) {});
          !read) {
        spdlog::warn("group {}: the outbox progress topic {} cannot be read yet ({}); it is read "
                     "again when this engine comes to lead",
                     options.group, options.outbox.progress_topic, read.error().message);
      }
    }
  }
  CW_TRY(engine, Engine::Create(store, options.engine));
  const bool following = member != nullptr || standby;
  if (following) engine->Follow();
  CW_TRY(RestoreDerivedEvents(*engine, options, stop));
  std::optional<kafka::Consumer> derived;  // a follower's: the leader's derived events
  if (following && !options.engine.derived_topic.empty()) {
    CW_TRY(reader, FollowDerived(*engine, options));
    derived.emplace(std::move(reader));
  }
  // librdkafka's statistics each second tell which partitions the brokers do not serve now.
  kafka::KafkaConfig events_config = options.kafka;
  events_config.properties.insert(events_config.properties.begin(),
                                  kafka::Property{"statistics.interval.ms", "1000"});
  CW_TRY(consumer, kafka::Consumer::Open(events_config, options.engine.topic));
  CW_TRY(starts, StartPositions(consumer, *engine, stop, options.partition));
  CW_TRY(consumer.Assign(starts));
  for (const kafka::PartitionStart& s : starts) {
    spdlog::info("consuming {} partition {} from {}", options.engine.topic, s.partition,
                 s.offset == kafka::kBeginning ? std::string("the beginning")
                                               : fmt::format("offset {}", s.offset));
  }

  RunnerStatus status;
  std::vector<InputRecord> records;  // each batch's, reused
  // A follower the group has made its leader: fences the last leader and takes over the outbox
  // numbering (OutboxOptions::take_over), stores every derived event the last leader published,
  // then leads (Engine::Lead).
  auto lead = [&]() -> Result<void> {
    spdlog::info("{}: this engine leads: fencing the last leader", who);
    const auto began = std::chrono::steady_clock::now();
    auto since = [last = began]() mutable {
      const auto now = std::chrono::steady_clock::now();
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - last).count();
      last = now;
      return ms;
    };
    OutboxOptions taking_over = outbox_options;
    taking_over.take_over = true;
    std::vector<std::string> published_now;
    taking_over.published_at_takeover = &published_now;
    taking_over.progress_reader = progress_reader ? &*progress_reader : nullptr;
    CW_TRY(opened,
           OpenOutboxPublisher(store, options.kafka, taking_over, options.engine.topic, stop));
    outbox = std::move(opened);
    progress_reader.reset();
    const int64_t fenced_ms = since();
    if (derived) {
      CW_TRY(RestoreDerivedEvents(*engine, options, stop, &*derived));
      derived.reset();
    }
    const int64_t restored_ms = since();
    CW_TRY(engine->Lead(options.clock(), published_now));
    const int64_t derived_ms = since();
    ++status.leader_terms;
    spdlog::info("{}: leading after {} ms (fencing and the outbox {} ms, the last leader's "
                 "derived events {} ms, what the remembered cases owe {} ms); every case queued "
                 "for a sweep ({} per write) that derives what was missed while no engine led",
                 who, fenced_ms + restored_ms + derived_ms, fenced_ms, restored_ms, derived_ms,
                 Engine::kSweepPerWrite);
    if (options.on_lead) {
      CW_TRY(options.on_lead());
    }
    return Ok();
  };
  // Far behind, batches are stored first (`deferring`), then the pending cases are projected a
  // bounded write at a time between live batches; a restart with pending cases finishes them. A
  // store that has consumed nothing yet (a new one, rebuilding from the log of record) catches up
  // from its first batch, whatever the lag: each case is then projected once, on all its events,
  // so it derives no obligation_missed the restored derived events do not already hold.
  CW_TRY(consumed_before, engine->StartOffsets());
  bool new_store = consumed_before.empty();
  bool deferring = new_store;
  // How close to the end catching up stops: a new store reads the whole topic as it is at the
  // start first (a case projected before all its events are in could look missed), then goes
  // live with what has come since; a lagging one catches up to within a batch of the end.
  std::vector<int64_t> history_end;
  if (deferring) {
    auto ends = consumer.EndOffsets(kEndOffsetsWait);
    if (ends) {
      history_end = std::move(ends.value());
    } else {
      spdlog::warn("catching up: {}; reading until nothing is left instead", ends.error().message);
    }
    spdlog::info("catching up: a new store; storing what the topic holds first");
  }
  const int64_t caught_up_at = static_cast<int64_t>(options.max_batch);
  const size_t catch_up_batch =
      std::max(options.max_batch,
               options.catch_up_batch != 0 ? options.catch_up_batch : 10 * options.max_batch);
  auto caught_up = [&](int64_t lag) {
    if (!new_store) return lag >= 0 && lag <= caught_up_at;
    if (!history_end.empty()) return consumer.Behind(history_end) == 0;
    return lag == 0;
  };
  status.catching_up = deferring || engine->counters().cases_pending > 0;
  auto report = [&] {
    status.counters = engine->counters();
    const std::vector<kafka::Consumer::PartitionLag> lags = consumer.PartitionLags();
    status.lag = kafka::Consumer::TotalLag(lags);
    status.partitions.clear();
    for (const kafka::Consumer::PartitionLag& p : lags) {
      status.partitions.push_back(engine::PartitionStatus{
          p.partition, p.lag,
          p.unavailable_since ? std::optional<Instant>(InstantOf(*p.unavailable_since))
                              : std::nullopt});
    }
    status.published = outbox ? outbox->published() : 0;
    status.outbox_pending = outbox ? outbox->in_flight() : 0;
    if (member) status.role = engine->leading() ? "leader" : "follower";
    status.transient_errors = consumer.transient_errors();
    status.projection_instant = engine->projection_instant();
    if (on_status) on_status(status);
  };
  auto last_status = std::chrono::steady_clock::now();
  auto last_report = last_status;
  int64_t peak_lag = -1;  // the largest lag reported since the last status line
  std::vector<int64_t> timestamps;
  while (!stop.load()) {
    if (member) {
      if (std::optional<Error> failure = member->Failure()) return *failure;
      if (member->Leads() && !engine->leading()) {
        CW_TRY(lead());
      } else if (!member->Leads() && engine->leading()) {
        // Frozen, cut off or too slow, the group gave the leadership to another engine, which has
        // fenced this one's producer. Whatever it derived and did not publish, the new leader
        // derives; restarted, this engine follows it.
        if (auto drained = outbox->Drain(std::chrono::seconds(5)); !drained) {
          spdlog::warn("outbox: {}", drained.error().message);
        }
        // Exit 1, not 2: its service manager starts it again.
        return Unavailable(fmt::format(
            "group {}: this engine no longer leads (the group stopped hearing from it for longer "
            "than its session timeout) and stops; started again, it follows the new leader",
            options.group));
      }
    } else if (standby && !engine->leading() && options.leads()) {
      CW_TRY(lead());  // a task's standby the group has given the task to
    }
    auto polled = consumer.Poll(deferring ? catch_up_batch : options.max_batch,
                                options.poll_timeout);
    if (!polled && polled.error().kind == ErrorKind::kDataLoss) {
      return DataLoss(fmt::format(
          "the brokers ({}) do not hold the records of topic {} that this store has read up to "
          "({}). Either they are not the brokers this store was built from (the embedded "
          "development broker of `./run demo` keeps nothing once it stops), or retention "
          "removed records before the engine read them. To look at this store as it is: "
          "casewatchd --read-only --data DIR --no-auth (dashboard and API, no broker). To build "
          "a store from these brokers: start casewatchd with an empty --data directory",
          options.kafka.brokers, options.engine.topic, polled.error().message));
    }
    CW_TRY(batch, std::move(polled));
    const Instant now = options.clock();
    const int64_t lag = consumer.Lag();
    if (!deferring && lag > options.catch_up_lag) {
      deferring = status.catching_up = true;
      new_store = false;  // within a batch of the end is enough now
      spdlog::info("catching up: {} records behind; storing them first", lag);
    } else if (deferring && caught_up(lag)) {
      deferring = false;
      spdlog::info("catching up: stored; projecting {} cases", engine->counters().cases_pending);
    }
    if (!batch.empty()) {
      RecordsOf(batch, records);
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
      if (options.write_each_tick && engine->projection_instant() < now) {
        CW_TRY(engine->ProjectPending(now));  // writes at `now` even when nothing changed
      }
    }
    if (progress_reader) {
      // Read on (the leader's progress, not needed) to keep its connections in use.
      if (auto read = progress_reader->Poll(1000, std::chrono::milliseconds(0)); !read) {
        return read.error();
      }
    }
    if (derived) {
      CW_TRY(restored, derived->Poll(options.max_batch, std::chrono::milliseconds(0)));
      if (!restored.empty()) {
        RecordsOf(restored, records);
        CW_TRY(engine->RestoreDerived(records, now, Engine::Restoring::kNews));
      }
    }
    if (engine->sweeping() && !deferring) {
      CW_TRY(engine->Sweep(now));
    }
    if (outbox) {
      Result<void> pumped = outbox->Pump();
      if (!pumped && member && pumped.error().kind == ErrorKind::kFailedPrecondition) {
        return Unavailable(fmt::format(
            "group {}: another engine leads now and has fenced this one's producer ({}); this "
            "engine stops, and started again it follows",
            options.group, pumped.error().message));
      }
      CW_TRY(std::move(pumped));
    }
    const auto tick = std::chrono::steady_clock::now();
    // Readers (readiness, metrics) see the status after every batch and, idle, a few times a
    // second; the log gets it every status_interval.
    if (!batch.empty() || tick - last_report >= std::chrono::milliseconds(200)) {
      last_report = tick;
      report();
      // The log's lag is one sample every status_interval; an engine that fell behind and caught
      // up between two lines would read as never behind, so each line also gives the largest lag
      // since the one before.
      peak_lag = std::max(peak_lag, status.lag);
      if (tick - last_status >= options.status_interval) {
        last_status = tick;
        spdlog::info(
            "status: accepted={} duplicates={} rejected={} missed_obligations={} "
            "derived_restored={} lag={} peak_lag={} published={} as_of={}",
            status.counters.accepted, status.counters.duplicates, status.counters.rejected,
            status.counters.missed_obligations, status.counters.derived_restored, status.lag,
            peak_lag, status.published, FormatInstant(status.projection_instant));
        peak_lag = status.lag;
      }
    }
  }
  spdlog::info("stopping: the last batch is written; publishing the outbox");
  if (!outbox) {
    report();
    return Ok();  // a follower publishes nothing; it leaves the group now
  }
  if (auto drained = outbox->Drain(std::chrono::seconds(5)); !drained) {
    spdlog::warn("outbox not fully published ({}); it will be on the next start",
                 drained.error().message);
  }
  report();
  return Ok();
}

}  // namespace casewatch::daemon
