#include "services/daemon/alerts_feed.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <vector>

#include "base/log_throttle.h"
#include "services/kafka/consumer.h"

namespace casewatch::daemon {

Result<std::unique_ptr<AlertsFeed>> AlertsFeed::Start(const kafka::KafkaConfig& kafka,
                                                      const std::string& topic, bool json,
                                                      http::LiveView& view) {
  CW_TRY(consumer, kafka::Consumer::Open(kafka, topic));
  CW_TRY(partitions, consumer.Partitions(std::chrono::seconds(30)));
  // From where each partition ends now: what streams are sent from here on.
  std::vector<kafka::PartitionStart> starts;
  for (int32_t p : partitions) starts.push_back(kafka::PartitionStart{p, kafka::kBeginning});
  CW_TRY(consumer.Assign(starts));
  CW_TRY(ends, consumer.EndOffsets(std::chrono::seconds(30)));
  for (kafka::PartitionStart& start : starts) {
    start.offset = ends[static_cast<size_t>(start.partition)];
  }
  CW_TRY(consumer.Assign(starts));
  view.TakeAlertsFromTopic();
  std::unique_ptr<AlertsFeed> feed(new AlertsFeed());
  feed->thread_ = std::thread([stop = &feed->stop_, consumer = std::move(consumer), topic, json,
                               &view]() mutable {
    LogThrottle throttle(std::chrono::minutes(1), 1);
    std::vector<alerts::v1::ObligationMissedAlert> alerts;
    while (!stop->load()) {
      auto batch = consumer.Poll(1000, std::chrono::milliseconds(200));
      uint64_t held_back = 0;
      if (!batch) {
        if (throttle.Allow("read", held_back)) {
          spdlog::error("alerts feed: cannot read {}: {}; the live streams miss other engines' "
                        "alerts until it can{}",
                        topic, batch.error().message, HeldBackNote(held_back));
        }
        std::this_thread::sleep_for(std::chrono::seconds(1));
        continue;
      }
      alerts.clear();
      for (const kafka::Message& m : batch.value().messages()) {
        auto alert = http::AlertOfRecord(m.value, json);
        if (alert) {
          alerts.push_back(std::move(*alert));
        } else if (throttle.Allow("unreadable", held_back)) {
          spdlog::warn("alerts feed: record {} of {} partition {} is not an alert in {}; skipped{}",
                       m.offset, topic, m.partition, json ? "JSON" : "protobuf",
                       HeldBackNote(held_back));
        }
      }
      if (!alerts.empty()) view.PublishAlerts(alerts);
    }
  });
  return feed;
}

AlertsFeed::~AlertsFeed() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace casewatch::daemon
