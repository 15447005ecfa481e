#pragma once
// The HTTP API's EventPublisher on a Kafka producer: what POST /api/v1/events accepts goes to the
// engine's topic as any Kafka publisher's events do.

#include "services/http/event_publisher.h"
#include "services/kafka/producer.h"

namespace casewatch::daemon {

class KafkaEventPublisher final : public http::EventPublisher {
 public:
  explicit KafkaEventPublisher(kafka::Producer& producer) : producer_(producer) {}

  [[nodiscard]] Result<void> Publish(std::string_view topic, std::string_view key,
                                     std::string_view value, Done done) override {
    return producer_.Produce(topic, key, value, std::move(done));
  }
  void Poll(std::chrono::milliseconds timeout) override { producer_.Poll(timeout); }
  [[nodiscard]] Result<void> Flush(std::chrono::milliseconds timeout) override {
    return producer_.Flush(timeout);
  }

 private:
  kafka::Producer& producer_;
};

}  // namespace casewatch::daemon
