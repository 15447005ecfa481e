// kafka::ReadToEnd, read_committed, on the real cluster (librdkafka's mock has no real
// transactions): the end is where the topic ended when the read began, every record committed by
// then, not the last stable offset at which a partition first reports its end. That offset stays
// below the end while another producer's transaction is open, or while the markers of one just
// committed are still being written. A reader stopping there missed what was committed last: a
// store rebuilt from the derived topic right after the last leader stopped restored too few
// derived events and derived the rest anew (real_kafka.faults, once).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "services/daemon/testing/kafka_harness.h"
#include "services/kafka/consumer.h"
#include "services/kafka/producer.h"

namespace casewatch {
namespace {

using std::chrono::seconds;

kafka::Producer TransactionalProducer(const std::string& brokers, const std::string& id) {
  auto opened = kafka::Producer::Open({brokers, {{"transactional.id", id}}});
  EXPECT_TRUE(opened) << opened.error().message;
  kafka::Producer producer = std::move(opened).value();
  const auto initialised = producer.InitTransactions(seconds(30));
  EXPECT_TRUE(initialised) << initialised.error().message;
  return producer;
}

void ProduceInTransaction(kafka::Producer& producer, const std::string& topic,
                          const std::vector<std::string>& values) {
  ASSERT_TRUE(producer.BeginTransaction());
  for (const std::string& value : values) ASSERT_TRUE(producer.Produce(topic, "k", value));
  ASSERT_TRUE(producer.Flush(seconds(30)));
}

TEST(ReadToEnd, ReadCommittedWaitsForATransactionOpenWhenItBeganRatherThanStopShort) {
  auto started = daemon::testing::TestBroker::Start(1);
  ASSERT_TRUE(started) << started.error().message;
  const daemon::testing::TestBroker& broker = started.value();
  ASSERT_TRUE(broker.real()) << "needs real transactions: run under the real_kafka label";
  const std::string& topic = broker.topics().events;
  const std::string brokers = broker.bootstrap_servers();

  // a1..a3 committed; then x in a transaction left open; then b1, b2 committed after it.
  kafka::Producer steady = TransactionalProducer(brokers, fmt::format("rte-steady-{}", getpid()));
  kafka::Producer late = TransactionalProducer(brokers, fmt::format("rte-late-{}", getpid()));
  ProduceInTransaction(steady, topic, {"a1", "a2", "a3"});
  ASSERT_EQ(steady.CommitTransaction(seconds(30)).value(),
            kafka::Producer::TransactionEnd::kCommitted);
  ProduceInTransaction(late, topic, {"x"});
  ProduceInTransaction(steady, topic, {"b1", "b2"});
  ASSERT_EQ(steady.CommitTransaction(seconds(30)).value(),
            kafka::Producer::TransactionEnd::kCommitted);

  std::vector<std::string> read;
  std::atomic<bool> finished{false};
  Result<void> result = Ok();
  std::thread reader([&] {
    result = kafka::ReadToEnd({brokers, {}}, topic, seconds(60), [&](const kafka::Message& m) {
      read.emplace_back(m.value);
    });
    finished = true;
  });
  std::this_thread::sleep_for(seconds(3));
  EXPECT_FALSE(finished.load()) << "ReadToEnd stopped at the open transaction, having read "
                                << read.size() << " records";
  ASSERT_EQ(late.CommitTransaction(seconds(30)).value(),
            kafka::Producer::TransactionEnd::kCommitted);
  reader.join();
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(read, (std::vector<std::string>{"a1", "a2", "a3", "x", "b1", "b2"}));
}

}  // namespace
}  // namespace casewatch
