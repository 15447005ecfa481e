// Several engines on one topic (casewatchd --group), the leadership passing back and forth on a
// real Apache Kafka cluster (the ctest label real_kafka: $CASEWATCH_KAFKA_CLUSTER names it). The
// engines and their exactly-once outboxes are driven directly, so that the test chooses the
// moments: a leader with derived events it has not published loses the leadership, a follower
// leads and derives, then the first leads again. Its unpublished derived events that the second
// derived again are dropped, the others published (and raised to its live readers, who saw none
// of them before it restarted); a read_committed consumer sees every alert and every derived
// event exactly once, and every obligation missed at the end has its alert.
// Bad records among the events make dead letters: each new leader takes over some behind and
// some ahead of what the last one published, and each bad record's dead letter is published
// exactly once all the same.
//
// The tasks of casewatchd --tasks, each with its own transactional.id, keep their progress on a
// partition each: a transaction another task left open (its process killed, its partition not
// yet taken up again) does not hold back a task's read of its own progress.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/temp_dir.h"
#include "services/daemon/outbox.h"
#include "services/daemon/testing/kafka_harness.h"
#include "services/engine/engine.h"
#include "services/engine/testing/simulated_stream.h"
#include "services/kafka/consumer.h"
#include "services/kafka/producer.h"

namespace casewatch::daemon {
namespace {

using engine::Engine;
using engine::InputRecord;
using testing::TestBroker;

constexpr auto kWait = std::chrono::seconds(60);

struct Group {
  RunnerOptions runner;
  OutboxOptions outbox;
};

Group GroupFor(const TestBroker& broker) {
  Group s;
  broker.Configure(s.runner);
  s.outbox = s.runner.outbox;
  s.outbox.delivery = OutboxDelivery::kExactlyOnce;
  s.outbox.transactional_id = "casewatchd-" + broker.topics().events;
  s.outbox.derived_topic = s.runner.engine.derived_topic;
  s.outbox.alerts_topic = s.runner.engine.alerts_topic;
  s.outbox.dead_letter_topic = s.runner.engine.dead_letter_topic;
  s.outbox.events_topic = s.runner.engine.topic;
  s.outbox.take_over = true;
  return s;
}

std::unique_ptr<Engine> CreateEngine(store::Store& store, const Group& s) {
  auto engine = Engine::Create(store, s.runner.engine);
  EXPECT_TRUE(engine) << engine.error().message;
  return std::move(engine).value();
}

// Records [from, to) as partition 0, offsets from..to-1, in batches of `batch`.
void Feed(Engine& engine, const engine::testing::SimulatedStream& sim, size_t from, size_t to,
          size_t batch_size = 97) {
  for (size_t at = from; at < to; at += batch_size) {
    std::vector<InputRecord> batch;
    for (size_t i = at; i < std::min(to, at + batch_size); ++i) {
      batch.push_back(InputRecord{0, static_cast<int64_t>(i), sim.keys[i], sim.records[i], "kafka"});
    }
    auto applied = engine.Apply(batch, sim.end);
    ASSERT_TRUE(applied) << applied.error().message;
  }
}

// What a read_committed consumer sees on `topic`: each record's key and value.
std::vector<std::pair<std::string, std::string>> Committed(const Group& s,
                                                           const std::string& topic) {
  kafka::KafkaConfig config = s.runner.kafka;
  config.properties.push_back(kafka::Property{"isolation.level", "read_committed"});
  std::vector<std::pair<std::string, std::string>> seen;
  auto read = kafka::ReadToEnd(config, topic, kWait, [&](const kafka::Message& m) {
    seen.emplace_back(std::string(m.key), std::string(m.value));
  });
  EXPECT_TRUE(read) << read.error().message;
  return seen;
}

// A follower's store takes the derived events published so far (what the daemon's loop reads
// from the derived topic), from the offsets it holds.
void RestoreFromTopic(Engine& engine, const Group& s) {
  auto stored = engine.DerivedStartOffsets();
  ASSERT_TRUE(stored);
  std::vector<kafka::PartitionStart> from;
  for (const store::OffsetEntry& e : stored.value()) from.push_back({e.partition, e.next_offset});
  kafka::KafkaConfig config = s.runner.kafka;
  config.properties.push_back(kafka::Property{"isolation.level", "read_committed"});
  struct Held {
    int32_t partition;
    int64_t offset;
    std::string key, value;
  };
  std::vector<Held> held;
  auto read = kafka::ReadToEnd(
      config, s.runner.engine.derived_topic, kWait,
      [&](const kafka::Message& m) {
        held.push_back({m.partition, m.offset, std::string(m.key), std::string(m.value)});
      },
      from);
  ASSERT_TRUE(read) << read.error().message;
  std::vector<InputRecord> records;
  for (const Held& h : held) records.push_back({h.partition, h.offset, h.key, h.value, "kafka"});
  auto restored = engine.RestoreDerived(records, Instant{0, 0});
  ASSERT_TRUE(restored) << restored.error().message;
}

// Leads: fences whoever led, takes the outbox over, restores, derives what is owed, sweeps, and
// publishes everything. `published_now`: where the derived events the takeover publishes from
// the store go (as the daemon's loop hands them to Lead).
std::unique_ptr<OutboxPublisher> LeadAndPublish(store::Store& store, Engine& engine,
                                                const Group& s,
                                                const engine::testing::SimulatedStream& sim,
                                                std::vector<std::string>* published_now = nullptr) {
  std::atomic<bool> stop{false};
  std::vector<std::string> taken;
  OutboxOptions options = s.outbox;
  options.published_at_takeover = &taken;
  auto outbox = OpenOutboxPublisher(store, s.runner.kafka, options, s.runner.engine.topic, stop);
  EXPECT_TRUE(outbox) << outbox.error().message;
  if (!outbox) return nullptr;
  RestoreFromTopic(engine, s);
  if (published_now != nullptr) *published_now = taken;
  auto led = engine.Lead(sim.end, taken);
  EXPECT_TRUE(led) << led.error().message;
  while (engine.sweeping()) EXPECT_TRUE(engine.Sweep(sim.end));
  auto drained = outbox.value()->Drain(kWait);
  EXPECT_TRUE(drained) << drained.error().message;
  return std::move(outbox).value();
}

TEST(GroupTakeover, AnExLeadersUnpublishedDerivedEventsArePublishedOnceWhoeverLeads) {
  auto started = TestBroker::Start(1);
  ASSERT_TRUE(started) << started.error().message;
  const TestBroker& broker = started.value();
  ASSERT_TRUE(broker.real()) << "needs a real Apache Kafka cluster: transactions and fencing are "
                                "what it tests (ctest -L real_kafka sets CASEWATCH_KAFKA_CLUSTER)";
  const Group s = GroupFor(broker);
  // The simulated events with a bad record (not an envelope) after every 37th.
  const auto simulated = engine::testing::Simulate(200, 12, 41);
  engine::testing::SimulatedStream sim;
  sim.end = simulated.end;
  std::set<int64_t> bad;  // their offsets
  for (size_t i = 0; i < simulated.records.size(); ++i) {
    sim.records.push_back(simulated.records[i]);
    sim.keys.push_back(simulated.keys[i]);
    if (i % 37 == 36) {
      bad.insert(static_cast<int64_t>(sim.records.size()));
      sim.records.push_back("not an envelope " + std::to_string(i));
      sim.keys.push_back("bad-" + std::to_string(i));
    }
  }
  const size_t n = sim.records.size();
  TempDir dir;
  auto store_a = store::Store::Open(dir.path() / "a").value();
  auto store_b = store::Store::Open(dir.path() / "b").value();

  // A leads through the first third, publishing; B follows, then falls behind while A publishes
  // up to the half.
  auto a = CreateEngine(*store_a, s);
  auto b = CreateEngine(*store_b, s);
  a->Follow();
  b->Follow();
  auto outbox_a = LeadAndPublish(*store_a, *a, s, sim);
  Feed(*a, sim, 0, n / 3);
  Feed(*b, sim, 0, n / 3);
  Feed(*a, sim, n / 3, n / 2);
  ASSERT_TRUE(outbox_a->Drain(kWait));
  RestoreFromTopic(*b, s);
  // To two thirds: A derives and does not publish (frozen, then cut off); B follows past the
  // half (dead letters A did not publish), not as far as A.
  Feed(*a, sim, n / 2, 2 * n / 3);
  Feed(*b, sim, n / 3, 7 * n / 12);
  size_t residue = 0;
  ASSERT_TRUE(store_a->ScanOutbox(0, [&](uint64_t, const store::v1::OutboxRecord& r) {
    if (r.topic() == s.runner.engine.derived_topic) ++residue;
    return true;
  }));
  ASSERT_GT(residue, 0u) << "the leader left nothing unpublished: nothing to test";

  // B leads: fences A, derives what is owed and publishes, and goes on to five sixths.
  auto outbox_b = LeadAndPublish(*store_b, *b, s, sim);
  EXPECT_FALSE(outbox_a->Pump() && outbox_a->Drain(std::chrono::seconds(10)))
      << "the fenced leader still published";
  outbox_a.reset();
  a.reset();
  Feed(*b, sim, 7 * n / 12, 5 * n / 6);
  ASSERT_TRUE(outbox_b->Drain(kWait));

  // A restarts, follows, and leads again, behind B: its unpublished records are resolved against
  // the derived topic; then it takes the rest, from two thirds. Its live readers (on_commit) get
  // the alert of each derived event it publishes from before the restart, once.
  Group live = s;
  std::map<std::string, int> raised;
  live.runner.engine.on_commit = [&raised](const engine::CommitInfo& info) {
    for (const auto& alert : info.alerts) ++raised[alert.event_id()];
  };
  a = CreateEngine(*store_a, live);
  a->Follow();
  outbox_b.reset();
  b.reset();
  std::vector<std::string> published_now;
  outbox_a = LeadAndPublish(*store_a, *a, s, sim, &published_now);
  EXPECT_FALSE(published_now.empty())
      << "B derived again all A left unpublished: the takeover's alerts go untested";
  for (const std::string& envelope : published_now) {
    auto id = engine::EventIdOf(envelope);
    ASSERT_TRUE(id);
    EXPECT_EQ(raised[id.value()], 1) << "the live readers' alert for " << id.value();
  }
  Feed(*a, sim, 2 * n / 3, n);
  ASSERT_TRUE(outbox_a->Drain(kWait));

  // Every bad record's dead letter once.
  std::map<int64_t, int> letters;
  for (const auto& [key, value] : Committed(s, s.runner.engine.dead_letter_topic)) {
    store::v1::DeadLetter letter;
    ASSERT_TRUE(letter.ParseFromString(value));
    EXPECT_EQ(letter.topic(), s.runner.engine.topic);
    ++letters[letter.offset()];
  }
  for (const int64_t offset : bad) {
    EXPECT_EQ(letters[offset], 1) << "the dead letter of the bad record at offset " << offset;
  }
  EXPECT_EQ(letters.size(), bad.size());

  // Every alert and every derived event once, the same ones.
  std::map<std::string, int> derived;
  for (const auto& [key, value] : Committed(s, s.runner.engine.derived_topic)) {
    auto id = engine::EventIdOf(value);
    ASSERT_TRUE(id);
    ++derived[id.value()];
  }
  std::map<std::string, int> alerts;
  for (const auto& [key, value] : Committed(s, s.runner.engine.alerts_topic)) {
    const size_t at = value.find("\"event_id\":\"");
    ASSERT_NE(at, std::string::npos) << value;
    const size_t begin = at + 12;
    ++alerts[value.substr(begin, value.find('"', begin) - begin)];
  }
  ASSERT_FALSE(alerts.empty());
  for (const auto& [id, count] : alerts) EXPECT_EQ(count, 1) << "alert " << id;
  for (const auto& [id, count] : derived) EXPECT_EQ(count, 1) << "derived event " << id;
  std::set<std::string> alert_ids, derived_ids;
  for (const auto& [id, count] : alerts) alert_ids.insert(id);
  for (const auto& [id, count] : derived) derived_ids.insert(id);
  EXPECT_EQ(alert_ids, derived_ids);

  // Against one engine given every record at once: each obligation missed at the end alerted.
  auto reference_store = store::Store::Open(dir.path() / "reference").value();
  auto reference = CreateEngine(*reference_store, s);
  Feed(*reference, sim, 0, n, n);
  size_t expected = 0;
  ASSERT_TRUE(reference_store->ScanOutbox(0, [&](uint64_t, const store::v1::OutboxRecord& r) {
    if (r.topic() != s.runner.engine.derived_topic) return true;
    ++expected;
    auto id = engine::EventIdOf(r.value());
    EXPECT_TRUE(id && alert_ids.count(id.value()) == 1) << "never alerted";
    return true;
  }));
  EXPECT_GT(expected, 0u);
}

TEST(TaskProgress, ATransactionAnotherTaskLeftOpenDoesNotHoldBackATasksProgress) {
  auto started = TestBroker::Start(3);
  ASSERT_TRUE(started) << started.error().message;
  const TestBroker& broker = started.value();
  ASSERT_TRUE(broker.real()) << "needs a real Apache Kafka cluster: open transactions are what it "
                                "tests (ctest -L real_kafka sets CASEWATCH_KAFKA_CLUSTER)";
  Group s = GroupFor(broker);  // as casewatchd --tasks sets task 1's outbox up
  const std::string tasks_id = "casewatchd-" + broker.topics().events + "-p";
  s.outbox.take_over = false;
  s.outbox.transactional_id = tasks_id + "1";
  s.outbox.progress_topic = broker.tasks_progress_topic();
  s.outbox.progress_partition = 1;
  const auto sim = engine::testing::Simulate(200, 12, 43);
  const size_t n = sim.records.size();
  TempDir dir;
  auto store = store::Store::Open(dir.path() / "p1").value();
  auto engine = CreateEngine(*store, s);
  std::atomic<bool> stop{false};
  auto outbox =
      OpenOutboxPublisher(*store, s.runner.kafka, s.outbox, s.runner.engine.topic, stop);
  ASSERT_TRUE(outbox) << outbox.error().message;
  Feed(*engine, sim, 0, n / 2);
  ASSERT_TRUE(outbox.value()->Drain(kWait));
  const uint64_t first = outbox.value()->published();
  ASSERT_GT(first, 0u) << "nothing to publish: nothing to test";

  // Task 0's process dies in a transaction: it stays open (until the brokers' timeout, or until
  // task 0 starts again somewhere).
  kafka::KafkaConfig config = s.runner.kafka;
  config.properties.push_back(kafka::Property{"transactional.id", tasks_id + "0"});
  config.properties.push_back(kafka::Property{"transaction.timeout.ms", "600000"});
  auto task0 = kafka::Producer::Open(config);
  ASSERT_TRUE(task0) << task0.error().message;
  ASSERT_TRUE(task0.value().InitTransactions(kWait));
  ASSERT_TRUE(task0.value().BeginTransaction());
  ASSERT_TRUE(task0.value().Produce(s.outbox.progress_topic, tasks_id + "0",
                                    "sequence=7 fingerprint=0", {}, {}, 0));
  ASSERT_TRUE(task0.value().Flush(kWait));
  // What it holds back: a record committed after it on its partition is not read.
  auto other = kafka::Producer::Open(s.runner.kafka);
  ASSERT_TRUE(other);
  ASSERT_TRUE(other.value().Produce(s.outbox.progress_topic, "after", "x", {}, {}, 0));
  ASSERT_TRUE(other.value().Flush(kWait));
  kafka::KafkaConfig committed = s.runner.kafka;
  committed.properties.push_back(kafka::Property{"isolation.level", "read_committed"});
  bool after_read = false;
  ASSERT_TRUE(kafka::ReadPartitionToEnd(committed, s.outbox.progress_topic, 0, kWait,
                                        [&](const kafka::Message& m) {
                                          if (m.key == "after") after_read = true;
                                        }));
  EXPECT_FALSE(after_read) << "the open transaction should hold the partition's readers back";

  // Task 1 publishes on, then its process is killed and it starts again: it reads its last
  // progress, deletes what that says is published, and publishes nothing again.
  Feed(*engine, sim, n / 2, n);
  ASSERT_TRUE(outbox.value()->Drain(kWait));
  const uint64_t second = outbox.value()->published();
  ASSERT_GT(second, first) << "nothing published after the open transaction: nothing to test";
  outbox.value().reset();
  const auto restarted_at = std::chrono::steady_clock::now();
  auto again = OpenOutboxPublisher(*store, s.runner.kafka, s.outbox, s.runner.engine.topic, stop);
  const auto took = std::chrono::steady_clock::now() - restarted_at;
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_LT(took, std::chrono::seconds(20)) << "the start waited for a stale read to pass";
  ASSERT_TRUE(again.value()->Drain(kWait));
  EXPECT_EQ(again.value()->published(), 0u) << "published again what was published";
  size_t held = 0;  // the record the progress names stays
  ASSERT_TRUE(store->ScanOutbox(0, [&](uint64_t, const store::v1::OutboxRecord&) {
    ++held;
    return true;
  }));
  EXPECT_EQ(held, 1u);
  std::map<std::string, int> derived;
  for (const auto& [key, value] : Committed(s, s.runner.engine.derived_topic)) {
    ++derived[engine::EventIdOf(value).value()];
  }
  EXPECT_FALSE(derived.empty());
  for (const auto& [id, count] : derived) EXPECT_EQ(count, 1) << "derived event " << id;
  EXPECT_TRUE(task0.value().AbortTransaction(kWait));
}

}  // namespace
}  // namespace casewatch::daemon
