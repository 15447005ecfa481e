// GET /api/v1/report (indicators and outcomes for a scope, the replay form) and
// GET /api/v1/breakdown (the same for each group one level down). As of the engine's last write
// they come from the live view's snapshot; for another instant, a period or case items, from the
// store.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "services/reports/store_report.h"
#include "services/http/handlers/handlers.h"

namespace casewatch::http {
namespace {

// 503 before the live view has counts: the engine has projected nothing yet, or (an engine of a
// group sharing the partitions out) has projected nothing of what it serves, the rest being
// another engine's.
HttpResponse NotProjectedYet(const Snapshot& snapshot) {
  if (snapshot.missing.empty()) {
    return ErrorResponse(Problem::kNotReady, "the engine has not projected anything yet");
  }
  return ErrorResponse(
      Problem::kNotReady,
      fmt::format("this engine has not projected anything of the partitions it serves yet; "
                  "partitions {} are served by other engines of its group (Casewatch-Missing)",
                  fmt::join(snapshot.missing, ",")));
}

}  // namespace

HttpResponse HandleReport(ApiState& state, Call& call) {
  if (auto known = call.params.OnlyThese({"region", "pdu", "team", "offender_manager", "as_of",
                                          "from", "to", "case_items"});
      !known) {
    return ErrorResponse(known.error());
  }
  auto query = ParseReportQuery(call.params);
  if (!query) return ErrorResponse(query.error());
  const ReportQuery& q = query.value();
  auto scope = CallerScope(state, call, q.scope, /*past=*/!q.live());
  if (!scope.scope) return scope.answer;
  std::optional<Instant> as_of = q.as_of;
  if (q.live()) {
    std::vector<std::string> peers;
    const auto snapshot = LiveSnapshot(state, *scope.scope, reports::GroupBy::kNone, peers);
    if (!snapshot->as_of) return NotProjectedYet(*snapshot);
    if (snapshot->one_instant) {
      if (scope.unknown_now && CasesIn(*snapshot, *scope.scope) == 0) return *scope.unknown_now;
      HttpResponse answer = Json(200, *snapshot->Report(state.options.view->policy(),
                                                        state.options.view->min_cases(),
                                                        *scope.scope));
      AddLiveHeaders(answer, *snapshot, peers);
      return answer;
    }
    as_of = snapshot->as_of;  // a task ahead: all of them as of the earliest, from the stores
  }
  reports::StoreReportRequest request;
  request.as_of = as_of;
  request.from = q.from;
  request.to = q.to;
  request.scope = *scope.scope;
  request.case_items = q.case_items;
  request.min_cases = state.options.view->min_cases();
  auto report = reports::ReportFromStores(ServingStores(state), request, state.options.topic);
  if (!report) return ErrorResponse(report.error());
  // A unit with no case now but some then is answered; with none then either, it was a typo.
  if (scope.unknown_now && report.value().cases == 0) return *scope.unknown_now;
  return Json(200, std::move(report).value().json);
}

HttpResponse HandleBreakdown(ApiState& state, Call& call) {
  if (auto known = call.params.OnlyThese(
          {"region", "pdu", "team", "offender_manager", "as_of", "from", "to", "by"});
      !known) {
    return ErrorResponse(known.error());
  }
  auto query = ParseReportQuery(call.params);
  if (!query) return ErrorResponse(query.error());
  const ReportQuery& q = query.value();
  auto narrowed = CallerScope(state, call, q.scope, /*past=*/!q.live());
  if (!narrowed.scope) return narrowed.answer;
  const Scope& scope = *narrowed.scope;
  auto parsed_by = ParseGroupBy(call.params, reports::GroupBelow(scope));
  if (!parsed_by) return ErrorResponse(parsed_by.error());
  const reports::GroupBy by = parsed_by.value();
  reports::StoreReport report;
  std::shared_ptr<const Snapshot> snapshot;  // live
  std::vector<std::string> peers;            // whose counts it added
  std::optional<Instant> as_of = q.as_of;
  if (q.live()) {
    snapshot = LiveSnapshot(state, scope, by, peers);
    if (!snapshot->as_of) return NotProjectedYet(*snapshot);
    if (!snapshot->one_instant) as_of = snapshot->as_of;  // as in HandleReport
  }
  if (snapshot && snapshot->one_instant) {
    if (narrowed.unknown_now && CasesIn(*snapshot, scope) == 0) return *narrowed.unknown_now;
    report = snapshot->Breakdown(state.options.view->policy(), state.options.view->min_cases(),
                                 scope, by);
  } else {
    reports::StoreReportRequest request;
    request.as_of = as_of;
    request.from = q.from;
    request.to = q.to;
    request.scope = scope;
    request.group_by = by;
    request.min_cases = state.options.view->min_cases();
    auto stored = reports::ReportFromStores(ServingStores(state), request, state.options.topic);
    if (!stored) return ErrorResponse(stored.error());
    if (narrowed.unknown_now && stored.value().cases == 0) return *narrowed.unknown_now;
    report = std::move(stored).value();
  }
  JsonWriter out;
  out.BeginObject().Key("as_of").String(FormatInstant(report.as_of));
  out.Key("scope");
  WriteScope(out, scope);
  out.Key("by").String(reports::kGroupByNames[static_cast<size_t>(by)]);
  out.Key("rows").BeginArray();
  const int levels = static_cast<int>(by);
  for (const reports::GroupReport& group : report.groups) {
    const auto level = [&](int n, const std::string& value) {
      return n <= levels ? std::optional<std::string>(value) : std::nullopt;
    };
    out.BeginObject();
    out.Key("region").NullableString(level(1, group.key.region));
    out.Key("pdu").NullableString(level(2, group.key.pdu));
    out.Key("team").NullableString(level(3, group.key.team));
    out.Key("offender_manager").NullableString(level(4, group.key.offender_manager));
    out.Key("report").Raw(group.json);
    out.EndObject();
  }
  out.EndArray().EndObject();
  HttpResponse answer = Json(200, out.Take());
  if (snapshot) AddLiveHeaders(answer, *snapshot, peers);
  return answer;
}

}  // namespace casewatch::http
