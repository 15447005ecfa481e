#pragma once
// Where POST /api/v1/events puts what it accepts: the engine's event log (Kafka, in casewatchd;
// services/daemon adapts its producer). The API knows no broker, only this.

#include <chrono>
#include <functional>
#include <string_view>

#include "base/result.h"

namespace casewatch::http {

class EventPublisher {
 public:
  virtual ~EventPublisher() = default;
  using Done = std::function<void(Result<void>)>;
  // Queues one record; `done` is called (from Poll or Flush) with the broker's answer.
  // Unavailable (retryable) when the local queue is full: Poll, then try again.
  [[nodiscard]] virtual Result<void> Publish(std::string_view topic, std::string_view key,
                                             std::string_view value, Done done) = 0;
  // Serves delivery reports for up to `timeout`.
  virtual void Poll(std::chrono::milliseconds timeout) = 0;
  // Waits until every queued record is answered, for up to `timeout`.
  [[nodiscard]] virtual Result<void> Flush(std::chrono::milliseconds timeout) = 0;
};

}  // namespace casewatch::http
