#pragma once
// The HTTP API's handlers, apart from the transport (server.h): a request in, a response out,
// callable from any thread. Every /api/v1 endpoint authenticates the caller (unless auth is off),
// checks its role, validates every parameter (unknown ones included) with a 4xx that names the
// problem, and narrows to the caller's scope. See services/http/README.md and openapi.json.

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "services/http/audit_log.h"
#include "services/http/auth.h"
#include "services/http/live_view.h"
#include "services/kafka/producer.h"
#include "services/store/store.h"

namespace casewatch::http {

struct HttpRequest {
  std::string method;  // GET, POST, ...
  std::string target;  // path and query, as received
  std::string authorization;
  std::string body;
  std::string remote;  // peer address, for the audit log
  // Set by Api::Authenticate: the holder of the Authorization header's token (nullptr: none or
  // not recognised), so that the rate limiter and the handler look it up once.
  bool authenticated = false;
  const Principal* principal = nullptr;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // GET /api/v1/stream: the server turns the connection into an event stream for this scope.
  bool event_stream = false;
  Scope stream_scope;
};

struct ApiOptions {
  const store::StoreReader* store = nullptr;
  LiveView* view = nullptr;
  const TokenRegistry* tokens = nullptr;  // nullptr: auth off (--no-auth)
  AuditLog* audit = nullptr;
  // POST /api/v1/events: where accepted events go (the engine's topic) and rejected lines' dead
  // letters; nullptr disables the endpoint.
  kafka::Producer* producer = nullptr;
  std::string topic = "case-events";
  std::string dead_letter_topic = "case-events-dlq";
  std::function<Instant()> clock;  // the engine clock, for live validation
  size_t max_events_per_request = 100000;
};

// A route's counters, for /metrics.
struct RouteMetrics {
  std::string_view name;
  std::array<std::atomic<uint64_t>, 6> by_class{};  // 1xx..5xx by first digit; [0] unused
  std::atomic<uint64_t> micros_total{0};
};

class Api {
 public:
  explicit Api(ApiOptions options);
  ~Api();

  // Whether the request may take long (store scans, re-evaluation, publishing): the server runs
  // those off its I/O threads.
  bool Blocking(const HttpRequest& request) const;
  HttpResponse Handle(const HttpRequest& request);
  // Looks up the holder of the request's bearer token (request.principal).
  void Authenticate(HttpRequest& request) const;
  // Whom an authenticated request counts against for rate limiting: the token's holder when the
  // token is recognised, otherwise the peer address (so made-up tokens share their address's
  // limit).
  static std::string CallerKey(const HttpRequest& request);
  // Counts an answer the server gave itself (413, 429, ...), for /metrics.
  void CountRejected(int status);
  // The transport's own figures for /metrics (set by the server while it runs).
  struct ServerStats {
    size_t stream_clients = 0;
    size_t connections = 0;
    size_t max_connections = 0;
    uint64_t connections_refused = 0;  // over a cap, closed at once
    uint64_t accept_errors = 0;        // e.g. out of file descriptors (EMFILE)
  };
  void set_server_stats(std::function<ServerStats()> stats) { server_stats_ = std::move(stats); }

 private:
  struct Context;
  HttpResponse Route(Context& context);
  HttpResponse Report(Context& context);
  HttpResponse Breakdown(Context& context);
  HttpResponse Worklist(Context& context);
  HttpResponse Case(Context& context, std::string_view case_id);
  HttpResponse Trend(Context& context);
  HttpResponse Stream(Context& context);
  HttpResponse Meta(Context& context);
  HttpResponse PostEvents(Context& context);
  HttpResponse Metrics();

  ApiOptions options_;
  std::mutex publish_mutex_;  // one POST publishes at a time
  std::vector<std::unique_ptr<RouteMetrics>> routes_;
  std::function<ServerStats()> server_stats_;
};

// {"error":{"code":...,"message":...}} with `status`.
HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message);

}  // namespace casewatch::http
