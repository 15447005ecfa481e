#include "services/daemon/application.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "base/mutex.h"

#include "services/daemon/alerts_feed.h"
#include "services/daemon/clock.h"
#include "services/kafka/group.h"

namespace casewatch::daemon {
namespace {

constexpr std::string_view kTasksDirectory = "tasks";  // --tasks: DATA/tasks/p<N>

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
  if (!flags.peer_token_file.empty() && (flags.group.empty() || !flags.tasks)) {
    return InvalidArgument("--peer-token-file is what an engine of a group presents to the "
                           "others for their partitions' counts: give --tasks --group too");
  }
  if (!flags.peer_ca_file.empty() && (flags.group.empty() || !flags.tasks)) {
    return InvalidArgument("--peer-ca-file is what this engine checks the other engines of a "
                           "group against when it asks them for their partitions: give --tasks "
                           "--group too");
  }
  if (flags.peer_refresh_ms >= 0 && (flags.group.empty() || !flags.tasks)) {
    return InvalidArgument("--peer-refresh-ms is how often an engine of a group asks the others "
                           "for their partitions' counts again: give --tasks --group too");
  }
  if (flags.standby_replicas >= 0 && (flags.group.empty() || !flags.tasks)) {
    return InvalidArgument("--standby-replicas is how many engines of a group keep a copy of "
                           "each task: give --tasks --group too");
  }
  if (!flags.peer_token_file.empty() && flags.no_auth) {
    return InvalidArgument("--peer-token-file is for engines with --tokens; under --no-auth the "
                           "engines of a group ask each other without one");
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

  if (flags.tasks) {
    CW_TRY(app->OpenTasks(flags));
    if (!flags.no_http) {
      std::vector<const store::StoreReader*> readers;
      for (const auto& store : app->task_stores_) readers.push_back(store.get());
      CW_TRY(StartHttp(flags, readers, app->options_, app->http_, app->ids_topic_.get()));
      http::LiveView* view = app->http_.view.get();
      for (size_t t = 0; t < app->task_options_.size(); ++t) {
        app->task_options_[t].engine.on_commit = [view, t](const engine::CommitInfo& info) {
          view->OnCommit(info, t);
        };
        // In a group a task is served once the group gives it to this engine (RunGroupTasks).
        if (!flags.group.empty()) view->StopServing(t);
      }
    }
    return app;
  }
  if (std::filesystem::exists(std::filesystem::path(flags.data) / kTasksDirectory)) {
    return FailedPrecondition(fmt::format(
        "{} holds the stores of tasks, one per partition (casewatchd --tasks): start with --tasks",
        flags.data));
  }
  CW_TRY(store, store::Store::Open(flags.data));
  app->store_ = std::move(store);
  for (const std::string& warning : app->store_->recovery_warnings()) {
    spdlog::critical("{}", warning);
  }
  spdlog::info("casewatchd: store {}, brokers {}, topic {}", flags.data, app->options_.kafka.brokers,
               flags.topic);
  if (!flags.no_http) {
    CW_TRY(StartHttp(flags, {app->store_.get()}, app->options_, app->http_));
  }
  return app;
}

Result<void> Application::OpenTasks(const Flags& flags) {
  const std::filesystem::path data(flags.data);
  if (std::filesystem::exists(data / "CURRENT")) {
    return FailedPrecondition(fmt::format(
        "--tasks: {} holds one store of the whole events topic, and the tasks keep a store per "
        "partition in {}: give --tasks a new --data directory (each task builds its store from "
        "the events topic), or leave out --tasks",
        flags.data, (data / kTasksDirectory).string()));
  }
  CW_TRY(producer, kafka::Producer::Open(options_.kafka));
  CW_TRY(partitions, producer.Partitions(flags.topic, std::chrono::seconds(30)));
  if (!flags.derived_topic.empty()) {
    CW_TRY(derived, producer.Partitions(flags.derived_topic, std::chrono::seconds(30)));
    if (derived.size() < partitions.size()) {
      return InvalidArgument(fmt::format(
          "--tasks: the derived-events topic {} has {} partitions, fewer than the {} of {}: each "
          "task sends its derived events to its own partition. Give it as many (kafka-topics.sh "
          "--alter --topic {} --partitions {})",
          flags.derived_topic, derived.size(), partitions.size(), flags.topic,
          flags.derived_topic, partitions.size()));
    }
  }
  const std::string transactional_id = flags.transactional_id.empty()
                                           ? DefaultTransactionalId(flags.topic)
                                           : flags.transactional_id;
  std::error_code made;
  std::filesystem::create_directories(data / kTasksDirectory, made);
  if (made) {
    return IoError(fmt::format("--tasks: cannot make {}: {}", (data / kTasksDirectory).string(),
                               made.message()));
  }
  std::vector<const store::StoreReader*> readers;
  for (int32_t partition : partitions) {
    if (partition != static_cast<int32_t>(readers.size())) {
      return IoError(fmt::format("--tasks: the brokers list the partitions of {} out of order",
                                 flags.topic));
    }
    const std::filesystem::path dir = data / kTasksDirectory / fmt::format("p{}", partition);
    CW_TRY(store, store::Store::Open(dir));
    for (const std::string& warning : store->recovery_warnings()) {
      spdlog::critical("task {}: {}", partition, warning);
    }
    readers.push_back(store.get());
    task_stores_.push_back(std::move(store));
  }
  if (flags.group.empty()) {
    CW_TRY(claims, engine::IdClaims::Open(readers));  // reads every task's ids once
    local_claims_ = std::move(claims);
    id_claims_ = local_claims_.get();
  } else {  // the group's engines share the tasks out: ids are claimed through Kafka
    IdsTopic::Options ids{options_.kafka, flags.event_ids_topic, data / "event-ids",
                          partitions.size()};
    CW_TRY(topic, IdsTopic::Start(ids));
    ids_topic_ = std::move(topic);
    id_claims_ = ids_topic_.get();
  }
  // The tasks' clock moves in whole seconds and each task writes at every step (write_each_tick),
  // so that they stand at one instant nearly always and their counts add up as of it.
  const std::function<Instant()> clock = options_.clock;
  if (!flags.group.empty()) {
    standby_replicas_ = flags.standby_replicas < 0 ? 1 : flags.standby_replicas;
  }
  for (size_t t = 0; t < partitions.size(); ++t) {
    RunnerOptions task = options_;
    task.partition = partitions[t];
    task.write_each_tick = true;
    task.clock = [clock] { return Instant{clock().seconds, 0}; };
    task.engine.id_claims = id_claims_;
    task.engine.task = t;
    task.engine.derived_partition = partitions[t];
    task.outbox.transactional_id = fmt::format("{}-p{}", transactional_id, partitions[t]);
    task.outbox.progress_topic = flags.tasks_progress_topic;
    task.outbox.progress_partition = partitions[t];  // no other task's transaction holds it back
    // In a group a task moves between engines: whichever store published last under its id,
    // this one takes over the numbering (and publishes what no owner did).
    task.outbox.take_over = !flags.group.empty();
    task.group.clear();  // the group shares the tasks out (RunGroupTasks); each task leads
    task_options_.push_back(std::move(task));
  }
  spdlog::info("casewatchd: {} tasks, one per partition of {}, stores in {}, brokers {}{}",
               partitions.size(), flags.topic, (data / kTasksDirectory).string(),
               options_.kafka.brokers,
               flags.group.empty() ? std::string()
                                   : fmt::format("; group {} shares them out", flags.group));
  return Ok();
}

Result<void> Application::RunGroupTasks(const std::atomic<bool>& stop) {
  // A task's runner, while this engine holds its partition or stands by for it.
  struct Running {
    std::atomic<bool> stop{false};
    std::atomic<bool> done{false};
    bool standby = false;  // started as a standby (it may have taken the task over since)
    Result<void> result = Ok();  // once done
    std::thread thread;
  };
  const size_t tasks = task_stores_.size();
  http::LiveView* view = http_.view.get();
  Mutex mutex;  // `running`: the loop below and the group's revocations
  std::vector<std::unique_ptr<Running>> running(tasks);
  // Given to this engine by the group (and not taken away since): a standby of it takes it over.
  std::vector<std::atomic<bool>> owned(tasks);
  // Served in this engine's answers: the live view is fed its commits.
  std::vector<std::atomic<bool>> served(tasks);
  // A task whose runner stopped by itself while this engine still held it starts again after a
  // second (fenced by an engine that held it before the group's last change reached this one).
  std::vector<std::chrono::steady_clock::time_point> not_before(tasks);
  // Taken away by the group and not given back since: not started again even while Held, which
  // the group updates a moment after the revocation, still lists it.
  std::vector<bool> revoked(tasks, false);
  // With `mutex` held: stops the task's runner (it finishes its batch, writes, publishes its
  // outbox) and stops serving it. The group gives it to another engine once this returns.
  const auto stop_task = [&](size_t t) {
    if (!running[t]) return;
    owned[t] = false;
    running[t]->stop = true;
    // A batch waiting for claims on event ids gives up (read again by whoever runs it next).
    if (ids_topic_) ids_topic_->SetRole(t, IdsTopic::Role::kNone);
    running[t]->thread.join();
    const bool standby = running[t]->standby && !served[t];
    running[t].reset();
    served[t] = false;
    if (view != nullptr) {
      view->SetStandby(t, false);
      view->StopServing(t);
    }
    spdlog::info("group {}: task {} stopped here{}", options_.group, t,
                 standby ? " (a standby)" : "");
  };
  const auto start = [&](size_t t, bool standby) -> Result<void> {
    RunnerOptions task = task_options_[t];
    if (standby) {
      task.leads = [&owned, t] { return owned[t].load(); };
      task.on_lead = [this, view, t, &served]() -> Result<void> {
        if (ids_topic_) ids_topic_->SetRole(t, IdsTopic::Role::kRuns);  // makes its claims
        if (view != nullptr) {
          CW_TRY(view->LoadTask(t, *task_stores_[t], options_.engine.topic));
          view->SetStandby(t, false);
        }
        served[t] = true;
        spdlog::info("group {}: task {} taken over by its standby here; served", options_.group,
                     t);
        return Ok();
      };
      if (auto& commit = task.engine.on_commit) {
        task.engine.on_commit = [commit, t, &served, view](const engine::CommitInfo& info) {
          if (served[t]) {
            commit(info);
          } else if (view != nullptr) {
            view->OnCopyCommit(info, t);  // kept apart, for the engines that cannot reach the owner
          }
        };
      }
    } else {
      served[t] = true;
    }
    if (standby && view != nullptr) {
      view->SetStandby(t, true);
      if (auto loaded = view->LoadCopy(t, *task_stores_[t], options_.engine.topic); !loaded) {
        return loaded;
      }
    }
    if (ids_topic_) {
      ids_topic_->SetRole(t, standby ? IdsTopic::Role::kStandby : IdsTopic::Role::kRuns);
    }
    auto runner = std::make_unique<Running>();
    runner->standby = standby;
    Running* raw = runner.get();
    raw->thread = std::thread([this, raw, t, task = std::move(task)] {
      raw->result = RunTask(t, task, raw->stop);
      raw->done = true;
    });
    running[t] = std::move(runner);
    return Ok();
  };
  kafka::GroupOptions group{options_.group, options_.engine.topic, options_.group_session_timeout};
  group.on_revoke = [&](std::span<const int32_t> partitions) {
    MutexLock lock(mutex);
    for (int32_t p : partitions) {
      if (p < 0 || static_cast<size_t>(p) >= running.size()) continue;
      revoked[static_cast<size_t>(p)] = true;
      stop_task(static_cast<size_t>(p));
    }
  };
  group.on_assign = [&](std::span<const int32_t> partitions) {
    MutexLock lock(mutex);
    for (int32_t p : partitions) {
      if (p >= 0 && static_cast<size_t>(p) < revoked.size()) {
        revoked[static_cast<size_t>(p)] = false;
      }
    }
  };
  CW_TRY(member, kafka::GroupMember::Join(options_.kafka, group));
  // Every engine's alerts for this engine's streams, which its own commits raise only some of.
  std::unique_ptr<AlertsFeed> alerts_feed;
  if (view != nullptr && http_.server != nullptr && !options_.engine.alerts_topic.empty()) {
    auto feed = AlertsFeed::Start(options_.kafka, options_.engine.alerts_topic,
                                  options_.engine.alert_format == engine::AlertFormat::kJson,
                                  *view);
    if (feed) {
      alerts_feed = std::move(feed).value();
    } else {  // the engine runs on; its streams carry the alerts of its own partitions
      spdlog::error("group {}: cannot read {} for the live streams ({}); they carry only the "
                    "alerts of the partitions this engine runs (the engine needs Read on it)",
                    options_.group, options_.engine.alerts_topic, feed.error().message);
    }
  }
  spdlog::info("group {}: joined on {}; each partition the group gives this engine is a task it "
               "runs; each task is copied to {} other engine(s) (--standby-replicas){}",
               options_.group, options_.engine.topic, standby_replicas_,
               standby_replicas_ > 0 && http_.server == nullptr
                   ? " (none here: with --no-http this engine is not in the group's directory)"
                   : "");
  std::vector<int32_t> standbys;  // the tasks this engine keeps a copy of, chosen once a second
  auto chosen_at = std::chrono::steady_clock::time_point();
  std::optional<Error> failure;
  while (!stop.load() && !failure) {
    if (std::optional<Error> failed = member->Failure()) {
      failure = *failed;
      break;
    }
    const std::vector<int32_t> held = member->Held();
    const auto now = std::chrono::steady_clock::now();
    const GroupDirectory* directory = http_.directory_started.load();
    if (standby_replicas_ > 0 && directory != nullptr &&
        now - chosen_at >= std::chrono::seconds(1)) {
      chosen_at = now;
      std::vector<int32_t> next = StandbyTasks(directory->View(), held,
                                               static_cast<int32_t>(tasks), standby_replicas_);
      if (next != standbys) {
        spdlog::info("group {}: keeps a copy of tasks {} for the engines that run them",
                     options_.group, fmt::join(next, ","));
        MutexLock lock(http_.standby_mutex);
        http_.standby = next;
      }
      standbys = std::move(next);
    }
    {
      MutexLock lock(mutex);
      for (size_t t = 0; t < tasks; ++t) {
        owned[t] = std::find(held.begin(), held.end(), static_cast<int32_t>(t)) != held.end() &&
                   !revoked[t] && now >= not_before[t];
        // A standby given its task makes the task's claims on event ids from now on: its batch
        // may be waiting for claims the last owner never made, and it takes the task over only
        // once that batch is done.
        if (owned[t] && running[t] && running[t]->standby && ids_topic_) {
          ids_topic_->SetRole(t, IdsTopic::Role::kRuns);
        }
      }
      for (size_t t = 0; t < tasks && !failure; ++t) {
        if (!owned[t] || running[t]) continue;  // a standby running takes the task over itself
        if (view != nullptr) {
          if (auto loaded = view->LoadTask(t, *task_stores_[t], options_.engine.topic); !loaded) {
            failure = loaded.error();
            break;
          }
        }
        if (auto started = start(t, /*standby=*/false); !started) {
          failure = started.error();
          break;
        }
        spdlog::info("group {}: task {} (partition {}) runs here", options_.group, t, t);
      }
      for (size_t t = 0; t < tasks && !failure; ++t) {
        const bool chosen = std::find(standbys.begin(), standbys.end(),
                                      static_cast<int32_t>(t)) != standbys.end();
        if (running[t] && running[t]->standby && !owned[t] && !served[t] && !chosen) {
          stop_task(t);  // another engine keeps its copy now
        } else if (chosen && !running[t] && !owned[t] && now >= not_before[t]) {
          if (auto started = start(t, /*standby=*/true); !started) failure = started.error();
        }
      }
      for (size_t t = 0; t < running.size(); ++t) {
        if (!running[t] || !running[t]->done) continue;
        running[t]->thread.join();
        const Result<void> result = running[t]->result;
        running[t].reset();
        served[t] = false;
        if (ids_topic_) ids_topic_->SetRole(t, IdsTopic::Role::kNone);
        if (view != nullptr) {
          view->SetStandby(t, false);
          view->StopServing(t);
        }
        if (result) continue;
        // Fenced: another engine was given the task and has taken its producer over first.
        if (result.error().kind == ErrorKind::kFailedPrecondition ||
            result.error().kind == ErrorKind::kUnavailable) {
          not_before[t] = std::chrono::steady_clock::now() + std::chrono::seconds(1);
          spdlog::warn("group {}: task {} stopped here: {}", options_.group, t,
                       result.error().message);
          continue;
        }
        failure = Error{result.error().kind,
                        fmt::format("task {}: {}", t, result.error().message)};
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  {
    // Every task at once (each publishes its outbox), then the group is left: the others take
    // the partitions at once rather than after the session timeout.
    MutexLock lock(mutex);
    for (auto& task : running) {
      if (task) task->stop = true;
    }
    for (size_t t = 0; t < running.size(); ++t) stop_task(t);
  }
  member->Close();
  if (failure) return *failure;
  return Ok();
}

Result<void> Application::RunTask(size_t t, const RunnerOptions& options,
                                  const std::atomic<bool>& stop) {
  http::LiveView* view = http_.view.get();
  return RunEngine(*task_stores_[t], options, stop, [view, t](const RunnerStatus& status) {
    if (view != nullptr) view->OnStatus(status, t);
  });
}

Result<void> Application::RunTasks(const std::atomic<bool>& stop) {
  std::atomic<bool> stopping{false};
  Mutex mutex;
  std::optional<Error> failure;
  std::vector<std::thread> threads;
  for (size_t t = 0; t < task_stores_.size(); ++t) {
    threads.emplace_back([&, t] {
      auto ran = RunTask(t, task_options_[t], stopping);
      if (!ran) {
        MutexLock lock(mutex);
        if (!failure) {
          failure = Error{ran.error().kind, fmt::format("task {} (partition {}): {}", t,
                                                        task_options_[t].partition,
                                                        ran.error().message)};
        }
        stopping = true;  // one task failing stops them all: a service manager restarts them
      }
    });
  }
  while (!stop.load() && !stopping.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stopping = true;
  for (std::thread& thread : threads) thread.join();
  MutexLock lock(mutex);
  if (failure) return *failure;
  return Ok();
}

Result<std::unique_ptr<Application>> Application::StartReadOnly(const Flags& flags,
                                                                std::unique_ptr<Application> app) {
  if (flags.no_http) return InvalidArgument("--read-only serves HTTP: leave out --no-http");
  if (flags.tasks) return InvalidArgument("--read-only serves one store: leave out --tasks");
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
  CW_TRY(StartHttp(flags, {app->store_.get()}, app->options_, app->http_));
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
  if (!task_stores_.empty()) {
    auto ran = options_.group.empty() ? RunTasks(stop) : RunGroupTasks(stop);
    http_.server.reset();  // the engines have stopped: close the connections before the stores
    return ran;
  }
  auto ran = RunEngine(*store_, options_, stop, [view](const RunnerStatus& status) {
    if (view != nullptr) view->OnStatus(status);
  });
  http_.server.reset();  // the engine has stopped: close the connections before the store
  return ran;
}

}  // namespace casewatch::daemon
