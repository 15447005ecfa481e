// GET /api/v1/trend: a scope's scores per indicator and outcome over time. interval=day (the
// default): each day's scores to date, from the counts the engine recorded at each day's last
// write (the store's daily family: from the day the engine first ran; with several tasks, each
// task's counts of its last write on or before the day). interval=month: each
// month's own decisions as they stood at its end, computed from the history itself
// (reports::MonthlyTrend, kept by MonthlyTrendCache): complete from the first case, the same after
// a rebuild, each month equal to the replay of that month.
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <span>

#include "services/records/case_projection.h"
#include "services/reports/monthly_trend.h"
#include "services/reports/store_report.h"
#include "services/http/handlers/handlers.h"

namespace casewatch::http {
namespace {

constexpr int kMaxTrendDays = 3660;
constexpr int64_t kDefaultTrendMonths = 12;

void WriteScores(JsonWriter& out, const casewatch::Report& report) {
  out.Key("cases").Int(report.cases).Key("indicators").BeginObject();
  for (int i = 0; i < kIndicatorCount; ++i) {
    out.Key(kIndicators[i].id).NullableDouble(report.indicators[i].score);
  }
  out.EndObject().Key("outcomes").BeginObject();
  for (int o = 0; o < kOutcomeCount; ++o) {
    out.Key(NameOf(static_cast<Outcome>(o))).NullableDouble(report.outcomes[o].score);
  }
  out.EndObject();
}

// The trends of the engines of the group holding the partitions this one misses (`missing`:
// left with those none of them gave), asked with `query`, that can be added to this engine's:
// those whose points `fits` accepts, holding nothing but missing partitions and none a peer before
// them gave. `added` gets the urls of those added.
std::vector<std::shared_ptr<const store::v1::PeerTrend>> PeerTrends(
    ApiState& state, std::vector<int32_t>& missing, const std::string& query,
    const std::function<bool(const store::v1::PeerTrend&)>& fits,
    std::vector<std::string>& added) {
  std::vector<std::shared_ptr<const store::v1::PeerTrend>> trends;
  if (missing.empty() || !state.options.peer_trend) return trends;
  std::set<int32_t> left(missing.begin(), missing.end());
  for (PeerTrendAnswer& answer : state.options.peer_trend(missing, query)) {
    const store::v1::PeerTrend& t = *answer.reply;
    if (!fits(t) || !HoldsOnlyMissing(t.consumed(), left)) continue;
    for (const auto& [partition, next] : t.consumed()) left.erase(partition);
    trends.push_back(std::move(answer.reply));
    added.push_back(std::move(answer.url));
  }
  missing.assign(left.begin(), left.end());
  return trends;
}

// One month of a trend and its report.
struct MonthPoint {
  reports::Month month;
  casewatch::Report report;
};

// interval=month: the last `months` months (the current one so far).
HttpResponse MonthlyTrendAnswer(ApiState& state, Call& call, const Scope& scope) {
  if (call.params.Has("from") || call.params.Has("to")) {
    return ErrorResponse(Problem::kInvalidParameter,
                         "interval=month takes months (how many, to the engine's month), not "
                         "from or to");
  }
  auto months = Optional<int64_t>(call.params, "months", ParsePositive, "a whole number 1-120");
  if (!months) return ErrorResponse(months.error());
  const int64_t wanted = months.value().value_or(kDefaultTrendMonths);
  if (wanted > reports::MonthlyTrend::kMaxMonths) {
    return ErrorResponse(Problem::kInvalidParameter,
                         fmt::format("months: at most {}", reports::MonthlyTrend::kMaxMonths));
  }
  if (!state.monthly) return ErrorResponse(Problem::kNotReady, "no store to compute a trend from");
  auto trend = state.monthly->Get();
  if (!trend) return ErrorResponse(trend.error());
  const reports::MonthlyTrend& computed = *trend.value();
  const int64_t min_cases = state.options.view->min_cases();
  // The other engines' months (a peer's are added when its last month is this one's), each
  // month's counts added to this engine's: its decisions as one engine of all the cases counts
  // them. A month only a peer has (its cases began earlier) is counted from the peers alone.
  std::vector<int32_t> missing = state.options.view->snapshot()->missing;
  std::vector<std::string> peers;
  const auto trends = PeerTrends(
      state, missing, "interval=month&" + ScopeQuery(scope, reports::GroupBy::kNone),
      [&](const store::v1::PeerTrend& t) {
        return t.points_size() > 0 && !computed.months().empty() &&
               t.points(t.points_size() - 1).first_day() == computed.months().back().first.days;
      },
      peers);
  std::vector<MonthPoint> points;
  Instant computed_at = computed.computed_at();
  if (trends.empty()) {
    const std::vector<casewatch::Report> reports = computed.For(scope, min_cases);
    for (size_t m = 0; m < reports.size(); ++m) {
      points.push_back(MonthPoint{computed.months()[m], reports[m]});
    }
  } else {
    std::map<int32_t, std::pair<reports::Month, std::vector<store::v1::ScopeCounts>>> by_month;
    const std::vector<store::v1::ScopeCounts> sums = computed.SumsFor(scope);
    for (size_t m = 0; m < sums.size(); ++m) {
      auto& month = by_month[computed.months()[m].first.days];
      month.first = computed.months()[m];
      month.second.push_back(sums[m]);
    }
    for (const auto& t : trends) {
      computed_at = std::min(computed_at, Instant{t->computed_at_seconds(), t->computed_at_nanos()});
      for (const store::v1::PeerTrend::Point& point : t->points()) {
        auto& month = by_month[point.first_day()];
        month.first = reports::Month{Date{point.first_day()}, Date{point.last_day()}};
        month.second.push_back(point.sum());
      }
    }
    for (const auto& [first_day, month] : by_month) {
      points.push_back(MonthPoint{
          month.first, reports::MonthlyTrend::ReportOf(state.options.view->policy(), month.first,
                                                       computed_at, scope, min_cases,
                                                       month.second)});
    }
  }
  const size_t first = points.size() - std::min<size_t>(points.size(), wanted);
  JsonWriter out;
  out.BeginObject().Key("scope");
  WriteScope(out, scope);
  out.Key("interval").String("month");
  out.Key("computed_at").String(FormatInstant(computed_at));
  out.Key("months").BeginArray();
  for (size_t m = first; m < points.size(); ++m) {
    const reports::Month& month = points[m].month;
    out.BeginObject().Key("month").String(FormatDate(month.first).substr(0, 7));
    out.Key("from").String(FormatDate(month.first)).Key("to").String(FormatDate(month.last));
    out.Key("as_of").String(FormatInstant(points[m].report.as_of));
    WriteScores(out, points[m].report);
    out.EndObject();
  }
  out.EndArray().EndObject();
  HttpResponse answer = Json(200, out.Take());
  AddPeerHeaders(answer, peers, missing);
  return answer;
}

// Each day's (or month's) counts within `scope`, summed into one record named by its levels.
store::v1::ScopeCounts SumWithin(const Scope& scope,
                                 std::span<const store::v1::ScopeCounts> counts) {
  store::v1::ScopeCounts sum = records::EmptyScopeCounts(
      scope.region.value_or(""), scope.pdu.value_or(""), scope.team.value_or(""),
      scope.offender_manager.value_or(""));
  for (const store::v1::ScopeCounts& c : counts) {
    if (scope.Matches(records::AllocationOf(c))) records::AddCounts(sum, c);
  }
  return sum;
}

// The stores' days from `from` to `to` within `scope`, as a peer gives them: each day they
// recorded, their counts then (reports::ForEachDayOfStores), summed; first, when they recorded
// any day before `from`, what stood then (each store's last day before it), at the latest of
// those days.
Result<store::v1::PeerTrend> DailyTrendOf(std::span<const store::StoreReader* const> stores,
                                          Date from, Date to, const Scope& scope) {
  store::v1::PeerTrend trend;
  std::vector<store::v1::ScopeCounts> before;
  std::optional<Date> latest;
  for (const store::StoreReader* store : stores) {
    CW_TRY(day, store->LastDailyBefore(from));
    if (!day) continue;
    if (!latest || *day > *latest) latest = day;
    CW_TRY(store->ScanDaily(*day, *day, [&](Date, const store::v1::ScopeCounts& c) {
      before.push_back(c);
    }));
  }
  if (latest) {
    store::v1::PeerTrend::Point& point = *trend.add_points();
    point.set_first_day(latest->days);
    point.set_last_day(latest->days);
    *point.mutable_sum() = SumWithin(scope, before);
  }
  CW_TRY(reports::ForEachDayOfStores(
      stores, from, to, [&](Date day, std::span<const store::v1::ScopeCounts> day_counts) {
        store::v1::PeerTrend::Point& point = *trend.add_points();
        point.set_first_day(day.days);
        point.set_last_day(day.days);
        *point.mutable_sum() = SumWithin(scope, day_counts);
      }));
  return trend;
}

}  // namespace

HttpResponse HandleTrend(ApiState& state, Call& call) {
  if (auto known = call.params.OnlyThese(
          {"region", "pdu", "team", "offender_manager", "from", "to", "interval", "months"});
      !known) {
    return ErrorResponse(known.error());
  }
  const std::string interval = call.params.Get("interval").value_or("day");
  if (interval != "day" && interval != "month") {
    return ErrorResponse(Problem::kInvalidParameter,
                         fmt::format("interval: \"{}\" is not day or month", interval));
  }
  if (interval == "day" && call.params.Has("months")) {
    return ErrorResponse(Problem::kInvalidParameter, "months goes with interval=month");
  }
  auto narrowed = CallerScope(state, call);
  if (!narrowed.scope) return narrowed.answer;
  const Scope& scope = *narrowed.scope;
  if (interval == "month") return MonthlyTrendAnswer(state, call, scope);
  auto from_param = Optional<Date>(call.params, "from", ParseDateParam, "a date YYYY-MM-DD");
  if (!from_param) return ErrorResponse(from_param.error());
  auto to_param = Optional<Date>(call.params, "to", ParseDateParam, "a date YYYY-MM-DD");
  if (!to_param) return ErrorResponse(to_param.error());
  const auto snapshot = state.options.view->snapshot();
  const Date today = DateOf(snapshot->as_of.value_or(Instant{}));
  const Date to = to_param.value().value_or(today);
  const Date from = from_param.value().value_or(to + (-89));
  if (from > to) return ErrorResponse(Problem::kInvalidParameter, "from is after to");
  if (to.days - from.days >= kMaxTrendDays) {
    return ErrorResponse(Problem::kInvalidParameter,
                         fmt::format("a trend spans at most {} days", kMaxTrendDays));
  }
  const Policy& policy = state.options.view->policy();
  // The other engines' recorded days, merged with this engine's as one engine's stores would be.
  std::vector<int32_t> missing = snapshot->missing;
  std::vector<std::string> peers;
  const auto trends = PeerTrends(
      state, missing,
      fmt::format("interval=day&from={}&to={}&{}", FormatDate(from), FormatDate(to),
                  ScopeQuery(scope, reports::GroupBy::kNone)),
      [&](const store::v1::PeerTrend& t) {
        int32_t last = std::numeric_limits<int32_t>::min();
        for (const store::v1::PeerTrend::Point& point : t.points()) {
          if (point.first_day() <= last || point.first_day() > to.days) return false;
          last = point.first_day();
        }
        return true;
      },
      peers);
  JsonWriter out;
  out.BeginObject().Key("scope");
  WriteScope(out, scope);
  out.Key("from").String(FormatDate(from)).Key("to").String(FormatDate(to));
  out.Key("days").BeginArray();
  const auto write_day = [&](Date day, const auto& add_counts) {
    const Instant start{static_cast<int64_t>(day.days) * 86400, 0};
    reports::GroupedReportBuilder builder(policy, start, Period{std::nullopt, day}, scope,
                                          reports::GroupBy::kNone);
    add_counts(builder);
    out.BeginObject().Key("date").String(FormatDate(day));
    WriteScores(out, builder.FinishScope());
    out.EndObject();
  };
  if (trends.empty()) {
    auto scanned = reports::ForEachDayOfStores(
        ServingStores(state), from, to,
        [&](Date day, std::span<const store::v1::ScopeCounts> day_counts) {
          write_day(day, [&](reports::GroupedReportBuilder& builder) {
            for (const store::v1::ScopeCounts& counts : day_counts) builder.AddCounts(counts);
          });
        });
    if (!scanned) return ErrorResponse(scanned.error());
  } else {
    auto local = DailyTrendOf(ServingStores(state), from, to, scope);
    if (!local) return ErrorResponse(local.error());
    std::vector<const store::v1::PeerTrend*> engines = {&local.value()};
    for (const auto& t : trends) engines.push_back(t.get());
    // Each day any engine recorded; on it, each engine's counts as of its last day on or before.
    std::set<int32_t> days;
    for (const store::v1::PeerTrend* t : engines) {
      for (const store::v1::PeerTrend::Point& point : t->points()) {
        if (point.first_day() >= from.days) days.insert(point.first_day());
      }
    }
    std::vector<int> next(engines.size(), 0);
    std::vector<const store::v1::ScopeCounts*> standing(engines.size(), nullptr);
    for (int32_t day : days) {
      for (size_t e = 0; e < engines.size(); ++e) {
        for (; next[e] < engines[e]->points_size() &&
               engines[e]->points(next[e]).first_day() <= day;
             ++next[e]) {
          standing[e] = &engines[e]->points(next[e]).sum();
        }
      }
      write_day(Date{day}, [&](reports::GroupedReportBuilder& builder) {
        for (const store::v1::ScopeCounts* counts : standing) {
          if (counts != nullptr) builder.AddCounts(*counts);
        }
      });
    }
  }
  out.EndArray().EndObject();
  HttpResponse answer = Json(200, out.Take());
  AddPeerHeaders(answer, peers, missing);
  return answer;
}

HttpResponse HandlePeerTrend(ApiState& state, Call& call) {
  if (auto known = call.params.OnlyThese(
          {"region", "pdu", "team", "offender_manager", "from", "to", "interval"});
      !known) {
    return ErrorResponse(known.error());
  }
  auto scope = ParseScope(call.params);
  if (!scope) return ErrorResponse(scope.error());
  const std::string interval = call.params.Get("interval").value_or("");
  if (interval != "day" && interval != "month") {
    return ErrorResponse(Problem::kInvalidParameter,
                         fmt::format("interval: \"{}\" is not day or month", interval));
  }
  auto from = Optional<Date>(call.params, "from", ParseDateParam, "a date YYYY-MM-DD");
  if (!from) return ErrorResponse(from.error());
  auto to = Optional<Date>(call.params, "to", ParseDateParam, "a date YYYY-MM-DD");
  if (!to) return ErrorResponse(to.error());
  if (interval == "day" && (!from.value() || !to.value() || *from.value() > *to.value() ||
                            to.value()->days - from.value()->days >= kMaxTrendDays)) {
    return ErrorResponse(Problem::kInvalidParameter,
                         fmt::format("interval=day takes from and to, at most {} days apart, "
                                     "from first",
                                     kMaxTrendDays));
  }
  if (auto refused = RefuseScopedPeer(call, "a peer's trend")) return *refused;
  if (state.options.view == nullptr || !state.monthly) {
    return ErrorResponse(Problem::kNotFound, "this engine keeps no trend");
  }
  store::v1::PeerTrend trend;
  for (const auto& [partition, next] : state.options.view->snapshot()->consumed) {
    (*trend.mutable_consumed())[partition] = next;
  }
  if (interval == "month") {
    auto computed = state.monthly->Get();
    if (!computed) return ErrorResponse(computed.error());
    const reports::MonthlyTrend& months = *computed.value();
    trend.set_computed_at_seconds(months.computed_at().seconds);
    trend.set_computed_at_nanos(months.computed_at().nanos);
    const std::vector<store::v1::ScopeCounts> sums = months.SumsFor(scope.value());
    for (size_t m = 0; m < sums.size(); ++m) {
      store::v1::PeerTrend::Point& point = *trend.add_points();
      point.set_first_day(months.months()[m].first.days);
      point.set_last_day(months.months()[m].last.days);
      *point.mutable_sum() = sums[m];
    }
  } else {
    auto days = DailyTrendOf(ServingStores(state), *from.value(), *to.value(), scope.value());
    if (!days) return ErrorResponse(days.error());
    days.value().mutable_consumed()->swap(*trend.mutable_consumed());
    trend = std::move(days).value();
  }
  HttpResponse answer;
  answer.content_type = "application/x-protobuf";
  answer.body = trend.SerializeAsString();
  return answer;
}

}  // namespace casewatch::http
