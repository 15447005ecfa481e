#pragma once
// librdkafka plumbing shared by Consumer, Producer and MockCluster: owning handles, building a
// configuration, logging through spdlog, and converting librdkafka's error codes into Errors.
// Only for services/kafka: nothing outside this folder sees an rd_kafka type.

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "services/kafka/kafka_config.h"

namespace casewatch::kafka::internal {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

// Destroys a client. For a consumer, the owner calls rd_kafka_consumer_close first.
struct ClientDeleter {
  void operator()(rd_kafka_t* client) const { rd_kafka_destroy(client); }
};
using ClientPtr = std::unique_ptr<rd_kafka_t, ClientDeleter>;

struct TopicDeleter {
  void operator()(rd_kafka_topic_t* topic) const { rd_kafka_topic_destroy(topic); }
};
using TopicPtr = std::unique_ptr<rd_kafka_topic_t, TopicDeleter>;

struct QueueDeleter {
  void operator()(rd_kafka_queue_t* queue) const { rd_kafka_queue_destroy(queue); }
};
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const {
    rd_kafka_topic_partition_list_destroy(list);
  }
};
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

struct MessageDeleter {
  void operator()(rd_kafka_message_t* message) const { rd_kafka_message_destroy(message); }
};
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* metadata) const {
    rd_kafka_metadata_destroy(metadata);
  }
};
using MetadataPtr = std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter>;

// Errors that librdkafka recovers from by itself (reconnecting, refreshing metadata, retrying):
// worth a log line and a counter, not a failure of the caller's call.
bool IsTransient(rd_kafka_resp_err_t err);

// `err` as an Error: kUnavailable when transient (IsTransient, or a full queue), kInvalidArgument
// for authentication, authorisation and size problems the configuration must fix, kNotFound for
// an offset that is out of range, kIo otherwise. `what` says what failed.
Error ToError(rd_kafka_resp_err_t err, std::string_view what);

// Sets one property, as an InvalidArgument naming the key when librdkafka refuses it.
[[nodiscard]] Result<void> SetProperty(rd_kafka_conf_t* conf, std::string_view key,
                                       std::string_view value);

// A configuration: logging through spdlog, then bootstrap.servers, then `defaults`, then the
// caller's properties in order (so they may override the defaults).
[[nodiscard]] Result<ConfPtr> MakeConf(const KafkaConfig& config,
                                       std::span<const Property> defaults);

// Creates a client from `conf` (taken over by librdkafka on success, destroyed on failure).
[[nodiscard]] Result<ClientPtr> NewClient(rd_kafka_type_t type, ConfPtr conf);

// The partition ids of `topic`, ascending, from a metadata request. Unavailable when the brokers
// cannot be reached within `timeout` or the topic does not exist (the message says which).
[[nodiscard]] Result<std::vector<int32_t>> TopicPartitions(rd_kafka_t* client,
                                                           const std::string& topic,
                                                           std::string_view brokers,
                                                           std::chrono::milliseconds timeout);

// A timeout as librdkafka's int milliseconds, clamped to [0, INT_MAX].
int TimeoutMs(std::chrono::milliseconds timeout);

}  // namespace casewatch::kafka::internal
