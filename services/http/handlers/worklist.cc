// GET /api/v1/worklist: the open obligations in the caller's scope, overdue first, then pending,
// each by due date, a page at a time (from the live view).
#include <fmt/format.h>

#include "services/http/handlers/handlers.h"

namespace casewatch::http {
namespace {

constexpr int64_t kDefaultPageSize = 50;
constexpr int64_t kMaxPageSize = 500;

}  // namespace

HttpResponse HandleWorklist(ApiState& state, Call& call) {
  if (auto known = call.params.OnlyThese(
          {"region", "pdu", "team", "offender_manager", "status", "page", "page_size"});
      !known) {
    return ErrorResponse(known.error());
  }
  auto narrowed = CallerScope(state, call);
  if (!narrowed.scope) return narrowed.answer;
  WorkFilter filter = WorkFilter::kAll;
  if (auto status = call.params.Get("status")) {
    if (*status == "overdue") {
      filter = WorkFilter::kOverdue;
    } else if (*status == "pending") {
      filter = WorkFilter::kPending;
    } else if (*status != "all") {
      return ErrorResponse(
          Problem::kInvalidParameter,
          fmt::format("status: \"{}\" is not one of all, overdue, pending", *status));
    }
  }
  auto page = ParsePage(call.params, "page", "page_size", kDefaultPageSize, kMaxPageSize);
  if (!page) return ErrorResponse(page.error());
  const WorklistPage work = state.options.view->Worklist(
      *narrowed.scope, filter, page.value().offset(), static_cast<size_t>(page.value().size));
  const Date today = DateOf(work.as_of.value_or(Instant{}));
  JsonWriter out;
  out.BeginObject().Key("as_of");
  WriteInstant(out, work.as_of);
  out.Key("scope");
  WriteScope(out, *narrowed.scope);
  out.Key("total").Int(work.total).Key("page").Int(page.value().number);
  out.Key("page_size").Int(page.value().size).Key("items").BeginArray();
  for (const WorkItem& item : work.items) {
    out.BeginObject();
    out.Key("case_id").String(item.case_id);
    out.Key("indicator").String(InfoOf(item.indicator).id);
    out.Key("outcome").String(NameOf(InfoOf(item.indicator).outcome));
    out.Key("due").String(FormatDate(item.due));
    out.Key("status").String(item.overdue ? "OVERDUE" : "PENDING");
    out.Key("days_overdue").Int(today.days - item.due.days);
    out.Key("region").String(item.allocation->region);
    out.Key("pdu").String(item.allocation->pdu);
    out.Key("team").String(item.allocation->team);
    out.Key("offender_manager").String(item.allocation->offender_manager);
    out.EndObject();
  }
  out.EndArray().EndObject();
  return Json(200, out.Take());
}

}  // namespace casewatch::http
