#pragma once
// The route table: for each endpoint its path, method, who may call it, whether it may take long
// (the server runs those on its workers), its handler and its name in /metrics. One row per
// endpoint; Api::Handle reads it, and nothing else knows the paths. Internal to services/http.

#include <array>
#include <string_view>

#include "services/http/handlers/handlers.h"
#include "services/http/params.h"

namespace casewatch::http {

enum class Access {
  kPublic,     // no token: health, the OpenAPI document, the dashboard's files
  kCaller,     // any valid token (/metrics, /api/v1/meta, /api/v1/group)
  kReader,     // a viewer or an inspector
  kPublisher,  // a publisher (or --no-auth)
};

// Names in /metrics (casewatch_http_requests_total{route=...}); kOther counts answers given
// before a route was known (the server's own 413, 429, ...) and unknown paths.
enum RouteId : size_t {
  kReportRoute,
  kBreakdownRoute,
  kWorklistRoute,
  kCaseRoute,
  kTrendRoute,
  kStreamRoute,
  kMetaRoute,
  kGroupRoute,
  kEventsRoute,
  kMetricsRoute,
  kPeerRoute,
  kPeerCaseRoute,
  kPeerWorklistRoute,
  kPeerTrendRoute,
  kHealthRoute,
  kStaticRoute,
  kOtherRoute,
  kRouteCount,
};
inline constexpr std::array<std::string_view, kRouteCount> kRouteNames = {
    "report",  "breakdown",   "worklist",  "case",   "trend",  "stream", "meta",  "group",
    "events",  "metrics",     "peer_counts", "peer_case", "peer_worklist", "peer_trend", "health",
    "static",  "other"};

struct Route {
  std::string_view path;    // exact, or a prefix when it ends with '/'
  std::string_view method;  // GET (which answers HEAD too) or POST
  Access access;
  RouteId id;
  bool (*blocking)(const Params& params);  // nullptr: never
  HttpResponse (*handler)(ApiState& state, Call& call);
};

// The route of `path`: a row of the table, or the dashboard's files for any other path outside
// /api/ and /metrics; nullptr for an unknown /api/ path.
const Route* FindRoute(std::string_view path);

}  // namespace casewatch::http
