// casewatchd --tasks: one engine per partition of the events topic, each a task with a store of
// its own (DATA/tasks/p<N>), its own transactional id and its derived events on its own partition,
// in one process (docs/partitioned-group.md, step 1). Against librdkafka's mock cluster, or with
// $CASEWATCH_KAFKA_CLUSTER set (the ctest label real_kafka) the real cluster, exactly once.
//
// What must hold: together the tasks answer as the replay of the whole topic; killed with
// SIGKILL at random points and restarted, they still do, counting nothing twice; every derived
// event is on its case's partition, once. Engines sharing the tasks out (--tasks --group) each
// answer exactly the replay of the records they name, through kills, a wiped store, engines
// joining and leaving, and a rolling restart.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/partition_offsets.h"
#include "base/temp_dir.h"
#include "casewatch/events/v1/events.pb.h"
#include "casewatch/store/v1/records.pb.h"
#include "services/daemon/testing/kafka_harness.h"
#include "services/engine/testing/simulated_stream.h"
#include "services/http/testing/http_client.h"
#include "services/ingest/binary_envelope.h"
#include "services/kafka/consumer.h"
#include "services/reports/store_report.h"
#include "tests/support/process.h"

namespace casewatch::daemon {
namespace {

namespace fs = std::filesystem;
namespace ht = http::testing;
using casewatch::TempDir;
using casewatch::testing::ChildProcess;
using casewatch::testing::ReadFileOrEmpty;
using casewatch::testing::RunProcess;
using engine::testing::Replay;
using engine::testing::Simulate;
using engine::testing::SimulatedStream;
using testing::TestBroker;

constexpr int kPartitions = 3;

// `frozen`: the simulated clock's instant, stopped there; nullopt: the wall clock.
std::vector<std::string> TasksArgs(const TestBroker& broker, const fs::path& data,
                                   std::optional<Instant> frozen, int max_batch = 50) {
  std::vector<std::string> args = {CASEWATCHD_BIN, "--tasks",     "--data",
                                   data.string(),  "--no-auth",   "--http-port",
                                   "0",            "--max-batch", std::to_string(max_batch)};
  if (frozen) {
    args.insert(args.end(), {"--clock", "simulated", "--clock-start", FormatInstant(*frozen),
                             "--clock-speed", "0"});
  } else {
    args.insert(args.end(), {"--clock", "wall"});
  }
  for (std::string& flag : broker.DaemonFlags()) args.push_back(std::move(flag));
  return args;
}

// The HTTP port casewatchd printed in `log`; nullopt if it ended or did not within 60 s.
std::optional<uint16_t> WaitForPort(ChildProcess& process, const fs::path& log) {
  const std::regex listening(R"(listening on https?://127\.0\.0\.1:(\d+))");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::smatch match;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string text = ReadFileOrEmpty(log.string());
    if (std::regex_search(text, match, listening)) {
      return static_cast<uint16_t>(std::stoi(match[1].str()));
    }
    if (!process.running()) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return std::nullopt;
}

// `token`: sent as the bearer (an engine with --tokens); "" for none (--no-auth).
ht::HttpReply Get(uint16_t port, const std::string& target, const std::string& token = "") {
  ht::HttpCall call;
  call.target = target;
  if (!token.empty()) call.headers.emplace_back("Authorization", "Bearer " + token);
  return ht::Fetch(port, call);
}

// Records the live counts reflect (the sum of Casewatch-Offsets), or -1.
int64_t Reflected(const ht::HttpReply& reply) {
  const auto header = reply.headers.find("casewatch-offsets");
  if (reply.status != 200 || header == reply.headers.end()) return -1;
  auto offsets = ParsePartitionOffsets(header->second);
  if (!offsets) return -1;
  int64_t total = 0;
  for (const auto& [partition, next] : offsets.value()) total += next;
  return total;
}

// Waits until the live report reflects `records` records; the report, or "" after 120 s.
std::string WaitForReport(uint16_t port, size_t records) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    const ht::HttpReply reply = Get(port, "/api/v1/report");
    if (Reflected(reply) == static_cast<int64_t>(records)) return reply.body;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return "";
}

// Events the engine has accepted since it started (casewatch_events_accepted_total), or -1.
int64_t Accepted(uint16_t port) {
  const ht::HttpReply reply = Get(port, "/metrics");
  static const std::regex accepted(R"(\ncasewatch_events_accepted_total (\d+)\n)");
  std::smatch match;
  if (reply.status != 200 || !std::regex_search(reply.body, match, accepted)) return -1;
  return std::stoll(match[1].str());
}

// Every record of `topic` (read_committed), by partition: (key, value).
std::map<int32_t, std::vector<std::pair<std::string, std::string>>> ReadAll(
    const TestBroker& broker, const std::string& topic) {
  std::map<int32_t, std::vector<std::pair<std::string, std::string>>> records;
  kafka::KafkaConfig config{broker.bootstrap_servers(),
                            {kafka::Property{"isolation.level", "read_committed"}}};
  auto read = kafka::ReadToEnd(config, topic, std::chrono::seconds(60),
                               [&](const kafka::Message& m) {
                                 records[m.partition].emplace_back(std::string(m.key),
                                                                   std::string(m.value));
                               });
  EXPECT_TRUE(read) << read.error().message;
  return records;
}

class CasewatchdTasks : public ::testing::Test {
 protected:
  virtual int partitions() const { return kPartitions; }
  void SetUp() override {
    auto started = TestBroker::Start(partitions());
    ASSERT_TRUE(started) << started.error().message;
    broker_.emplace(std::move(started).value());
  }
  const TestBroker& broker() const { return *broker_; }

  // The derived events: each on the partition its case's events are on, each id once.
  void ExpectEachDerivedEventOnItsCasesPartitionOnce() {
    std::map<std::string, int32_t> partition_of;  // case (the events' key) -> partition
    for (const auto& [partition, records] : ReadAll(broker(), broker().topics().events)) {
      for (const auto& [key, value] : records) partition_of[key] = partition;
    }
    std::set<std::string> ids;
    std::map<std::string, int32_t> derived_partition;  // derived event id -> its partition
    size_t derived = 0;
    for (const auto& [partition, records] : ReadAll(broker(), broker().topics().derived)) {
      for (const auto& [key, value] : records) {
        ++derived;
        ASSERT_TRUE(partition_of.count(key) > 0) << "a derived event of no case: " << key;
        EXPECT_EQ(partition, partition_of.at(key)) << key;
        events::v1::Envelope envelope;
        ASSERT_TRUE(envelope.ParseFromString(value));
        ids.insert(envelope.event_id());
        derived_partition[envelope.event_id()] = partition;
      }
    }
    EXPECT_GT(derived, 0u) << "the simulation should miss some obligations";
    // At least once on the mock cluster (no real transactions); exactly once on a real one.
    if (broker().real()) {
      EXPECT_EQ(ids.size(), derived);
      std::set<std::string> alerted;  // each alert's event_id, once
      size_t alerts = 0;
      for (const auto& [partition, records] : ReadAll(broker(), broker().topics().alerts)) {
        for (const auto& [key, value] : records) {
          ++alerts;
          const size_t at = value.find("\"event_id\":\"");
          ASSERT_NE(at, std::string::npos) << value;
          alerted.insert(value.substr(at + 12, value.find('"', at + 12) - at - 12));
        }
      }
      EXPECT_EQ(alerted.size(), alerts) << "an alert published twice";
      std::string unalerted;  // derived events without their alert, with their partition
      for (const std::string& id : ids) {
        if (alerted.count(id) == 0) {
          unalerted += fmt::format(" {} (partition {})", id, derived_partition.at(id));
        }
      }
      std::string underived;  // alerts without their derived event
      for (const std::string& id : alerted) {
        if (ids.count(id) == 0) underived += " " + id;
      }
      EXPECT_TRUE(unalerted.empty() && underived.empty())
          << ids.size() << " derived events and " << alerted.size()
          << " alerts; derived events without their alert:" << unalerted
          << "; alerts without their derived event:" << underived;
    }
  }

 private:
  std::optional<TestBroker> broker_;
};

TEST_F(CasewatchdTasks, EachPartitionIsATaskAndTogetherTheyAnswerAsTheReplay) {
  TempDir dir;
  const SimulatedStream sim = Simulate(400, 12, 31);
  ASSERT_TRUE(testing::Publish(broker().bootstrap_servers(), sim, 0, sim.records.size(),
                               broker().topics().events));
  const fs::path data = dir.path() / "data";
  const fs::path log = dir.path() / "tasks.log";
  reports::StoreReportRequest items;
  items.case_items = true;
  reports::StoreReportRequest past;
  past.as_of = Instant{sim.end.seconds - 60 * 86400, 0};
  std::string report;
  {
    ChildProcess engine(TasksArgs(broker(), data, sim.end), log.string());
    const auto port = WaitForPort(engine, log);
    ASSERT_TRUE(port) << ReadFileOrEmpty(log.string());
    report = WaitForReport(*port, sim.records.size());
    ASSERT_FALSE(report.empty()) << ReadFileOrEmpty(log.string());
    EXPECT_EQ(report, Replay(dir, sim.file_bytes, {}, sim.end));
    EXPECT_EQ(Get(*port, "/api/v1/report?case_items=true").body,
              Replay(dir, sim.file_bytes, items, sim.end));
    EXPECT_EQ(Get(*port, "/api/v1/report?as_of=" + FormatInstant(*past.as_of)).body,
              Replay(dir, sim.file_bytes, past, *past.as_of));
    EXPECT_EQ(Get(*port, "/readyz").status, 200);
    const ht::HttpReply metrics = Get(*port, "/metrics");
    for (int p = 0; p < kPartitions; ++p) {
      const std::string lag =
          fmt::format("casewatch_consumer_partition_lag{{partition=\"{}\"}} 0", p);
      EXPECT_NE(metrics.body.find(lag), std::string::npos) << metrics.body;
    }
    engine.Signal(SIGTERM);
    ASSERT_EQ(engine.Wait(30), 0) << ReadFileOrEmpty(log.string());
  }
  for (int p = 0; p < kPartitions; ++p) {
    EXPECT_TRUE(fs::exists(data / "tasks" / fmt::format("p{}", p) / "CURRENT")) << p;
    // Each task's store holds its own partition's offsets, and no other's.
    auto store = store::StoreReader::OpenSecondary(data / "tasks" / fmt::format("p{}", p),
                                                   dir.path() / fmt::format("secondary-{}", p));
    ASSERT_TRUE(store) << store.error().message;
    auto offsets = store.value()->Offsets(broker().topics().events);
    ASSERT_TRUE(offsets);
    for (const store::OffsetEntry& entry : offsets.value()) EXPECT_EQ(entry.partition, p);
  }
  ExpectEachDerivedEventOnItsCasesPartitionOnce();

  // casewatch report and inspect read the tasks' stores together: the report is the replay's,
  // the inspection that of the event file (but for where it came from, and the duplicates an
  // engine drops on arrival and does not count).
  auto cli_report = RunProcess({CASEWATCH_BIN, "report", "--data", data.string(), "--case-items"});
  EXPECT_EQ(cli_report.exit_code, 0) << cli_report.err;
  EXPECT_EQ(cli_report.out, Replay(dir, sim.file_bytes, items, sim.end));
  // A region no task's store has a case in: refused, naming it, as over one store.
  auto typo = RunProcess({CASEWATCH_BIN, "report", "--data", data.string(), "--region", "Nowhere"});
  EXPECT_EQ(typo.exit_code, 2) << typo.out;
  EXPECT_NE(typo.err.find("no case is allocated to region \"Nowhere\""), std::string::npos)
      << typo.err;
  // casewatch token add checks a viewer's scope against the tasks' stores together.
  const fs::path tokens = dir.path() / "tokens.json";
  const std::string region = "London";  // one of the simulated service's regions
  auto made = RunProcess({CASEWATCH_BIN, "token", "add", "--tokens", tokens.string(), "--name",
                          "viewer", "--role", "viewer", "--region", region, "--data",
                          data.string()});
  EXPECT_EQ(made.exit_code, 0) << made.err;
  auto refused = RunProcess({CASEWATCH_BIN, "token", "add", "--tokens", tokens.string(),
                             "--name", "typo", "--role", "viewer", "--region", "Nowhere",
                             "--data", data.string()});
  EXPECT_EQ(refused.exit_code, 2) << refused.out;
  EXPECT_NE(refused.err.find("no case is allocated to region \"Nowhere\" (known: \"London\""),
            std::string::npos)
      << refused.err;
  const fs::path file = dir.path() / "events.bin";
  std::ofstream(file, std::ios::binary) << sim.file_bytes;
  const std::string as_of = FormatInstant(sim.end);
  auto inspected = RunProcess({CASEWATCH_BIN, "inspect", "--data", data.string(), "--as-of",
                               as_of, "--sample", "12", "--progress", "none"});
  ASSERT_EQ(inspected.exit_code, 0) << inspected.err;
  EXPECT_NE(inspected.out.find("(3 tasks, a store per partition)"), std::string::npos);
  auto of_file = RunProcess({CASEWATCH_BIN, "inspect", "--events", file.string(), "--format",
                             "binary", "--as-of", as_of, "--sample", "12", "--progress", "none"});
  ASSERT_EQ(of_file.exit_code, 0) << of_file.err;
  const std::regex source(R"("source":"[^"]*")"), duplicates(R"("duplicates":(null|\d+))");
  const auto comparable = [&](const std::string& json) {
    return std::regex_replace(std::regex_replace(json, source, ""), duplicates, "");
  };
  EXPECT_EQ(comparable(inspected.out), comparable(of_file.out));

  // Started again, each task resumes from its store: the same answer.
  const fs::path again_log = dir.path() / "again.log";
  ChildProcess again(TasksArgs(broker(), data, sim.end), again_log.string());
  const auto port = WaitForPort(again, again_log);
  ASSERT_TRUE(port) << ReadFileOrEmpty(again_log.string());
  EXPECT_EQ(WaitForReport(*port, sim.records.size()), report);
  again.Signal(SIGTERM);
  EXPECT_EQ(again.Wait(30), 0) << ReadFileOrEmpty(again_log.string());
}

TEST_F(CasewatchdTasks, KilledAtRandomPointsTheTasksResumeAndCountNothingTwice) {
  TempDir dir;
  const SimulatedStream sim = Simulate(3000, 12, 47);
  ASSERT_TRUE(testing::Publish(broker().bootstrap_servers(), sim, 0, sim.records.size(),
                               broker().topics().events));
  const fs::path data = dir.path() / "data";
  std::mt19937 random(2027);
  const auto consumed = [&] {
    uint64_t total = 0;
    for (int p = 0; p < kPartitions; ++p) {
      total += testing::ConsumedOffsets(data / "tasks" / fmt::format("p{}", p), dir.path(),
                                        broker().topics().events);
    }
    return total;
  };
  // Each run is killed once it has accepted a random share of what is left, read from its
  // /metrics while it runs: a kill lands in the middle of the stream however fast the machine.
  int kills = 0;  // in the middle of the stream
  uint64_t before = 0;
  for (int attempt = 0; attempt < 16 && kills < 4 && before < sim.records.size(); ++attempt) {
    const fs::path log = dir.path() / fmt::format("killed-{}.log", attempt);
    ChildProcess engine(TasksArgs(broker(), data, sim.end, 20), log.string());
    const auto port = WaitForPort(engine, log);
    ASSERT_TRUE(port) << ReadFileOrEmpty(log.string());
    const uint64_t left = sim.records.size() - before;
    const int64_t target = std::uniform_int_distribution<int64_t>(
        std::max<int64_t>(1, left / 10), std::max<int64_t>(1, left / 3))(random);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (engine.running() && Accepted(*port) < target &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    engine.Signal(SIGKILL);
    EXPECT_EQ(engine.Wait(10), 128 + SIGKILL) << ReadFileOrEmpty(log.string());
    const uint64_t now = consumed();
    if (now > before && now < sim.records.size()) ++kills;
    before = now;
  }
  EXPECT_GE(kills, 3) << "the stream should outlast several kills";
  const fs::path log = dir.path() / "last.log";
  ChildProcess engine(TasksArgs(broker(), data, sim.end), log.string());
  const auto port = WaitForPort(engine, log);
  ASSERT_TRUE(port) << ReadFileOrEmpty(log.string());
  const std::string report = WaitForReport(*port, sim.records.size());
  EXPECT_EQ(report, Replay(dir, sim.file_bytes, {}, sim.end)) << ReadFileOrEmpty(log.string());
  reports::StoreReportRequest items;
  items.case_items = true;
  EXPECT_EQ(Get(*port, "/api/v1/report?case_items=true").body,
            Replay(dir, sim.file_bytes, items, sim.end));
  engine.Signal(SIGTERM);
  EXPECT_EQ(engine.Wait(30), 0) << ReadFileOrEmpty(log.string());
  ExpectEachDerivedEventOnItsCasesPartitionOnce();
}

// What an engine's live report says it holds, from its headers: the partitions it leaves out
// (Casewatch-Missing), the offsets its counts reflect (Casewatch-Offsets) and the engines whose
// counts it added (Casewatch-Peers).
struct Holding {
  std::string body;
  std::string missing;  // "" when none
  std::string offsets;
  std::string peers;  // "" when none
  std::string copies;  // "" when none
  int64_t records = -1;
};

Holding HoldingOf(uint16_t port, const std::string& token = "") {
  const ht::HttpReply reply = Get(port, "/api/v1/report", token);
  Holding holding;
  if (reply.status != 200) return holding;
  holding.body = reply.body;
  holding.missing = reply.Header("casewatch-missing");
  holding.offsets = reply.Header("casewatch-offsets");
  holding.peers = reply.Header("casewatch-peers");
  holding.copies = reply.Header("casewatch-copies");
  holding.records = Reflected(reply);
  return holding;
}

// The records of each partition an engine of a group holds itself (its /internal/v1/counts,
// which its peers add to their answers), or nullopt when it does not answer.
std::optional<std::map<int32_t, int64_t>> OwnOffsetsOf(uint16_t port,
                                                       const std::string& token = "") {
  const ht::HttpReply reply = Get(port, "/internal/v1/counts", token);
  store::v1::PeerCounts counts;
  if (reply.status != 200 || !counts.ParseFromString(reply.body)) return std::nullopt;
  return std::map<int32_t, int64_t>(counts.consumed().begin(), counts.consumed().end());
}

// Waits until `ready` holds of the engine's answer (60 s); the last answer.
Holding WaitFor(uint16_t port, const std::function<bool(const Holding&)>& ready,
                const std::string& token = "") {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  Holding holding;
  while (std::chrono::steady_clock::now() < deadline) {
    holding = HoldingOf(port, token);
    if (holding.records >= 0 && ready(holding)) return holding;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return holding;
}

// A token made with `casewatch token add` into `tokens` (its stdout), or "" on failure.
std::string MakeToken(const fs::path& tokens, const std::string& name, const std::string& role) {
  const auto made = RunProcess({CASEWATCH_BIN, "token", "add", "--tokens", tokens.string(),
                                "--name", name, "--role", role});
  EXPECT_EQ(made.exit_code, 0) << made.err;
  return made.out.substr(0, made.out.find_last_not_of("\n") + 1);
}

// Two engines with --tasks in one group, behind tokens, share the partitions out: each runs the
// tasks of the partitions the group gives it, and its live report adds the other's counts, asked
// for with the token of --peer-token-file, so each answers for the whole topic, naming the engine
// it added (Casewatch-Peers). When one is killed the other takes its tasks over, catches them up
// and answers for the whole topic alone; the killed one restarts and takes its share again. Every
// answer is the replay of what it names. A peer token that is not an inspector's is refused at
// start, and the peers' counts are no one's without a token.
TEST_F(CasewatchdTasks, AGroupSharesThePartitionsOutAndEachEngineAnswersForTheWholeTopic) {
  TempDir dir;
  const SimulatedStream sim = Simulate(400, 12, 53);
  ASSERT_TRUE(testing::Publish(broker().bootstrap_servers(), sim, 0, sim.records.size(),
                               broker().topics().events));
  const fs::path tokens = dir.path() / "tokens.json";
  const std::string reader = MakeToken(tokens, "tester", "inspector");
  const fs::path peer_token = dir.path() / "peer-token";
  std::ofstream(peer_token) << MakeToken(tokens, "peers", "inspector") << "\n";
  const fs::path publisher_token = dir.path() / "publisher-token";
  std::ofstream(publisher_token) << MakeToken(tokens, "feed", "publisher") << "\n";
  const auto args = [&](const std::string& name, const fs::path& token_file) {
    std::vector<std::string> a = TasksArgs(broker(), dir.path() / name, sim.end);
    a.erase(std::find(a.begin(), a.end(), "--no-auth"));
    a.insert(a.end(), {"--group", "tasks-" + broker().topics().events, "--tokens",
                       tokens.string(), "--peer-token-file", token_file.string(),
                       "--http-address", "127.0.0.1"});
    return a;
  };
  const std::string whole = Replay(dir, sim.file_bytes, {}, sim.end);
  const auto all = [&](const Holding& h) {
    return h.missing.empty() && h.records == static_cast<int64_t>(sim.records.size());
  };

  // A publisher's token for the peers: refused, naming the command that makes the right one.
  const fs::path refused_log = dir.path() / "refused.log";
  ChildProcess refused(args("refused", publisher_token), refused_log.string());
  EXPECT_EQ(refused.Wait(60), 2);
  EXPECT_NE(ReadFileOrEmpty(refused_log.string())
                .find("the token is a publisher's; the engines of a group present an "
                      "inspector's token to each other (`casewatch token add --role inspector"),
            std::string::npos)
      << ReadFileOrEmpty(refused_log.string());

  const fs::path a_log = dir.path() / "a.log";
  ChildProcess a(args("a", peer_token), a_log.string());
  const auto a_port = WaitForPort(a, a_log);
  ASSERT_TRUE(a_port) << ReadFileOrEmpty(a_log.string());
  Holding alone = WaitFor(*a_port, all, reader);
  ASSERT_TRUE(all(alone)) << alone.missing << " " << alone.records
                          << ReadFileOrEmpty(a_log.string());
  EXPECT_EQ(alone.body, whole);
  EXPECT_EQ(alone.peers, "");
  EXPECT_EQ(Get(*a_port, "/internal/v1/counts").status, 401);

  // A second engine joins: the partitions are shared out, each engine holding some.
  std::optional<ChildProcess> b;
  const fs::path b_log = dir.path() / "b.log";
  b.emplace(args("b", peer_token), b_log.string());
  const auto b_port = WaitForPort(*b, b_log);
  ASSERT_TRUE(b_port) << ReadFileOrEmpty(b_log.string());
  const auto logs = [&] {
    return ReadFileOrEmpty(a_log.string()) + "\n---\n" + ReadFileOrEmpty(b_log.string());
  };
  // Until the two between them hold each partition once, with every record (60 s).
  const auto shared = [&](uint16_t first, uint16_t second) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      const auto mine = OwnOffsetsOf(first, reader);
      const auto theirs = OwnOffsetsOf(second, reader);
      if (mine && theirs && !mine->empty() && !theirs->empty() &&
          mine->size() + theirs->size() == kPartitions) {
        int64_t records = 0;
        for (const auto* held : {&*mine, &*theirs}) {
          for (const auto& [partition, next] : *held) records += next;
        }
        if (records == static_cast<int64_t>(sim.records.size())) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  };
  ASSERT_TRUE(shared(*a_port, *b_port)) << logs();
  // Each keeps a copy of the other's tasks (--standby-replicas 1 by default, and with two
  // engines the other is the only one that can), and says so in the group's directory.
  const auto standby_of = [&](uint16_t port) {  // `"standby":[..]` for the other's partitions
    std::string list;
    for (const auto& [partition, next] : OwnOffsetsOf(port, reader).value_or(
             std::map<int32_t, int64_t>{})) {
      list += (list.empty() ? "" : ",") + std::to_string(partition);
    }
    return "\"standby\":[" + list + "]";
  };
  const std::string a_keeps = standby_of(*b_port);
  const std::string b_keeps = standby_of(*a_port);
  const auto directory_says = [&] {
    const std::string group = Get(*a_port, "/api/v1/group", reader).body;
    return group.find(a_keeps) != std::string::npos && group.find(b_keeps) != std::string::npos;
  };
  for (int i = 0; i < 300 && !directory_says(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(directory_says()) << a_keeps << " " << b_keeps << " "
                                << Get(*a_port, "/api/v1/group", reader).body << logs();
  // A's /readyz lists its copies of B's tasks apart from the partitions it serves.
  const std::string a_ready = Get(*a_port, "/readyz").body;
  const size_t copies = a_ready.find("\"standby\":[");
  ASSERT_NE(copies, std::string::npos) << a_ready;
  for (const auto& [partition, next] : OwnOffsetsOf(*b_port, reader).value_or(
           std::map<int32_t, int64_t>{})) {
    EXPECT_NE(a_ready.find(fmt::format("{{\"partition\":{},", partition), copies),
              std::string::npos)
        << partition << " " << a_ready;
  }
  // Each answers for the whole topic, the other's counts added.
  const auto with_peer = [&](const Holding& h) { return all(h) && !h.peers.empty(); };
  for (const auto& [port, other] : {std::pair{*a_port, *b_port}, std::pair{*b_port, *a_port}}) {
    const Holding answer = WaitFor(port, with_peer, reader);
    ASSERT_TRUE(with_peer(answer)) << answer.missing << " " << answer.records << logs();
    EXPECT_EQ(answer.peers, "http://127.0.0.1:" + std::to_string(other));
    EXPECT_EQ(answer.body, whole) << answer.offsets;
    // A case only the other holds (the first of its own open items, as it gives them to its
    // peers): its timeline, from the other.
    store::v1::PeerWorklist own;
    ASSERT_TRUE(own.ParseFromString(Get(other, "/internal/v1/worklist?limit=1", reader).body));
    ASSERT_EQ(own.items_size(), 1);
    const std::string timeline = "/api/v1/cases/" + own.items(0).case_id() + "?page_size=20";
    const ht::HttpReply there = Get(other, timeline, reader);
    const ht::HttpReply routed = Get(port, timeline, reader);
    EXPECT_EQ(there.status, 200) << there.body;
    EXPECT_EQ(routed.status, 200) << routed.body;
    EXPECT_EQ(routed.body, there.body);
    EXPECT_EQ(routed.Header("casewatch-peers"), "http://127.0.0.1:" + std::to_string(other));
    // The worklist: both engines' open items, the same from either.
    const std::string all_items = "/api/v1/worklist?page_size=500";
    const ht::HttpReply here_items = Get(port, all_items, reader);
    EXPECT_EQ(here_items.body, Get(other, all_items, reader).body);
    EXPECT_EQ(here_items.Header("casewatch-peers"), "http://127.0.0.1:" + std::to_string(other));
    EXPECT_EQ(here_items.Header("casewatch-missing"), "");
    // The trends, day by day and month by month: both engines' counts, the same from either.
    for (const std::string trend : {"/api/v1/trend", "/api/v1/trend?interval=month&months=24"}) {
      const ht::HttpReply here_trend = Get(port, trend, reader);
      EXPECT_EQ(here_trend.status, 200) << here_trend.body;
      EXPECT_EQ(here_trend.body, Get(other, trend, reader).body) << trend;
      EXPECT_EQ(here_trend.Header("casewatch-peers"),
                "http://127.0.0.1:" + std::to_string(other))
          << trend;
    }
  }

  // Killed, its tasks go to the other engine, whose standbys of them take them over.
  const auto b_held = OwnOffsetsOf(*b_port, reader).value_or(std::map<int32_t, int64_t>{});
  ASSERT_FALSE(b_held.empty());
  b->Signal(SIGKILL);
  EXPECT_EQ(b->Wait(10), 128 + SIGKILL);
  b.reset();
  // At once, before the group notices (its session timeout): B's partitions are counted from
  // A's copies of them, and the answer says so.
  std::string b_partitions;
  for (const auto& [partition, next] : b_held) {
    b_partitions += (b_partitions.empty() ? "" : ",") + std::to_string(partition);
  }
  const auto from_copies = [&](const Holding& h) { return all(h) && !h.copies.empty(); };
  const Holding at_once = WaitFor(*a_port, from_copies, reader);
  ASSERT_TRUE(from_copies(at_once)) << at_once.missing << " " << at_once.records
                                    << ReadFileOrEmpty(a_log.string());
  EXPECT_EQ(at_once.copies, b_partitions);
  EXPECT_EQ(at_once.peers, "");
  EXPECT_EQ(at_once.body, whole) << at_once.offsets;
  const auto on_its_own = [&](const Holding& h) {
    return all(h) && h.peers.empty() && h.copies.empty();
  };
  Holding after_kill = WaitFor(*a_port, on_its_own, reader);
  ASSERT_TRUE(on_its_own(after_kill)) << after_kill.missing << " " << after_kill.records
                                      << ReadFileOrEmpty(a_log.string());
  EXPECT_EQ(after_kill.body, whole);
  for (const auto& [partition, next] : b_held) {
    EXPECT_NE(ReadFileOrEmpty(a_log.string())
                  .find(fmt::format("task {} taken over by its standby here", partition)),
              std::string::npos)
        << "task " << partition << ":\n" << ReadFileOrEmpty(a_log.string());
  }

  // Restarted on its store, it takes its share again, and answers for the whole topic.
  const fs::path again_log = dir.path() / "b-again.log";
  b.emplace(args("b", peer_token), again_log.string());
  const auto again_port = WaitForPort(*b, again_log);
  ASSERT_TRUE(again_port) << ReadFileOrEmpty(again_log.string());
  ASSERT_TRUE(shared(*again_port, *a_port)) << ReadFileOrEmpty(again_log.string());
  const Holding b_again = WaitFor(*again_port, with_peer, reader);
  EXPECT_TRUE(with_peer(b_again)) << b_again.missing << ReadFileOrEmpty(again_log.string());
  EXPECT_EQ(b_again.body, whole) << b_again.offsets;

  b->Signal(SIGTERM);
  EXPECT_EQ(b->Wait(60), 0) << ReadFileOrEmpty(again_log.string());
  // The one left takes everything back once the other has left.
  Holding last = WaitFor(*a_port, on_its_own, reader);
  EXPECT_EQ(last.body, whole) << last.missing;
  a.Signal(SIGTERM);
  EXPECT_EQ(a.Wait(60), 0) << ReadFileOrEmpty(a_log.string());
  ExpectEachDerivedEventOnItsCasesPartitionOnce();
}

// The event ids of the alerts on the alerts topic, each as often as it is there.
std::multiset<std::string> AlertIdsOn(const TestBroker& broker) {
  std::multiset<std::string> ids;
  for (const auto& [partition, records] : ReadAll(broker, broker.topics().alerts)) {
    for (const auto& [key, value] : records) {
      const size_t at = value.find("\"event_id\":\"");
      if (at != std::string::npos) {
        ids.insert(value.substr(at + 12, value.find('"', at + 12) - at - 12));
      }
    }
  }
  return ids;
}

// Two engines sharing the partitions out: each one's live stream carries every alert raised
// after it connected, whichever engine raised it (each engine reads the alerts topic), and none
// that is not on the alerts topic; on a real cluster, each once.
// Two engines, A and B, started with `args(name)` ("a", "b"), each logging to a file of its own
// in `dir`, and the ports they listen on (nullopt: one did not start).
struct TwoEngines {
  using Args = std::function<std::vector<std::string>(const std::string&)>;
  TwoEngines(const fs::path& dir, Args args_of)
      : directory(dir),
        args(std::move(args_of)),
        a_log(dir / "a.log"),
        b_log(dir / "b.log"),
        a(std::make_unique<ChildProcess>(args("a"), a_log.string())),
        b(std::make_unique<ChildProcess>(args("b"), b_log.string())),
        a_port(WaitForPort(*a, a_log)),
        b_port(WaitForPort(*b, b_log)) {}

  // Both logs, for a failure's message.
  std::string logs() const {
    return ReadFileOrEmpty(a_log.string()) + "\n---\n" + ReadFileOrEmpty(b_log.string());
  }
  // A started again on its store, logging to a new file (where it says its new port).
  void RestartA() {
    a_log = directory / "a-again.log";
    a = std::make_unique<ChildProcess>(args("a"), a_log.string());
    a_port = WaitForPort(*a, a_log);
  }
  // Both stopped with SIGTERM: each exits 0.
  void Stop() {
    a->Signal(SIGTERM);
    b->Signal(SIGTERM);
    EXPECT_EQ(a->Wait(60), 0) << ReadFileOrEmpty(a_log.string());
    EXPECT_EQ(b->Wait(60), 0) << ReadFileOrEmpty(b_log.string());
  }

  const fs::path directory;
  const Args args;
  fs::path a_log;
  const fs::path b_log;
  std::unique_ptr<ChildProcess> a;
  std::unique_ptr<ChildProcess> b;
  std::optional<uint16_t> a_port;
  const std::optional<uint16_t> b_port;
};

// Waits (60 s) until two engines of a group between them hold every partition once, each some,
// with the first `records` records; whether they did.
bool Settled(uint16_t a, uint16_t b, size_t records) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto mine = OwnOffsetsOf(a);
    const auto theirs = OwnOffsetsOf(b);
    if (mine && theirs && !mine->empty() && !theirs->empty() &&
        mine->size() + theirs->size() == kPartitions) {
      int64_t held = 0;
      for (const auto* offsets : {&*mine, &*theirs}) {
        for (const auto& [partition, next] : *offsets) held += next;
      }
      if (held == static_cast<int64_t>(records)) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

TEST_F(CasewatchdTasks, EveryEnginesStreamCarriesTheAlertsOfEveryEngine) {
  TempDir dir;
  const SimulatedStream sim = Simulate(300, 12, 71);
  const size_t half = sim.records.size() / 2;
  ASSERT_TRUE(testing::Publish(broker().bootstrap_servers(), sim, 0, half,
                               broker().topics().events));
  const auto args = [&](const std::string& name) {
    std::vector<std::string> a = TasksArgs(broker(), dir.path() / name, sim.end);
    a.insert(a.end(), {"--group", "streams-" + broker().topics().events});
    return a;
  };
  TwoEngines engines(dir.path(), args);
  ASSERT_TRUE(engines.a_port && engines.b_port) << engines.logs();
  const uint16_t a_port = *engines.a_port;
  const uint16_t b_port = *engines.b_port;
  const auto logs = [&] { return engines.logs(); };
  const auto settled = [&](size_t records) { return Settled(a_port, b_port, records); };
  ASSERT_TRUE(settled(half)) << logs();
  ht::EventStreamReader a_stream(a_port, "/api/v1/stream", {});
  ht::EventStreamReader b_stream(b_port, "/api/v1/stream", {});
  using Events = std::vector<ht::EventStreamReader::Event>;
  for (auto* stream : {&a_stream, &b_stream}) {
    ASSERT_TRUE(stream->WaitFor([](const Events& e) { return !e.empty(); })) << logs();
  }
  const std::multiset<std::string> before = AlertIdsOn(broker());
  ASSERT_TRUE(testing::Publish(broker().bootstrap_servers(), sim, half, sim.records.size(),
                               broker().topics().events));
  ASSERT_TRUE(settled(sim.records.size())) << logs();
  // The alerts raised since: on the topic now and not before.
  std::set<std::string> raised;
  std::multiset<std::string> all;
  for (int i = 0; i < 100; ++i) {  // until the outboxes have published (10 s)
    all = AlertIdsOn(broker());
    raised.clear();
    for (const std::string& id : all) {
      if (before.count(id) == 0) raised.insert(id);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (all == AlertIdsOn(broker())) break;
  }
  ASSERT_FALSE(raised.empty()) << "the second half should miss some obligations";
  const auto streamed_ids = [](const Events& events) {
    std::multiset<std::string> ids;
    for (const auto& e : events) {
      if (e.type != "alert") continue;
      const size_t at = e.data.find("\"event_id\":\"");
      if (at != std::string::npos) {
        ids.insert(e.data.substr(at + 12, e.data.find('"', at + 12) - at - 12));
      }
    }
    return ids;
  };
  for (auto* stream : {&a_stream, &b_stream}) {
    const bool got_all = stream->WaitFor([&](const Events& e) {
      const std::multiset<std::string> ids = streamed_ids(e);
      return std::all_of(raised.begin(), raised.end(),
                         [&](const std::string& id) { return ids.count(id) > 0; });
    }, std::chrono::seconds(20));
    const std::multiset<std::string> ids = streamed_ids(stream->events());
    // Read again: what an outbox published after the loop above ended is streamed too, and a
    // stream reads only what is on the topic (read_committed).
    all = AlertIdsOn(broker());
    EXPECT_TRUE(got_all) << ids.size() << " alerts streamed of the " << raised.size()
                         << " raised since it connected" << logs();
    for (const std::string& id : ids) {
      EXPECT_GT(all.count(id), 0u) << id << ": streamed, not on the alerts topic";
      if (broker().real()) {
        EXPECT_EQ(ids.count(id), 1u) << id << ": streamed twice";
      }
    }
  }
  engines.Stop();
}

// A port free now (bound, then released) for an engine to listen on, so that a restarted engine
// is polled where it was.
uint16_t FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(address);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    ADD_FAILURE() << "no free port";
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

// Every record of the events topic by partition, in offset order from 0 (published by one
// idempotent producer, without transactions: no gaps).
std::map<int32_t, std::vector<std::string>> EventsByPartition(const TestBroker& broker) {
  std::map<int32_t, std::vector<std::string>> events;
  for (auto& [partition, records] : ReadAll(broker, broker.topics().events)) {
    for (auto& [key, value] : records) events[partition].push_back(std::move(value));
  }
  return events;
}

// A report's "cases" (its count of cases), as text.
std::string CasesOf(const std::string& report) {
  const size_t at = report.find("\"cases\":");
  return at == std::string::npos ? "no" : report.substr(at + 8, report.find(',', at) - at - 8);
}

// The replay, as of `as_of`, of the records `offsets` names ("0:120,3:88": each partition's
// records before its offset), in process.
std::string ReplayOfOffsets(const TempDir& dir,
                            const std::map<int32_t, std::vector<std::string>>& events,
                            const std::string& offsets, Instant as_of) {
  auto parsed = ParsePartitionOffsets(offsets);
  if (!parsed) return "unreadable offsets " + offsets;
  std::string file;
  for (const auto& [partition, next] : parsed.value()) {
    const auto found = events.find(partition);
    const size_t count = static_cast<size_t>(next);
    if (found == events.end() || found->second.size() < count) return "offsets past the end";
    for (size_t i = 0; i < count; ++i) ingest::AppendDelimited(found->second[i], file);
  }
  return Replay(dir, file, {}, as_of);
}

// The acceptance run of several engines, short of reads routed between them (each engine answers
// for the partitions it holds and names the rest as missing): six partitions, engines A, B and C
// in one group, and a client polling every engine's live report every 100 ms throughout:
//   - B is killed with SIGKILL during ingest, and restarted on its store;
//   - C's store is wiped, and C restarted;
//   - D joins, then A and B leave;
//   - A comes back, then A, C and D are restarted one at a time.
// Every answer the client gets equals the replay of exactly the records it names (its
// Casewatch-Offsets), and names the partitions it leaves out (Casewatch-Missing); every request
// to an engine that was up before and after it is answered 200; after each step the engines
// between them hold every partition once, each with every record; every derived event and alert
// is published once.
class CasewatchdTasksSix : public CasewatchdTasks {
 protected:
  int partitions() const override { return 6; }
};

TEST_F(CasewatchdTasksSix, AClientPollingEveryEngineGetsExactAnswersThroughKillsWipesAndRestarts) {
  TempDir dir;
  const SimulatedStream sim = Simulate(600, 12, 59);
  const size_t total = sim.records.size();
  const std::string group = "tasks-" + broker().topics().events;
  constexpr int kEngines = 4;  // A, B, C, D
  const std::vector<std::string> names = {"a", "b", "c", "d"};
  std::vector<uint16_t> ports;
  for (int e = 0; e < kEngines; ++e) ports.push_back(FreePort());
  std::vector<std::optional<ChildProcess>> engines(kEngines);
  std::atomic<unsigned> up{0};  // bit e: engine e serves HTTP, and is not being stopped
  std::array<std::atomic<int>, kEngines> life{};  // engine e's starts so far
  int started = 0;
  const auto start = [&](int e) {
    std::vector<std::string> args = TasksArgs(broker(), dir.path() / names[e], sim.end);
    *(std::find(args.begin(), args.end(), "--http-port") + 1) = std::to_string(ports[e]);
    args.insert(args.end(), {"--group", group});
    const fs::path log = dir.path() / fmt::format("{}-{}.log", names[e], started++);
    engines[e].emplace(args, log.string());
    ++life[e];
    ASSERT_TRUE(WaitForPort(*engines[e], log)) << ReadFileOrEmpty(log.string());
    up |= 1u << e;
  };
  const auto stop = [&](int e, int signal) {
    up &= ~(1u << e);
    engines[e]->Signal(signal);
    EXPECT_EQ(engines[e]->Wait(60), signal == SIGKILL ? 128 + SIGKILL : 0) << names[e];
    engines[e].reset();
  };

  // The client.
  struct Answer {
    int engine;
    int life;
    int status;
    std::string error, body, offsets, missing, pending, peers;
  };
  std::mutex answers_mutex;
  std::vector<Answer> answers;
  std::atomic<bool> polling{true};
  std::thread client([&] {
    while (polling) {
      for (int e = 0; e < kEngines; ++e) {
        const bool before = (up >> e) & 1u;
        const int life_before = life[e];
        ht::HttpCall call;
        call.target = "/api/v1/report";
        const ht::HttpReply reply = ht::Fetch(ports[e], call, false, std::chrono::seconds(10));
        // Stopped or started around the request: not counted.
        if (!before || !((up >> e) & 1u) || life[e] != life_before) continue;
        std::lock_guard lock(answers_mutex);
        answers.push_back(Answer{e, life_before, reply.status, reply.error, reply.body,
                                 reply.Header("casewatch-offsets"),
                                 reply.Header("casewatch-missing"),
                                 reply.Header("casewatch-pending"),
                                 reply.Header("casewatch-peers")});
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });

  // Until the running engines between them hold every partition once, each with all `published`
  // of its records; false after 90 s. What each holds itself, not what it answers with its
  // peers' counts added.
  const auto settled = [&](size_t published) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    while (std::chrono::steady_clock::now() < deadline) {
      std::map<int32_t, int> holders;
      int64_t records = 0;
      for (int e = 0; e < kEngines; ++e) {
        if (!((up >> e) & 1u)) continue;
        const auto offsets = OwnOffsetsOf(ports[e]);
        if (!offsets) continue;
        for (const auto& [partition, next] : *offsets) {
          ++holders[partition];
          records += next;
        }
      }
      bool once = holders.size() == 6;
      for (const auto& [partition, count] : holders) once = once && count == 1;
      if (once && records == static_cast<int64_t>(published)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  };
  const auto publish = [&](size_t from, size_t to) {
    ASSERT_TRUE(testing::Publish(broker().bootstrap_servers(), sim, from, to,
                                 broker().topics().events));
  };

  publish(0, total / 3);
  for (int e : {0, 1, 2}) start(e);
  EXPECT_TRUE(settled(total / 3)) << "A, B and C";
  // B is killed during ingest; A and C take its partitions over; B comes back on its store.
  publish(total / 3, total / 2);
  stop(1, SIGKILL);
  const auto killed_at = std::chrono::steady_clock::now();
  publish(total / 2, 2 * total / 3);
  EXPECT_TRUE(settled(2 * total / 3)) << "after B was killed";
  std::printf("B's partitions served again and caught up %.1f s after it was killed\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count());
  start(1);
  EXPECT_TRUE(settled(2 * total / 3)) << "B back";
  // C's store is wiped: it builds its tasks again from the events topic.
  stop(2, SIGTERM);
  fs::remove_all(dir.path() / "c");
  start(2);
  publish(2 * total / 3, total);
  EXPECT_TRUE(settled(total)) << "C wiped";
  // D joins; then A and B leave.
  start(3);
  EXPECT_TRUE(settled(total)) << "D joined";
  stop(0, SIGTERM);
  stop(1, SIGTERM);
  EXPECT_TRUE(settled(total)) << "A and B left";
  // A comes back; then A, C and D are restarted one at a time.
  start(0);
  EXPECT_TRUE(settled(total)) << "A back";
  for (int e : {0, 2, 3}) {
    stop(e, SIGTERM);
    start(e);
    EXPECT_TRUE(settled(total)) << names[e] << " restarted";
  }
  // Settled, each engine answers for the whole topic: its own partitions' counts and the others'
  // (Casewatch-Peers), within the directory's interval of the last move.
  std::vector<std::string> whole(kEngines);  // per engine: offsets, newline, whole-topic report
  for (int e : {0, 2, 3}) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (whole[e].empty() && std::chrono::steady_clock::now() < deadline) {
      const ht::HttpReply reply = Get(ports[e], "/api/v1/report");
      const auto held = ParsePartitionOffsets(reply.Header("casewatch-offsets"));
      if (reply.status == 200 && reply.Header("casewatch-missing").empty() && held &&
          held.value().size() == 6 && !reply.Header("casewatch-peers").empty()) {
        whole[e] = reply.Header("casewatch-offsets") + "\n" + reply.body;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_FALSE(whole[e].empty()) << names[e] << " never answered for every partition";
  }
  polling = false;
  client.join();

  // Every answer: the replay of what it names. A request to an engine up before and after it is
  // answered 200, but for the engine's first moments, before it has projected anything: then
  // 503 not_ready, as /readyz says (what a load balancer asks).
  const auto events = EventsByPartition(broker());
  std::map<std::string, std::string> replays;  // by offsets
  std::set<std::pair<int, int>> answered;        // (engine, life) that have answered 200
  size_t partial = 0, not_ready = 0, behind = 0, wrong = 0, federated = 0;
  for (const Answer& answer : answers) {
    if (answer.status == 503 && answer.body.find("not_ready") != std::string::npos &&
        answered.count({answer.engine, answer.life}) == 0) {
      ++not_ready;
      continue;
    }
    ASSERT_EQ(answer.status, 200) << names[answer.engine] << ": " << answer.error << answer.body;
    answered.insert({answer.engine, answer.life});
    if (!answer.peers.empty()) ++federated;
    // Cases whose newest events are stored but not yet counted (a task catching up stores first,
    // then counts): the answer says it is behind its offsets (Casewatch-Pending).
    if (!answer.pending.empty()) {
      ++behind;
    } else {
      auto [at, added] = replays.emplace(answer.offsets, "");
      if (added) at->second = ReplayOfOffsets(dir, events, answer.offsets, sim.end);
      if (answer.body != at->second && ++wrong <= 10) {  // the first few, briefly
        ADD_FAILURE() << "engine " << names[answer.engine] << " (start " << answer.life
                      << "), answer " << (&answer - answers.data()) << ", at " << answer.offsets
                      << " missing " << answer.missing << ": " << CasesOf(answer.body)
                      << " cases; the replay of what it names: " << CasesOf(at->second);
      }
    }
    auto held = ParsePartitionOffsets(answer.offsets);
    ASSERT_TRUE(held) << answer.offsets;
    std::set<int32_t> named;  // held or missing: every partition, once
    for (const auto& [partition, next] : held.value()) named.insert(partition);
    size_t missing = 0;
    if (!answer.missing.empty()) {
      for (std::string_view rest = answer.missing; !rest.empty();) {
        const std::string item(rest.substr(0, rest.find(',')));
        rest.remove_prefix(std::min(rest.size(), item.size() + 1));
        named.insert(std::stoi(item));
        ++missing;
      }
      ++partial;
    }
    EXPECT_EQ(named.size(), 6u) << answer.offsets << " missing " << answer.missing;
    EXPECT_EQ(held.value().size() + missing, 6u) << answer.offsets << " missing " << answer.missing;
  }
  EXPECT_EQ(wrong, 0u) << "answers that are not the replay of what they name";
  EXPECT_GT(answers.size(), 100u);
  EXPECT_GT(federated, 0u) << "no answer added another engine's counts (Casewatch-Peers)";
  for (int e : {0, 2, 3}) {  // the whole topic's answers, too, are the replay of what they name
    if (whole[e].empty()) continue;
    const std::string offsets = whole[e].substr(0, whole[e].find('\n'));
    EXPECT_EQ(whole[e].substr(offsets.size() + 1),
              ReplayOfOffsets(dir, events, offsets, sim.end))
        << names[e] << " at " << offsets;
  }
  std::printf("%zu answers: %zu adding other engines' counts (Casewatch-Peers), %zu naming "
              "missing partitions, %zu saying they are behind their offsets (Casewatch-Pending), "
              "%zu not ready (engines just started); %zu distinct answers equal to the replay of "
              "what they name\n",
              answers.size(), federated, partial, behind, not_ready, replays.size());
  for (int e = 0; e < kEngines; ++e) {
    if (engines[e]) stop(e, SIGTERM);
  }
  ExpectEachDerivedEventOnItsCasesPartitionOnce();
  if (HasFailure()) {  // what each engine said about its outboxes, to tell what went wrong
    for (const auto& entry : fs::directory_iterator(dir.path())) {
      if (entry.path().extension() != ".log") continue;
      std::istringstream text(ReadFileOrEmpty(entry.path().string()));
      for (std::string line; std::getline(text, line);) {
        if (line.find("outbox") != std::string::npos || line.find("task") != std::string::npos) {
          std::printf("%s: %s\n", entry.path().filename().c_str(), line.c_str());
        }
      }
    }
  }
}

// A store of the whole topic is not taken for tasks' stores, nor tasks' stores for one store:
// each refusal says what to do.
TEST_F(CasewatchdTasks, AStoreOfTheOtherLayoutIsRefusedSayingWhatToDo) {
  TempDir dir;
  const fs::path data = dir.path() / "data";
  const Instant now{1767225600, 0};
  {
    // One store of the whole topic, made by casewatchd without --tasks.
    std::vector<std::string> args = TasksArgs(broker(), data, now);
    args.erase(args.begin() + 1);  // --tasks
    ChildProcess engine(args, (dir.path() / "whole.log").string());
    ASSERT_TRUE(WaitForPort(engine, dir.path() / "whole.log"))
        << ReadFileOrEmpty((dir.path() / "whole.log").string());
    engine.Signal(SIGTERM);
    ASSERT_EQ(engine.Wait(30), 0);
  }
  auto refused = RunProcess(TasksArgs(broker(), data, now));
  EXPECT_EQ(refused.exit_code, 2) << refused.out << refused.err;
  EXPECT_NE((refused.out + refused.err).find("holds one store of the whole events topic"),
            std::string::npos)
      << refused.out << refused.err;

  const fs::path tasks = dir.path() / "tasks-data";
  fs::create_directories(tasks / "tasks" / "p0");
  std::vector<std::string> whole = TasksArgs(broker(), tasks, now);
  whole.erase(whole.begin() + 1);
  auto not_tasks = RunProcess(whole);
  EXPECT_EQ(not_tasks.exit_code, 2) << not_tasks.out << not_tasks.err;
  EXPECT_NE((not_tasks.out + not_tasks.err).find("start with --tasks"), std::string::npos)
      << not_tasks.out << not_tasks.err;
}

// Whether case `case_id`'s timeline, as engine `port` gives it, lists event `event_id`; nullopt
// when it gives none.
std::optional<bool> TimelineLists(uint16_t port, const std::string& case_id,
                                  const std::string& event_id) {
  const ht::HttpReply reply = Get(port, "/api/v1/cases/" + case_id + "?page_size=5000");
  if (reply.status != 200) return std::nullopt;
  return reply.body.find("\"event_id\":\"" + event_id + "\"") != std::string::npos;
}

// An event_id is unique across all cases, and the case that had it first may be in a partition
// another engine of the group runs. Two engines share three partitions out; then come events that
// reuse, for a case of each partition, the id of an event of each other partition (a conflict
// each, as in one store), and new ids published for cases of two partitions at once (a race the
// engines settle through the ids topic). Each conflict is refused (a dead letter, not in its
// case's timeline), and both engines answer as one store fed the events in the order they were
// published; each raced id is one case's, the same from either engine. Then one engine is killed
// with SIGKILL: the other, from its copies, answers as both did; restarted, the killed engine
// catches up what it missed and answers alike.
TEST_F(CasewatchdTasks, AnEventIdIsAcceptedOnceAcrossTheEnginesOfAGroupWhateverItsCase) {
  TempDir dir;
  const SimulatedStream sim = Simulate(150, 12, 73);
  ASSERT_TRUE(testing::Publish(broker().bootstrap_servers(), sim, 0, sim.records.size(),
                               broker().topics().events));
  const auto args = [&](const std::string& name) {
    std::vector<std::string> a = TasksArgs(broker(), dir.path() / name, sim.end);
    a.insert(a.end(), {"--group", "ids-" + broker().topics().events});
    return a;
  };
  TwoEngines engines(dir.path(), args);
  ASSERT_TRUE(engines.a_port && engines.b_port) << engines.logs();
  std::optional<uint16_t>& a_port = engines.a_port;
  const std::optional<uint16_t>& b_port = engines.b_port;
  const auto logs = [&] { return engines.logs(); };
  ASSERT_TRUE(Settled(*a_port, *b_port, sim.records.size())) << logs();

  // Each partition's first case and last event, and the ids of its events.
  struct Partition {
    std::string case_id;
    events::v1::Envelope last;  // of case_id
    std::vector<std::string> ids;
  };
  std::map<int32_t, Partition> partitions;
  for (const auto& [partition, records] : ReadAll(broker(), broker().topics().events)) {
    Partition& p = partitions[partition];
    for (const auto& [key, value] : records) {
      events::v1::Envelope envelope;
      ASSERT_TRUE(envelope.ParseFromString(value));
      p.ids.push_back(envelope.event_id());
      if (p.case_id.empty()) p.case_id = key;
      if (key == p.case_id) p.last = envelope;
    }
  }
  ASSERT_EQ(partitions.size(), static_cast<size_t>(kPartitions));
  struct Sent {
    int32_t partition;
    std::string case_id;
    std::string event_id;
    std::string value;
  };
  // A copy of partition q's case's last event under `id`.
  const auto copy_to = [&](int32_t q, const std::string& id) {
    events::v1::Envelope envelope = partitions.at(q).last;
    envelope.set_event_id(id);
    return Sent{q, partitions.at(q).case_id, id, envelope.SerializeAsString()};
  };
  const auto send = [&](const std::vector<Sent>& records) {
    auto producer = kafka::Producer::Open(kafka::KafkaConfig{broker().bootstrap_servers(), {}});
    ASSERT_TRUE(producer);
    for (const Sent& r : records) {
      ASSERT_TRUE(producer.value().Produce(broker().topics().events, r.case_id, r.value, {}, {},
                                           r.partition));
    }
    ASSERT_TRUE(producer.value().Flush(std::chrono::seconds(30)));
    ASSERT_EQ(producer.value().failed(), 0u);
  };
  std::vector<Sent> conflicts;
  for (int32_t p = 0; p < kPartitions; ++p) {
    for (int32_t q = 0; q < kPartitions; ++q) {
      if (p != q) conflicts.push_back(copy_to(q, partitions.at(p).ids.at(10 + q)));
    }
  }
  send(conflicts);
  size_t records = sim.records.size() + conflicts.size();
  ASSERT_TRUE(Settled(*a_port, *b_port, records)) << logs();
  // One store, fed the events in the order they were published.
  std::string file;
  for (const std::string& record : sim.records) ingest::AppendDelimited(record, file);
  for (const Sent& c : conflicts) ingest::AppendDelimited(c.value, file);
  std::vector<std::string> refused;
  const std::string replay = Replay(dir, file, {}, sim.end, &refused);
  EXPECT_EQ(refused.size(), conflicts.size()) << "one store refuses each conflict";
  for (uint16_t port : {*a_port, *b_port}) {
    const Holding holding = WaitFor(port, [&](const Holding& h) {
      return h.records == static_cast<int64_t>(records) && h.missing.empty();
    });
    EXPECT_EQ(holding.body, replay) << "engine on port " << port << logs();
    for (const Sent& c : conflicts) {
      EXPECT_EQ(TimelineLists(port, c.case_id, c.event_id), std::optional<bool>(false))
          << c.event_id << " accepted for " << c.case_id << ", a case of partition "
          << c.partition << ", though another case had it";
    }
  }
  // The engines wrote claims (an engine given a task already caught up may have written none: a
  // conflict's id is claimed already), and each read both engines' (its /metrics).
  const auto metric = [](uint16_t port, const std::string& name) -> int64_t {
    const std::regex line("\n" + name + " (\\d+)\n");
    std::smatch match;
    const std::string body = Get(port, "/metrics").body;
    return std::regex_search(body, match, line) ? std::stoll(match[1].str()) : -1;
  };
  const int64_t written = metric(*a_port, "casewatch_event_id_claims_written_total") +
                          metric(*b_port, "casewatch_event_id_claims_written_total");
  EXPECT_GT(written, 0);
  for (uint16_t port : {*a_port, *b_port}) {
    EXPECT_GE(metric(port, "casewatch_event_id_claims_written_total"), 0);
    EXPECT_GE(metric(port, "casewatch_event_id_claims_read_total"), written);
    EXPECT_EQ(metric(port, "casewatch_event_id_ledger_caught_up"), 1);
    int64_t waiting = -1;  // a standby may still be on its last batch
    for (int i = 0; i < 100 && waiting != 0; ++i) {
      waiting = metric(port, "casewatch_event_id_claims_waiting");
      if (waiting != 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(waiting, 0);
  }
  // Each conflict is a dead letter saying so, once each on a real cluster.
  std::multiset<std::string> dead;  // the events refused as conflicts
  for (int i = 0; i < 100; ++i) {  // until the outboxes have published them (10 s)
    dead.clear();
    for (const auto& [partition, letters] : ReadAll(broker(), broker().topics().dead_letters)) {
      for (const auto& [key, value] : letters) {
        store::v1::DeadLetter letter;
        ASSERT_TRUE(letter.ParseFromString(value));
        if (letter.reason().find("already accepted with different content") != std::string::npos) {
          dead.insert(letter.value());
        }
      }
    }
    if (dead.size() >= conflicts.size()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (const Sent& c : conflicts) {
    EXPECT_GE(dead.count(c.value), 1u) << c.event_id << " on " << c.case_id << ": no dead letter";
  }
  if (broker().real()) {
    EXPECT_EQ(dead.size(), conflicts.size());
  }

  // Races: each new id for a case of two partitions at once.
  const auto race = [&](const std::string& name) {
    std::vector<Sent> raced;
    for (int n = 0; n < 12; ++n) {
      const int32_t p = n % kPartitions;
      const int32_t q = (n + 1 + n / kPartitions % 2) % kPartitions;
      const std::string id = fmt::format("{}-{}", name, n);
      raced.push_back(copy_to(p, id));
      raced.push_back(copy_to(q, id));
    }
    send(raced);
    return raced;
  };
  const std::vector<Sent> races = race("raced");
  records += races.size();
  ASSERT_TRUE(Settled(*a_port, *b_port, records)) << logs();
  // Which of each pair has the id, as engine `port` answers: "0" or "1" each.
  const auto winners = [&](uint16_t port, const std::vector<Sent>& raced) {
    std::string won;
    for (size_t k = 0; k < raced.size(); k += 2) {
      const auto first = TimelineLists(port, raced[k].case_id, raced[k].event_id);
      const auto second = TimelineLists(port, raced[k + 1].case_id, raced[k + 1].event_id);
      if (!first || !second) return std::string("no timeline");
      if (*first == *second) {
        return fmt::format("{} is {} case's", raced[k].event_id, *first ? "each" : "neither");
      }
      won += *first ? '0' : '1';
    }
    return won;
  };
  const std::string won = winners(*a_port, races);
  EXPECT_EQ(won.size(), races.size() / 2) << won << logs();
  EXPECT_EQ(winners(*b_port, races), won);
  const Holding before = WaitFor(*a_port, [&](const Holding& h) {
    return h.records == static_cast<int64_t>(records) && h.missing.empty();
  });
  EXPECT_EQ(WaitFor(*b_port, [&](const Holding& h) {
              return h.records == static_cast<int64_t>(records) && h.missing.empty();
            }).body,
            before.body);

  // B alone, from its copies of A's tasks (or caught up), decides as A did.
  engines.a->Signal(SIGKILL);
  engines.a->Wait(30);
  const auto b_alone = [&] {
    const auto own = OwnOffsetsOf(*b_port);
    if (!own || own->size() != static_cast<size_t>(kPartitions)) return false;
    int64_t held = 0;
    for (const auto& [partition, next] : *own) held += next;
    return held == static_cast<int64_t>(records);
  };
  const auto wait_b_alone = [&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!b_alone() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return b_alone();
  };
  ASSERT_TRUE(wait_b_alone()) << logs();
  EXPECT_EQ(winners(*b_port, races), won);
  EXPECT_EQ(WaitFor(*b_port, [&](const Holding& h) {
              return h.records == static_cast<int64_t>(records) && h.missing.empty() &&
                     h.peers.empty();
            }).body,
            before.body);

  // More races while A is down; A, restarted on its store, catches up what B ran meanwhile in
  // the tasks it takes back, and decides as B did.
  const std::vector<Sent> later = race("later");
  records += later.size();
  ASSERT_TRUE(wait_b_alone()) << logs();
  const std::string won_later = winners(*b_port, later);
  EXPECT_EQ(won_later.size(), later.size() / 2) << won_later << logs();
  const std::string after = WaitFor(*b_port, [&](const Holding& h) {
    return h.records == static_cast<int64_t>(records) && h.missing.empty();
  }).body;
  engines.RestartA();
  ASSERT_TRUE(a_port) << logs();
  using Offsets = std::map<int32_t, int64_t>;
  ASSERT_TRUE(Settled(*a_port, *b_port, records))
      << "A holds " << fmt::format("{}", OwnOffsetsOf(*a_port).value_or(Offsets{}))
      << ", B " << fmt::format("{}", OwnOffsetsOf(*b_port).value_or(Offsets{}))
      << " of " << records << logs();
  EXPECT_EQ(winners(*a_port, races), won);
  EXPECT_EQ(winners(*a_port, later), won_later);
  for (uint16_t port : {*a_port, *b_port}) {
    EXPECT_EQ(WaitFor(port, [&](const Holding& h) {
                return h.records == static_cast<int64_t>(records) && h.missing.empty();
              }).body,
              after);
  }
  engines.Stop();
}

// Engines serving HTTPS (--tls-cert) ask each other over TLS, checking each other's certificate
// against --peer-ca-file: an engine answers for the whole topic, naming the other at https://.
// An engine given another CA leaves the other's partitions missing (no copies are kept here,
// which it would otherwise count them from).
TEST_F(CasewatchdTasks, EnginesServingHttpsAskEachOtherOverTls) {
  TempDir dir;
  const ht::Certificate own = ht::MakeCertificate(dir.path().string(), "engines");
  const ht::Certificate other = ht::MakeCertificate(dir.path().string(), "other");
  ASSERT_EQ(own.error, "");
  ASSERT_EQ(other.error, "");
  const SimulatedStream sim = Simulate(100, 12, 79);
  ASSERT_TRUE(testing::Publish(broker().bootstrap_servers(), sim, 0, sim.records.size(),
                               broker().topics().events));
  const auto args = [&](const std::string& name) {  // A trusts the engines' CA, B another
    std::vector<std::string> a = TasksArgs(broker(), dir.path() / name, sim.end);
    a.insert(a.end(), {"--group", "tls-" + broker().topics().events, "--tls-cert", own.cert,
                       "--tls-key", own.key, "--peer-ca-file",
                       name == "a" ? own.cert : other.cert, "--http-address", "127.0.0.1",
                       "--standby-replicas", "0"});
    return a;
  };
  TwoEngines engines(dir.path(), args);
  ASSERT_TRUE(engines.a_port && engines.b_port) << engines.logs();
  const std::optional<uint16_t>& a_port = engines.a_port;
  const std::optional<uint16_t>& b_port = engines.b_port;
  const auto logs = [&] { return engines.logs(); };
  // Until the answer of engine `port` (over TLS) holds `ready`; the last answer.
  const auto wait = [&](uint16_t port, const std::function<bool(const ht::HttpReply&)>& ready) {
    ht::HttpCall call;
    call.target = "/api/v1/report";
    ht::HttpReply reply;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      reply = ht::Fetch(port, call, /*tls=*/true);
      if (reply.status == 200 && ready(reply)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return reply;
  };
  const std::string b_url = fmt::format("https://127.0.0.1:{}", *b_port);
  const ht::HttpReply whole = wait(*a_port, [&](const ht::HttpReply& r) {
    return Reflected(r) == static_cast<int64_t>(sim.records.size()) &&
           r.Header("casewatch-missing").empty() && r.Header("casewatch-peers") == b_url;
  });
  EXPECT_EQ(Reflected(whole), static_cast<int64_t>(sim.records.size())) << logs();
  EXPECT_EQ(whole.Header("casewatch-missing"), "") << logs();
  EXPECT_EQ(whole.Header("casewatch-peers"), b_url) << logs();
  // B checks A's certificate against another CA: A's partitions stay missing.
  const ht::HttpReply partial = wait(*b_port, [](const ht::HttpReply& r) {
    return !r.Header("casewatch-missing").empty();
  });
  EXPECT_NE(partial.Header("casewatch-missing"), "") << logs();
  EXPECT_EQ(partial.Header("casewatch-peers"), "") << logs();
  engines.Stop();
}

// On the wall clock, every task of every engine moves to the next second a moment after the
// others (each when its next poll returns). Two engines of a group, settled, are asked for the
// whole topic's live report again and again in the first 80 ms of ten seconds, when they are
// most often at different instants. Each answer is as of the instant both kept their counts of:
// it names every partition held, none missing, and equals the replay at its instant of what it
// names. (Without the kept instants, most of these answers named the other engine's partitions
// missing.)
TEST_F(CasewatchdTasks, EnginesOnTheWallClockAnswerForTheWholeTopicAcrossEachTick) {
  TempDir dir;
  const SimulatedStream sim = Simulate(200, 6, 83);
  ASSERT_TRUE(testing::Publish(broker().bootstrap_servers(), sim, 0, sim.records.size(),
                               broker().topics().events));
  const auto args = [&](const std::string& name) {
    std::vector<std::string> a = TasksArgs(broker(), dir.path() / name, std::nullopt);
    a.insert(a.end(), {"--group", "ticks-" + broker().topics().events, "--standby-replicas", "0"});
    return a;
  };
  TwoEngines engines(dir.path(), args);
  ASSERT_TRUE(engines.a_port && engines.b_port) << engines.logs();
  const std::array<uint16_t, 2> ports = {*engines.a_port, *engines.b_port};
  constexpr int kTicks = 10;
  ASSERT_TRUE(Settled(ports[0], ports[1], sim.records.size())) << engines.logs();
  for (uint16_t port : ports) {  // each answers for the whole topic
    ASSERT_NE(WaitForReport(port, sim.records.size()), "") << engines.logs();
  }

  std::vector<ht::HttpReply> answers;
  std::vector<size_t> tick_of;  // answers[i] was asked in the tick_of[i]th second
  for (int tick = 0; tick < kTicks; ++tick) {
    const auto now = std::chrono::system_clock::now();
    const auto next = std::chrono::ceil<std::chrono::seconds>(now);
    std::this_thread::sleep_until(next + std::chrono::milliseconds(1));
    while (std::chrono::system_clock::now() < next + std::chrono::milliseconds(80)) {
      for (uint16_t port : ports) {
        answers.push_back(Get(port, "/api/v1/report"));
        tick_of.push_back(tick);
      }
    }
  }
  const auto events = EventsByPartition(broker());
  std::map<std::string, std::string> replays;  // by instant and offsets
  size_t partial = 0;
  std::set<size_t> partial_ticks;
  std::set<std::string> instants;
  for (size_t i = 0; i < answers.size(); ++i) {
    const ht::HttpReply& answer = answers[i];
    ASSERT_EQ(answer.status, 200) << answer.error << answer.body;
    if (!answer.Header("casewatch-missing").empty()) {
      ++partial;
      partial_ticks.insert(tick_of[i]);
      continue;
    }
    const std::string offsets = answer.Header("casewatch-offsets");
    EXPECT_EQ(Reflected(answer), static_cast<int64_t>(sim.records.size())) << offsets;
    const size_t at = answer.body.find("\"as_of\":\"");
    ASSERT_NE(at, std::string::npos) << answer.body;
    const std::string as_of = answer.body.substr(at + 9, answer.body.find('"', at + 9) - at - 9);
    auto instant = ParseInstant(as_of);
    ASSERT_TRUE(instant) << as_of;
    instants.insert(as_of);
    auto [replay, added] = replays.try_emplace(as_of + " " + offsets);
    if (added) replay->second = ReplayOfOffsets(dir, events, offsets, instant.value());
    EXPECT_EQ(answer.body, replay->second) << "as of " << as_of << " at " << offsets;
  }
  std::printf("%zu answers in the first 80 ms of %d seconds, at %zu instants: %zu naming a "
              "partition missing, in %zu of the seconds\n",
              answers.size(), kTicks, instants.size(), partial, partial_ticks.size());
  EXPECT_GT(answers.size(), 40u);
  EXPECT_GE(instants.size(), kTicks - 2u) << "the engines' instants moved on with the clock";
  // A task stalled for a whole second (a loaded machine) keeps no instant with the others, and
  // its engine's answers name the other's partitions for that second: one such second, not
  // every one.
  EXPECT_LE(partial_ticks.size(), 1u) << partial << " of " << answers.size()
                                      << " answers named a partition missing";
  engines.Stop();
}

}  // namespace
}  // namespace casewatch::daemon
