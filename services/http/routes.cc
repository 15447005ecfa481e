#include "services/http/routes.h"

namespace casewatch::http {
namespace {

bool Always(const Params&) { return true; }
// The live answers (the engine's last write) come from memory; anything else reads the store.
bool ReadsTheStore(const Params& params) {
  return params.Has("as_of") || params.Has("from") || params.Has("to") ||
         params.Has("case_items");
}

constexpr Route kRoutes[] = {
    {"/healthz", "GET", Access::kPublic, kHealthRoute, nullptr, HandleHealthz},
    {"/readyz", "GET", Access::kPublic, kHealthRoute, nullptr, HandleReadyz},
    {"/api/v1/openapi.json", "GET", Access::kPublic, kMetaRoute, nullptr, HandleOpenApi},
    {"/api/v1/report", "GET", Access::kReader, kReportRoute, ReadsTheStore, HandleReport},
    {"/api/v1/breakdown", "GET", Access::kReader, kBreakdownRoute, ReadsTheStore,
     HandleBreakdown},
    {"/api/v1/worklist", "GET", Access::kReader, kWorklistRoute, Always, HandleWorklist},
    {"/api/v1/cases/", "GET", Access::kReader, kCaseRoute, Always, HandleCaseTimeline},
    {"/api/v1/trend", "GET", Access::kReader, kTrendRoute, Always, HandleTrend},
    {"/api/v1/stream", "GET", Access::kReader, kStreamRoute, nullptr, HandleStream},
    {"/api/v1/meta", "GET", Access::kCaller, kMetaRoute, nullptr, HandleMeta},
    {"/api/v1/group", "GET", Access::kCaller, kGroupRoute, nullptr, HandleGroup},
    {"/api/v1/events", "POST", Access::kPublisher, kEventsRoute, Always, HandlePostEvents},
    {"/metrics", "GET", Access::kCaller, kMetricsRoute, nullptr, HandleMetrics},
    {"/internal/v1/counts", "GET", Access::kReader, kPeerRoute, nullptr, HandlePeerCounts},
    {"/internal/v1/cases/", "GET", Access::kReader, kPeerCaseRoute, Always,
     HandlePeerCaseTimeline},
    {"/internal/v1/worklist", "GET", Access::kReader, kPeerWorklistRoute, Always,
     HandlePeerWorklist},
    {"/internal/v1/trend", "GET", Access::kReader, kPeerTrendRoute, Always, HandlePeerTrend},
};

constexpr Route kStaticFiles = {"/", "GET", Access::kPublic, kStaticRoute, nullptr,
                                HandleStaticFile};

}  // namespace

const Route* FindRoute(std::string_view path) {
  for (const Route& route : kRoutes) {
    const bool prefix = route.path.ends_with('/');
    if (prefix ? path.starts_with(route.path) : path == route.path) return &route;
  }
  if (!path.starts_with("/api/") && !path.starts_with("/internal/") && path != "/metrics") {
    return &kStaticFiles;
  }
  return nullptr;
}

}  // namespace casewatch::http
