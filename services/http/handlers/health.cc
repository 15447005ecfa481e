// GET /healthz (alive), GET /readyz (caught up with the topic once since starting), the
// OpenAPI document and the dashboard's files: no token needed.
#include "services/http/assets.h"
#include "services/http/handlers/handlers.h"

namespace casewatch::http {

HttpResponse HandleHealthz(ApiState&, Call&) { return Json(200, R"({"status":"ok"})"); }

HttpResponse HandleReadyz(ApiState& state, Call&) {
  const bool ready = state.options.view->ready();
  // Which partitions of the events topic are behind, and by how much (-1 unknown), and which the
  // brokers do not serve now, since when. An engine cut off from a partition stays ready: every
  // answer says which partitions are stale (Casewatch-Unavailable).
  const engine::EngineStatus status = state.options.view->status();
  JsonWriter out;
  out.BeginObject().Key("status").String(ready ? "ready" : "catching_up");
  if (!status.role.empty()) out.Key("role").String(status.role);
  out.Key("lag").Int(status.lag).Key("partitions").BeginArray();
  for (const engine::PartitionStatus& p : status.partitions) {
    out.BeginObject().Key("partition").Int(p.partition).Key("lag").Int(p.lag);
    if (p.unavailable_since) {
      out.Key("unavailable_since").String(FormatInstant(*p.unavailable_since));
    }
    out.EndObject();
  }
  out.EndArray();
  WriteMissing(out, status);  // partitions another engine of the group serves
  if (!status.standby.empty()) {  // copies kept for other engines: not served, not awaited
    out.Key("standby").BeginArray();
    for (const engine::PartitionStatus& p : status.standby) {
      out.BeginObject().Key("partition").Int(p.partition).Key("lag").Int(p.lag).EndObject();
    }
    out.EndArray();
  }
  out.EndObject();
  return Json(ready ? 200 : 503, out.Take());
}

HttpResponse HandleOpenApi(ApiState&, Call&) {
  const Asset* asset = FindAsset("/openapi.json");
  return asset == nullptr ? ErrorResponse(Problem::kNotFound, "no OpenAPI document built in")
                          : Json(200, std::string(asset->body));
}

HttpResponse HandleStaticFile(ApiState&, Call& call) {
  const Asset* asset = FindAsset(call.path == "/" ? "/index.html" : call.path);
  if (asset == nullptr) return ErrorResponse(Problem::kNotFound, "no such page");
  HttpResponse r;
  r.content_type = std::string(asset->content_type);
  r.body = std::string(asset->body);
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

}  // namespace casewatch::http
