// kafka_consume_bench [messages] [partitions] [max_batch] [records_per_produce_batch]: produces
// `messages` records of about 80 bytes into a topic of the in-process mock cluster, then reads
// them all back through Consumer and prints both rates. With records_per_produce_batch (e.g. 1),
// the producer flushes after that many records, so the log holds small batches, as a trickle of
// live events leaves it. Not a test: a measurement (services/kafka/README.md).
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "services/kafka/consumer.h"
#include "services/kafka/mock_cluster.h"
#include "services/kafka/producer.h"

namespace {

using casewatch::Result;
namespace kafka = casewatch::kafka;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

template <class T>
T OrDie(Result<T> result, const char* what) {
  if (!result) {
    fmt::print(stderr, "{}: {}\n", what, result.error().message);
    std::exit(1);
  }
  return std::move(result).value();
}

}  // namespace

int main(int argc, char** argv) {
  const long messages = argc > 1 ? std::atol(argv[1]) : 200'000;
  const int partitions = argc > 2 ? std::atoi(argv[2]) : 8;
  const size_t max_batch = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 1000;
  const long per_produce_batch = argc > 4 ? std::atol(argv[4]) : 0;
  kafka::MockCluster cluster = OrDie(kafka::MockCluster::Start(1), "mock cluster");
  if (Result<void> created = cluster.CreateTopic("bench", partitions); !created) {
    fmt::print(stderr, "{}\n", created.error().message);
    return 1;
  }
  kafka::KafkaConfig config{cluster.bootstrap_servers(), {}};
  if (per_produce_batch > 0) config.properties.push_back({"linger.ms", "0"});

  // An 80-byte value, like a binary Envelope of the simulator's.
  const std::string value(80, 'v');
  kafka::Producer producer = OrDie(kafka::Producer::Open(config), "producer");
  const auto produce_start = Clock::now();
  for (long i = 0; i < messages; ++i) {
    const std::string key = fmt::format("case-{}", i % 5000);
    while (!producer.Produce("bench", key, value)) producer.Poll(std::chrono::milliseconds(1));
    if (per_produce_batch > 0 && (i + 1) % per_produce_batch == 0) {
      (void)producer.Flush(std::chrono::seconds(10));
    }
  }
  if (Result<void> flushed = producer.Flush(std::chrono::seconds(60)); !flushed) {
    fmt::print(stderr, "{}\n", flushed.error().message);
    return 1;
  }
  const double produce_seconds = Seconds(Clock::now() - produce_start);

  kafka::Consumer consumer =
      OrDie(kafka::Consumer::Open({cluster.bootstrap_servers(), {}}, "bench"), "consumer");
  std::vector<kafka::PartitionStart> starts;
  for (int32_t p : OrDie(consumer.Partitions(std::chrono::seconds(5)), "partitions")) {
    starts.push_back({p, kafka::kBeginning});
  }
  const auto consume_start = Clock::now();
  if (Result<void> assigned = consumer.Assign(starts); !assigned) return 1;
  long consumed = 0;
  size_t bytes = 0;
  auto last = consume_start;
  while (consumed < messages) {
    kafka::Batch batch = OrDie(consumer.Poll(max_batch, std::chrono::milliseconds(500)), "poll");
    if (batch.empty()) break;  // the mock keeps only ~5 MiB per partition: older records are gone
    for (const kafka::Message& m : batch.messages()) bytes += m.value.size();
    consumed += static_cast<long>(batch.size());
    last = Clock::now();
  }
  const double consume_seconds = Seconds(last - consume_start);
  fmt::print("produced {} records in {:.3f} s: {:.0f} records/s\n", messages, produce_seconds,
             messages / produce_seconds);
  fmt::print(
      "consumed {} records ({:.1f} MB of values) in {:.3f} s: {:.0f} records/s "
      "(max_batch {}, {} partitions)\n",
      consumed, bytes / 1e6, consume_seconds, consumed / consume_seconds, max_batch, partitions);
  return consumed == messages ? 0 : 2;
}
