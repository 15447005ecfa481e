#pragma once
// Topic administration through the Kafka protocol (CreateTopics): for tests and benchmarks that
// need topics of their own on a real cluster. Production topics are made by deploy/topics.sh.

#include <chrono>
#include <string>
#include <vector>

#include "base/result.h"
#include "services/kafka/kafka_config.h"

namespace casewatch::kafka {

struct NewTopic {
  std::string name;
  int partitions = 1;
  int replication_factor = 1;
  std::vector<Property> configs;  // topic configs, e.g. {"min.insync.replicas", "2"}
};

// Creates every topic in `topics` on the cluster at `config`, waiting up to `timeout` for the
// controller's answer. A topic that already exists is an error naming it, as
// is any other refusal; brokers that cannot be reached are kUnavailable.
[[nodiscard]] Result<void> CreateTopics(const KafkaConfig& config,
                                        const std::vector<NewTopic>& topics,
                                        std::chrono::milliseconds timeout);

}  // namespace casewatch::kafka
