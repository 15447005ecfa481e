// GET /api/v1/trend: each day's scores per indicator and outcome for a scope, from the counts the
// engine recorded at each day's last write (the store's daily family).
#include <fmt/format.h>

#include <memory>

#include "services/reports/store_report.h"
#include "services/http/handlers/handlers.h"

namespace casewatch::http {
namespace {

constexpr int kMaxTrendDays = 3660;

}  // namespace

HttpResponse HandleTrend(ApiState& state, Call& call) {
  if (auto known =
          call.params.OnlyThese({"region", "pdu", "team", "offender_manager", "from", "to"});
      !known) {
    return ErrorResponse(known.error());
  }
  auto narrowed = CallerScope(state, call);
  if (!narrowed.scope) return narrowed.answer;
  const Scope& scope = *narrowed.scope;
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
  std::optional<Date> current;
  std::unique_ptr<reports::GroupedReportBuilder> builder;
  const auto flush = [&] {
    if (!builder) return;
    const casewatch::Report report = builder->FinishScope();
    out.BeginObject().Key("date").String(FormatDate(*current));
    out.Key("cases").Int(report.cases).Key("indicators").BeginObject();
    for (int i = 0; i < kIndicatorCount; ++i) {
      out.Key(kIndicators[i].id).NullableDouble(report.indicators[i].score);
    }
    out.EndObject().Key("outcomes").BeginObject();
    for (int o = 0; o < kOutcomeCount; ++o) {
      out.Key(NameOf(static_cast<Outcome>(o))).NullableDouble(report.outcomes[o].score);
    }
    out.EndObject().EndObject();
    builder.reset();
  };
  auto scanned = state.options.store->ScanDaily(
      from, to, [&](Date day, const store::v1::ScopeCounts& counts) {
        if (!current || *current != day) {
          flush();
          current = day;
          const Instant start{static_cast<int64_t>(day.days) * 86400, 0};
          builder = std::make_unique<reports::GroupedReportBuilder>(
              policy, start, Period{std::nullopt, day}, scope, reports::GroupBy::kNone);
        }
        builder->AddCounts(counts);
      });
  if (!scanned) return ErrorResponse(scanned.error());
  flush();
  out.EndArray().EndObject();
  return Json(200, out.Take());
}

}  // namespace casewatch::http
