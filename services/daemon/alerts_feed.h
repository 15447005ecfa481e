#pragma once
// Every engine's alerts for this engine's live streams (casewatchd --tasks --group): an engine
// raises the alerts of the partitions it runs, so a stream fed by its commits alone would miss
// the others'. The feed reads the alerts topic (read_committed: each alert once, as the engine
// that raised it published it) from where it ends when the feed starts, and hands each alert to
// the live view (LiveView::PublishAlerts), which then sends its streams these instead of its own
// commits' (LiveView::TakeAlertsFromTopic).

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "base/result.h"
#include "services/http/live_view.h"
#include "services/kafka/kafka_config.h"

namespace casewatch::daemon {

class AlertsFeed {
 public:
  // `json`: the alerts are JSON (casewatchd --alert-format json), otherwise binary protobuf.
  [[nodiscard]] static Result<std::unique_ptr<AlertsFeed>> Start(const kafka::KafkaConfig& kafka,
                                                                const std::string& topic,
                                                                bool json, http::LiveView& view);
  ~AlertsFeed();  // stops reading and joins its thread

  AlertsFeed(const AlertsFeed&) = delete;
  AlertsFeed& operator=(const AlertsFeed&) = delete;

 private:
  AlertsFeed() = default;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace casewatch::daemon
