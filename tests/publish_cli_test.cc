// `casewatch dev-broker` and `casewatch publish`, run as real processes: publish through the
// dev broker's forwarding port, then read the topic back with casewatch::kafka's Consumer.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "casewatch/events/v1/events.pb.h"
#include "services/daemon/testing/kafka_harness.h"
#include "services/ingest/binary_envelope.h"
#include "services/kafka/admin.h"
#include "services/kafka/consumer.h"
#include "services/kafka/producer.h"
#include "tests/support/process.h"

extern char** environ;

namespace casewatch {
namespace {

using std::chrono::milliseconds;
using testing::RunProcess;
namespace pb = ::casewatch::events::v1;

// A port on 127.0.0.1 that was free a moment ago (the kernel's pick, released).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(address);
  bind(fd, reinterpret_cast<sockaddr*>(&address), size);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  close(fd);
  return ntohs(address.sin_port);
}

// `casewatch dev-broker` in the background: started with its stdout on a pipe, ready once it has
// printed its address line; stopped with SIGTERM by Stop (or the destructor).
class DevBroker {
 public:
  explicit DevBroker(std::vector<std::string> args) {
    args.insert(args.begin(), {CASEWATCH_BIN, "dev-broker"});
    int out[2];
    EXPECT_EQ(pipe(out), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    EXPECT_EQ(posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    stdout_ = fdopen(out[0], "r");
    char line[512] = "";
    if (std::fgets(line, sizeof(line), stdout_) != nullptr) line_ = line;
  }

  ~DevBroker() {
    if (pid_ > 0) Stop();
    if (stdout_ != nullptr) std::fclose(stdout_);
  }

  // The first line it printed, e.g. "dev-broker: listening on 127.0.0.1:9092 (...)\n".
  const std::string& line() const { return line_; }

  // The bootstrap address from that line.
  std::string address() const {
    const std::string marker = "listening on ";
    const size_t at = line_.find(marker);
    if (at == std::string::npos) return "";
    const size_t start = at + marker.size();
    return line_.substr(start, line_.find(' ', start) - start);
  }

  // SIGTERM, then the exit code.
  int Stop() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  FILE* stdout_ = nullptr;
  std::string line_;
};

class TempFile {
 public:
  TempFile(const std::string& name, const std::string& contents)
      : path_(std::filesystem::path(::testing::TempDir()) /
              fmt::format("{}-{}-{}", getpid(), counter_++, name)) {
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

struct Consumed {
  std::string key;
  std::string value;
};

// Every record of `topic`, read from the beginning until `count` have arrived or 10 s passed.
std::vector<Consumed> ReadTopic(const std::string& brokers, const std::string& topic,
                                size_t count) {
  Result<kafka::Consumer> consumer = kafka::Consumer::Open({brokers, {}}, topic);
  EXPECT_TRUE(consumer) << consumer.error().message;
  if (!consumer) return {};
  Result<std::vector<int32_t>> partitions = consumer.value().Partitions(std::chrono::seconds(5));
  EXPECT_TRUE(partitions) << partitions.error().message;
  if (!partitions) return {};
  std::vector<kafka::PartitionStart> starts;
  for (int32_t p : partitions.value()) starts.push_back({p, kafka::kBeginning});
  EXPECT_TRUE(consumer.value().Assign(starts));
  std::vector<Consumed> records;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (records.size() < count && std::chrono::steady_clock::now() < deadline) {
    Result<kafka::Batch> batch = consumer.value().Poll(1000, milliseconds(100));
    EXPECT_TRUE(batch) << batch.error().message;
    if (!batch) break;
    for (const kafka::Message& m : batch.value().messages()) {
      records.push_back({std::string(m.key), std::string(m.value)});
    }
  }
  return records;
}

constexpr char kOpened[] =
    R"({"eventId":"e-1","caseId":"N13-00042","occurredAt":"2013-04-02T09:30:00Z",)"
    R"("caseOpened":{"caseType":"CASE_TYPE_COMMUNITY_ORDER","region":"North East",)"
    R"("pdu":"Sunderland","team":"SUN-2","offenderManager":"om-117"}})";
constexpr char kWarning[] =
    R"({"eventId":"e-2","caseId":"N13-00042","occurredAt":"2013-04-03T00:00:00Z","warningIssued":{}})";
constexpr char kOtherCase[] =
    R"({"event_id":"e-3","case_id":"N13-00043","occurred_at":"2013-04-04T00:00:00Z","home_visit_completed":{}})";
// Parses, but is invalid: the engine's to reject, so publish sends it.
constexpr char kBadCaseId[] =
    R"({"eventId":"e-4","caseId":"N13 44","occurredAt":"2013-04-05T00:00:00Z","warningIssued":{}})";

// The tests that publish and read back run against librdkafka's mock cluster in this process,
// or, with $CASEWATCH_KAFKA_CLUSTER set (the ctest label real_kafka), the real Apache Kafka
// cluster it names, on topics of their own.
class PublishToKafka : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = daemon::testing::TestBroker::Start(2);
    ASSERT_TRUE(started) << started.error().message;
    broker_.emplace(std::move(started).value());
  }
  std::string address() const { return broker_->bootstrap_servers(); }
  const std::string& topic() const { return broker_->topics().events; }
  bool real() const { return broker_->real(); }

 private:
  std::optional<daemon::testing::TestBroker> broker_;
};

TEST_F(PublishToKafka, JsonLinesArriveAsBinaryEnvelopesKeyedByCaseIdAndBadLinesAreReported) {
  TempFile events("events.ndjson", fmt::format("{}\n{{not json\n{}\r\n\n{}\n{}\n", kOpened,
                                               kWarning, kOtherCase, kBadCaseId));
  const auto result = RunProcess(
      {CASEWATCH_BIN, "publish", "--brokers", address(), "--topic", topic(), events.path()});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find(events.path() + ":2: not valid JSON"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find(fmt::format("publish: 4 published to {}, 1 skipped", topic())),
            std::string::npos)
      << result.err;

  const std::vector<Consumed> records = ReadTopic(address(), topic(), 4);
  ASSERT_EQ(records.size(), 4u);
  std::map<std::string, pb::Envelope> by_id;
  for (const Consumed& r : records) {
    pb::Envelope envelope;
    ASSERT_TRUE(envelope.ParseFromString(r.value));
    EXPECT_EQ(r.key, envelope.case_id());
    by_id[envelope.event_id()] = envelope;
  }
  ASSERT_EQ(by_id.size(), 4u);
  EXPECT_EQ(by_id["e-1"].case_opened().pdu(), "Sunderland");
  EXPECT_EQ(by_id["e-1"].occurred_at().seconds(), 1364895000);
  EXPECT_TRUE(by_id["e-2"].has_warning_issued());
  EXPECT_EQ(by_id["e-3"].case_id(), "N13-00043");
  EXPECT_EQ(by_id["e-4"].case_id(), "N13 44");
}

TEST_F(PublishToKafka, BinaryRecordsArriveWithTheirOwnBytesAndStdinIsSniffed) {
  std::vector<std::string> values;
  std::string file;
  for (int i = 0; i < 50; ++i) {
    pb::Envelope e;
    e.set_event_id(fmt::format("e-{}", i));
    e.set_case_id(fmt::format("C{}", i % 7));
    e.mutable_occurred_at()->set_seconds(1364895000 + i);
    e.mutable_rosh_classified()->set_level(pb::ROSH_LEVEL_HIGH);
    ingest::AppendDelimited(e, file);
    values.push_back(e.SerializeAsString());
  }
  const auto result = RunProcess(
      {CASEWATCH_BIN, "publish", "--brokers", address(), "--topic", topic(), "-"}, "", file);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find(fmt::format("publish: 50 published to {}, 0 skipped", topic())),
            std::string::npos)
      << result.err;
  std::vector<Consumed> records = ReadTopic(address(), topic(), 50);
  ASSERT_EQ(records.size(), 50u);
  std::vector<std::string> got;
  for (const Consumed& r : records) got.push_back(r.value);
  std::sort(got.begin(), got.end());
  std::sort(values.begin(), values.end());
  EXPECT_EQ(got, values);
}

// `casewatch replay --brokers` reads the topic (the log of record) as `replay --events` reads a
// file; --offsets (a live answer's Casewatch-Offsets) keeps only the records below them.
TEST_F(PublishToKafka, ReplayOfTheTopicIsReplayOfItsEventsAndOffsetsBoundIt) {
  TempFile events("simulated.ndjson", "");
  const auto simulated =
      RunProcess({CASEWATCH_BIN, "simulate", "--cases", "80", "--start", "2013-01-01", "--months",
                  "12", "--seed", "3", "--out", events.path()});
  ASSERT_EQ(simulated.exit_code, 0) << simulated.err;
  const auto published = RunProcess(
      {CASEWATCH_BIN, "publish", "--brokers", address(), "--topic", topic(), events.path()});
  ASSERT_EQ(published.exit_code, 0) << published.err;
  const std::vector<std::string> as_of = {"--as-of", "2014-01-01"};
  auto replay = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {CASEWATCH_BIN, "replay"});
    args.insert(args.end(), as_of.begin(), as_of.end());
    return RunProcess(args);
  };
  const auto from_file = replay({"--events", events.path()});
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  const auto from_topic = replay({"--brokers", address(), "--topic", topic()});
  ASSERT_EQ(from_topic.exit_code, 0) << from_topic.err;
  EXPECT_EQ(from_topic.out, from_file.out);

  // The first half of each partition, as a file and as offsets.
  std::map<int32_t, std::vector<std::string>> values;
  ASSERT_TRUE(kafka::ReadToEnd({address(), {}}, topic(), std::chrono::seconds(30),
                               [&](const kafka::Message& m) {
                                 values[m.partition].emplace_back(m.value);
                               }));
  ASSERT_EQ(values.size(), 2u) << "the events are all in one partition: --offsets goes untested";
  std::string half_file;
  std::string offsets;
  for (const auto& [partition, records] : values) {
    const size_t half = records.size() / 2;
    for (size_t i = 0; i < half; ++i) {
      pb::Envelope envelope;
      ASSERT_TRUE(envelope.ParseFromString(records[i]));
      ingest::AppendDelimited(envelope, half_file);
    }
    offsets += fmt::format("{}{}:{}", offsets.empty() ? "" : ",", partition, half);
  }
  TempFile half_events("half.bin", half_file);
  const auto half_from_file = replay({"--events", half_events.path()});
  ASSERT_EQ(half_from_file.exit_code, 0) << half_from_file.err;
  const auto half_from_topic =
      replay({"--brokers", address(), "--topic", topic(), "--offsets", offsets});
  ASSERT_EQ(half_from_topic.exit_code, 0) << half_from_topic.err;
  EXPECT_EQ(half_from_topic.out, half_from_file.out);
  EXPECT_NE(half_from_topic.out, from_topic.out) << "half the events made the same report";

  // Offsets the topic has not reached, and offsets that do not parse: refused, named.
  const auto beyond = replay({"--brokers", address(), "--topic", topic(), "--offsets",
                              fmt::format("0:{}", values[0].size() + 5)});
  EXPECT_EQ(beyond.exit_code, 2);
  EXPECT_NE(beyond.err.find(fmt::format("partition 0 ends at offset {}, before {}",
                                        values[0].size(), values[0].size() + 5)),
            std::string::npos)
      << beyond.err;
  const auto no_such_partition =
      replay({"--brokers", address(), "--topic", topic(), "--offsets", "0:1,7:1"});
  EXPECT_EQ(no_such_partition.exit_code, 2);
  EXPECT_NE(no_such_partition.err.find(
                fmt::format("--offsets: topic {} has no partition 7 (it has 2)", topic())),
            std::string::npos)
      << no_such_partition.err;
  for (const std::string bad : {"0-5", "0:5,0:6", "x:1", "0:-1", ""}) {
    const auto refused = replay({"--brokers", address(), "--topic", topic(), "--offsets", bad});
    EXPECT_EQ(refused.exit_code, 2) << bad;
    EXPECT_NE(refused.err.find("--offsets: "), std::string::npos) << bad << ": " << refused.err;
    EXPECT_EQ(refused.out, "") << bad;
  }
}

// A partition whose early records the brokers no longer hold (retention, or records deleted):
// a replay of the topic warns that its history is shorter; a replay bounded by a live answer's
// offsets, which reflect those records, is refused.
TEST_F(PublishToKafka, ReplayNamesAPartitionWhoseEarlyRecordsAreGone) {
  // 100 records of 64 KiB under one key, so in one partition. The mock cluster keeps only the
  // last ~5 MiB of a partition; a real cluster's records below offset 50 are deleted.
  auto opened = kafka::Producer::Open({address(), {}});
  ASSERT_TRUE(opened) << opened.error().message;
  kafka::Producer& producer = opened.value();
  // Each a warning on case C1, with 64 KiB in a field no reader knows (and so skips).
  std::string unknown_field = "\xc2\x3e";  // field 1000, length-delimited
  unknown_field += "\x80\x80\x04";        // 65536
  unknown_field += std::string(64 * 1024, 'x');
  for (int i = 0; i < 100; ++i) {
    pb::Envelope warning;
    warning.set_event_id(fmt::format("w-{}", i));
    warning.set_case_id("C1");
    warning.mutable_occurred_at()->set_seconds(1364947200 + i);  // 2013-04-03
    warning.mutable_warning_issued();
    ASSERT_TRUE(producer.Produce(topic(), "C1", warning.SerializeAsString() + unknown_field));
    producer.Poll(std::chrono::milliseconds(0));
  }
  ASSERT_TRUE(producer.Flush(std::chrono::seconds(30)));
  ASSERT_EQ(producer.failed(), 0u);
  int32_t partition = -1;
  ASSERT_TRUE(kafka::ReadToEnd({address(), {}}, topic(), std::chrono::seconds(30),
                               [&](const kafka::Message& m) { partition = m.partition; }));
  ASSERT_GE(partition, 0);
  if (real()) {
    const auto deleted = kafka::DeleteRecordsBefore({address(), {}}, topic(), partition, 50,
                                                    std::chrono::seconds(30));
    ASSERT_TRUE(deleted) << deleted.error().message;
  }
  int64_t first = -1;
  ASSERT_TRUE(kafka::ReadToEnd({address(), {}}, topic(), std::chrono::seconds(30),
                               [&](const kafka::Message& m) {
                                 if (first < 0) first = m.offset;
                               }));
  ASSERT_GT(first, 0) << "the partition still begins at offset 0: nothing to test";

  const auto whole = RunProcess({CASEWATCH_BIN, "replay", "--as-of", "2014-01-01", "--brokers",
                                 address(), "--topic", topic()});
  EXPECT_EQ(whole.exit_code, 0) << whole.err;
  EXPECT_NE(whole.err.find(fmt::format("warning: topic {} partition {} begins at offset {}: the "
                                       "records before it are not on the brokers any more",
                                       topic(), partition, first)),
            std::string::npos)
      << whole.err;
  const auto bounded =
      RunProcess({CASEWATCH_BIN, "replay", "--as-of", "2014-01-01", "--brokers", address(),
                  "--topic", topic(), "--offsets", fmt::format("{}:100", partition)});
  EXPECT_EQ(bounded.exit_code, 2);
  EXPECT_EQ(bounded.out, "");
  EXPECT_NE(bounded.err.find(fmt::format("--offsets: topic {} partition {} begins at offset {}",
                                         topic(), partition, first)),
            std::string::npos)
      << bounded.err;
}

TEST(PublishCli, RateSetsThePace) {
  DevBroker broker({"--port", "0"});
  std::string lines;
  for (int i = 0; i < 100; ++i) {
    lines += fmt::format(
        R"({{"eventId":"r-{}","caseId":"C1","occurredAt":"2013-04-03T00:00:00Z","warningIssued":{{}}}})"
        "\n",
        i);
  }
  TempFile events("paced.jsonl", lines);
  const auto started = std::chrono::steady_clock::now();
  const auto result = RunProcess(
      {CASEWATCH_BIN, "publish", "--brokers", broker.address(), "--rate", "500", events.path()});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_GE(seconds, 99 / 500.0);  // the 100th event is due 198 ms after the first
  EXPECT_NE(result.err.find("publish: 100 published"), std::string::npos) << result.err;
}

TEST(PublishCli, NothingThatParsesExitsWith2) {
  DevBroker broker({"--port", "0"});
  TempFile events("junk.ndjson", "{oops\nnot json either\n");
  const auto result =
      RunProcess({CASEWATCH_BIN, "publish", "--brokers", broker.address(), events.path()});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find(events.path() + ":1: "), std::string::npos) << result.err;
  EXPECT_NE(result.err.find(events.path() + ":2: "), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("publish: 0 published to case-events, 2 skipped"), std::string::npos)
      << result.err;
}

TEST(PublishCli, MissingTopicExitsWith2NamingIt) {
  DevBroker broker({"--port", "0"});
  TempFile events("one.ndjson", std::string(kOpened) + "\n");
  const auto result = RunProcess(
      {CASEWATCH_BIN, "publish", "--brokers", broker.address(), "--topic", "nope", events.path()});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("topic \"nope\" does not exist"), std::string::npos) << result.err;
}

TEST(PublishCli, UnreachableBrokersExitWith2NamingThem) {
  const std::string brokers = fmt::format("127.0.0.1:{}", FreePort());
  TempFile events("one.ndjson", std::string(kOpened) + "\n");
  const auto result =
      RunProcess({CASEWATCH_BIN, "publish", "--brokers", brokers, "--timeout", "1", events.path()});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("the Kafka brokers " + brokers + " did not answer"), std::string::npos)
      << result.err;
}

TEST(PublishCli, BadPropertiesFileNamesFileAndLine) {
  TempFile properties("client.properties", "acks=all\nsecurity.protocoll=ssl\n");
  TempFile events("one.ndjson", std::string(kOpened) + "\n");
  const auto result = RunProcess({CASEWATCH_BIN, "publish", "--brokers", "127.0.0.1:9",
                                  "--kafka-config", properties.path(), events.path()});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find(properties.path() + ":2: unknown Kafka property "
                                                "\"security.protocoll\""),
            std::string::npos)
      << result.err;
}

// A consumer of `topic` from the beginning, assigned before the test publishes, that notes when
// each record reached it.
class TimedReader {
 public:
  struct Arrival {
    pb::Envelope envelope;
    double seconds = 0;  // after the `since` given to Read
  };

  TimedReader(const std::string& brokers, const std::string& topic) {
    Result<kafka::Consumer> consumer = kafka::Consumer::Open({brokers, {}}, topic);
    EXPECT_TRUE(consumer) << consumer.error().message;
    if (!consumer) return;
    consumer_.emplace(std::move(consumer).value());
    Result<std::vector<int32_t>> partitions = consumer_->Partitions(std::chrono::seconds(5));
    EXPECT_TRUE(partitions) << partitions.error().message;
    if (!partitions) return;
    std::vector<kafka::PartitionStart> starts;
    for (int32_t p : partitions.value()) starts.push_back({p, kafka::kBeginning});
    EXPECT_TRUE(consumer_->Assign(starts));
  }

  // Reads until `count` records have arrived in all or `seconds` have passed since `since`.
  void Read(size_t count, std::chrono::steady_clock::time_point since, double seconds) {
    const auto deadline = since + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                      std::chrono::duration<double>(seconds));
    while (consumer_ && arrivals_.size() < count && std::chrono::steady_clock::now() < deadline) {
      Result<kafka::Batch> batch = consumer_->Poll(1000, milliseconds(50));
      ASSERT_TRUE(batch) << batch.error().message;
      const double at =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
      for (const kafka::Message& m : batch.value().messages()) {
        Arrival arrival{{}, at};
        ASSERT_TRUE(arrival.envelope.ParseFromString(std::string(m.value)));
        EXPECT_EQ(m.key, arrival.envelope.case_id());
        arrivals_.push_back(std::move(arrival));
      }
    }
  }

  const std::vector<Arrival>& arrivals() const { return arrivals_; }

 private:
  std::optional<kafka::Consumer> consumer_;
  std::vector<Arrival> arrivals_;
};

std::string TempPath(const std::string& name) {
  return (std::filesystem::path(::testing::TempDir()) / fmt::format("{}-{}", getpid(), name))
      .string();
}

// A warning on case C1, recorded at `recorded_at` ("" for none), occurred a day before 2025-07-01.
std::string PacedLine(const std::string& id, const std::string& recorded_at) {
  return fmt::format(
      R"({{"eventId":"{}","caseId":"C1","occurredAt":"2025-06-30T00:00:00Z",{}"warningIssued":{{}}}})"
      "\n",
      id, recorded_at.empty() ? "" : fmt::format(R"("recordedAt":"{}",)", recorded_at));
}

// The clock starts at 2025-07-01 and runs at 12 simulated hours per second: the backlog (recorded
// before the start, or with no recorded_at but occurred before it) goes at once, ordered by when
// it was recorded; the day-2 event is due 4 s after publish starts, the day-3 one 6 s after.
// Only lower bounds are tight (nothing may arrive before its time); upper bounds are generous.
TEST(PublishCli, PacedSendsTheBacklogAtOnceAndLaterEventsWhenTheClockReachesThem) {
  DevBroker broker({"--port", "0", "--partitions", "1"});
  ASSERT_FALSE(broker.address().empty()) << broker.line();
  TempFile events("paced.ndjson", PacedLine("late-2", "2025-07-04T00:00:00Z") +
                                      PacedLine("back-3", "2025-06-30T12:00:00Z") +
                                      PacedLine("late-1", "2025-07-03T00:00:00Z") +
                                      PacedLine("back-1", "2025-06-01T00:00:00Z") +
                                      PacedLine("back-2", "") +  // occurred 2025-06-30
                                      PacedLine("back-4", "2025-06-30T12:00:00Z"));
  TimedReader reader(broker.address(), "case-events");
  const std::string log = TempPath("paced.log");
  const auto started = std::chrono::steady_clock::now();
  casewatch::testing::ChildProcess publish(
      {CASEWATCH_BIN, "publish", "--brokers", broker.address(), "--paced", "--clock-start",
       "2025-07-01T00:00:00Z", "--clock-speed", "43200", events.path()},
      log);
  reader.Read(6, started, 30);
  const auto& got = reader.arrivals();
  ASSERT_EQ(got.size(), 6u) << testing::ReadFileOrEmpty(log);
  std::vector<std::string> order;
  for (const auto& a : got) order.push_back(a.envelope.event_id());
  // back-2 has no recorded_at: its occurred_at (2025-06-30) places it; back-3 and back-4 were
  // recorded at the same instant and keep their file order.
  EXPECT_EQ(order,
            (std::vector<std::string>{"back-1", "back-2", "back-3", "back-4", "late-1", "late-2"}));
  for (size_t i = 0; i < 4; ++i) EXPECT_LT(got[i].seconds, 4.0) << order[i];  // at once
  EXPECT_GE(got[4].seconds, 4.0);  // 2025-07-03 is 2 simulated days = 4 s after the start
  EXPECT_LT(got[4].seconds, 4.0 + 15);
  EXPECT_GE(got[5].seconds, 6.0);
  EXPECT_LT(got[5].seconds, 6.0 + 15);
  EXPECT_EQ(publish.Wait(20), 0) << testing::ReadFileOrEmpty(log);
  const std::string err = testing::ReadFileOrEmpty(log);
  EXPECT_NE(err.find("publish: paced from 2025-07-01T00:00:00Z at 43200x: 4 events recorded by "
                     "then sent at once, 2 more"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("publish: 6 published to case-events, 0 skipped"), std::string::npos) << err;
  std::filesystem::remove(log);
}

TEST(PublishCli, PacedRunStopsOnSigtermAfterFlushingWhatItSent) {
  DevBroker broker({"--port", "0"});
  ASSERT_FALSE(broker.address().empty()) << broker.line();
  // At one simulated second per second, the last event is due in about 100 days.
  TempFile events("stop.ndjson", PacedLine("a", "2025-06-01T00:00:00Z") +
                                     PacedLine("b", "2025-06-02T00:00:00Z") +
                                     PacedLine("c", "2025-10-01T00:00:00Z"));
  TimedReader reader(broker.address(), "case-events");
  const std::string log = TempPath("stop.log");
  const auto started = std::chrono::steady_clock::now();
  casewatch::testing::ChildProcess publish(
      {CASEWATCH_BIN, "publish", "--brokers", broker.address(), "--paced", "--clock-start",
       "2025-07-01T00:00:00Z", events.path()},
      log);
  reader.Read(2, started, 30);
  ASSERT_EQ(reader.arrivals().size(), 2u) << testing::ReadFileOrEmpty(log);
  EXPECT_TRUE(publish.running());
  publish.Signal(SIGTERM);
  EXPECT_EQ(publish.Wait(30), 0) << testing::ReadFileOrEmpty(log);
  const std::string err = testing::ReadFileOrEmpty(log);
  EXPECT_NE(err.find("publish: 2 published to case-events"), std::string::npos) << err;
  EXPECT_NE(err.find("publish: stopped by SIGTERM at simulated 2025-07-01 "), std::string::npos)
      << err;
  EXPECT_NE(err.find(": 1 of 3 events not sent"), std::string::npos) << err;
  std::filesystem::remove(log);
}

TEST(PublishCli, PacingFlagsAreCheckedNamingTheFlag) {
  TempFile events("one.ndjson", std::string(kOpened) + "\n");
  // Checked before any broker is contacted: 127.0.0.1:9 is never reached.
  auto publish = [&](std::vector<std::string> flags) {
    std::vector<std::string> argv = {CASEWATCH_BIN, "publish", "--brokers", "127.0.0.1:9"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back(events.path());
    return RunProcess(argv);
  };
  const struct {
    std::vector<std::string> flags;
    std::string error;
  } cases[] = {
      {{"--paced"}, "casewatch publish: --paced needs --clock-start"},
      {{"--paced", "--clock-start", "2025-07-01"},
       "casewatch publish: --clock-start: '2025-07-01' is not an RFC 3339 timestamp"},
      {{"--paced", "--clock-start", "2025-07-01T00:00:00Z", "--clock-speed", "0"},
       "casewatch publish: --clock-speed: must be more than 0"},
      {{"--paced", "--clock-start", "2025-07-01T00:00:00Z", "--clock-speed", "-2"},
       "casewatch publish: --clock-speed: must be more than 0"},
      {{"--clock-start", "2025-07-01T00:00:00Z"}, "casewatch publish: --clock-start needs --paced"},
      {{"--clock-speed", "10"}, "casewatch publish: --clock-speed needs --paced"},
      {{"--paced", "--clock-start", "2025-07-01T00:00:00Z", "--rate", "10"},
       "casewatch publish: --rate cannot be combined with --paced"},
  };
  for (const auto& c : cases) {
    const auto result = publish(c.flags);
    EXPECT_EQ(result.exit_code, 2) << c.error;
    EXPECT_NE(result.err.find(c.error), std::string::npos) << result.err;
  }
}

TEST(DevBrokerCli, ASecondBrokerOnTheSamePortFailsNamingIt) {
  const int port = FreePort();
  DevBroker first({"--port", std::to_string(port)});
  EXPECT_EQ(first.line(),
            fmt::format("dev-broker: listening on 127.0.0.1:{} (topics case-events, case-alerts, "
                        "case-events-dlq, case-events-derived; 4 partitions each)\n",
                        port));
  const auto second = RunProcess({CASEWATCH_BIN, "dev-broker", "--port", std::to_string(port)});
  EXPECT_EQ(second.exit_code, 2);
  EXPECT_NE(second.err.find(fmt::format("cannot listen on 127.0.0.1:{}", port)), std::string::npos)
      << second.err;
  EXPECT_EQ(first.Stop(), 0);
  DevBroker named({"--port", "0", "--topic", "events", "--partitions", "2"});
  EXPECT_NE(named.line().find("(topic events, 2 partitions)"), std::string::npos) << named.line();
  EXPECT_EQ(named.Stop(), 0);
}

}  // namespace
}  // namespace casewatch
