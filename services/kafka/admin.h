#pragma once
// Topic administration through the Kafka protocol (CreateTopics, DeleteRecords): for tests and
// benchmarks that need topics of their own, or a topic whose early records are gone, on a real
// cluster. Production topics are made by deploy/topics.sh.

#include <chrono>
#include <cstdint>
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

// Deletes the records of `topic` partition `partition` below `offset`, as retention would: the
// partition then begins at `offset`. (librdkafka's mock cluster does not implement it.)
[[nodiscard]] Result<void> DeleteRecordsBefore(const KafkaConfig& config, const std::string& topic,
                                               int32_t partition, int64_t offset,
                                               std::chrono::milliseconds timeout);

}  // namespace casewatch::kafka
