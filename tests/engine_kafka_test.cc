// The engine against a Kafka broker and a real RocksDB directory: live equals replay, broker
// faults lose nothing, bad input goes to the dead-letter topic, and casewatchd killed with SIGKILL
// at random points ends identical to an uninterrupted run.
//
// The broker is librdkafka's mock cluster over TCP in this process, or, with
// $CASEWATCH_KAFKA_CLUSTER set (the ctest label real_kafka), the real Apache Kafka cluster it
// names, each test with topics of its own (testing::TestBroker). The mock's injected faults have
// their real counterparts in tests/real_kafka.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <random>
#include <thread>

#include "base/temp_dir.h"
#include "services/daemon/engine_loop.h"
#include "services/reports/store_report.h"
#include "services/daemon/testing/kafka_harness.h"
#include "services/engine/testing/simulated_stream.h"
#include "services/kafka/consumer.h"
#include "services/kafka/mock_cluster.h"
#include "tests/support/process.h"

namespace casewatch::daemon {
namespace {

using engine::InputRecord;
using reports::ReportFromStore;
using reports::StoreReportRequest;

using casewatch::TempDir;
using casewatch::testing::ChildProcess;
using engine::testing::Replay;
using engine::testing::Simulate;
using engine::testing::SimulatedStream;

constexpr int kPartitions = 3;

using testing::TestBroker;

// Each test with a broker of its own (on a real cluster: topics of its own).
class EngineOverKafka : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = TestBroker::Start(kPartitions);
    ASSERT_TRUE(started) << started.error().message;
    broker_.emplace(std::move(started).value());
  }
  const TestBroker& broker() const { return *broker_; }

 private:
  std::optional<TestBroker> broker_;
};
using Casewatchd = EngineOverKafka;

// Publishes records [from, to) keyed by case to the broker's events topic and waits for every
// acknowledgement.
void PublishOrFail(const TestBroker& broker, const SimulatedStream& sim, size_t from, size_t to) {
  auto published =
      testing::Publish(broker.bootstrap_servers(), sim, from, to, broker.topics().events);
  ASSERT_TRUE(published) << published.error().message;
}

// The engine on its own thread, until Stop: small batches, frequent status (lag).
class EngineThread : public testing::EngineThread {
 public:
  EngineThread(store::Store& store, const TestBroker& broker, Instant frozen)
      : testing::EngineThread(store, Options(broker, frozen)) {}

 private:
  static RunnerOptions Options(const TestBroker& broker, Instant frozen) {
    RunnerOptions options = testing::FrozenClockOptions(broker.bootstrap_servers(), frozen);
    broker.Configure(options);
    options.max_batch = 500;
    options.status_interval = std::chrono::milliseconds(200);
    return options;
  }
};

std::string StoreReport(const store::StoreReader& store, const StoreReportRequest& request) {
  auto report = ReportFromStore(store, request);
  EXPECT_TRUE(report) << report.error().message;
  return report ? report.value().json : "";
}

TEST_F(EngineOverKafka, LiveEqualsReplayAtSeveralInstantsAndScopes) {
  TempDir dir;
  const TestBroker& broker = this->broker();
  const SimulatedStream sim = Simulate(200, 12, 21);
  PublishOrFail(broker, sim, 0, sim.records.size());
  auto store = store::Store::Open(dir.path() / "store");
  ASSERT_TRUE(store);
  {
    EngineThread engine(*store.value(), broker, sim.end);
    ASSERT_TRUE(engine.WaitFor(sim.records.size(), 60)) << engine.applied();
    const Result<void>& stopped = engine.Stop();
    ASSERT_TRUE(stopped) << stopped.error().message;
  }
  EXPECT_EQ(StoreReport(*store.value(), {}), Replay(dir, sim.file_bytes, {}, sim.end));
  StoreReportRequest scoped;
  scoped.case_items = true;
  ASSERT_TRUE(
      store.value()->ScanProjections([&](std::string_view, const store::v1::CaseProjection& p) {
        if (!scoped.scope.pdu && p.counted()) scoped.scope.pdu = p.pdu();
      }));
  EXPECT_EQ(StoreReport(*store.value(), scoped), Replay(dir, sim.file_bytes, scoped, sim.end));
  for (int days_back : {45, 150}) {
    StoreReportRequest past;
    past.as_of = Instant{sim.end.seconds - days_back * 86400, 0};
    past.from = DateOf(*past.as_of) + -90;
    EXPECT_EQ(StoreReport(*store.value(), past), Replay(dir, sim.file_bytes, past, *past.as_of));
  }
}

TEST_F(EngineOverKafka, FarBehindItStoresFirstThenProjectsAndSaysItIsCatchingUpUntilDone) {
  TempDir dir;
  const TestBroker& broker = this->broker();
  const SimulatedStream sim = Simulate(300, 12, 17);
  PublishOrFail(broker, sim, 0, sim.records.size());
  auto store = store::Store::Open(dir.path() / "store");
  ASSERT_TRUE(store);
  RunnerOptions options = testing::FrozenClockOptions(broker.bootstrap_servers(), sim.end);
  broker.Configure(options);
  options.max_batch = 500;
  options.catch_up_batch = 500;  // many batches, stored one by one
  options.catch_up_lag = 2000;
  options.engine.max_cases_per_write = 50;
  std::atomic<bool> stop{false};
  std::atomic<bool> saw_catching_up{false};
  std::atomic<bool> done{false};
  std::atomic<uint64_t> most_pending{0};
  std::atomic<int64_t> most_behind_partition{0};  // the largest one partition's lag seen
  std::atomic<int> partition_lag_mismatches{0};    // statuses whose partitions do not add up
  Result<void> ran = Ok();
  std::thread engine([&] {
    ran = RunEngine(*store.value(), options, stop, [&](const RunnerStatus& s) {
      if (s.catching_up) saw_catching_up = true;
      // Each partition's lag, in partition order, adding up to the lag when all are known.
      int64_t sum = 0;
      bool known = !s.partitions.empty();
      for (size_t i = 0; i < s.partitions.size(); ++i) {
        if (s.partitions[i].partition != static_cast<int32_t>(i)) ++partition_lag_mismatches;
        if (s.partitions[i].lag < 0) known = false;
        sum += s.partitions[i].lag;
        most_behind_partition = std::max<int64_t>(most_behind_partition, s.partitions[i].lag);
      }
      if (s.partitions.size() != static_cast<size_t>(kPartitions)) ++partition_lag_mismatches;
      if (known && sum != s.lag) ++partition_lag_mismatches;
      most_pending = std::max<uint64_t>(most_pending, s.counters.cases_pending);
      const uint64_t applied = s.counters.accepted + s.counters.duplicates + s.counters.rejected;
      if (applied == sim.records.size() && !s.catching_up) done = true;
    });
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!done && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop = true;
  engine.join();
  ASSERT_TRUE(ran) << ran.error().message;
  ASSERT_TRUE(done);
  EXPECT_TRUE(saw_catching_up);
  EXPECT_GT(most_pending, 200u) << "most cases were stored before being projected";
  EXPECT_EQ(partition_lag_mismatches, 0) << "a lag per partition, adding up to the lag";
  EXPECT_GT(most_behind_partition, 0) << "some partition was seen behind";
  size_t pending = 0;
  ASSERT_TRUE(store.value()->ScanPendingCases([&](std::string_view) { ++pending; }));
  EXPECT_EQ(pending, 0u);
  StoreReportRequest items;
  items.case_items = true;
  EXPECT_EQ(StoreReport(*store.value(), items), Replay(dir, sim.file_bytes, items, sim.end));
  EXPECT_EQ(StoreReport(*store.value(), {}), Replay(dir, sim.file_bytes, {}, sim.end));
}

// The mock's own faults (always the mock; tests/real_kafka kills, freezes and restarts real
// brokers).
TEST(EngineOverMockKafka, BrokerDownAndRequestErrorsLoseNothing) {
  TempDir dir;
  auto started = testing::StartCluster(kPartitions);
  ASSERT_TRUE(started) << started.error().message;
  kafka::MockCluster& cluster = started.value();
  const SimulatedStream sim = Simulate(120, 10, 33);
  const size_t half = sim.records.size() / 2;
  ASSERT_TRUE(testing::Publish(cluster.bootstrap_servers(), sim, 0, half));
  auto store = store::Store::Open(dir.path() / "store");
  ASSERT_TRUE(store);
  testing::EngineThread engine(*store.value(), [&] {
    RunnerOptions options = testing::FrozenClockOptions(cluster.bootstrap_servers(), sim.end);
    options.max_batch = 500;
    options.status_interval = std::chrono::milliseconds(200);
    return options;
  }());
  ASSERT_TRUE(engine.WaitFor(half / 4, 30));
  cluster.SetBrokerDown(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  cluster.SetBrokerUp(1);
  cluster.InjectRequestErrors(kafka::ApiKey::kFetch, 5, kafka::RequestError::kRequestTimedOut);
  ASSERT_TRUE(testing::Publish(cluster.bootstrap_servers(), sim, half, sim.records.size()));
  cluster.InjectRequestErrors(kafka::ApiKey::kFetch, 3,
                              kafka::RequestError::kNotLeaderForPartition);
  ASSERT_TRUE(engine.WaitFor(sim.records.size(), 90)) << engine.applied();
  const Result<void>& stopped = engine.Stop();
  ASSERT_TRUE(stopped) << stopped.error().message;
  EXPECT_GT(engine.max_lag(), 0);  // the lag was seen while the broker was away
  EXPECT_EQ(StoreReport(*store.value(), {}), Replay(dir, sim.file_bytes, {}, sim.end));
}

TEST_F(EngineOverKafka, BadInputGoesToTheDeadLetterTopicAndTheRestIsApplied) {
  TempDir dir;
  const TestBroker& broker = this->broker();
  SimulatedStream sim = Simulate(30, 4, 5);
  const std::vector<std::string> bad = {"not protobuf \xff\xff", std::string("\x12\x05", 2)};
  SimulatedStream with_bad = sim;
  for (size_t k = 0; k < bad.size(); ++k) {
    with_bad.records.insert(with_bad.records.begin() + 3 + 5 * k, bad[k]);
    with_bad.keys.insert(with_bad.keys.begin() + 3 + 5 * k, "bad-key");
  }
  PublishOrFail(broker, with_bad, 0, with_bad.records.size());
  auto store = store::Store::Open(dir.path() / "store");
  ASSERT_TRUE(store);
  EngineThread engine(*store.value(), broker, sim.end);
  ASSERT_TRUE(engine.WaitFor(with_bad.records.size(), 60));

  auto consumer = kafka::Consumer::Open(kafka::KafkaConfig{broker.bootstrap_servers(), {}},
                                        broker.topics().dead_letters);
  ASSERT_TRUE(consumer);
  std::vector<kafka::PartitionStart> starts;
  for (int p = 0; p < kPartitions; ++p) starts.push_back({p, kafka::kBeginning});
  ASSERT_TRUE(consumer.value().Assign(starts));
  std::vector<store::v1::DeadLetter> letters;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (letters.size() < bad.size() && std::chrono::steady_clock::now() < deadline) {
    auto batch = consumer.value().Poll(100, std::chrono::milliseconds(100));
    ASSERT_TRUE(batch);
    for (const kafka::Message& m : batch.value().messages()) {
      store::v1::DeadLetter letter;
      ASSERT_TRUE(letter.ParseFromArray(m.value.data(), static_cast<int>(m.value.size())));
      EXPECT_EQ(m.key, "bad-key");
      letters.push_back(letter);
    }
  }
  engine.Stop();
  ASSERT_EQ(letters.size(), bad.size());
  for (const store::v1::DeadLetter& letter : letters) {
    EXPECT_NE(letter.reason().find("not a valid Envelope"), std::string::npos) << letter.reason();
    EXPECT_EQ(letter.topic(), broker.topics().events);
    EXPECT_GE(letter.offset(), 0);
  }
  EXPECT_EQ(StoreReport(*store.value(), {}), Replay(dir, sim.file_bytes, {}, sim.end));
}

// casewatchd as a separate process: the cluster (the mock lives in this test process) outlives
// every kill.
std::vector<std::string> EngineArgs(const TestBroker& broker, const std::filesystem::path& data,
                                    Instant frozen) {
  std::vector<std::string> args = {CASEWATCHD_BIN, "--no-http",
                                   "--data",       data.string(),
                                   "--clock",      "simulated",
                                   "--clock-start", FormatInstant(frozen),
                                   "--clock-speed", "0",
                                   "--max-batch",  "25"};
  for (std::string& flag : broker.DaemonFlags()) args.push_back(std::move(flag));
  return args;
}

uint64_t ConsumedOffsets(const TestBroker& broker, const std::filesystem::path& data,
                         const TempDir& scratch) {
  return testing::ConsumedOffsets(data, scratch.path(), broker.topics().events);
}

std::string RunToTheEnd(const TestBroker& broker, const std::filesystem::path& data,
                        const TempDir& dir, Instant frozen, uint64_t records) {
  ChildProcess engine(EngineArgs(broker, data, frozen), (dir.path() / "engine.log").string());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (ConsumedOffsets(broker, data, dir) < records &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  engine.Signal(SIGTERM);
  EXPECT_EQ(engine.Wait(30), 0) << casewatch::testing::ReadFileOrEmpty(
      (dir.path() / "engine.log").string());
  auto report = casewatch::testing::RunProcess(
      {CASEWATCH_BIN, "report", "--data", data.string(), "--case-items"});
  EXPECT_EQ(report.exit_code, 0) << report.err;
  return report.out;
}

TEST_F(Casewatchd, TenKillsAtRandomPointsLoseNothingAndCountNothingTwice) {
  TempDir dir;
  const TestBroker& broker = this->broker();
  const SimulatedStream sim = Simulate(2000, 12, 77);
  PublishOrFail(broker, sim, 0, sim.records.size());

  const std::string uninterrupted =
      RunToTheEnd(broker, dir.path() / "calm", dir, sim.end, sim.records.size());
  ASSERT_FALSE(uninterrupted.empty());
  StoreReportRequest items;
  items.case_items = true;
  EXPECT_EQ(uninterrupted, Replay(dir, sim.file_bytes, items, sim.end));

  const auto data = dir.path() / "killed";
  std::mt19937 random(2026);
  int kills = 0;
  uint64_t last_consumed = 0;
  for (int attempt = 0; kills < 12 && attempt < 40; ++attempt) {
    ChildProcess engine(EngineArgs(broker, data, sim.end),
                        (dir.path() / "killed.log").string());
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(80, 500)(random)));
    engine.Signal(SIGKILL);
    EXPECT_EQ(engine.Wait(10), 128 + SIGKILL);
    ++kills;
    last_consumed = ConsumedOffsets(broker, data, dir);
    if (last_consumed >= sim.records.size()) break;  // finished before the kill
  }
  EXPECT_GE(kills, 10);
  EXPECT_LT(last_consumed, sim.records.size()) << "the stream should outlast most kills";
  const std::string after_kills = RunToTheEnd(broker, data, dir, sim.end, sim.records.size());
  EXPECT_EQ(after_kills, uninterrupted);
}

}  // namespace
}  // namespace casewatch::daemon
