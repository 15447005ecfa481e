// casewatchd publishing its outbox exactly once on a real Apache Kafka cluster: three KRaft nodes
// of its own (scripts/kafka/cluster.sh in a temporary directory, stopped at the end whatever
// happens; the test fails if the cluster cannot start), topics made by deploy/topics.sh. A
// simulated history with rejected events in it is published; one casewatchd reads it
// uninterrupted, another is killed (SIGKILL) at least ten times at random points of the same
// ingest and then finishes. A read_committed consumer must see each of the killed engine's alerts
// on case-alerts, and each of its dead letters on case-events-dlq, exactly once, and the same ones
// the uninterrupted engine published.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include "base/temp_dir.h"
#include "casewatch/events/v1/events.pb.h"
#include "services/daemon/outbox.h"
#include "services/daemon/testing/kafka_harness.h"
#include "services/kafka/consumer.h"
#include "services/store/store.h"
#include "tests/support/process.h"

namespace casewatch {
namespace {

using testing::ChildProcess;
using testing::RunProcess;

const std::string kSource = CASEWATCH_SOURCE_DIR;
constexpr const char* kEnd = "2025-01-01T00:00:00Z";  // the engines' frozen clock
constexpr int kRejectedEvery = 97;                      // one rejected event per this many lines

std::string Trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// A cluster of three nodes in `dir`, started by the constructor and stopped by the destructor.
class Cluster {
 public:
  explicit Cluster(const std::filesystem::path& dir) : dir_(dir) {
    auto started =
        RunProcess({"/bin/bash", kSource + "/scripts/kafka/cluster.sh", "start", dir.string()});
    if (started.exit_code != 0) {
      start_error_ = "exit " + std::to_string(started.exit_code) + ": " + started.err + started.out;
    }
    bootstrap_ = Trimmed(started.out);
  }
  ~Cluster() {
    RunProcess({"/bin/bash", kSource + "/scripts/kafka/cluster.sh", "stop", dir_.string()});
  }

  const std::string& start_error() const { return start_error_; }
  const std::string& bootstrap() const { return bootstrap_; }

 private:
  std::filesystem::path dir_;
  std::string start_error_;
  std::string bootstrap_;
};

// The simulated history, with an event every kRejectedEvery lines that the engine rejects (a
// case id with a space in it): the dead letters. Returns how many lines were rejected.
int WriteHistory(const std::filesystem::path& simulated, const std::filesystem::path& out) {
  std::ifstream in(simulated);
  std::ofstream file(out);
  std::string line;
  int number = 0;
  int rejected = 0;
  while (std::getline(in, line)) {
    file << line << '\n';
    if (++number % kRejectedEvery == 0) {
      file << R"({"eventId":"rejected-)" << ++rejected
           << R"(","caseId":"C 9","occurredAt":"2023-09-01T09:00:00Z","warningIssued":{}})"
           << '\n';
    }
  }
  return rejected;
}

std::vector<std::string> EngineArgs(const std::string& brokers, const std::filesystem::path& data,
                                    std::vector<std::string> extra) {
  std::vector<std::string> args = {CASEWATCHD_BIN, "--no-http",      "--brokers", brokers,
                                   "--data",       data.string(),    "--clock",   "simulated",
                                   "--clock-start", kEnd,            "--clock-speed", "0",
                                   "--max-batch",  "25",             "--log-level", "info"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// The records the store's outbox holds, and one past the highest (0 when it holds none).
struct Outbox {
  size_t held = 0;
  uint64_t next = 0;
};
Outbox OutboxOf(const std::filesystem::path& data, const TempDir& scratch) {
  auto store = store::StoreReader::OpenSecondary(data, scratch.path() / "outbox-reader");
  EXPECT_TRUE(store) << store.error().message;
  Outbox outbox;
  if (!store) return outbox;
  auto scanned =
      store.value()->ScanOutbox(0, [&](uint64_t sequence, const store::v1::OutboxRecord&) {
        outbox.next = sequence + 1;
        ++outbox.held;
        return true;
      });
  EXPECT_TRUE(scanned);
  return outbox;
}

// Runs an engine until its store has consumed `records`, then stops it with SIGTERM (exit 0).
// The store is read as a RocksDB secondary while the engine runs, which can miss the newest writes
// while the engine is recovering its write-ahead log at start; so the count that is checked is
// read once the engine has stopped.
void RunToTheEnd(const std::vector<std::string>& args, const std::filesystem::path& data,
                 const std::filesystem::path& log, const TempDir& scratch, uint64_t records) {
  ChildProcess engine(args, log.string());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  while (daemon::testing::ConsumedOffsets(data, scratch.path()) < records &&
         std::chrono::steady_clock::now() < deadline && engine.running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  // And published: a stop gives the outbox 5 s, and what is left is published at the next
  // start; on a loaded machine (another cluster's tests beside this one) 5 s may not be enough.
  while (OutboxOf(data, scratch).held > 1 && std::chrono::steady_clock::now() < deadline &&
         engine.running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  engine.Signal(SIGTERM);
  EXPECT_EQ(engine.Wait(60), 0) << testing::ReadFileOrEmpty(log.string());
  EXPECT_EQ(daemon::testing::ConsumedOffsets(data, scratch.path()), records)
      << testing::ReadFileOrEmpty(log.string());
}

// What a consumer of `topic` sees: each record's identity (an alert's event_id; a dead letter's
// rejected record, topic:partition:offset) with its value, and its outbox sequence (header).
struct Seen {
  std::map<std::string, int> count;  // by identity
  std::map<std::string, std::string> value;
  std::map<uint64_t, int> sequences;
  size_t records = 0;
};

std::string AlertIdentity(std::string_view json) {
  constexpr std::string_view kField = R"("event_id":")";
  const size_t at = json.find(kField);
  if (at == std::string_view::npos) return "(no event_id) " + std::string(json);
  const size_t from = at + kField.size();
  return std::string(json.substr(from, json.find('"', from) - from));
}

std::string DeadLetterIdentity(std::string_view bytes) {
  store::v1::DeadLetter letter;
  if (!letter.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return "(unparsable)";
  return letter.topic() + ":" + std::to_string(letter.partition()) + ":" +
         std::to_string(letter.offset());
}

std::string DerivedIdentity(std::string_view bytes) {
  events::v1::Envelope event;
  if (!event.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return "(unparsable)";
  return event.event_id();
}

enum class Topic { kAlerts, kDeadLetters, kDerived };

Seen Read(const std::string& brokers, const std::string& topic, Topic kind,
          const std::string& isolation = "read_committed") {
  kafka::KafkaConfig config{brokers, {{"isolation.level", isolation}}};
  Seen seen;
  auto read =
      kafka::ReadToEnd(config, topic, std::chrono::seconds(60), [&](const kafka::Message& m) {
        const std::string id = kind == Topic::kAlerts        ? AlertIdentity(m.value)
                               : kind == Topic::kDeadLetters ? DeadLetterIdentity(m.value)
                                                             : DerivedIdentity(m.value);
        ++seen.count[id];
        seen.value[id] = std::string(m.value);
        ++seen.records;
        for (const auto& [name, value] : m.headers) {
          if (name == daemon::kOutboxSequenceHeader) {
            ++seen.sequences[std::stoull(std::string(value))];
          }
        }
      });
  EXPECT_TRUE(read) << read.error().message;
  return seen;
}

// The store's next outbox sequence: one past the highest record it holds (after a clean stop,
// the one the last progress names).
uint64_t NextOutboxSequence(const std::filesystem::path& data, const TempDir& scratch) {
  const Outbox outbox = OutboxOf(data, scratch);
  EXPECT_EQ(outbox.held, 1u)
      << "after a clean stop the outbox keeps only the last record published";
  return outbox.next;
}

// Every outbox record the engine wrote, [0, next), published exactly once over the three topics
// (alerts, dead letters, derived events).
void ExpectEveryOutboxRecordOnce(const Seen& alerts, const Seen& letters, const Seen& derived,
                                 uint64_t next, const std::string& what) {
  std::map<uint64_t, int> all = alerts.sequences;
  for (const auto& [sequence, n] : letters.sequences) all[sequence] += n;
  for (const auto& [sequence, n] : derived.sequences) all[sequence] += n;
  std::string twice;
  std::string missing;
  for (const auto& [sequence, n] : all) {
    if (n != 1) twice += " " + std::to_string(sequence) + " x" + std::to_string(n);
  }
  for (uint64_t sequence = 0; sequence < next; ++sequence) {
    if (!all.contains(sequence)) missing += " " + std::to_string(sequence);
  }
  EXPECT_EQ(all.size(), alerts.records + letters.records + derived.records)
      << what << ": records without a sequence";
  EXPECT_EQ(twice, "") << what << ": outbox records published more than once";
  EXPECT_EQ(missing, "") << what << ": outbox records never published";
  EXPECT_EQ(all.empty() ? 0 : all.rbegin()->first + 1, next) << what;
}

// The same identities, each as many times and with the same value, as `expected`.
void ExpectSame(const Seen& seen, const Seen& expected, const std::string& what) {
  std::string counts;
  std::string changed;
  for (const auto& [id, n] : expected.count) {
    auto it = seen.count.find(id);
    const int got = it == seen.count.end() ? 0 : it->second;
    if (got != n) counts += " " + id + " " + std::to_string(got) + "/" + std::to_string(n);
    if (got > 0 && seen.value.at(id) != expected.value.at(id)) changed += " " + id;
  }
  for (const auto& [id, n] : seen.count) {
    if (!expected.count.contains(id)) counts += " " + id + " " + std::to_string(n) + "/0";
  }
  EXPECT_EQ(counts, "") << what << ": counts (seen/uninterrupted) that differ";
  EXPECT_EQ(changed, "") << what << ": published with other contents";
}

std::string Repeated(const Seen& seen) {
  std::string ids;
  for (const auto& [id, n] : seen.count) {
    if (n > 1) ids += " " + id + " x" + std::to_string(n);
  }
  return ids;
}

TEST(ExactlyOnce, TenKillsDuringIngestPublishEveryAlertAndDeadLetterOnce) {
  const auto started_at = std::chrono::steady_clock::now();
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  Cluster cluster(dir.path() / "cluster");
  ASSERT_EQ(cluster.start_error(), "") << "the Kafka cluster did not start";
  const std::string& brokers = cluster.bootstrap();

  auto fetched = RunProcess({"/bin/bash", kSource + "/scripts/kafka/fetch.sh"});
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  const std::string kafka_bin = Trimmed(fetched.out) + "/bin";
  auto topics = RunProcess({"/usr/bin/env", "BOOTSTRAP=" + brokers, "KAFKA_BIN=" + kafka_bin,
                            "bash", kSource + "/deploy/topics.sh"});
  ASSERT_EQ(topics.exit_code, 0) << topics.err << topics.out;
  ASSERT_NE(topics.out.find("casewatchd-outbox-progress"), std::string::npos) << topics.out;
  for (const std::string topic : {"calm-alerts", "calm-dlq", "calm-derived"}) {
    auto created = RunProcess({kafka_bin + "/kafka-topics.sh", "--bootstrap-server", brokers,
                               "--create", "--topic", topic, "--partitions", "3",
                               "--replication-factor", "3"});
    ASSERT_EQ(created.exit_code, 0) << created.err;
  }

  auto simulated = RunProcess({CASEWATCH_BIN, "simulate", "--cases", "1500", "--months", "18",
                               "--start", "2023-07-01", "--seed", "31", "--quiet", "--out",
                               (dir.path() / "simulated.ndjson").string()});
  ASSERT_EQ(simulated.exit_code, 0) << simulated.err;
  const int rejected =
      WriteHistory(dir.path() / "simulated.ndjson", dir.path() / "events.ndjson");
  auto published = RunProcess({CASEWATCH_BIN, "publish", "--brokers", brokers,
                               (dir.path() / "events.ndjson").string()});
  ASSERT_EQ(published.exit_code, 0) << published.err;
  uint64_t records = 0;
  {
    std::ifstream events(dir.path() / "events.ndjson");
    std::string line;
    while (std::getline(events, line)) ++records;
  }

  // Uninterrupted, to topics of its own under an id of its own.
  RunToTheEnd(EngineArgs(brokers, dir.path() / "calm",
                         {"--alerts-topic", "calm-alerts", "--dead-letter-topic", "calm-dlq",
                          "--derived-topic", "calm-derived", "--transactional-id",
                          "casewatchd-calm"}),
              dir.path() / "calm", dir.path() / "calm.log", dir, records);
  const Seen calm_alerts = Read(brokers, "calm-alerts", Topic::kAlerts);
  const Seen calm_letters = Read(brokers, "calm-dlq", Topic::kDeadLetters);
  const Seen calm_derived = Read(brokers, "calm-derived", Topic::kDerived);
  ASSERT_GT(calm_alerts.records, 100u);
  EXPECT_EQ(calm_derived.records, calm_alerts.records) << "each alert's derived event, once";
  EXPECT_EQ(calm_letters.records, static_cast<size_t>(rejected));
  ExpectEveryOutboxRecordOnce(calm_alerts, calm_letters, calm_derived,
                              NextOutboxSequence(dir.path() / "calm", dir), "uninterrupted");

  // Killed at random points, with the production defaults (topics, transactional.id).
  const auto data = dir.path() / "killed";
  const auto log = dir.path() / "killed.log";
  const std::vector<std::string> args = EngineArgs(brokers, data, {});
  // Each life is killed once its store has passed the next of twelve random points of the ingest
  // (plus up to 100 ms more, so the kill lands anywhere in a batch or a transaction); every fourth
  // life is killed at a random moment of its start instead, while it recovers. Points of progress,
  // not times, so a fast or a loaded machine gets the same spread of kills.
  std::mt19937 random(2027);
  std::vector<uint64_t> points;
  for (int i = 0; i < 12; ++i) {
    points.push_back(
        std::uniform_int_distribution<uint64_t>(records / 50, records * 9 / 10)(random));
  }
  std::sort(points.begin(), points.end());
  int kills = 0;
  int kills_in_ingest = 0;
  std::string progress;
  uint64_t consumed = 0;
  int kills_after_progress = 0;  // lives that had committed some of the ingest when killed
  for (size_t life = 0; life < points.size() + points.size() / 3 && consumed < records; ++life) {
    ChildProcess engine(args, log.string());
    const bool at_start = life % 4 == 3;
    if (at_start) {
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 800)(random)));
    } else {
      // Past the point, and past where the last life left off: each of these lives commits.
      const uint64_t point = std::max(points[static_cast<size_t>(kills_in_ingest)], consumed + 1);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
      while (engine.running() && std::chrono::steady_clock::now() < deadline &&
             daemon::testing::ConsumedOffsets(data, dir.path()) < point) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 100)(random)));
      ++kills_in_ingest;
    }
    ASSERT_TRUE(engine.running()) << testing::ReadFileOrEmpty(log.string());
    engine.Signal(SIGKILL);
    ASSERT_EQ(engine.Wait(10), 128 + SIGKILL) << testing::ReadFileOrEmpty(log.string());
    ++kills;
    const uint64_t before = consumed;
    consumed = daemon::testing::ConsumedOffsets(data, dir.path());
    if (consumed > before) ++kills_after_progress;
    progress += std::string(at_start ? " (start)" : " ") + std::to_string(consumed);
  }
  std::cout << "killed " << kills << " times; records consumed at each kill:" << progress << " of "
            << records << "\n";
  EXPECT_GE(kills, 10);
  EXPECT_GE(kills_after_progress, 10) << "kills in the middle of the ingest";
  RunToTheEnd(args, data, log, dir, records);

  const Seen alerts = Read(brokers, "case-alerts", Topic::kAlerts);
  const Seen letters = Read(brokers, "case-events-dlq", Topic::kDeadLetters);
  const Seen derived = Read(brokers, "case-events-derived", Topic::kDerived);
  // Exactly once: each outbox record the killed engine wrote, over all its lives, is seen once.
  ExpectEveryOutboxRecordOnce(alerts, letters, derived, NextOutboxSequence(data, dir), "killed");
  EXPECT_EQ(derived.records, alerts.records) << "each alert's derived event, once";
  EXPECT_EQ(Repeated(derived), "");
  EXPECT_EQ(derived.count.count("(unparsable)"), 0u);
  // Dead letters depend only on the input: the same as the uninterrupted run's, each once.
  ExpectSame(letters, calm_letters, "case-events-dlq");
  EXPECT_EQ(Repeated(letters), "");
  // Alerts depend on where batches end (the clock is frozen at the end of the history, so an
  // obligation whose fulfilment arrives in a later batch is missed at the earlier batch's end),
  // and batches end differently in every run: compared with the uninterrupted run, for the record.
  size_t common = 0;
  for (const auto& [id, n] : alerts.count) common += calm_alerts.count.contains(id) ? 1 : 0;
  const Seen uncommitted = Read(brokers, "case-alerts", Topic::kAlerts, "read_uncommitted");
  std::cout << "case-alerts: " << alerts.records << " committed alerts (" << alerts.count.size()
            << " event ids, " << common << " of them also among the uninterrupted run's "
            << calm_alerts.count.size() << "); " << uncommitted.records - alerts.records
            << " more records in aborted transactions; " << letters.records << " dead letters; "
            << "event ids the engine raised more than once: killed run"
            << (Repeated(alerts).empty() ? " none" : Repeated(alerts).substr(0, 200))
            << "..., uninterrupted run"
            << (Repeated(calm_alerts).empty() ? " none" : Repeated(calm_alerts).substr(0, 200))
            << "...; "
            << std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                                started_at)
                   .count()
            << " s\n";
}

}  // namespace
}  // namespace casewatch
