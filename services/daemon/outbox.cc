#include "services/daemon/outbox.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "services/kafka/producer.h"

namespace casewatch::daemon {
namespace {

// Whether the brokers are librdkafka's mock cluster, asked until they answer or `stop`.
Result<bool> BrokersAreMockCluster(const kafka::KafkaConfig& kafka, const std::atomic<bool>& stop) {
  CW_TRY(producer, kafka::Producer::Open(kafka));
  for (int attempt = 1;; ++attempt) {
    auto mock = producer.BrokersAreMockCluster(std::chrono::seconds(5));
    if (mock || !IsRetryable(mock.error()) || stop) return mock;
    spdlog::warn("waiting for the brokers: {} (attempt {})", mock.error().message, attempt);
  }
}

}  // namespace

std::string DefaultTransactionalId(std::string_view events_topic) {
  return fmt::format("casewatchd-{}", events_topic);
}

Result<OutboxDelivery> ResolveDelivery(const kafka::KafkaConfig& kafka, OutboxDelivery delivery,
                                       const std::atomic<bool>& stop) {
  if (delivery != OutboxDelivery::kAuto) return delivery;
  CW_TRY(mock, BrokersAreMockCluster(kafka, stop));
  if (!mock) return OutboxDelivery::kExactlyOnce;
  spdlog::info(
      "outbox: at least once (the brokers are librdkafka's mock cluster, whose transactions are "
      "not real)");
  return OutboxDelivery::kAtLeastOnce;
}

Result<std::unique_ptr<OutboxPublisher>> OpenOutboxPublisher(store::Store& store,
                                                             const kafka::KafkaConfig& kafka,
                                                             const OutboxOptions& options,
                                                             std::string_view events_topic,
                                                             const std::atomic<bool>& stop) {
  CW_TRY(delivery, ResolveDelivery(kafka, options.delivery, stop));
  if (delivery == OutboxDelivery::kAtLeastOnce) return internal::OpenAtLeastOnce(store, kafka);
  OutboxOptions exactly_once = options;
  if (exactly_once.transactional_id.empty()) {
    exactly_once.transactional_id = DefaultTransactionalId(events_topic);
  }
  return internal::OpenExactlyOnce(store, kafka, exactly_once, stop);
}

}  // namespace casewatch::daemon
