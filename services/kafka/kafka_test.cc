// Tests of casewatch::kafka against librdkafka's mock cluster: a real Kafka-protocol broker over
// TCP in this process. Nothing is faked on the client side.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "services/kafka/consumer.h"
#include "services/kafka/kafka_config.h"
#include "services/kafka/mock_cluster.h"
#include "services/kafka/producer.h"

namespace casewatch::kafka {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Record {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  int64_t timestamp_ms = -1;
};

// Client settings that keep recovery quick in tests: reconnect and retry within ~100 ms rather
// than librdkafka's production back-offs.
KafkaConfig TestConfig(const MockCluster& cluster) {
  return KafkaConfig{cluster.bootstrap_servers(),
                     {{"reconnect.backoff.ms", "20"},
                      {"reconnect.backoff.max.ms", "100"},
                      {"retry.backoff.ms", "20"},
                      {"topic.metadata.refresh.interval.ms", "1000"}}};
}

KafkaConfig ConsumerConfig(const MockCluster& cluster) {
  KafkaConfig config = TestConfig(cluster);
  config.properties.push_back({"fetch.error.backoff.ms", "20"});
  return config;
}

// A cluster of its own, for tests that take brokers down or inject errors.
MockCluster StartCluster(const std::string& topic, int partitions, int brokers = 1) {
  Result<MockCluster> cluster = MockCluster::Start(brokers);
  EXPECT_TRUE(cluster) << cluster.error().message;
  Result<void> created = cluster.value().CreateTopic(topic, partitions);
  EXPECT_TRUE(created) << created.error().message;
  return std::move(cluster).value();
}

// One cluster for the tests that leave it as it is, each with topics of its own: librdkafka
// 2.0.2's rd_kafka_mock_cluster_destroy often takes a second (an internal thread notices the
// end only at its one-second wake-up), so a cluster per test would make these tests slow.
// Never destroyed (Google style's idiom for a static that is not trivially destructible), which
// also spares each test process that second at exit.
MockCluster& SharedCluster() {
  static MockCluster& cluster = []() -> MockCluster& {
    Result<MockCluster> started = MockCluster::Start(1);
    if (!started) {
      std::fprintf(stderr, "cannot start the mock cluster: %s\n", started.error().message.c_str());
      std::abort();
    }
    return *new MockCluster(std::move(started).value());
  }();
  return cluster;
}

// A new topic on the shared cluster.
std::string NewTopic(int partitions) {
  static int counter = 0;
  std::string topic = fmt::format("topic-{}", ++counter);
  Result<void> created = SharedCluster().CreateTopic(topic, partitions);
  EXPECT_TRUE(created) << created.error().message;
  return topic;
}

std::string ValueOf(int i) { return fmt::format("value-{:06d}", i); }
std::string KeyOf(int i) { return fmt::format("case-{}", i % 37); }

// Produces records first..last-1 (key KeyOf(i), value ValueOf(i)) and waits for every delivery.
void ProduceRange(Producer& producer, const std::string& topic, int first, int last) {
  for (int i = first; i < last; ++i) {
    for (;;) {
      Result<void> queued = producer.Produce(topic, KeyOf(i), ValueOf(i));
      if (queued) break;
      ASSERT_TRUE(IsRetryable(queued.error())) << queued.error().message;
      producer.Poll(milliseconds(10));
    }
  }
  Result<void> flushed = producer.Flush(seconds(20));
  ASSERT_TRUE(flushed) << flushed.error().message;
}

void ProduceAll(const MockCluster& cluster, const std::string& topic, int count) {
  Result<Producer> producer = Producer::Open(TestConfig(cluster));
  ASSERT_TRUE(producer) << producer.error().message;
  ProduceRange(producer.value(), topic, 0, count);
  EXPECT_EQ(producer.value().delivered(), static_cast<uint64_t>(count));
  EXPECT_EQ(producer.value().failed(), 0u);
}

// Polls until `count` records have arrived or `limit` has passed.
std::vector<Record> ConsumeN(Consumer& consumer, size_t count, size_t max_batch = 500,
                             std::chrono::steady_clock::duration limit = seconds(20)) {
  std::vector<Record> records;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (records.size() < count && std::chrono::steady_clock::now() < deadline) {
    Result<Batch> batch = consumer.Poll(max_batch, milliseconds(100));
    if (!batch) {
      ADD_FAILURE() << batch.error().message;
      break;
    }
    EXPECT_LE(batch.value().size(), max_batch);
    for (const Message& m : batch.value().messages()) {
      records.push_back(
          Record{m.partition, m.offset, std::string(m.key), std::string(m.value), m.timestamp_ms});
    }
  }
  return records;
}

Consumer OpenConsumer(const KafkaConfig& config, const std::string& topic) {
  Result<Consumer> consumer = Consumer::Open(config, topic);
  EXPECT_TRUE(consumer) << consumer.error().message;
  return std::move(consumer).value();
}

// Expects the records of a one-partition topic to be exactly offsets first..last-1 with their
// values, in order.
void ExpectExactly(const std::vector<Record>& records, int first, int last) {
  ASSERT_EQ(records.size(), static_cast<size_t>(last - first));
  for (int i = first; i < last; ++i) {
    const Record& r = records[static_cast<size_t>(i - first)];
    ASSERT_EQ(r.partition, 0);
    ASSERT_EQ(r.offset, i);
    ASSERT_EQ(r.value, ValueOf(i));
    ASSERT_EQ(r.key, KeyOf(i));
  }
}

// --- Properties ---------------------------------------------------------------------------------

TEST(ParseProperties, ReadsKeysAndValuesSkippingCommentsAndBlankLines) {
  Result<std::vector<Property>> parsed = ParseProperties(
      "# TLS to the production cluster\n"
      "\n"
      "security.protocol = ssl\r\n"
      "  client.id=casewatch # not a comment: part of the value\n"
      "sasl.password=a=b#c\n",
      "kafka.properties");
  ASSERT_TRUE(parsed) << parsed.error().message;
  const std::vector<Property>& p = parsed.value();
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].key, "security.protocol");
  EXPECT_EQ(p[0].value, "ssl");
  EXPECT_EQ(p[1].key, "client.id");
  EXPECT_EQ(p[1].value, "casewatch # not a comment: part of the value");
  EXPECT_EQ(p[2].key, "sasl.password");
  EXPECT_EQ(p[2].value, "a=b#c");
}

TEST(ParseProperties, UnknownKeyNamesFileLineAndKey) {
  Result<std::vector<Property>> parsed =
      ParseProperties("acks=all\n# comment\nsasl.mechanismz=PLAIN\n", "prod.properties");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_EQ(parsed.error().message,
            "prod.properties:3: unknown Kafka property \"sasl.mechanismz\"");
}

TEST(ParseProperties, BadValueNamesFileLineKeyAndReason) {
  Result<std::vector<Property>> parsed = ParseProperties("\nfetch.wait.max.ms=soon\n", "k.conf");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_TRUE(
      parsed.error().message.starts_with("k.conf:2: Kafka property \"fetch.wait.max.ms\": "))
      << parsed.error().message;
}

TEST(ParseProperties, LineWithoutEqualsOrKeyNamesFileLine) {
  Result<std::vector<Property>> no_equals = ParseProperties("acks all\n", "a.properties");
  ASSERT_FALSE(no_equals);
  EXPECT_EQ(no_equals.error().message, "a.properties:1: expected key=value, got \"acks all\"");
  Result<std::vector<Property>> no_key = ParseProperties("acks=1\n =x\n", "a.properties");
  ASSERT_FALSE(no_key);
  EXPECT_EQ(no_key.error().message, "a.properties:2: the key before '=' is empty");
}

TEST(KafkaConfig, BadPropertyIsAnInvalidArgumentNamingIt) {
  KafkaConfig config{"127.0.0.1:9", {{"fetch.wait.max.ms", "10"}, {"no.such.thing", "1"}}};
  Result<Consumer> consumer = Consumer::Open(config, "t");
  ASSERT_FALSE(consumer);
  EXPECT_EQ(consumer.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_NE(consumer.error().message.find("\"no.such.thing\""), std::string::npos);
  config.properties = {{"acks", "sometimes"}};
  Result<Producer> producer = Producer::Open(config);
  ASSERT_FALSE(producer);
  EXPECT_EQ(producer.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_NE(producer.error().message.find("\"acks\""), std::string::npos);
}

// --- Metadata -----------------------------------------------------------------------------------

TEST(Consumer, PartitionsAreTheTopicsPartitionIds) {
  MockCluster& cluster = SharedCluster();
  const std::string topic = NewTopic(4);
  Consumer consumer = OpenConsumer(ConsumerConfig(cluster), topic);
  Result<std::vector<int32_t>> partitions = consumer.Partitions(seconds(5));
  ASSERT_TRUE(partitions) << partitions.error().message;
  EXPECT_EQ(partitions.value(), (std::vector<int32_t>{0, 1, 2, 3}));
  EXPECT_EQ(consumer.topic(), topic);
}

TEST(Consumer, PartitionsOfAMissingTopicAreUnavailableNamingTheTopic) {
  Consumer consumer = OpenConsumer(ConsumerConfig(SharedCluster()), "no-such-topic");
  Result<std::vector<int32_t>> partitions = consumer.Partitions(seconds(5));
  ASSERT_FALSE(partitions);
  EXPECT_EQ(partitions.error().kind, ErrorKind::kUnavailable);
  EXPECT_NE(partitions.error().message.find("topic \"no-such-topic\" does not exist"),
            std::string::npos)
      << partitions.error().message;
}

TEST(Consumer, PartitionsWithTheBrokersUnreachableAreUnavailableNamingThem) {
  MockCluster cluster = StartCluster("case-events", 1);
  cluster.SetBrokerDown(1);
  Consumer consumer = OpenConsumer(ConsumerConfig(cluster), "case-events");
  Result<std::vector<int32_t>> partitions = consumer.Partitions(milliseconds(300));
  ASSERT_FALSE(partitions);
  EXPECT_EQ(partitions.error().kind, ErrorKind::kUnavailable);
  EXPECT_NE(partitions.error().message.find(cluster.bootstrap_servers()), std::string::npos)
      << partitions.error().message;
}

// --- Produce and consume ------------------------------------------------------------------------

TEST(ProduceConsume, EveryRecordFromTheBeginningOfOnePartition) {
  MockCluster& cluster = SharedCluster();
  const std::string topic = NewTopic(1);
  ProduceAll(cluster, topic, 1000);
  Consumer consumer = OpenConsumer(ConsumerConfig(cluster), topic);
  const PartitionStart starts[] = {{0, kBeginning}};
  ASSERT_TRUE(consumer.Assign(starts));
  const std::vector<Record> records = ConsumeN(consumer, 1000);
  ExpectExactly(records, 0, 1000);
  const auto now_ms =
      std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  EXPECT_GT(records.front().timestamp_ms, now_ms - 60'000);
  EXPECT_LE(records.back().timestamp_ms, now_ms);
  // Nothing more arrives.
  Result<Batch> more = consumer.Poll(100, milliseconds(50));
  ASSERT_TRUE(more);
  EXPECT_TRUE(more.value().empty());
}

TEST(ProduceConsume, FromAMidOffset) {
  MockCluster& cluster = SharedCluster();
  const std::string topic = NewTopic(1);
  ProduceAll(cluster, topic, 1000);
  Consumer consumer = OpenConsumer(ConsumerConfig(cluster), topic);
  const PartitionStart starts[] = {{0, 600}};
  ASSERT_TRUE(consumer.Assign(starts));
  ExpectExactly(ConsumeN(consumer, 400), 600, 1000);
}

TEST(ProduceConsume, EveryPartitionInOffsetOrderWithEachKeyInOnePartition) {
  constexpr int kCount = 2000;
  MockCluster& cluster = SharedCluster();
  const std::string topic = NewTopic(4);
  ProduceAll(cluster, topic, kCount);
  Consumer consumer = OpenConsumer(ConsumerConfig(cluster), topic);
  Result<std::vector<int32_t>> partitions = consumer.Partitions(seconds(5));
  ASSERT_TRUE(partitions);
  std::vector<PartitionStart> starts;
  for (int32_t p : partitions.value()) starts.push_back({p, kBeginning});
  ASSERT_TRUE(consumer.Assign(starts));
  const std::vector<Record> records = ConsumeN(consumer, kCount);
  ASSERT_EQ(records.size(), static_cast<size_t>(kCount));

  std::map<int32_t, int64_t> next_offset;  // per partition: offsets 0, 1, 2... with no gap
  std::map<std::string, int32_t> partition_of_key;
  std::map<std::string, int> last_of_key;  // per key: values in the order produced
  std::vector<bool> seen(kCount, false);
  for (const Record& r : records) {
    EXPECT_EQ(r.offset, next_offset[r.partition]++) << "partition " << r.partition;
    auto [it, inserted] = partition_of_key.emplace(r.key, r.partition);
    EXPECT_EQ(it->second, r.partition) << r.key << " in two partitions";
    const int i = std::stoi(r.value.substr(6));
    EXPECT_EQ(r.key, KeyOf(i));
    EXPECT_FALSE(seen[static_cast<size_t>(i)]) << "duplicate " << r.value;
    seen[static_cast<size_t>(i)] = true;
    if (auto last = last_of_key.find(r.key); last != last_of_key.end()) {
      EXPECT_LT(last->second, i);
    }
    last_of_key[r.key] = i;
  }
  EXPECT_EQ(next_offset.size(), 4u);  // 37 keys spread over every partition
}

TEST(ProduceConsume, PollReturnsAtMostMaxMessages) {
  MockCluster& cluster = SharedCluster();
  const std::string topic = NewTopic(1);
  ProduceAll(cluster, topic, 300);
  Consumer consumer = OpenConsumer(ConsumerConfig(cluster), topic);
  const PartitionStart starts[] = {{0, 0}};
  ASSERT_TRUE(consumer.Assign(starts));
  ExpectExactly(ConsumeN(consumer, 300, /*max_batch=*/7), 0, 300);
}

TEST(ProduceConsume, DeliveryCallbacksRunInFlush) {
  MockCluster& cluster = SharedCluster();
  const std::string topic = NewTopic(2);
  Result<Producer> producer = Producer::Open(TestConfig(cluster));
  ASSERT_TRUE(producer);
  int ok = 0;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(producer.value().Produce(topic, KeyOf(i), ValueOf(i), [&](Result<void> r) {
      EXPECT_TRUE(r) << r.error().message;
      ++ok;
    }));
  }
  ASSERT_TRUE(producer.value().Flush(seconds(10)));
  EXPECT_EQ(ok, 50);
  EXPECT_EQ(producer.value().delivered(), 50u);
}

TEST(Producer, FlushWithTheBrokerDownIsUnavailableAndDestroyingDiscardsTheRest) {
  MockCluster cluster = StartCluster("events", 1);
  cluster.SetBrokerDown(1);
  int called = 0;
  {
    Result<Producer> producer = Producer::Open(TestConfig(cluster));
    ASSERT_TRUE(producer);
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(producer.value().Produce("events", KeyOf(i), ValueOf(i),
                                           [&](Result<void>) { ++called; }));
    }
    Result<void> flushed = producer.value().Flush(milliseconds(300));
    ASSERT_FALSE(flushed);
    EXPECT_EQ(flushed.error().kind, ErrorKind::kUnavailable);
    EXPECT_NE(flushed.error().message.find("undelivered"), std::string::npos);
  }
  EXPECT_EQ(called, 0);  // discarded with the producer, callbacks not run
}

// --- Lag ----------------------------------------------------------------------------------------

TEST(Consumer, LagIsWhatRemainsUpToTheHighWatermark) {
  MockCluster& cluster = SharedCluster();
  const std::string topic = NewTopic(1);
  ProduceAll(cluster, topic, 1000);
  Consumer consumer = OpenConsumer(ConsumerConfig(cluster), topic);
  EXPECT_EQ(consumer.Lag(), -1);  // nothing assigned
  const PartitionStart starts[] = {{0, 200}};
  ASSERT_TRUE(consumer.Assign(starts));
  const int64_t lag = consumer.Lag();  // unknown until a fetch response gave the high watermark
  EXPECT_TRUE(lag == -1 || lag == 800) << lag;
  const std::vector<Record> first = ConsumeN(consumer, 100, /*max_batch=*/100);
  ASSERT_EQ(first.size(), 100u);
  EXPECT_EQ(consumer.Lag(), 1000 - 300);
  ConsumeN(consumer, 700);
  EXPECT_EQ(consumer.Lag(), 0);
}

TEST(Consumer, OffsetBeyondTheEndIsAnErrorNotASilentJump) {
  MockCluster& cluster = SharedCluster();
  const std::string topic = NewTopic(1);
  ProduceAll(cluster, topic, 10);
  Consumer consumer = OpenConsumer(ConsumerConfig(cluster), topic);
  const PartitionStart starts[] = {{0, 5000}};
  ASSERT_TRUE(consumer.Assign(starts));
  const auto deadline = std::chrono::steady_clock::now() + seconds(10);
  Result<Batch> batch = Batch();
  while (batch && std::chrono::steady_clock::now() < deadline) {
    batch = consumer.Poll(100, milliseconds(100));
    if (batch) {
      EXPECT_TRUE(batch.value().empty());
    }
  }
  ASSERT_FALSE(batch);
  EXPECT_EQ(batch.error().kind, ErrorKind::kDataLoss) << batch.error().message;
}

// --- Failures -----------------------------------------------------------------------------------

TEST(Resilience, BrokerDownThenUpWhileConsumingLosesNothing) {
  constexpr int kCount = 2000;
  MockCluster cluster = StartCluster("events", 1);
  Result<Producer> producer = Producer::Open(TestConfig(cluster));
  ASSERT_TRUE(producer);
  ProduceRange(producer.value(), "events", 0, kCount / 2);

  Consumer consumer = OpenConsumer(ConsumerConfig(cluster), "events");
  const PartitionStart starts[] = {{0, kBeginning}};
  ASSERT_TRUE(consumer.Assign(starts));
  std::vector<Record> records = ConsumeN(consumer, 500, /*max_batch=*/100);
  ASSERT_EQ(records.size(), 500u);

  cluster.SetBrokerDown(1);
  // While down: what was fetched ahead may still arrive; the rest waits. The producer queues.
  for (int i = kCount / 2; i < kCount; ++i) {
    ASSERT_TRUE(producer.value().Produce("events", KeyOf(i), ValueOf(i)));
  }
  const auto down_until = std::chrono::steady_clock::now() + milliseconds(500);
  while (std::chrono::steady_clock::now() < down_until) {
    Result<Batch> batch = consumer.Poll(100, milliseconds(50));
    ASSERT_TRUE(batch) << batch.error().message;
    for (const Message& m : batch.value().messages()) {
      records.push_back(Record{m.partition, m.offset, std::string(m.key), std::string(m.value)});
    }
    producer.value().Poll(milliseconds(0));
  }
  EXPECT_EQ(producer.value().delivered(), static_cast<uint64_t>(kCount / 2));

  cluster.SetBrokerUp(1);
  ASSERT_TRUE(producer.value().Flush(seconds(20)));
  EXPECT_EQ(producer.value().delivered(), static_cast<uint64_t>(kCount));
  EXPECT_EQ(producer.value().failed(), 0u);
  const std::vector<Record> rest = ConsumeN(consumer, kCount - records.size());
  records.insert(records.end(), rest.begin(), rest.end());
  ExpectExactly(records, 0, kCount);
  EXPECT_GT(consumer.transient_errors(), 0u);
}

// Polls `consumer` until `done` holds of its PartitionLags (true), or 20 s pass (false).
bool PollUntil(Consumer& consumer,
               const std::function<bool(const std::vector<Consumer::PartitionLag>&)>& done) {
  const auto deadline = std::chrono::steady_clock::now() + seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    Result<Batch> batch = consumer.Poll(100, milliseconds(50));
    EXPECT_TRUE(batch) << batch.error().message;
    if (done(consumer.PartitionLags())) return true;
  }
  return false;
}

TEST(Resilience, APartitionWhoseLeaderIsDownIsUnavailableUntilItIsBack) {
  // Three brokers: broker 2 leads partition 0, broker 1 the others. With broker 2 down, partition
  // 0 alone is unavailable, from about when it went, and not once it is back.
  MockCluster cluster = StartCluster("events", 3, /*brokers=*/3);
  cluster.SetPartitionLeader("events", 0, 2);
  cluster.SetPartitionLeader("events", 1, 1);
  cluster.SetPartitionLeader("events", 2, 1);
  KafkaConfig config = ConsumerConfig(cluster);
  config.properties.push_back({"statistics.interval.ms", "100"});
  Consumer consumer = OpenConsumer(config, "events");
  const PartitionStart starts[] = {{0, kBeginning}, {1, kBeginning}, {2, kBeginning}};
  ASSERT_TRUE(consumer.Assign(starts));
  auto unavailable = [](const std::vector<Consumer::PartitionLag>& lags) {
    std::vector<int32_t> out;
    for (const Consumer::PartitionLag& p : lags) {
      if (p.unavailable_since) out.push_back(p.partition);
    }
    return out;
  };
  // Served: every partition's lag known (0), none unavailable, for a few statistics.
  ASSERT_TRUE(PollUntil(consumer, [](const auto& lags) { return Consumer::TotalLag(lags) == 0; }));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(consumer.Poll(100, milliseconds(100)));
  EXPECT_TRUE(unavailable(consumer.PartitionLags()).empty());

  const auto down_at = std::chrono::system_clock::now();
  cluster.SetBrokerDown(2);
  ASSERT_TRUE(PollUntil(consumer, [&](const auto& lags) { return !unavailable(lags).empty(); }))
      << "no partition became unavailable with broker 2 down";
  // A look a little later: partition 0 still, and no other.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(consumer.Poll(100, milliseconds(100)));
  const std::vector<Consumer::PartitionLag> lags = consumer.PartitionLags();
  const std::vector<int32_t> down = unavailable(lags);
  EXPECT_EQ(down, std::vector<int32_t>{0}) << "broker 1's partitions are served";
  for (const Consumer::PartitionLag& p : lags) {
    if (!p.unavailable_since) continue;
    EXPECT_GE(*p.unavailable_since, down_at - seconds(1));
    EXPECT_LE(*p.unavailable_since, std::chrono::system_clock::now());
    EXPECT_EQ(p.lag, 0) << "the last known lag stays";
  }
  // Another look keeps the first moment.
  ASSERT_TRUE(lags[0].unavailable_since);
  const auto since = *lags[0].unavailable_since;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(consumer.Poll(100, milliseconds(100)));
  EXPECT_EQ(consumer.PartitionLags()[0].unavailable_since, since);

  cluster.SetBrokerUp(2);
  EXPECT_TRUE(PollUntil(consumer, [&](const auto& now) { return unavailable(now).empty(); }))
      << "still unavailable with broker 2 back";
}

TEST(Resilience, ProduceRequestErrorsAreRetriedWithoutLossOrDuplicates) {
  MockCluster cluster = StartCluster("events", 1);
  cluster.InjectRequestErrors(ApiKey::kProduce, 2, RequestError::kNotLeaderForPartition);
  cluster.InjectRequestErrors(ApiKey::kProduce, 2, RequestError::kRequestTimedOut);
  cluster.InjectRequestErrors(ApiKey::kProduce, 1, RequestError::kDisconnect);
  ProduceAll(cluster, "events", 500);
  Consumer consumer = OpenConsumer(ConsumerConfig(cluster), "events");
  const PartitionStart starts[] = {{0, kBeginning}};
  ASSERT_TRUE(consumer.Assign(starts));
  ExpectExactly(ConsumeN(consumer, 500), 0, 500);
  Result<Batch> more = consumer.Poll(100, milliseconds(100));
  ASSERT_TRUE(more);
  EXPECT_TRUE(more.value().empty());
}

TEST(Resilience, FetchRequestErrorsAreRetriedWithoutLossOrDuplicates) {
  MockCluster cluster = StartCluster("events", 1);
  ProduceAll(cluster, "events", 500);
  cluster.InjectRequestErrors(ApiKey::kFetch, 2, RequestError::kNotLeaderForPartition);
  cluster.InjectRequestErrors(ApiKey::kFetch, 2, RequestError::kRequestTimedOut);
  cluster.InjectRequestErrors(ApiKey::kFetch, 1, RequestError::kDisconnect);
  Consumer consumer = OpenConsumer(ConsumerConfig(cluster), "events");
  const PartitionStart starts[] = {{0, kBeginning}};
  ASSERT_TRUE(consumer.Assign(starts));
  ExpectExactly(ConsumeN(consumer, 500, /*max_batch=*/50), 0, 500);
  Result<Batch> more = consumer.Poll(100, milliseconds(100));
  ASSERT_TRUE(more);
  EXPECT_TRUE(more.value().empty());
}

}  // namespace
}  // namespace casewatch::kafka
