#include "projections/scores.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <vector>

#include "base/closest_names.h"

namespace casewatch {

bool Scope::Matches(const Allocation& a) const {
  return (!region || *region == a.region) && (!pdu || *pdu == a.pdu) &&
         (!team || *team == a.team) &&
         (!offender_manager || *offender_manager == a.offender_manager);
}

Result<void> CheckScopeIsKnown(const Scope& scope, std::span<const Allocation> known) {
  if (scope.empty()) return Ok();
  for (const Allocation& a : known) {
    if (scope.Matches(a)) return Ok();
  }
  if (known.empty()) {
    return InvalidArgument("no case is allocated to that scope: there are no cases yet");
  }
  struct Field {
    const char* label;
    const std::optional<std::string>& wanted;
    std::string Allocation::*value;
  };
  const Field fields[] = {{"region", scope.region, &Allocation::region},
                          {"PDU", scope.pdu, &Allocation::pdu},
                          {"team", scope.team, &Allocation::team},
                          {"practitioner (offender manager)", scope.offender_manager,
                           &Allocation::offender_manager}};
  std::string combination;
  for (const Field& field : fields) {
    if (!field.wanted) continue;
    combination += fmt::format("{}{} \"{}\"", combination.empty() ? "" : ", ", field.label,
                               *field.wanted);
    std::set<std::string> names;
    for (const Allocation& a : known) {
      if (!(a.*field.value).empty()) names.insert(a.*field.value);
    }
    if (names.contains(*field.wanted)) continue;
    const std::vector<std::string> listed(names.begin(), names.end());
    std::string hint = DidYouMean(*field.wanted, listed);
    if (hint.empty() && listed.size() <= 8) {
      hint = " (known: ";
      for (size_t i = 0; i < listed.size(); ++i) {
        hint += fmt::format("{}\"{}\"", i == 0 ? "" : ", ", listed[i]);
      }
      hint += ")";
    }
    return InvalidArgument(
        fmt::format("no case is allocated to {} \"{}\"{}", field.label, *field.wanted, hint));
  }
  return InvalidArgument(fmt::format("no case is allocated to {} together", combination));
}

void KnownAllocations::Add(const Allocation& a) {
  // NUL cannot occur in an allocation name (the contract allows no control characters).
  std::string key = a.region + '\0' + a.pdu + '\0' + a.team + '\0' + a.offender_manager;
  if (keys_.insert(std::move(key)).second) list_.push_back(a);
}

Result<Period> MakePeriod(std::optional<Date> from, std::optional<Date> to, Instant as_of) {
  Period period{from, to.value_or(DateOf(as_of))};
  if (period.from && *period.from > period.to) {
    return InvalidArgument(fmt::format("the period's start {} is after its end {}",
                                       FormatDate(*period.from), FormatDate(period.to)));
  }
  return period;
}

std::string_view NameOf(Rating r) {
  static constexpr std::string_view kNames[] = {"OUTSTANDING", "GOOD", "REQUIRES_IMPROVEMENT",
                                                "INADEQUATE"};
  return kNames[static_cast<int>(r)];
}

Rating RatingFor(double score, const Policy& policy) {
  constexpr double kTolerance = 1e-9;
  if (score + kTolerance >= policy.rating_outstanding) return Rating::kOutstanding;
  if (score + kTolerance >= policy.rating_good) return Rating::kGood;
  if (score + kTolerance >= policy.rating_requires_improvement) return Rating::kRequiresImprovement;
  return Rating::kInadequate;
}

ReportBuilder::ReportBuilder(const Policy& policy, Instant as_of, Period period, Scope scope,
                             int64_t min_cases)
    : policy_(policy) {
  report_.as_of = as_of;
  report_.min_cases = min_cases;
  report_.period = period;
  report_.policy_name = policy.name;
  report_.scope = std::move(scope);
}

Verdicts VerdictsOf(const CaseEvaluation& evaluation, const Period& period) {
  Verdicts verdicts{};
  for (const Item& item : evaluation.items) {
    if (item.status == ItemStatus::kPending || item.status == ItemStatus::kCancelled ||
        !period.Contains(item.decided_on)) {
      continue;
    }
    std::optional<bool>& verdict = verdicts[static_cast<int>(item.indicator)];
    verdict = verdict.value_or(true) && item.status == ItemStatus::kMet;
  }
  return verdicts;
}

bool ReportBuilder::Add(const CaseEvaluation& evaluation) {
  if (!report_.scope.Matches(evaluation.allocation)) return false;
  ++report_.cases;
  for (const Item& item : evaluation.items) {
    ItemCounts& counts = report_.indicators[static_cast<int>(item.indicator)].items;
    if (item.status == ItemStatus::kPending) {
      ++counts.pending;
      continue;
    }
    if (!report_.period.Contains(item.decided_on)) continue;
    switch (item.status) {
      case ItemStatus::kMet:
        ++counts.met;
        break;
      case ItemStatus::kLate:
        ++counts.late;
        break;
      case ItemStatus::kMissed:
        ++counts.missed;
        break;
      case ItemStatus::kCancelled:
        ++counts.cancelled;
        break;
      case ItemStatus::kPending:
        break;
    }
  }
  const Verdicts verdicts = VerdictsOf(evaluation, report_.period);
  for (int i = 0; i < kIndicatorCount; ++i) {
    if (!verdicts[i]) continue;
    ++report_.indicators[i].relevant_cases;
    if (*verdicts[i]) ++report_.indicators[i].met_cases;
  }
  return true;
}

void ReportBuilder::AddTotals(int64_t cases,
                              const std::array<IndicatorScore, kIndicatorCount>& totals) {
  report_.cases += cases;
  for (int i = 0; i < kIndicatorCount; ++i) {
    IndicatorScore& to = report_.indicators[i];
    const IndicatorScore& from = totals[i];
    to.items.met += from.items.met;
    to.items.late += from.items.late;
    to.items.missed += from.items.missed;
    to.items.cancelled += from.items.cancelled;
    to.items.pending += from.items.pending;
    to.relevant_cases += from.relevant_cases;
    to.met_cases += from.met_cases;
  }
}

Report ReportBuilder::Finish() const {
  Report report = report_;
  std::array<double, kOutcomeCount> sum{};
  std::array<int, kOutcomeCount> scored{};
  for (int i = 0; i < kIndicatorCount; ++i) {
    IndicatorScore& s = report.indicators[i];
    const int o = static_cast<int>(kIndicators[i].outcome);
    s.too_few_cases = s.relevant_cases < report.min_cases;
    report.outcomes[o].base = std::max(report.outcomes[o].base, s.relevant_cases);
    if (s.relevant_cases == 0) continue;
    s.score = static_cast<double>(s.met_cases) / static_cast<double>(s.relevant_cases);
    sum[o] += *s.score;  // in table order
    ++scored[o];
  }
  for (int o = 0; o < kOutcomeCount; ++o) {
    OutcomeScore& outcome = report.outcomes[o];
    outcome.too_few_cases = outcome.base < report.min_cases;
    if (scored[o] == 0) continue;
    outcome.score = sum[o] / scored[o];
    outcome.rating = RatingFor(*outcome.score, policy_);
  }
  return report;
}

}  // namespace casewatch
