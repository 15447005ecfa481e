#include "services/http/api.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>

#include "services/http/handlers/handlers.h"
#include "services/http/routes.h"

namespace casewatch::http {
namespace {

std::string_view BearerToken(std::string_view authorization) {
  constexpr std::string_view kPrefix = "Bearer ";
  if (authorization.size() <= kPrefix.size()) return {};
  for (size_t i = 0; i < kPrefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
        std::tolower(static_cast<unsigned char>(kPrefix[i]))) {
      return {};
    }
  }
  return authorization.substr(kPrefix.size());
}

Instant SystemClock() { return InstantOf(std::chrono::system_clock::now()); }

std::string_view QueryOf(std::string_view target) {
  const size_t question = target.find('?');
  return question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
}

// The caller, or the 401 answer: the bearer token (or, for the event stream only, the
// access_token parameter: EventSource sends no headers) looked up in the registry.
const Principal* Caller(const ApiOptions& options, const HttpRequest& request,
                        const Route& route, const Params& params, HttpResponse& refusal) {
  static const Principal kLocal = LocalPrincipal();
  if (options.tokens == nullptr) return &kLocal;
  std::string_view token = BearerToken(request.authorization);
  const Principal* principal = nullptr;
  std::optional<std::string> query_token;
  if (!token.empty()) {
    principal = request.authenticated ? request.principal : options.tokens->Find(token);
  } else if (route.id == kStreamRoute && (query_token = params.Get("access_token"))) {
    token = *query_token;
    principal = options.tokens->Find(token);
  }
  if (principal == nullptr) {
    refusal = ErrorResponse(
        Problem::kUnauthenticated,
        token.empty() ? "this endpoint needs an access token: Authorization: Bearer <token>"
                      : "the access token is not recognised");
    refusal.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"casewatch\"");
  }
  return principal;
}

// The 403 for a caller whose role the route does not admit, or nullopt.
std::optional<HttpResponse> Refuse(const Route& route, const Principal& principal) {
  if (route.access == Access::kReader && !principal.CanRead()) {
    return ErrorResponse(Problem::kForbidden,
                         fmt::format("the {} role may not read this", NameOf(principal.role)));
  }
  if (route.access == Access::kPublisher && !principal.CanPublish()) {
    return ErrorResponse(Problem::kForbidden,
                         fmt::format("the {} role may not publish events; a publisher token may",
                                     NameOf(principal.role)));
  }
  return std::nullopt;
}

HttpResponse Dispatch(ApiState& state, const HttpRequest& request, RouteId& route_id) {
  const std::string_view target = request.target;
  const std::string_view path = target.substr(0, target.find('?'));
  auto params = Params::Parse(QueryOf(target));
  if (!params) return ErrorResponse(params.error());
  const Route* route = FindRoute(path);
  if (route == nullptr) {
    // An unknown API path: said only to a caller.
    HttpResponse refusal;
    static constexpr Route kUnknown = {"", "GET", Access::kCaller, kOtherRoute, nullptr, nullptr};
    if (Caller(state.options, request, kUnknown, params.value(), refusal) == nullptr) {
      return refusal;
    }
    return ErrorResponse(Problem::kNotFound, fmt::format("no endpoint {}", path));
  }
  route_id = route->id;
  const bool method_ok =
      request.method == route->method || (route->method == "GET" && request.method == "HEAD");
  if (route->access == Access::kPublic && !method_ok) {
    HttpResponse r = ErrorResponse(Problem::kMethodNotAllowed,
                                   route->id == kStaticRoute
                                       ? std::string("only GET is served here")
                                       : fmt::format("{} takes {} only", path, route->method));
    r.headers.emplace_back("Allow", route->method == "GET" ? "GET, HEAD" : route->method);
    return r;
  }
  Call call{request, path, path.substr(std::min(path.size(), route->path.size())),
            std::move(params).value(), nullptr};
  if (route->access != Access::kPublic) {
    HttpResponse refusal;
    call.principal = Caller(state.options, request, *route, call.params, refusal);
    if (call.principal == nullptr) return refusal;
    if (!method_ok) {
      HttpResponse r = ErrorResponse(Problem::kMethodNotAllowed,
                                     fmt::format("{} takes {} only", path, route->method));
      r.headers.emplace_back("Allow", std::string(route->method));
      return r;
    }
    if (auto refused = Refuse(*route, *call.principal)) return *refused;
  }
  return route->handler(state, call);
}

}  // namespace

// Every API answer says how far behind the topic the store it came from is (Casewatch-Lag:
// records not yet applied, -1 unknown; Casewatch-Behind: partition:records for each partition
// behind), which partitions the brokers do not serve now and since when (Casewatch-Unavailable:
// "3 since 2026-12-06T04:31:07Z, 7 since ...": their cases are as they were then) and, for an
// engine of a group, its role, and which partitions no task of this engine serves
// (Casewatch-Missing: "3,7", their cases left out; a live report or breakdown that added the
// counts of the engines holding them names those in Casewatch-Peers instead): a reader of a
// follower, or of any engine catching up or cut off from a partition, knows the answer is stale
// or partial, where and by how much.
void Api::AddFreshness(HttpResponse& response) const {
  if (state_->options.view == nullptr) return;
  const engine::EngineStatus status = state_->options.view->status();
  // No engine (read-only).
  if (status.lag < 0 && status.role.empty() && status.missing.empty()) return;
  response.headers.emplace_back("Casewatch-Lag", std::to_string(status.lag));
  std::string behind;
  for (const engine::PartitionStatus& p : status.partitions) {
    if (p.lag == 0) continue;
    fmt::format_to(std::back_inserter(behind), "{}{}:{}", behind.empty() ? "" : ",", p.partition,
                   p.lag);
  }
  if (!behind.empty()) response.headers.emplace_back("Casewatch-Behind", std::move(behind));
  std::string unavailable;
  for (const engine::PartitionStatus& p : status.partitions) {
    if (!p.unavailable_since) continue;
    fmt::format_to(std::back_inserter(unavailable), "{}{} since {}",
                   unavailable.empty() ? "" : ", ", p.partition,
                   FormatInstant(*p.unavailable_since));
  }
  if (!unavailable.empty()) {
    response.headers.emplace_back("Casewatch-Unavailable", std::move(unavailable));
  }
  if (!status.role.empty()) response.headers.emplace_back("Casewatch-Role", status.role);
  // An answer of the live counts names them from its own snapshot (AddSnapshotHeaders: its
  // Casewatch-Offsets, and Casewatch-Missing when it misses any), never from a later one: a
  // partition that moved away since would be named both held and missing. Any other answer
  // names them from the snapshot whose missing tasks ServingStores left out, nearly always the
  // one now.
  const bool named =
      std::any_of(response.headers.begin(), response.headers.end(), [](const auto& h) {
        return h.first == "Casewatch-Missing" || h.first == "Casewatch-Peers" ||
               h.first == "Casewatch-Offsets";
      });
  const auto snapshot = state_->options.view->snapshot();
  if (!named && !snapshot->missing.empty()) {
    response.headers.emplace_back("Casewatch-Missing", FormatMissing(snapshot->missing));
  }
}

Api::Api(ApiOptions options) : state_(std::make_unique<ApiState>(std::move(options))) {
  if (!state_->options.wall_clock) state_->options.wall_clock = SystemClock;
  if (!state_->options.stores.empty()) {
    ApiState* state = state_.get();
    state_->monthly = std::make_unique<MonthlyTrendCache>(
        [state] { return ServingStores(*state); }, state_->options.monthly_trend_refresh);
  }
  for (std::string_view name : kRouteNames) {
    state_->routes.push_back(std::make_unique<RouteMetrics>());
    state_->routes.back()->name = name;
  }
  if (state_->options.peer_counts && state_->options.peer_refresh.count() > 0) {
    ApiState* state = state_.get();
    state_->merged_counts = std::make_unique<MergedCountsCache>(
        [state](const Scope& scope, reports::GroupBy by) {
          MergedCounts merged;
          merged.snapshot = MergedLiveSnapshot(*state, scope, by, merged.peers);
          // The report rendered here, once, rather than by the first request given it.
          if (by == reports::GroupBy::kNone && merged.snapshot->as_of &&
              merged.snapshot->one_instant) {
            merged.snapshot->Report(state->options.view->policy(),
                                    state->options.view->min_cases(), scope);
          }
          return merged;
        },
        state_->options.peer_refresh);
  }
}

Api::~Api() = default;

bool Api::MergesStreams() const { return MayAskPeers(*state_); }

std::shared_ptr<const Snapshot> Api::StreamSnapshot(const Scope& scope) {
  std::vector<std::string> peers;  // asked now: a stream's update follows a write here
  return MergedLiveSnapshot(*state_, scope, reports::GroupBy::kNone, peers);
}

bool Api::Blocking(const HttpRequest& request) const {
  const std::string_view target = request.target;
  const Route* route = FindRoute(target.substr(0, target.find('?')));
  if (route == nullptr || route->blocking == nullptr) return false;
  // A live answer that asks the group's other engines for their counts waits for them, unless
  // the counts of its scope are kept.
  auto params = Params::Parse(QueryOf(target));
  if ((route->id == kReportRoute || route->id == kBreakdownRoute) && MayAskPeers(*state_)) {
    return params && !HoldsMergedCounts(*state_, request.principal, params.value(),
                                        route->id == kBreakdownRoute);
  }
  return params && route->blocking(params.value());  // a malformed query: a 400, at once
}

void Api::Authenticate(HttpRequest& request) const {
  request.authenticated = true;
  request.principal = state_->options.tokens != nullptr
                          ? state_->options.tokens->Find(BearerToken(request.authorization))
                          : nullptr;
}

std::string Api::CallerKey(const HttpRequest& request) {
  return request.principal != nullptr ? "token:" + request.principal->name
                                      : "address:" + request.remote;
}

bool Api::Unlimited(const HttpRequest& request) const {
  return request.principal != nullptr && request.principal == state_->options.peer_principal;
}

void Api::CountRejected(int status) {
  state_->routes[kOtherRoute]->by_class[std::clamp(status / 100, 1, 5)].fetch_add(1);
}

void Api::set_server_stats(std::function<ServerStats()> stats) {
  MutexLock lock(state_->stats_mutex);
  state_->server_stats = std::move(stats);
}

HttpResponse Api::Handle(const HttpRequest& request) {
  const auto started = std::chrono::steady_clock::now();
  RouteId route = kOtherRoute;
  HttpResponse response = Dispatch(*state_, request, route);
  if (request.target.starts_with("/api/")) AddFreshness(response);
  RouteMetrics& metrics = *state_->routes[route];
  metrics.by_class[std::clamp(response.status / 100, 1, 5)].fetch_add(1);
  metrics.micros_total.fetch_add(
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::steady_clock::now() - started)
                                .count()));
  return response;
}

}  // namespace casewatch::http
