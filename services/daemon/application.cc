#include "services/daemon/application.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <cerrno>
#include <chrono>
#include <thread>
#include <cstring>

#include "services/daemon/clock.h"

namespace casewatch::daemon {
namespace {

// RocksDB's files, the Kafka clients and HTTP connections all take descriptors: use all the
// (hard) limit allows rather than the shell's usual soft 1024.
void RaiseDescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    spdlog::warn("cannot raise the open-file limit to {}: {}", limit.rlim_max, std::strerror(errno));
  }
}

}  // namespace

Result<std::unique_ptr<Application>> Application::Start(const Flags& flags,
                                                        std::vector<kafka::Property> properties) {
  RaiseDescriptorLimit();
  std::unique_ptr<Application> app(new Application());
  app->options_.kafka.properties = std::move(properties);
  for (const std::string& p : flags.kafka_properties) {
    const size_t equals = p.find('=');
    if (equals == std::string::npos) {
      return InvalidArgument(fmt::format("--kafka-property {}: expected KEY=VALUE", p));
    }
    app->options_.kafka.properties.push_back(kafka::Property{p.substr(0, equals), p.substr(equals + 1)});
  }
  for (const kafka::Property& p : app->options_.kafka.properties) {
    if (p.key == "transactional.id") {
      return InvalidArgument(
          "the librdkafka property transactional.id is casewatchd's to set: give the id with "
          "--transactional-id (transactional-id in the config file)");
    }
  }
  if (flags.outbox_delivery == "exactly-once") {
    app->options_.outbox.delivery = OutboxDelivery::kExactlyOnce;
  } else if (flags.outbox_delivery == "at-least-once") {
    app->options_.outbox.delivery = OutboxDelivery::kAtLeastOnce;
  }
  app->options_.outbox.transactional_id = flags.transactional_id;
  app->options_.outbox.progress_topic = flags.outbox_progress_topic;
  app->options_.group = flags.group;
  app->options_.group_session_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(flags.group_session_timeout * 1000));
  app->options_.engine.topic = flags.topic;
  app->options_.engine.alerts_topic = flags.alerts_topic;
  app->options_.engine.dead_letter_topic = flags.dead_letter_topic;
  app->options_.engine.derived_topic = flags.derived_topic;
  app->options_.engine.alert_format =
      flags.alerts_format == "protobuf" ? engine::AlertFormat::kProtobuf : engine::AlertFormat::kJson;
  app->options_.engine.history_cache_bytes = flags.cache_mib << 20;
  app->options_.max_batch = flags.max_batch;
  if (!flags.policy.empty()) {
    auto text = ReadFile(flags.policy, "--policy");
    if (!text) return InvalidArgument(text.error().message);
    auto policy = ParsePolicy(text.value());
    if (!policy) {
      return InvalidArgument(fmt::format("--policy {}: {}", flags.policy, policy.error().message));
    }
    app->options_.engine.policy = std::move(policy).value();
    app->options_.engine.policy_text = std::move(text).value();
  }
  CW_TRY(clock, MakeClock(flags.clock, flags.clock_start, flags.clock_speed));
  app->options_.clock = std::move(clock);
  if (flags.read_only) return StartReadOnly(flags, std::move(app));
  if (!flags.advertise_url.empty()) {
    if (flags.group.empty()) {
      return InvalidArgument("--advertise-url names an engine of a group: give --group too");
    }
    if (flags.no_http) {
      return InvalidArgument("--advertise-url names where this engine serves HTTP: leave out "
                             "--no-http");
    }
    CW_TRY(CheckAdvertiseUrl(flags.advertise_url));
  }
  if (!flags.group.empty() && flags.brokers.empty()) {
    return InvalidArgument("--group needs --brokers: the engines of a group share a Kafka cluster "
                           "(the embedded development broker lives in one process)");
  }

  app->options_.kafka.brokers = flags.brokers;
  if (flags.brokers.empty()) {
    auto cluster = kafka::MockCluster::Start(1);
    if (!cluster) {
      return Error{cluster.error().kind, "starting the embedded development broker: " +
                                             cluster.error().message};
    }
    app->embedded_.emplace(std::move(cluster).value());
    for (const std::string& topic :
         {flags.topic, flags.alerts_topic, flags.dead_letter_topic, flags.derived_topic}) {
      if (auto created = app->embedded_->CreateTopic(topic, 4); !created) {
        return Error{created.error().kind, "embedded broker: " + created.error().message};
      }
    }
    app->options_.kafka.brokers = app->embedded_->bootstrap_servers();
    spdlog::warn(
        "no brokers configured: started an embedded development broker at {} (librdkafka's mock "
        "cluster; in-memory, for development only). Publish with: casewatch publish --brokers {} "
        "FILE",
        app->options_.kafka.brokers, app->options_.kafka.brokers);
  }

  CW_TRY(store, store::Store::Open(flags.data));
  app->store_ = std::move(store);
  for (const std::string& warning : app->store_->recovery_warnings()) {
    spdlog::critical("{}", warning);
  }
  spdlog::info("casewatchd: store {}, brokers {}, topic {}", flags.data, app->options_.kafka.brokers,
               flags.topic);
  if (!flags.no_http) {
    CW_TRY(StartHttp(flags, *app->store_, app->options_, app->http_));
  }
  return app;
}

Result<std::unique_ptr<Application>> Application::StartReadOnly(const Flags& flags,
                                                                std::unique_ptr<Application> app) {
  if (flags.no_http) return InvalidArgument("--read-only serves HTTP: leave out --no-http");
  if (!flags.brokers.empty()) {
    return InvalidArgument("--read-only reads no broker: leave out --brokers");
  }
  if (!flags.group.empty()) {
    return InvalidArgument("--read-only joins no group: leave out --group");
  }
  app->read_only_ = true;
  CW_TRY(store, store::Store::Open(flags.data));
  app->store_ = std::move(store);
  for (const std::string& warning : app->store_->recovery_warnings()) {
    spdlog::critical("{}", warning);
  }
  CW_TRY(projected, app->store_->ProjectionInstant());
  if (!projected) {
    return FailedPrecondition(fmt::format(
        "--read-only: the store {} has nothing projected yet: there is nothing to show", flags.data));
  }
  CW_TRY(StartHttp(flags, *app->store_, app->options_, app->http_));
  spdlog::info("casewatchd: serving store {} read-only, as of {} (no broker, no engine: nothing "
               "in it changes)",
               flags.data, FormatInstant(*projected));
  return app;
}

Application::~Application() = default;

Result<void> Application::Run(const std::atomic<bool>& stop) {
  http::LiveView* view = http_.view.get();
  if (read_only_) {
    while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    http_.server.reset();
    return Ok();
  }
  auto ran = RunEngine(*store_, options_, stop, [view](const RunnerStatus& status) {
    if (view != nullptr) view->OnStatus(status);
  });
  http_.server.reset();  // the engine has stopped: close the connections before the store
  return ran;
}

}  // namespace casewatch::daemon
