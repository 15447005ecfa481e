#pragma once
// The HTTP side of casewatchd: the live view the API reads (fed by the engine's commits), the
// tokens, the audit log, the API, its server, and the producer POST /api/v1/events publishes
// with.

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include "base/mutex.h"
#include "base/result.h"
#include "services/daemon/engine_loop.h"
#include "services/daemon/flags.h"
#include "services/daemon/group_directory.h"
#include "services/daemon/ids_topic.h"
#include "services/daemon/kafka_event_publisher.h"
#include "services/http/api.h"
#include "services/http/server.h"
#include "services/kafka/producer.h"
#include "services/store/store.h"

namespace casewatch::daemon {

// The HTTP side of casewatchd: the live view the API reads, the API, its server, and the
// producer POST /api/v1/events publishes with.
struct HttpService {
  HttpService() = default;
  ~HttpService();  // the server first, then what it serves
  HttpService(const HttpService&) = delete;
  HttpService& operator=(const HttpService&) = delete;

  std::unique_ptr<http::LiveView> view;
  std::optional<http::TokenRegistry> tokens;
  std::unique_ptr<http::AuditLog> audit;
  std::optional<kafka::Producer> producer;
  std::unique_ptr<KafkaEventPublisher> publisher;
  std::unique_ptr<http::Api> api;
  std::unique_ptr<http::Server> server;
  // An engine of a group: its directory, started once the server has its port (the API reads it
  // through `directory_started`, set once it runs). Destroyed last: leaving the directory is the
  // last thing a clean stop does.
  std::unique_ptr<GroupDirectory> directory;
  std::atomic<const GroupDirectory*> directory_started{nullptr};
  // --tasks --group: the tasks this engine keeps a copy of for others, as its record says.
  Mutex standby_mutex;
  std::vector<int32_t> standby CW_GUARDED_BY(standby_mutex);
};

// Starts serving HTTP as the flags say, over `stores` (the engine's store, or its tasks': task N's
// is stores[N]); sets options.engine.on_commit to feed the live view (task 0's: a task's engine
// gives its number to LiveView::OnCommit). Errors are InvalidArgument for settings that cannot
// work.
[[nodiscard]] Result<void> StartHttp(const Flags& flags,
                                     const std::vector<const store::StoreReader*>& stores,
                                     RunnerOptions& options, HttpService& service,
                                     const IdsTopic* event_ids = nullptr);

}  // namespace casewatch::daemon
