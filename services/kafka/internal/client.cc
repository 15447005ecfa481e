#include "services/kafka/internal/client.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <climits>
#include <string>
#include <thread>

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
  // The client returns a security failure as one Error; each broker's line is only detail.
  if (spd != spdlog::level::debug && IsSecurityFailureLog(facility, text)) {
    spd = spdlog::level::debug;
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
      return SecurityFailure(what, err, rd_kafka_err2str(err), SecuritySettings{}, 0);
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

namespace {

// OpenSSL's words for a certificate it could not verify (1.1 and 3).
bool SaysCertificateVerifyFailed(std::string_view text) {
  return text.find("certificate verify failed") != std::string_view::npos;
}

}  // namespace

bool IsSecurityFailure(rd_kafka_resp_err_t err, std::string_view reason) {
  if (err == RD_KAFKA_RESP_ERR__TRANSPORT) return SaysCertificateVerifyFailed(reason);
  switch (err) {
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__SSL:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR_ILLEGAL_SASL_STATE:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM:
      return true;
    default:
      return false;
  }
}

SecuritySettings SecuritySettingsOf(const rd_kafka_t* client) {
  const rd_kafka_conf_t* conf = rd_kafka_conf(const_cast<rd_kafka_t*>(client));
  auto get = [conf](const char* name) {
    char value[1024] = "";
    size_t size = sizeof(value);
    if (rd_kafka_conf_get(conf, name, value, &size) != RD_KAFKA_CONF_OK) return std::string();
    return std::string(value);
  };
  return SecuritySettings{get("security.protocol"), get("sasl.mechanisms"), get("sasl.username"),
                          get("ssl.ca.location")};
}

Error SecurityFailure(std::string_view who, rd_kafka_resp_err_t err, std::string_view reason,
                      const SecuritySettings& settings, int librdkafka_version) {
  const bool tls = err == RD_KAFKA_RESP_ERR__SSL || err == RD_KAFKA_RESP_ERR__TRANSPORT;
  std::string message;
  if (tls && SaysCertificateVerifyFailed(reason)) {
    message = fmt::format(
        "{}: TLS certificate verification failed: the broker's certificate is not signed by a CA "
        "in ssl.ca.location ({}), or does not name the host connected to; check ssl.ca.location",
        who, settings.ca_location.empty() ? "not set: the system's CAs" : settings.ca_location);
  } else if (tls) {
    message = fmt::format(
        "{}: the TLS handshake with the broker failed; check security.protocol ({}) against the "
        "brokers' listener, and ssl.ca.location ({})",
        who, settings.protocol.empty() ? "not set" : settings.protocol,
        settings.ca_location.empty() ? "not set: the system's CAs" : settings.ca_location);
  } else {
    const std::string user =
        settings.username.empty() ? std::string() : fmt::format(" as \"{}\"", settings.username);
    const std::string mechanism =
        settings.mechanism.empty() ? std::string() : fmt::format(" with {}", settings.mechanism);
    message = fmt::format(
        "{}: authentication failed: the brokers refused SASL authentication{}{}; check "
        "sasl.username and sasl.password, and that the brokers enable {}",
        who, user, mechanism,
        settings.mechanism.empty() ? std::string("sasl.mechanisms") : settings.mechanism);
    // librdkafka before 2.6.1 repeats its own nonce in SCRAM's final message; Apache Kafka 4.0
    // and later check it strictly (RFC 5802) and refuse even the right password.
    constexpr int kScramFixedIn = 0x020601ff;  // librdkafka 2.6.1
    if (librdkafka_version > 0 && librdkafka_version < kScramFixedIn &&
        settings.mechanism.starts_with("SCRAM")) {
      message += fmt::format(
          ". Note: this librdkafka ({}.{}.{}, before 2.6.1) is refused SCRAM by Apache Kafka 4.0 "
          "and later even with the right password; with such brokers use PLAIN over SASL_SSL or "
          "librdkafka 2.6.1 or later",
          (librdkafka_version >> 24) & 0xff, (librdkafka_version >> 16) & 0xff,
          (librdkafka_version >> 8) & 0xff);
    }
  }
  return InvalidArgument(
      fmt::format("{} (librdkafka: {}, {})", message, reason, rd_kafka_err2name(err)));
}

bool IsSecurityFailureLog(std::string_view facility, std::string_view text) {
  if (facility != "FAIL") return false;
  if (text.find("SASL authentication error") != std::string_view::npos) return true;
  if (SaysCertificateVerifyFailed(text)) return true;
  return text.find("SSL handshake failed") != std::string_view::npos &&
         text.find("Disconnected") == std::string_view::npos;  // that one is __TRANSPORT
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

Result<std::vector<int32_t>> TopicPartitions(
    rd_kafka_t* client, const std::string& topic, std::string_view brokers,
    std::chrono::milliseconds timeout, const std::function<std::optional<Error>()>& failure) {
  // Metadata of every topic rather than of this one: asking for one topic by name makes brokers
  // with auto.create.topics.enable (and librdkafka's mock) create it. Asked in slices, so that a
  // fatal error seen meanwhile (a refused password) ends the wait.
  constexpr std::chrono::milliseconds kSlice{250};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const rd_kafka_metadata_t* raw = nullptr;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const auto wait = failure ? std::min(left, kSlice) : left;
    err = rd_kafka_metadata(client, 1, nullptr, &raw, TimeoutMs(wait));
    if (!failure || (err != RD_KAFKA_RESP_ERR__TIMED_OUT && err != RD_KAFKA_RESP_ERR__TRANSPORT)) {
      break;
    }
    if (std::optional<Error> failed = failure()) return *std::move(failed);
    if (std::chrono::steady_clock::now() >= deadline) break;
    if (err == RD_KAFKA_RESP_ERR__TRANSPORT) {
      std::this_thread::sleep_for(std::min(left, std::chrono::milliseconds(50)));
    }
  }
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
