// GET /api/v1/trend: a scope's scores per indicator and outcome over time. interval=day (the
// default): each day's scores to date, from the counts the engine recorded at each day's last
// write (the store's daily family: from the day the engine first ran; with several tasks, each
// task's counts of its last write on or before the day). interval=month: each
// month's own decisions as they stood at its end, computed from the history itself
// (reports::MonthlyTrend, kept by MonthlyTrendCache): complete from the first case, the same after
// a rebuild, each month equal to the replay of that month.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <span>

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
  const std::vector<casewatch::Report> reports =
      computed.For(scope, state.options.view->min_cases());
  const size_t first = reports.size() - std::min<size_t>(reports.size(), wanted);
  JsonWriter out;
  out.BeginObject().Key("scope");
  WriteScope(out, scope);
  out.Key("interval").String("month");
  out.Key("computed_at").String(FormatInstant(computed.computed_at()));
  out.Key("months").BeginArray();
  for (size_t m = first; m < reports.size(); ++m) {
    const reports::Month& month = computed.months()[m];
    out.BeginObject().Key("month").String(FormatDate(month.first).substr(0, 7));
    out.Key("from").String(FormatDate(month.first)).Key("to").String(FormatDate(month.last));
    out.Key("as_of").String(FormatInstant(reports[m].as_of));
    WriteScores(out, reports[m]);
    out.EndObject();
  }
  out.EndArray().EndObject();
  return Json(200, out.Take());
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
  JsonWriter out;
  out.BeginObject().Key("scope");
  WriteScope(out, scope);
  out.Key("from").String(FormatDate(from)).Key("to").String(FormatDate(to));
  out.Key("days").BeginArray();
  auto scanned = reports::ForEachDayOfStores(
      ServingStores(state), from, to,
      [&](Date day, std::span<const store::v1::ScopeCounts> day_counts) {
        const Instant start{static_cast<int64_t>(day.days) * 86400, 0};
        reports::GroupedReportBuilder builder(policy, start, Period{std::nullopt, day}, scope,
                                              reports::GroupBy::kNone);
        for (const store::v1::ScopeCounts& counts : day_counts) builder.AddCounts(counts);
        out.BeginObject().Key("date").String(FormatDate(day));
        WriteScores(out, builder.FinishScope());
        out.EndObject();
      });
  if (!scanned) return ErrorResponse(scanned.error());
  out.EndArray().EndObject();
  return Json(200, out.Take());
}

}  // namespace casewatch::http
