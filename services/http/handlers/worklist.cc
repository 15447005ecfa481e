// GET /api/v1/worklist: the caseload view of the open obligations in the caller's scope, grouped
// as a practitioner plans a day (overdue, due today, due this week, later; long overdue apart),
// high-risk, child protection and MAPPA cases first within a group, then by due date; a page at
// a time as JSON, or all of them as CSV for a supervision meeting (from the live view). An engine
// whose group shares the partitions out (casewatchd --tasks --group) merges in the items of the
// engines holding the partitions it misses (GET /internal/v1/worklist, HandlePeerWorklist).
#include <fmt/format.h>

#include <limits>

#include "base/csv.h"
#include "projections/labels.h"
#include "services/http/handlers/handlers.h"
#include "services/store/format.h"

namespace casewatch::http {
namespace {

constexpr int64_t kDefaultPageSize = 50;
constexpr int64_t kMaxPageSize = 500;

constexpr std::array<std::pair<std::string_view, RoshLevel>, 5> kRoshNames = {{
    {"none", RoshLevel::kUnspecified},
    {"low", RoshLevel::kLow},
    {"medium", RoshLevel::kMedium},
    {"high", RoshLevel::kHigh},
    {"very_high", RoshLevel::kVeryHigh},
}};

std::optional<std::string_view> RoshName(RoshLevel level) {
  static constexpr std::string_view kUpper[] = {"", "LOW", "MEDIUM", "HIGH", "VERY_HIGH"};
  if (level == RoshLevel::kUnspecified) return std::nullopt;
  return kUpper[static_cast<int>(level)];
}

std::vector<std::string_view> RegistrationNames(uint32_t bits) {
  std::vector<std::string_view> names;
  if (bits & store::format::kRegistrationMappa) names.push_back("MAPPA");
  if (bits & store::format::kRegistrationChildProtection) names.push_back("CHILD_PROTECTION");
  if (bits & store::format::kRegistrationDomesticAbuse) names.push_back("DOMESTIC_ABUSE");
  return names;
}

// The query's filters beyond the scope; the problem otherwise.
Result<void> ParseFilters(const Params& params, WorklistQuery& query) {
  if (auto status = params.Get("status")) {
    if (*status == "overdue") {
      query.filter = WorkFilter::kOverdue;
    } else if (*status == "pending") {
      query.filter = WorkFilter::kPending;
    } else if (*status != "all") {
      return InvalidArgument(
          fmt::format("status: \"{}\" is not one of all, overdue, pending", *status));
    }
  }
  if (auto group = params.Get("group"); group && *group != "all") {
    for (int g = 0; g < kWorkGroupCount; ++g) {
      if (NameOf(static_cast<WorkGroup>(g)) == *group) query.group = static_cast<WorkGroup>(g);
    }
    if (!query.group) {
      return InvalidArgument(fmt::format(
          "group: \"{}\" is not one of all, overdue, due_today, due_this_week, later, "
          "long_overdue",
          *group));
    }
  }
  if (auto indicator = params.Get("indicator")) {
    for (int i = 0; i < kIndicatorCount; ++i) {
      if (kIndicators[i].id == *indicator) query.indicator = static_cast<Indicator>(i);
    }
    if (!query.indicator) {
      return InvalidArgument(fmt::format("indicator: \"{}\" is not an indicator's id (GET "
                                         "/api/v1/meta lists them)",
                                         *indicator));
    }
  }
  if (auto rosh = params.Get("rosh")) {
    std::string_view rest = *rosh;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view name = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      const auto found = std::find_if(kRoshNames.begin(), kRoshNames.end(),
                                      [&](const auto& entry) { return entry.first == name; });
      if (found == kRoshNames.end()) {
        return InvalidArgument(fmt::format(
            "rosh: \"{}\" is not one of very_high, high, medium, low, none (comma-separated)",
            name));
      }
      query.rosh_levels.push_back(found->second);
    }
  }
  return Ok();
}

// `query`'s scope and filters as parameters, for a peer (GET /internal/v1/worklist), with
// `limit` (none: every item).
std::string PeerQuery(const WorklistQuery& query, std::optional<size_t> limit) {
  std::string text = ScopeQuery(query.scope, reports::GroupBy::kNone);
  const auto add = [&](std::string_view name, std::string_view value) {
    fmt::format_to(std::back_inserter(text), "{}{}={}", text.empty() ? "" : "&", name,
                   PercentEncode(value));
  };
  if (query.filter != WorkFilter::kAll) {
    add("status", query.filter == WorkFilter::kOverdue ? "overdue" : "pending");
  }
  if (query.group) add("group", NameOf(*query.group));
  if (query.indicator) add("indicator", InfoOf(*query.indicator).id);
  std::string rosh;
  for (RoshLevel level : query.rosh_levels) {
    const auto named = std::find_if(kRoshNames.begin(), kRoshNames.end(),
                                    [&](const auto& entry) { return entry.second == level; });
    rosh += (rosh.empty() ? "" : ",") + std::string(named->first);
  }
  if (!rosh.empty()) add("rosh", rosh);
  if (limit) add("limit", std::to_string(*limit));
  return text;
}

HttpResponse Csv(const WorklistPage& work, Date today) {
  std::string out =
      "group,case_id,rosh_level,registrations,indicator,action,due,days_overdue,status,region,"
      "pdu,team,offender_manager\r\n";
  for (const WorkItem& item : work.items) {
    std::string registrations;
    for (std::string_view name : RegistrationNames(item.registrations)) {
      registrations += (registrations.empty() ? "" : " ") + std::string(name);
    }
    const std::string fields[] = {std::string(NameOf(item.group)),
                                  std::string(item.case_id),
                                  std::string(RoshName(item.rosh_level).value_or("")),
                                  registrations,
                                  std::string(InfoOf(item.indicator).id),
                                  std::string(ActionOf(item.indicator, item.detail)),
                                  FormatDate(item.due),
                                  fmt::format("{}", today.days - item.due.days),
                                  item.overdue ? "OVERDUE" : "PENDING",
                                  item.allocation->region,
                                  item.allocation->pdu,
                                  item.allocation->team,
                                  item.allocation->offender_manager};
    bool first = true;
    for (const std::string& field : fields) {
      if (!first) out += ',';
      first = false;
      AppendCsvField(out, field);
    }
    out += "\r\n";
  }
  HttpResponse response;
  response.content_type = "text/csv; charset=utf-8";
  response.headers.emplace_back("Content-Disposition",
                                fmt::format("attachment; filename=\"caseload-{}.csv\"",
                                            FormatDate(today)));
  response.body = std::move(out);
  return response;
}

}  // namespace

HttpResponse HandleWorklist(ApiState& state, Call& call) {
  if (auto known = call.params.OnlyThese({"region", "pdu", "team", "offender_manager", "status",
                                          "group", "indicator", "rosh", "format", "page",
                                          "page_size"});
      !known) {
    return ErrorResponse(known.error());
  }
  auto narrowed = CallerScope(state, call);
  if (!narrowed.scope) return narrowed.answer;
  WorklistQuery query;
  query.scope = *narrowed.scope;
  if (auto parsed = ParseFilters(call.params, query); !parsed) {
    return ErrorResponse(Problem::kInvalidParameter, parsed.error().message);
  }
  const auto format = call.params.Get("format");
  if (format && *format != "json" && *format != "csv") {
    return ErrorResponse(Problem::kInvalidParameter,
                         fmt::format("format: \"{}\" is not one of json, csv", *format));
  }
  const bool csv = format && *format == "csv";
  auto page = ParsePage(call.params, "page", "page_size", kDefaultPageSize, kMaxPageSize);
  if (!page) return ErrorResponse(page.error());
  // The CSV export holds every matching item.
  query.offset = csv ? 0 : page.value().offset();
  query.limit = csv ? std::numeric_limits<size_t>::max() : static_cast<size_t>(page.value().size);
  const LiveView& view = *state.options.view;
  const auto snapshot = view.snapshot();
  WorklistPage work;
  std::vector<std::string> peers;
  std::vector<int32_t> missing = snapshot->missing;
  if (!missing.empty() && state.options.peer_worklist && snapshot->as_of) {
    // Every engine's first offset + limit items, merged: the page is among them.
    WorklistQuery first = query;
    first.offset = 0;
    first.limit = csv ? query.limit : query.offset + query.limit;
    const std::vector<PeerWork> answers = state.options.peer_worklist(
        missing, PeerQuery(query, csv ? std::nullopt : std::optional<size_t>(first.limit)));
    work = MergeWorklists(view.Worklist(first), answers, query, missing, peers);
  } else {
    work = view.Worklist(query);
  }
  const Date today = DateOf(work.as_of.value_or(Instant{}));
  if (csv) {
    HttpResponse answer = Csv(work, today);
    AddPeerHeaders(answer, peers, missing);
    return answer;
  }
  JsonWriter out;
  out.BeginObject().Key("as_of");
  WriteInstant(out, work.as_of);
  out.Key("scope");
  WriteScope(out, *narrowed.scope);
  out.Key("total").Int(work.total).Key("groups").BeginObject();
  for (int g = 0; g < kWorkGroupCount; ++g) {
    out.Key(NameOf(static_cast<WorkGroup>(g))).Int(work.group_totals[g]);
  }
  out.EndObject().Key("page").Int(page.value().number);
  out.Key("page_size").Int(page.value().size).Key("items").BeginArray();
  for (const WorkItem& item : work.items) {
    out.BeginObject();
    out.Key("case_id").String(item.case_id);
    out.Key("indicator").String(InfoOf(item.indicator).id);
    out.Key("outcome").String(NameOf(InfoOf(item.indicator).outcome));
    out.Key("action").String(ActionOf(item.indicator, item.detail));
    // Which safeguarding check (null for other indicators, or when the store predates kinds).
    out.Key("check");
    if (const CheckLabel* check = CheckLabelOf(item.indicator, item.detail)) {
      out.String(check->id);
    } else {
      out.Null();
    }
    out.Key("due").String(FormatDate(item.due));
    out.Key("status").String(item.overdue ? "OVERDUE" : "PENDING");
    out.Key("group").String(NameOf(item.group));
    out.Key("days_overdue").Int(today.days - item.due.days);
    out.Key("rosh_level");
    if (const auto rosh = RoshName(item.rosh_level)) {
      out.String(*rosh);
    } else {
      out.Null();
    }
    out.Key("registrations").BeginArray();
    for (std::string_view name : RegistrationNames(item.registrations)) out.String(name);
    out.EndArray();
    out.Key("priority").Bool(item.priority);
    out.Key("region").String(item.allocation->region);
    out.Key("pdu").String(item.allocation->pdu);
    out.Key("team").String(item.allocation->team);
    out.Key("offender_manager").String(item.allocation->offender_manager);
    out.EndObject();
  }
  out.EndArray().EndObject();
  HttpResponse answer = Json(200, out.Take());
  AddPeerHeaders(answer, peers, missing);
  return answer;
}

HttpResponse HandlePeerWorklist(ApiState& state, Call& call) {
  if (auto known = call.params.OnlyThese({"region", "pdu", "team", "offender_manager", "status",
                                          "group", "indicator", "rosh", "limit"});
      !known) {
    return ErrorResponse(known.error());
  }
  auto scope = ParseScope(call.params);
  if (!scope) return ErrorResponse(scope.error());
  WorklistQuery query;
  query.scope = std::move(scope).value();
  if (auto parsed = ParseFilters(call.params, query); !parsed) {
    return ErrorResponse(Problem::kInvalidParameter, parsed.error().message);
  }
  auto limit = Optional<int64_t>(call.params, "limit", ParsePositive, "a number from 1");
  if (!limit) return ErrorResponse(limit.error());
  query.limit = limit.value() ? static_cast<size_t>(*limit.value())
                              : std::numeric_limits<size_t>::max();
  if (auto refused = RefuseScopedPeer(call, "a peer's worklist")) return *refused;
  if (state.options.view == nullptr) {
    return ErrorResponse(Problem::kNotFound, "this engine keeps no live worklist");
  }
  const auto snapshot = state.options.view->snapshot();
  if (!snapshot->as_of) {
    return ErrorResponse(Problem::kNotReady, "the engine has not projected anything yet");
  }
  HttpResponse answer;
  answer.content_type = "application/x-protobuf";
  answer.body = PeerWorklistOf(state.options.view->Worklist(query), *snapshot).SerializeAsString();
  return answer;
}

}  // namespace casewatch::http
