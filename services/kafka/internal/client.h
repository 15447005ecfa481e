#pragma once
// librdkafka plumbing shared by Consumer, Producer and MockCluster: owning handles, building a
// configuration, logging through spdlog, and converting librdkafka's error codes into Errors.
// Only for services/kafka: nothing outside this folder sees an rd_kafka type.

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
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

// A connection the brokers or this client refused for who is at the other end: SASL
// authentication failed (user, password, mechanism) or TLS failed (a broker certificate the CA in
// ssl.ca.location does not verify, a handshake that cannot agree). librdkafka reconnects after
// each and would retry for ever; only a change of configuration helps, so the clients treat these
// as fatal. A connection dropped during the handshake is __TRANSPORT, transient, not one of these;
// but librdkafka 2.0.2 also reports some certificate verification failures as __TRANSPORT, so
// `reason`, librdkafka's text for the error, is looked at for those.
bool IsSecurityFailure(rd_kafka_resp_err_t err, std::string_view reason = {});

// What a client's connections were configured with, as SecurityFailure names it.
struct SecuritySettings {
  std::string protocol;     // security.protocol
  std::string mechanism;    // sasl.mechanisms
  std::string username;     // sasl.username
  std::string ca_location;  // ssl.ca.location; empty: the system's CA certificates
};
SecuritySettings SecuritySettingsOf(const rd_kafka_t* client);

// The Error (kInvalidArgument) for a security failure: `who` ("Kafka producer"), what was refused
// and the settings to check, in this project's words, then librdkafka's own `reason`.
// `librdkafka_version` is rd_kafka_version()'s: before 2.6.1, librdkafka's SCRAM is refused by
// Apache Kafka 4.0 and later whatever the password, and the message says so.
Error SecurityFailure(std::string_view who, rd_kafka_resp_err_t err, std::string_view reason,
                      const SecuritySettings& settings, int librdkafka_version);

// Whether a line librdkafka logs (facility, text) reports a connection's security failure, which
// the client also gets as an error and returns as one Error: such lines are logged at debug
// level only, not once per broker and reconnection.
bool IsSecurityFailureLog(std::string_view facility, std::string_view text);

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
// cannot be reached within `timeout` or the topic does not exist (the message says which). While
// the brokers do not answer, `failure` is asked every quarter of a second whether the client has
// seen a fatal error (a security failure): that error is returned at once instead of waiting on.
[[nodiscard]] Result<std::vector<int32_t>> TopicPartitions(
    rd_kafka_t* client, const std::string& topic, std::string_view brokers,
    std::chrono::milliseconds timeout, const std::function<std::optional<Error>()>& failure = {});

// A timeout as librdkafka's int milliseconds, clamped to [0, INT_MAX].
int TimeoutMs(std::chrono::milliseconds timeout);

}  // namespace casewatch::kafka::internal
