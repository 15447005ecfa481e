#pragma once
// Application: casewatchd's composition root, the one place that knows every piece — the Kafka
// feed (or an embedded development broker), the store, the engine and its loop, the HTTP API and
// its live view, the clock — and wires them together. Start builds and checks everything the
// flags ask for; Run runs the engine until asked to stop, then closes HTTP before the store.
// Runs on the calling thread (the engine's); HTTP and librdkafka have their own.

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include "base/result.h"
#include "services/daemon/engine_loop.h"
#include "services/daemon/flags.h"
#include "services/daemon/http_service.h"
#include "services/daemon/ids_topic.h"
#include "services/engine/id_claims.h"
#include "services/kafka/mock_cluster.h"
#include "services/store/store.h"

namespace casewatch::daemon {

class Application {
 public:
  // Errors are InvalidArgument (a setting) or FailedPrecondition (the store needs a command
  // first): exit status 2; anything else 1 (ExitCodeOf).
  [[nodiscard]] static Result<std::unique_ptr<Application>> Start(
      const Flags& flags, std::vector<kafka::Property> properties);
  ~Application();

  // Runs the engine until `stop`, then stops serving HTTP.
  [[nodiscard]] Result<void> Run(const std::atomic<bool>& stop);

 private:
  Application() = default;
  // The rest of Start for --read-only: the store and HTTP, no broker and no engine.
  [[nodiscard]] static Result<std::unique_ptr<Application>> StartReadOnly(
      const Flags& flags, std::unique_ptr<Application> app);

  // --tasks: a store per partition of the events topic, the runner options of each task.
  [[nodiscard]] Result<void> OpenTasks(const Flags& flags);
  // Runs task `t`'s engine with `options` (task_options_[t], or a standby's) on the calling
  // thread until `stop`, its status to the live view.
  [[nodiscard]] Result<void> RunTask(size_t t, const RunnerOptions& options,
                                     const std::atomic<bool>& stop);
  // Runs every task's engine on a thread of its own until `stop` or one fails.
  [[nodiscard]] Result<void> RunTasks(const std::atomic<bool>& stop);
  // --tasks --group: joins the group on the events topic and runs a task's engine while the
  // group gives this engine its partition (the others' partitions are missing from the answers).
  [[nodiscard]] Result<void> RunGroupTasks(const std::atomic<bool>& stop);

  bool read_only_ = false;
  RunnerOptions options_;
  std::optional<kafka::MockCluster> embedded_;  // no brokers configured: development only
  std::unique_ptr<store::Store> store_;
  // --tasks: task N's store and runner options (options_ is then every task's template).
  std::vector<std::unique_ptr<store::Store>> task_stores_;
  std::vector<RunnerOptions> task_options_;
  // --tasks: event ids checked across the tasks of this process, or with --group, across the
  // engines of the group (ids_topic_, which id_claims_ then points to).
  std::unique_ptr<IdsTopic> ids_topic_;
  std::unique_ptr<engine::IdClaims> local_claims_;
  engine::IdCheck* id_claims_ = nullptr;
  int standby_replicas_ = 0;  // --tasks --group: copies of each task kept by other engines
  HttpService http_;  // declared after the stores: destroyed before them
};

}  // namespace casewatch::daemon
