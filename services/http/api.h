#pragma once
// The HTTP API apart from the transport (server.h): a request in, a response out, callable from
// any thread. Each endpoint is a row of the route table (routes.cc: path, method, who may call
// it, whether it may take long) and a small handler (handlers/): every /api/v1 endpoint
// authenticates the caller (unless auth is off), checks its role, validates every parameter
// (unknown ones included) with a 4xx that names the problem, and narrows to the caller's scope.
// See services/http/README.md and openapi.json.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/mutex.h"
#include "services/http/audit_log.h"
#include "services/http/auth.h"
#include "services/http/errors.h"
#include "services/http/event_publisher.h"
#include "services/http/http_types.h"
#include "services/http/live_view.h"
#include "services/http/merged_cache.h"
#include "services/http/monthly_cache.h"
#include "services/store/store.h"

namespace casewatch::http {

// One engine of the group (casewatchd --group) as the group's directory last heard of it.
struct GroupPeer {
  std::string url;   // where it serves HTTP (casewatchd --advertise-url): its name in the group
  bool self = false;  // the engine answering
  // Heard from within the group's session timeout; otherwise silent since `heard` (killed, cut
  // off, frozen, or stopped by a crash).
  bool live = false;
  std::string role;  // "leader", "follower", or "starting" before its engine has run
  Instant heard;     // when it last wrote its record
  Instant started;   // when it started
  int64_t lag = -1;  // records of the events topic it had not yet applied; -1 unknown
  bool catching_up = false;
  std::optional<Instant> as_of;  // its counts' instant; nullopt: nothing projected yet
  std::map<int32_t, int64_t> offsets;  // per partition, the offset after the last it applied
  // The tasks it keeps a copy of for another engine (--standby-replicas), by partition.
  std::vector<int32_t> standby;
};

// The group as this engine's read of its directory shows it.
struct GroupView {
  std::vector<GroupPeer> engines;  // by url; this engine always among them
  // Why the directory cannot be read now ("" while it is read): the engines are then this one
  // and those last heard of.
  std::string problem;
};

// A case's timeline as the engine of the group holding it gave it (GET /internal/v1/cases/ID).
struct PeerCase {
  std::string url;
  std::string allocation;  // its Casewatch-Case-Allocation: the case's unit, levels '/'-separated
  std::string body;        // the timeline, JSON
  std::string copies;      // its Casewatch-Copies: the partition, when read from a copy
};

// Where an engine of a group sharing the partitions out stands with the ids topic.
struct EventIdClaims {
  uint64_t written = 0;   // claims this engine wrote
  uint64_t read = 0;      // claims its ledger read, every engine's
  bool caught_up = false;  // the ledger has read what the topic held when the engine started
  uint64_t waiting = 0;   // tasks' batches waiting for claims now
};

struct ApiOptions {
  // The engine's store; several when its partitions are shared out among tasks, one store each,
  // whose cases are disjoint (docs/partitioned-group.md): every answer is then theirs together,
  // as one store of all their cases would give it. Empty: no store (the stream alone).
  std::vector<const store::StoreReader*> stores;
  LiveView* view = nullptr;
  const TokenRegistry* tokens = nullptr;  // nullptr: auth off (--no-auth)
  // The holder of the token the engines of a group present to each other (casewatchd
  // --peer-token-file): its requests are not rate limited, since each carries the work of a
  // caller of the asking engine, whom that engine's own limit bounds. nullptr: none.
  const Principal* peer_principal = nullptr;
  AuditLog* audit = nullptr;
  // POST /api/v1/events: where accepted events go (the engine's topic) and rejected lines' dead
  // letters; nullptr disables the endpoint.
  EventPublisher* publisher = nullptr;
  std::string topic = "case-events";
  std::string dead_letter_topic = "case-events-dlq";
  std::function<Instant()> clock;       // the engine clock, for live validation
  std::function<Instant()> wall_clock;  // for audit records (default: the system clock)
  size_t max_events_per_request = 100000;
  // casewatchd --read-only: a store served as it is, no engine feeding it (GET /api/v1/meta says
  // so, and the dashboard shows it).
  bool read_only = false;
  // GET /api/v1/trend?interval=month: how old the month-by-month trend may grow, while the engine
  // writes, before it is recomputed in the background (a new month recomputes it at once).
  std::chrono::milliseconds monthly_trend_refresh{std::chrono::minutes(10)};
  // Several engines on one events topic (casewatchd --group): the group's name, and the engines
  // its directory knows, this one included (GET /api/v1/group, /metrics). "": on its own.
  std::string group;
  std::function<GroupView()> group_view;
  // The counts of the engines of the group that hold partitions this one misses (casewatchd
  // --tasks --group), asked for the partitions in `missing`, within `scope` summed by `by`
  // (PeerCountsOf) as of instant `at` (PeerCounter::Ask): live reports and breakdowns add them
  // (WithPeers) and name them (Casewatch-Peers). Unset: those partitions are left out and named
  // (Casewatch-Missing).
  std::function<std::vector<PeerAnswer>(std::span<const int32_t> missing, const Scope& scope,
                                        reports::GroupBy by, Instant at)>
      peer_counts;
  // A case's timeline from the engine of the group holding it, asked among those holding the
  // partitions in `missing` (`query`: the page parameters): GET /api/v1/cases/{id} of a case
  // no store here holds. Unset: such a case is 404.
  std::function<std::optional<PeerCase>(std::span<const int32_t> missing, std::string_view id,
                                        std::string_view query)>
      peer_case;
  // The open items of the engines of the group holding the partitions in `missing`, asked with
  // `query` (GET /internal/v1/worklist: the scope, the filters and `limit`): GET
  // /api/v1/worklist merges them with its own (MergeWorklists). Unset: those partitions' items
  // are left out and the partitions named (Casewatch-Missing).
  std::function<std::vector<PeerWork>(std::span<const int32_t> missing, std::string_view query)>
      peer_worklist;
  // The same for a trend (GET /internal/v1/trend: the scope, the interval and, by day, from and
  // to): GET /api/v1/trend adds their days or months to its own.
  std::function<std::vector<PeerTrendAnswer>(std::span<const int32_t> missing,
                                             std::string_view query)>
      peer_trend;
  // How long the live counts with the other engines' added may be given again before they are
  // asked for anew (MergedCountsCache): 0, asked at every live report and breakdown.
  std::chrono::milliseconds peer_refresh{0};
  // The engine's claims on event ids (casewatchd --tasks --group: daemon::IdsTopic), for
  // /metrics. Unset: not in such a group.
  std::function<EventIdClaims()> event_id_claims;
};

// A route's counters, for /metrics.
struct RouteMetrics {
  std::string_view name;
  std::array<std::atomic<uint64_t>, 6> by_class{};  // 1xx..5xx by first digit; [0] unused
  std::atomic<uint64_t> micros_total{0};
};

// The transport's own figures for /metrics (set by the server while it runs).
struct ServerStats {
  size_t stream_clients = 0;
  size_t connections = 0;
  size_t max_connections = 0;
  uint64_t connections_refused = 0;  // over a cap, closed at once
  uint64_t accept_errors = 0;        // e.g. out of file descriptors (EMFILE)
};

// What the handlers share: the options, and the state one request may need to wait for.
struct ApiState {
  explicit ApiState(ApiOptions o) : options(std::move(o)) {}
  ApiOptions options;
  Mutex publish_mutex;  // one POST publishes at a time (its lines' delivery reports are its own)
  std::vector<std::unique_ptr<RouteMetrics>> routes;  // by RouteId; read by /metrics
  Mutex stats_mutex;
  std::function<ServerStats()> server_stats CW_GUARDED_BY(stats_mutex);
  std::unique_ptr<MonthlyTrendCache> monthly;  // when there is a store
  // The last live snapshot with peers' counts added (LiveSnapshot), the peers it added, and what
  // it was made of (the local snapshot's version, each peer's url and tag): while those are the
  // same, so is it, and its rendered reports are used again.
  Mutex merged_mutex;
  std::string merged_key CW_GUARDED_BY(merged_mutex);
  std::shared_ptr<const Snapshot> merged CW_GUARDED_BY(merged_mutex);
  std::vector<std::string> merged_peers CW_GUARDED_BY(merged_mutex);
  // With options.peer_refresh: the merged counts of the scopes asked for, kept. Last: destroyed
  // first, its refresh (which reads the rest) finished.
  std::unique_ptr<MergedCountsCache> merged_counts;
};

class Api {
 public:
  explicit Api(ApiOptions options);
  ~Api();

  // Whether the request may take long (store scans, re-evaluation, publishing): the server runs
  // those off its I/O threads. Decided from the route and the parameters as the handler reads
  // them.
  bool Blocking(const HttpRequest& request) const;
  HttpResponse Handle(const HttpRequest& request);
  // Looks up the holder of the request's bearer token (request.principal).
  void Authenticate(HttpRequest& request) const;
  // Whom an authenticated request counts against for rate limiting: the token's holder when the
  // token is recognised, otherwise the peer address (so made-up tokens share their address's
  // limit).
  static std::string CallerKey(const HttpRequest& request);
  // Whether the request is exempt from rate limiting: another engine of the group asking
  // (ApiOptions::peer_principal).
  bool Unlimited(const HttpRequest& request) const;
  // Counts an answer the server gave itself (413, 429, ...), for /metrics.
  void CountRejected(int status);
  // The server's figures for /metrics; empty to stop asking.
  void set_server_stats(std::function<ServerStats()> stats);
  // Whether a live stream's report comes from more than this engine's counts: it misses
  // partitions other engines of its group hold (casewatchd --tasks --group), and may ask them
  // (--peer-token-file). Otherwise its streams send its own counts, naming what is missing.
  bool MergesStreams() const;
  // A live stream's counts for `scope`, as a live report's: this engine's, with those of the
  // engines holding the partitions it misses (or the copies kept of them) added. May wait on
  // the other engines: call it off the I/O threads.
  std::shared_ptr<const Snapshot> StreamSnapshot(const Scope& scope);

 private:
  void AddFreshness(HttpResponse& response) const;
  std::unique_ptr<ApiState> state_;
};

}  // namespace casewatch::http
