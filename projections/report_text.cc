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

// The rating, or when the score rests on fewer cases than the report's min_cases, the mark with
// the base and the rating it would have.
std::string RatingText(const OutcomeScore& s) {
  if (!s.score || !s.rating) return "-";
  if (!s.too_few_cases) return std::string(NameOf(*s.rating));
  return fmt::format("too few cases to rate (n={}; would be {})", s.base, NameOf(*s.rating));
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
                       RatingText(s));
  }
  out += fmt::format("\n{:<{}} {:<18} {:>7} {:>15} {:>7} {:>6} {:>7} {:>9} {:>7}\n", "INDICATOR",
                     kTitleWidth, "OUTCOME", "SCORE", "CASES MET/ALL", "MET", "LATE", "MISSED",
                     "CANCELLED", "PENDING");
  bool marked = false;
  for (int i = 0; i < kIndicatorCount; ++i) {
    const IndicatorScore& s = r.indicators[i];
    const bool mark = s.score && s.too_few_cases;
    marked = marked || mark;
    out += fmt::format("{:<{}} {:<18} {:>7} {:>15} {:>7} {:>6} {:>7} {:>9} {:>7}{}\n",
                       TitleOf(static_cast<Indicator>(i)), kTitleWidth,
                       ShortTitleOf(kIndicators[i].outcome), Percent(s.score),
                       fmt::format("{}/{}", s.met_cases, s.relevant_cases), s.items.met,
                       s.items.late, s.items.missed, s.items.cancelled, s.items.pending,
                       mark ? "  too few cases to rate" : "");
  }
  for (const OutcomeScore& s : r.outcomes) marked = marked || (s.score && s.too_few_cases);
  if (marked) {
    out += fmt::format(
        "\nToo few cases to rate: a score on fewer than {} relevant cases (--min-cases), which\n"
        "one case moves by more than {:.0f} points; shown, but not a rating to rely on.\n",
        r.min_cases, 100.0 / static_cast<double>(r.min_cases));
  }
  return out;
}

}  // namespace casewatch
