#include "projections/report_text.h"

#include <fmt/format.h>

#include <algorithm>

#include "projections/labels.h"

namespace casewatch {
namespace {

// The indicator column: as wide as the longest title.
constexpr size_t kTitleWidth = [] {
  size_t width = 0;
  for (const IndicatorLabel& label : kIndicatorLabels) width = std::max(width, label.title.size());
  return width;
}();

std::string Percent(const std::optional<double>& score) {
  return score ? fmt::format("{:5.1f}%", *score * 100) : std::string("     -");
}

std::string ScopeText(const Scope& s) {
  std::string out;
  auto add = [&](const char* name, const std::optional<std::string>& v) {
    if (v) out += fmt::format("{}{}={}", out.empty() ? "" : ", ", name, *v);
  };
  add("region", s.region);
  add("pdu", s.pdu);
  add("team", s.team);
  add("offender manager", s.offender_manager);
  return out.empty() ? "all cases" : out;
}

}  // namespace

std::string RenderReportText(const Report& r) {
  std::string out = fmt::format("Oversight report as of {} (policy: {})\n", FormatInstant(r.as_of),
                                r.policy_name);
  out += fmt::format("Decisions from {} to {}; scope: {}; {} cases\n\n",
                     r.period.from ? FormatDate(*r.period.from) : "the start",
                     FormatDate(r.period.to), ScopeText(r.scope), r.cases);
  out += fmt::format("{:<24} {:>7}  {}\n", "OUTCOME", "SCORE", "RATING");
  for (int o = 0; o < kOutcomeCount; ++o) {
    const OutcomeScore& s = r.outcomes[o];
    out += fmt::format("{:<24} {:>7}  {}\n", TitleOf(static_cast<Outcome>(o)), Percent(s.score),
                       s.rating ? NameOf(*s.rating) : "-");
  }
  out += fmt::format("\n{:<{}} {:<18} {:>7} {:>15} {:>7} {:>6} {:>7} {:>9} {:>7}\n", "INDICATOR",
                     kTitleWidth, "OUTCOME", "SCORE", "CASES MET/ALL", "MET", "LATE", "MISSED",
                     "CANCELLED", "PENDING");
  for (int i = 0; i < kIndicatorCount; ++i) {
    const IndicatorScore& s = r.indicators[i];
    out += fmt::format("{:<{}} {:<18} {:>7} {:>15} {:>7} {:>6} {:>7} {:>9} {:>7}\n",
                       TitleOf(static_cast<Indicator>(i)), kTitleWidth,
                       ShortTitleOf(kIndicators[i].outcome), Percent(s.score),
                       fmt::format("{}/{}", s.met_cases, s.relevant_cases), s.items.met,
                       s.items.late, s.items.missed, s.items.cancelled, s.items.pending);
  }
  return out;
}

}  // namespace casewatch
