#include "services/kafka/producer.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <map>
#include <optional>

#include "services/kafka/internal/client.h"

namespace casewatch::kafka {
namespace {

const Property kProducerDefaults[] = {
    {"enable.idempotence", "true"},
    {"acks", "all"},
    {"linger.ms", "5"},
};

}  // namespace

// Owns the librdkafka producer and one topic handle per topic produced to (destroyed before the
// producer: members are destroyed in reverse order). A record's DeliveryCallback travels as the
// message's opaque pointer, released here when its report is served.
struct Producer::Impl {
  std::string brokers;
  internal::ClientPtr client;
  std::map<std::string, internal::TopicPtr, std::less<>> topics;
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> failed{0};
  std::optional<Error> fatal;
  bool discarding = false;  // set by the destructor: reports are dropped, callbacks not run

  ~Impl() {
    if (!client) return;
    // Undelivered records are discarded; serving their (purged) reports frees their callbacks.
    discarding = true;
    rd_kafka_purge(client.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(client.get(), 1000);
    if (const int left = rd_kafka_outq_len(client.get()); left > 0) {
      spdlog::warn("kafka producer: {} requests still outstanding at destruction", left);
    }
    topics.clear();
  }

  Result<rd_kafka_topic_t*> Topic(std::string_view name) {
    if (auto it = topics.find(name); it != topics.end()) return it->second.get();
    const std::string key(name);
    internal::TopicPtr handle(rd_kafka_topic_new(client.get(), key.c_str(), nullptr));
    if (!handle) {
      return internal::ToError(rd_kafka_last_error(), fmt::format("Kafka topic \"{}\"", key));
    }
    rd_kafka_topic_t* raw = handle.get();
    topics.emplace(key, std::move(handle));
    return raw;
  }

  static void OnDelivery(rd_kafka_t* /*client*/, const rd_kafka_message_t* message, void* opaque) {
    Impl& impl = *static_cast<Impl*>(opaque);
    std::unique_ptr<DeliveryCallback> callback(static_cast<DeliveryCallback*>(message->_private));
    if (impl.discarding) return;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      impl.delivered.fetch_add(1, std::memory_order_relaxed);
      if (callback) (*callback)(Ok());
      return;
    }
    impl.failed.fetch_add(1, std::memory_order_relaxed);
    Error error = internal::ToError(
        message->err, fmt::format("delivery to \"{}\" partition {}",
                                  rd_kafka_topic_name(message->rkt), message->partition));
    if (message->err == RD_KAFKA_RESP_ERR__FATAL && impl.fatal) error = *impl.fatal;
    if (callback) (*callback)(std::move(error));
  }

  static void OnClientError(rd_kafka_t* client, int err, const char* reason, void* opaque) {
    Impl& impl = *static_cast<Impl*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      char cause_text[512] = "";
      const rd_kafka_resp_err_t cause =
          rd_kafka_fatal_error(client, cause_text, sizeof(cause_text));
      if (!impl.fatal) {
        impl.fatal =
            IoError(fmt::format("Kafka producer: fatal error, the producer must be "
                                "re-created: {} ({})",
                                cause_text, rd_kafka_err2name(cause)));
      }
      spdlog::error("{}", impl.fatal->message);
      return;
    }
    if (internal::IsSecurityFailure(static_cast<rd_kafka_resp_err_t>(err), reason)) {
      // Refused credentials or certificate: no retry helps. Produce, Flush and Partitions return
      // it as the one Error (the broker's line is logged at debug level).
      if (!impl.fatal) {
        impl.fatal = internal::SecurityFailure(
            "Kafka producer", static_cast<rd_kafka_resp_err_t>(err), reason,
            internal::SecuritySettingsOf(client), rd_kafka_version());
      }
      spdlog::debug("kafka producer: {}", reason);
      return;
    }
    // Transient ones (connection-level) were already logged by librdkafka as they happened.
    const bool transient = internal::IsTransient(static_cast<rd_kafka_resp_err_t>(err));
    spdlog::log(transient ? spdlog::level::debug : spdlog::level::warn, "kafka producer: {} ({}){}",
                reason, rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)),
                transient ? "; librdkafka retries" : "");
  }
};

Producer::Producer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Producer::~Producer() = default;
Producer::Producer(Producer&&) noexcept = default;
Producer& Producer::operator=(Producer&&) noexcept = default;

Result<Producer> Producer::Open(const KafkaConfig& config) {
  auto impl = std::make_unique<Impl>();
  impl->brokers = config.brokers;
  Result<internal::ConfPtr> conf = internal::MakeConf(config, kProducerDefaults);
  if (!conf) return conf.error();
  rd_kafka_conf_set_opaque(conf.value().get(), impl.get());  // Impl is on the heap: it stays put
  rd_kafka_conf_set_dr_msg_cb(conf.value().get(), &Impl::OnDelivery);
  rd_kafka_conf_set_error_cb(conf.value().get(), &Impl::OnClientError);
  Result<internal::ClientPtr> client =
      internal::NewClient(RD_KAFKA_PRODUCER, std::move(conf).value());
  if (!client) return client.error();
  impl->client = std::move(client).value();
  return Producer(std::move(impl));
}

Result<void> Producer::Produce(std::string_view topic, std::string_view key, std::string_view value,
                               DeliveryCallback on_delivery) {
  Impl& impl = *impl_;
  if (impl.fatal) return *impl.fatal;
  Result<rd_kafka_topic_t*> handle = impl.Topic(topic);
  if (!handle) return handle.error();
  std::unique_ptr<DeliveryCallback> callback;
  if (on_delivery) callback = std::make_unique<DeliveryCallback>(std::move(on_delivery));
  const rd_kafka_resp_err_t err = rd_kafka_producev(
      impl.client.get(), RD_KAFKA_V_RKT(handle.value()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_KEY(key.empty() ? nullptr : key.data(), key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
      RD_KAFKA_V_OPAQUE(callback.get()), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      return Unavailable(
          "Kafka producer: the local queue is full; poll for delivery reports and "
          "retry");
    }
    if (err == RD_KAFKA_RESP_ERR__FATAL && impl.fatal) return *impl.fatal;
    return internal::ToError(
        err, fmt::format("Kafka producer: cannot queue a record for \"{}\"", topic));
  }
  (void)callback.release();  // now owned by the queued record, freed by OnDelivery
  return Ok();
}

void Producer::Poll(std::chrono::milliseconds timeout) {
  rd_kafka_poll(impl_->client.get(), internal::TimeoutMs(timeout));
}

Result<void> Producer::Flush(std::chrono::milliseconds timeout) {
  const rd_kafka_resp_err_t err = rd_kafka_flush(impl_->client.get(), internal::TimeoutMs(timeout));
  if (impl_->fatal) return *impl_->fatal;
  if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
    return Unavailable(
        fmt::format("Kafka producer: {} records still undelivered after {} ms (brokers {})",
                    rd_kafka_outq_len(impl_->client.get()), timeout.count(), impl_->brokers));
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return internal::ToError(err, "Kafka producer: flush");
  return Ok();
}

Result<std::vector<int32_t>> Producer::Partitions(const std::string& topic,
                                                  std::chrono::milliseconds timeout) {
  // Serving the client's callbacks while waiting is what lets a refused password end the wait.
  return internal::TopicPartitions(impl_->client.get(), topic, impl_->brokers, timeout, [this] {
    rd_kafka_poll(impl_->client.get(), 0);
    return impl_->fatal;
  });
}

uint64_t Producer::delivered() const { return impl_->delivered.load(std::memory_order_relaxed); }
uint64_t Producer::failed() const { return impl_->failed.load(std::memory_order_relaxed); }

}  // namespace casewatch::kafka
