#include "services/daemon/testing/kafka_harness.h"

#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string_view>
#include <thread>

#include "services/kafka/admin.h"
#include "services/kafka/consumer.h"

namespace casewatch::daemon::testing {

Result<kafka::MockCluster> StartCluster(int partitions) {
  CW_TRY(cluster, kafka::MockCluster::Start(1));
  for (const char* topic : {"case-events", "case-alerts", "case-events-dlq", "case-events-derived"}) {
    CW_TRY(cluster.CreateTopic(topic, partitions));
  }
  return std::move(cluster);
}

Result<TestBroker> TestBroker::Start(int partitions) {
  TestBroker broker;
  const char* dir = std::getenv(kRealClusterVariable);
  if (dir == nullptr || *dir == '\0') {
    CW_TRY(cluster, StartCluster(partitions));
    CW_TRY(cluster.CreateTopic(broker.directory_topic_, 1));
    CW_TRY(cluster.CreateTopic(broker.event_ids_topic_, partitions));
    broker.bootstrap_ = cluster.bootstrap_servers();
    broker.mock_.emplace(std::move(cluster));
    return broker;
  }
  broker.cluster_dir_ = dir;
  std::ifstream bootstrap(broker.cluster_dir_ / "bootstrap");
  if (!std::getline(bootstrap, broker.bootstrap_) || broker.bootstrap_.empty()) {
    return NotFound(fmt::format("{}={}, but {}/bootstrap cannot be read: start the cluster with "
                                "scripts/kafka/cluster.sh start {}",
                                kRealClusterVariable, dir, dir, dir));
  }
  // Unique within the cluster's life: the fixture that starts it starts from empty storage.
  static std::atomic<int> next{0};
  const std::string prefix = fmt::format("t{}-{}-", getpid(), next++);
  broker.topics_ = TopicNames{prefix + "case-events", prefix + "case-alerts",
                              prefix + "case-events-dlq", prefix + "case-events-derived"};
  std::vector<kafka::NewTopic> topics;
  for (const std::string* name : {&broker.topics_.events, &broker.topics_.alerts,
                                   &broker.topics_.dead_letters, &broker.topics_.derived}) {
    topics.push_back(kafka::NewTopic{*name, partitions, 3, {{"min.insync.replicas", "2"}}});
  }
  // The outbox's progress (exactly once): compacted, one partition, as deploy/topics.sh makes it.
  broker.progress_topic_ = prefix + "outbox-progress";
  topics.push_back(kafka::NewTopic{broker.progress_topic_, 1, 3,
                                   {{"min.insync.replicas", "2"}, {"cleanup.policy", "compact"}}});
  // The progress of casewatchd --tasks (exactly once): compacted, a partition per task, as
  // deploy/topics.sh makes it.
  broker.tasks_progress_topic_ = prefix + "tasks-progress";
  topics.push_back(kafka::NewTopic{broker.tasks_progress_topic_, partitions, 3,
                                   {{"min.insync.replicas", "2"}, {"cleanup.policy", "compact"}}});
  // The group's directory: compacted, one partition, as deploy/topics.sh makes it.
  broker.directory_topic_ = prefix + "group-directory";
  topics.push_back(kafka::NewTopic{broker.directory_topic_, 1, 3,
                                   {{"min.insync.replicas", "2"}, {"cleanup.policy", "compact"}}});
  // The group's event id claims: delete (never compacted: the first claim on an id must stay),
  // kept for ever, as deploy/topics.sh makes it.
  broker.event_ids_topic_ = prefix + "event-ids";
  topics.push_back(kafka::NewTopic{broker.event_ids_topic_, partitions, 3,
                                   {{"min.insync.replicas", "2"}, {"retention.ms", "-1"}}});
  const kafka::KafkaConfig config{broker.bootstrap_, {}};
  CW_TRY(kafka::CreateTopics(config, topics, std::chrono::seconds(30)));
  // The controller has made them; wait until every broker's metadata shows every partition (a
  // publisher asking a broker that has not caught up is told the topic does not exist). Each
  // broker is asked alone, as the one address a client is given.
  std::string_view addresses = broker.bootstrap_;
  while (!addresses.empty()) {
    const std::string address(addresses.substr(0, addresses.find(',')));
    addresses.remove_prefix(std::min(addresses.size(), address.size() + 1));
    for (const kafka::NewTopic& topic : topics) {
      CW_TRY(consumer, kafka::Consumer::Open({address, {}}, topic.name));
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (true) {
        auto found = consumer.Partitions(std::chrono::seconds(5));
        if (found && found.value().size() == static_cast<size_t>(topic.partitions)) break;
        if (std::chrono::steady_clock::now() > deadline) {
          return Unavailable(fmt::format("topic {} made on {} but not visible from {} within 30 s",
                                         topic.name, broker.bootstrap_, address));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  }
  return broker;
}

void TestBroker::Configure(RunnerOptions& options) const {
  options.kafka.brokers = bootstrap_;
  options.engine.topic = topics_.events;
  options.engine.alerts_topic = topics_.alerts;
  options.engine.dead_letter_topic = topics_.dead_letters;
  options.engine.derived_topic = topics_.derived;
  if (!mock_) options.outbox.progress_topic = progress_topic_;
}

std::vector<std::string> TestBroker::DaemonFlags() const {
  std::vector<std::string> flags = {"--brokers",       bootstrap_,
                                    "--topic",         topics_.events,
                                    "--alerts-topic",  topics_.alerts,
                                    "--dead-letter-topic", topics_.dead_letters,
                                    "--derived-topic", topics_.derived};
  if (!mock_) {
    flags.push_back("--outbox-progress-topic");
    flags.push_back(progress_topic_);
    flags.push_back("--tasks-progress-topic");
    flags.push_back(tasks_progress_topic_);
  }
  flags.push_back("--group-directory-topic");
  flags.push_back(directory_topic_);
  flags.push_back("--event-ids-topic");
  flags.push_back(event_ids_topic_);
  return flags;
}

Result<void> Produce(kafka::Producer& producer, const SimulatedStream& sim, size_t from,
                     size_t to, const std::string& topic) {
  for (size_t i = from; i < to; ++i) {
    while (true) {
      auto queued = producer.Produce(topic, sim.keys[i], sim.records[i]);
      if (queued) break;
      if (!IsRetryable(queued.error())) return queued.error();
      producer.Poll(std::chrono::milliseconds(5));
    }
  }
  return Ok();
}

Result<void> Publish(const std::string& brokers, const SimulatedStream& sim, size_t from,
                     size_t to, const std::string& topic) {
  CW_TRY(producer, kafka::Producer::Open(kafka::KafkaConfig{brokers, {}}));
  CW_TRY(Produce(producer, sim, from, to, topic));
  CW_TRY(producer.Flush(std::chrono::seconds(120)));
  if (producer.failed() > 0) {
    return IoError(fmt::format("{} records were not delivered", producer.failed()));
  }
  return Ok();
}

uint64_t ConsumedOffsets(const std::filesystem::path& data, const std::filesystem::path& scratch,
                         const std::string& topic) {
  static std::atomic<int> next{0};
  auto store = store::StoreReader::OpenSecondary(data, scratch / fmt::format("secondary-{}", next++));
  if (!store) return 0;
  uint64_t total = 0;
  if (auto offsets = store.value()->Offsets(topic)) {
    for (const store::OffsetEntry& o : offsets.value()) total += o.next_offset;
  }
  return total;
}

RunnerOptions FrozenClockOptions(const std::string& brokers, Instant frozen) {
  RunnerOptions options;
  options.kafka.brokers = brokers;
  options.clock = [frozen] { return frozen; };
  return options;
}

EngineThread::EngineThread(store::Store& store, RunnerOptions options) {
  thread_ = std::thread([this, &store, options = std::move(options)] {
    result_ = RunEngine(store, options, stop_, [this](const RunnerStatus& s) {
      applied_ = s.counters.accepted + s.counters.duplicates + s.counters.rejected;
      max_lag_ = std::max<int64_t>(max_lag_, s.lag);
    });
  });
}

EngineThread::~EngineThread() { Stop(); }

bool EngineThread::WaitFor(uint64_t records, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (applied_.load() < records) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

const Result<void>& EngineThread::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  return result_;
}

}  // namespace casewatch::daemon::testing
