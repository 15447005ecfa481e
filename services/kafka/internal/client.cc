#include "services/kafka/internal/client.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <climits>
#include <string>

#include "base/log_throttle.h"

namespace casewatch::kafka::internal {
namespace {

// librdkafka's log lines, at syslog levels, into spdlog. Runs on librdkafka's threads; spdlog's
// default logger is thread-safe. Connection failures arrive at LOG_ERR although librdkafka
// retries them itself, so LOG_ERR becomes a warning; only worse levels are errors.
void LogToSpdlog(const rd_kafka_t* client, int level, const char* facility, const char* text) {
  spdlog::level::level_enum spd = spdlog::level::debug;
  if (level <= 2) {
    spd = spdlog::level::err;
  } else if (level <= 4) {
    spd = spdlog::level::warn;
  } else if (level <= 6) {
    spd = spdlog::level::info;
  }
  // A broker that is down is retried every second or so, each time logged: hold repeats back.
  static LogThrottle throttle;
  uint64_t held_back = 0;
  if (spd == spdlog::level::debug || throttle.Allow(std::string(facility) + text, held_back)) {
    spdlog::log(spd, "kafka {} {}: {}{}", rd_kafka_name(client), facility, text,
                HeldBackNote(held_back));
  }
}

}  // namespace

bool IsTransient(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR__PARTITION_EOF:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__NODE_UPDATE:
    case RD_KAFKA_RESP_ERR__OUTDATED:
    case RD_KAFKA_RESP_ERR__INTR:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR:
    case RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_PREFERRED_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED:
      return true;
    default:
      return false;
  }
}

Error ToError(rd_kafka_resp_err_t err, std::string_view what) {
  std::string message =
      fmt::format("{}: {} ({})", what, rd_kafka_err2str(err), rd_kafka_err2name(err));
  if (IsTransient(err)) return Unavailable(std::move(message));
  switch (err) {
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__SSL:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR_ILLEGAL_SASL_STATE:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__INVALID_TYPE:
      return InvalidArgument(std::move(message));
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
      // The broker no longer has the records asked for (retention passed them): gone.
      return DataLoss(std::move(message));
    default:
      return IoError(std::move(message));
  }
}

Result<void> SetProperty(rd_kafka_conf_t* conf, std::string_view key, std::string_view value) {
  char reason[512] = "";
  const std::string k(key);
  const std::string v(value);
  switch (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), reason, sizeof(reason))) {
    case RD_KAFKA_CONF_OK:
      return Ok();
    case RD_KAFKA_CONF_UNKNOWN:
      return InvalidArgument(fmt::format("unknown Kafka property \"{}\"", k));
    default:
      return InvalidArgument(fmt::format("Kafka property \"{}\": {}", k, reason));
  }
}

Result<ConfPtr> MakeConf(const KafkaConfig& config, std::span<const Property> defaults) {
  ConfPtr conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), &LogToSpdlog);
  if (!config.brokers.empty()) {
    CW_TRY(SetProperty(conf.get(), "bootstrap.servers", config.brokers));
  }
  for (const Property& p : defaults) {
    CW_TRY(SetProperty(conf.get(), p.key, p.value));
  }
  for (const Property& p : config.properties) {
    CW_TRY(SetProperty(conf.get(), p.key, p.value));
  }
  return conf;
}

Result<ClientPtr> NewClient(rd_kafka_type_t type, ConfPtr conf) {
  char reason[512] = "";
  rd_kafka_t* client = rd_kafka_new(type, conf.get(), reason, sizeof(reason));
  if (client == nullptr) {
    return InvalidArgument(fmt::format("cannot create the Kafka {}: {}",
                                       type == RD_KAFKA_CONSUMER ? "consumer" : "producer",
                                       reason));
  }
  (void)conf.release();  // rd_kafka_new took it over
  return ClientPtr(client);
}

Result<std::vector<int32_t>> TopicPartitions(rd_kafka_t* client, const std::string& topic,
                                             std::string_view brokers,
                                             std::chrono::milliseconds timeout) {
  // Metadata of every topic rather than of this one: asking for one topic by name makes brokers
  // with auto.create.topics.enable (and librdkafka's mock) create it.
  const rd_kafka_metadata_t* raw = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(client, 1, nullptr, &raw, TimeoutMs(timeout));
  MetadataPtr metadata(raw);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT) {
      return Unavailable(fmt::format("the Kafka brokers {} did not answer within {} ms", brokers,
                                     timeout.count()));
    }
    return ToError(err, fmt::format("metadata of topic \"{}\" from {}", topic, brokers));
  }
  for (int i = 0; i < metadata->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = metadata->topics[i];
    if (topic != t.topic) continue;
    if (t.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) break;
    if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return ToError(t.err, fmt::format("metadata of topic \"{}\" from {}", topic, brokers));
    }
    std::vector<int32_t> ids;
    ids.reserve(static_cast<size_t>(t.partition_cnt));
    for (int p = 0; p < t.partition_cnt; ++p) ids.push_back(t.partitions[p].id);
    std::sort(ids.begin(), ids.end());
    return ids;
  }
  return Unavailable(
      fmt::format("topic \"{}\" does not exist on the Kafka brokers {}", topic, brokers));
}

int TimeoutMs(std::chrono::milliseconds timeout) {
  return static_cast<int>(std::clamp<int64_t>(timeout.count(), 0, INT_MAX));
}

}  // namespace casewatch::kafka::internal
