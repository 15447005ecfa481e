#pragma once
// Scores (docs/rules.md section 9): counts, case scores, outcome scores and ratings for one scope
// and period, accumulated case by case by a ReportBuilder.

#include <array>
#include <optional>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "base/result.h"
#include "projections/evaluation.h"

namespace casewatch {

// Cases whose allocation matches every given field exactly.
struct Scope {
  std::optional<std::string> region;
  std::optional<std::string> pdu;
  std::optional<std::string> team;
  std::optional<std::string> offender_manager;

  bool Matches(const Allocation& a) const;
  bool empty() const { return !region && !pdu && !team && !offender_manager; }
};

// Whether `scope` names an allocation some case has: Ok when it is empty or some allocation of
// `known` matches it; otherwise InvalidArgument naming the first field whose value no allocation
// has, with the closest known names ("did you mean"), or the combination that none has. A typo
// in a scope must not pass for a unit with no cases.
[[nodiscard]] Result<void> CheckScopeIsKnown(const Scope& scope, std::span<const Allocation> known);

// The distinct allocations seen, in the order first seen (for CheckScopeIsKnown).
class KnownAllocations {
 public:
  void Add(const Allocation& allocation);
  std::span<const Allocation> list() const { return list_; }

 private:
  std::unordered_set<std::string> keys_;
  std::vector<Allocation> list_;
};

// Decision dates in [from, to], both inclusive; no `from` means unbounded.
struct Period {
  std::optional<Date> from;
  Date to;

  bool Contains(Date d) const { return (!from || *from <= d) && d <= to; }
};

// `to` defaults to date(as_of); from > to is an error.
[[nodiscard]] Result<Period> MakePeriod(std::optional<Date> from, std::optional<Date> to,
                                        Instant as_of);

enum class Rating : uint8_t { kOutstanding, kGood, kRequiresImprovement, kInadequate };
std::string_view NameOf(Rating r);
Rating RatingFor(double score, const Policy& policy);

struct ItemCounts {
  int64_t met = 0, late = 0, missed = 0, cancelled = 0, pending = 0;
};

// A setting of the product, not of the policy: a score resting on fewer relevant cases than this
// is marked "too few cases to rate" beside it (the report's `too_few_cases`; the score and rating
// are unchanged). 10, like official statistics' suppression of figures on small bases: on fewer
// cases one case moves a score by more than 10 points. 0 marks nothing.
inline constexpr int64_t kDefaultMinCases = 10;

struct IndicatorScore {
  ItemCounts items;
  int64_t relevant_cases = 0;
  int64_t met_cases = 0;
  std::optional<double> score;
  bool too_few_cases = false;  // relevant_cases < the report's min_cases
};

struct OutcomeScore {
  std::optional<double> score;
  std::optional<Rating> rating;
  // The most relevant cases any of the outcome's indicators has: each indicator weighs the same
  // in the score, and a case relevant to several indicators counts once, so this is a lower
  // bound on the distinct cases behind the score that the per-indicator counts (all the engine
  // keeps) give exactly.
  int64_t base = 0;
  bool too_few_cases = false;  // base < the report's min_cases
};

struct Report {
  Instant as_of;
  Period period;
  std::string policy_name;
  Scope scope;
  int64_t min_cases = kDefaultMinCases;
  int64_t cases = 0;
  std::array<IndicatorScore, kIndicatorCount> indicators{};
  std::array<OutcomeScore, kOutcomeCount> outcomes{};
};

// Per indicator, one case's verdict over a period (section 5): null when the case has no MET, LATE
// or MISSED item decided in the period, else whether all of those are MET ("done well enough").
using Verdicts = std::array<std::optional<bool>, kIndicatorCount>;
Verdicts VerdictsOf(const CaseEvaluation& evaluation, const Period& period);

// Accumulates counted cases into a Report. Single-threaded.
class ReportBuilder {
 public:
  ReportBuilder(const Policy& policy, Instant as_of, Period period, Scope scope,
                int64_t min_cases = kDefaultMinCases);

  // Adds a counted case if it is in scope; returns whether it was.
  bool Add(const CaseEvaluation& evaluation);
  // Adds cases summed elsewhere (the engine's per-allocation counts, already in scope):
  // `cases` counted cases with these item counts and relevant/met cases (scores are ignored).
  void AddTotals(int64_t cases, const std::array<IndicatorScore, kIndicatorCount>& totals);
  // Computes the scores and the small-base marks; the builder may go on accumulating afterwards.
  Report Finish() const;

 private:
  const Policy& policy_;
  Report report_;
};

}  // namespace casewatch
