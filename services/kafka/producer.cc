#include "services/kafka/producer.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
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

struct TransactionErrorDeleter {
  void operator()(rd_kafka_error_t* error) const { rd_kafka_error_destroy(error); }
};
using TransactionErrorPtr = std::unique_ptr<rd_kafka_error_t, TransactionErrorDeleter>;

struct HeadersDeleter {
  void operator()(rd_kafka_headers_t* headers) const { rd_kafka_headers_destroy(headers); }
};

}  // namespace

// Owns the librdkafka producer and one topic handle per topic produced to (destroyed before the
// producer: members are destroyed in reverse order). A record's DeliveryCallback travels as the
// message's opaque pointer, released here when its report is served.
struct Producer::Impl {
  std::string brokers;
  std::string transactional_id;  // empty: not transactional
  std::string last_abort_reason;
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

  // What a fatal error means, in words: for a transactional producer, fencing and authorisation
  // say what to do about them.
  Error FatalError(rd_kafka_resp_err_t cause, std::string_view text) const {
    if (transactional_id.empty()) {
      return IoError(
          fmt::format("Kafka producer: fatal error, the producer must be re-created: {} ({})",
                      text, rd_kafka_err2name(cause)));
    }
    const std::string subject =
        fmt::format("Kafka producer with transactional.id \"{}\"", transactional_id);
    switch (cause) {
      case RD_KAFKA_RESP_ERR__FENCED:
      case RD_KAFKA_RESP_ERR_PRODUCER_FENCED:
      case RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH:
        return FailedPrecondition(fmt::format(
            "{}: fenced: another producer with the same transactional.id has started since (a "
            "second casewatchd for the same events topic, or this one's successor), so this one "
            "must stop: {} ({})",
            subject, text, rd_kafka_err2name(cause)));
      case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
        return InvalidArgument(fmt::format(
            "{}: not authorised: grant the principal Write and Describe on TransactionalId \"{}\" "
            "(deploy/topics.sh): {} ({})",
            subject, transactional_id, text, rd_kafka_err2name(cause)));
      case RD_KAFKA_RESP_ERR_INVALID_TRANSACTION_TIMEOUT:
        return InvalidArgument(fmt::format(
            "{}: transaction.timeout.ms is above the brokers' transaction.max.timeout.ms: {} ({})",
            subject, text, rd_kafka_err2name(cause)));
      default:
        return IoError(fmt::format("{}: fatal error, the producer cannot go on: {} ({})", subject,
                                   text, rd_kafka_err2name(cause)));
    }
  }

  // A transactional call's error: Unavailable when retriable, else fatal (FatalError; librdkafka
  // advises treating errors that are neither retriable nor abortable as fatal).
  Error TransactionError(const rd_kafka_error_t* error, std::string_view what) const {
    if (rd_kafka_error_is_retriable(error) && !rd_kafka_error_is_fatal(error)) {
      return Unavailable(fmt::format("Kafka producer with transactional.id \"{}\": {}: {} ({})",
                                     transactional_id, what, rd_kafka_error_string(error),
                                     rd_kafka_error_name(error)));
    }
    rd_kafka_resp_err_t cause = rd_kafka_error_code(error);
    std::string text = rd_kafka_error_string(error);
    if (rd_kafka_error_is_fatal(error) || cause == RD_KAFKA_RESP_ERR__FATAL) {
      char fatal_text[512] = "";
      const rd_kafka_resp_err_t fatal_cause =
          rd_kafka_fatal_error(client.get(), fatal_text, sizeof(fatal_text));
      if (fatal_cause != RD_KAFKA_RESP_ERR_NO_ERROR) {
        cause = fatal_cause;
        text = fatal_text;
      }
    }
    return FatalError(cause, fmt::format("{}: {}", what, text));
  }

  static void OnClientError(rd_kafka_t* client, int err, const char* reason, void* opaque) {
    Impl& impl = *static_cast<Impl*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      char cause_text[512] = "";
      const rd_kafka_resp_err_t cause =
          rd_kafka_fatal_error(client, cause_text, sizeof(cause_text));
      if (!impl.fatal) impl.fatal = impl.FatalError(cause, cause_text);
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
  for (const Property& p : config.properties) {
    if (p.key == "transactional.id") impl->transactional_id = p.value;
  }
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
                               DeliveryCallback on_delivery, std::span<const Header> headers,
                               int32_t partition) {
  Impl& impl = *impl_;
  if (impl.fatal) return *impl.fatal;
  Result<rd_kafka_topic_t*> handle = impl.Topic(topic);
  if (!handle) return handle.error();
  std::unique_ptr<DeliveryCallback> callback;
  if (on_delivery) callback = std::make_unique<DeliveryCallback>(std::move(on_delivery));
  // Owned by librdkafka once the record is queued, by this function until then.
  std::unique_ptr<rd_kafka_headers_t, HeadersDeleter> record_headers;
  if (!headers.empty()) {
    record_headers.reset(rd_kafka_headers_new(headers.size()));
    for (const Header& h : headers) {
      rd_kafka_header_add(record_headers.get(), h.name.data(), static_cast<ssize_t>(h.name.size()),
                          h.value.data(), static_cast<ssize_t>(h.value.size()));
    }
  }
  char* const payload = value.empty() ? nullptr : const_cast<char*>(value.data());
  const rd_kafka_resp_err_t err =
      record_headers
          ? rd_kafka_producev(impl.client.get(), RD_KAFKA_V_RKT(handle.value()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_PARTITION(partition),
                              RD_KAFKA_V_KEY(key.empty() ? nullptr : key.data(), key.size()),
                              RD_KAFKA_V_VALUE(payload, value.size()),
                              RD_KAFKA_V_HEADERS(record_headers.get()),
                              RD_KAFKA_V_OPAQUE(callback.get()), RD_KAFKA_V_END)
          : rd_kafka_producev(impl.client.get(), RD_KAFKA_V_RKT(handle.value()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_PARTITION(partition),
                              RD_KAFKA_V_KEY(key.empty() ? nullptr : key.data(), key.size()),
                              RD_KAFKA_V_VALUE(payload, value.size()),
                              RD_KAFKA_V_OPAQUE(callback.get()), RD_KAFKA_V_END);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) (void)record_headers.release();
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

Result<bool> Producer::BrokersAreMockCluster(std::chrono::milliseconds timeout) {
  // Asked in short waits, serving the client's callbacks between them, so that refused
  // credentials or certificate end the wait with their own error at once.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char* id = nullptr;
  while (true) {
    id = rd_kafka_clusterid(impl_->client.get(), 250);
    if (id != nullptr) break;
    rd_kafka_poll(impl_->client.get(), 0);
    if (impl_->fatal) return *impl_->fatal;
    if (std::chrono::steady_clock::now() >= deadline) break;
  }
  if (id == nullptr) {
    return Unavailable(fmt::format("the Kafka brokers {} did not report a cluster id within {} ms",
                                   impl_->brokers, timeout.count()));
  }
  const bool mock = std::string_view(id).starts_with("mockCluster");
  rd_kafka_mem_free(impl_->client.get(), id);
  return mock;
}

Result<void> Producer::InitTransactions(std::chrono::milliseconds timeout) {
  TransactionErrorPtr error(
      rd_kafka_init_transactions(impl_->client.get(), internal::TimeoutMs(timeout)));
  if (error) return impl_->TransactionError(error.get(), "initialising transactions");
  return Ok();
}

Result<void> Producer::BeginTransaction() {
  TransactionErrorPtr error(rd_kafka_begin_transaction(impl_->client.get()));
  if (error) return impl_->TransactionError(error.get(), "beginning a transaction");
  return Ok();
}

Result<Producer::TransactionEnd> Producer::CommitTransaction(std::chrono::milliseconds timeout) {
  TransactionErrorPtr error(
      rd_kafka_commit_transaction(impl_->client.get(), internal::TimeoutMs(timeout)));
  if (!error) return TransactionEnd::kCommitted;
  if (!rd_kafka_error_txn_requires_abort(error.get())) {
    return impl_->TransactionError(error.get(), "committing a transaction");
  }
  impl_->last_abort_reason =
      fmt::format("{} ({})", rd_kafka_error_string(error.get()), rd_kafka_error_name(error.get()));
  spdlog::warn("Kafka producer with transactional.id \"{}\": the transaction failed and is "
               "aborted; its records will be produced again: {}",
               impl_->transactional_id, impl_->last_abort_reason);
  CW_TRY(AbortTransaction(timeout));
  return TransactionEnd::kAborted;
}

Result<void> Producer::AbortTransaction(std::chrono::milliseconds timeout) {
  TransactionErrorPtr error(
      rd_kafka_abort_transaction(impl_->client.get(), internal::TimeoutMs(timeout)));
  if (error) return impl_->TransactionError(error.get(), "aborting a transaction");
  return Ok();
}

const std::string& Producer::last_abort_reason() const { return impl_->last_abort_reason; }

size_t Producer::outstanding() const {
  return static_cast<size_t>(std::max(0, rd_kafka_outq_len(impl_->client.get())));
}

uint64_t Producer::delivered() const { return impl_->delivered.load(std::memory_order_relaxed); }
uint64_t Producer::failed() const { return impl_->failed.load(std::memory_order_relaxed); }

}  // namespace casewatch::kafka
