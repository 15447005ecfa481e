#pragma once
// The month-by-month trend from the history itself. A month's point is the report of the work
// decided in that month, as it stood at the month's end: what `casewatch replay --as-of <its last
// day> --from <its first day> --to <its last day>` prints for the same scope. Each month is kept
// per allocation (the cases allocated there at the month's end), so the line of any scope is a
// sum of a few thousand small records, not a scan of the cases.
//
// Computed from the stored projections' instants (EvaluationAt, as reports of past instants are):
// one scan for all the months, no events read, so it starts at the history's first month, needs
// nothing the engine recorded while it ran, and comes out the same after a rebuild. A case
// projected by an older engine (no instants) is evaluated from its events.

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "projections/policy.h"
#include "projections/scores.h"
#include "services/store/store.h"

namespace casewatch::reports {

// The calendar month of `day`: its first and last days.
struct Month {
  Date first;
  Date last;
  bool operator==(const Month&) const = default;
};
Month MonthOf(Date day);
// The month `count` months after `month` (before, when negative).
Month MonthsAfter(const Month& month, int count);

class MonthlyTrend {
 public:
  // Months `first` (by default the month the first case opened) to the month of the store's
  // projection instant, as the projections stand now, under the policy they were made under: at
  // most kMaxMonths, the latest. The last month is counted as of the projection instant.
  static constexpr int kMaxMonths = 120;
  // `cancel`, when given and set, cuts the computation short (Cancelled).
  [[nodiscard]] static Result<MonthlyTrend> Compute(const store::StoreReader& store,
                                                    std::optional<Month> first = std::nullopt,
                                                    const std::atomic<bool>* cancel = nullptr);
  // The same over several stores of disjoint cases (an engine's tasks: ReportFromStores), as of
  // the earliest of their projection instants; refused when their policies differ.
  [[nodiscard]] static Result<MonthlyTrend> Compute(
      std::span<const store::StoreReader* const> stores, std::optional<Month> first = std::nullopt,
      const std::atomic<bool>* cancel = nullptr);

  // The months computed, in order, and the store's projection instant they were computed at.
  const std::vector<Month>& months() const { return months_; }
  Instant computed_at() const { return computed_at_; }

  // Each month's report for `scope` (scope as in every report: an allocation's levels, exactly).
  std::vector<casewatch::Report> For(const Scope& scope, int64_t min_cases) const;
  // Each month's counts within `scope`, summed into one record (named by the scope's levels):
  // what For reports, in a form that adds across engines whose cases are disjoint.
  std::vector<store::v1::ScopeCounts> SumsFor(const Scope& scope) const;
  // The report of `month`'s decisions as they stood at its end (at `computed_at` in a month not
  // over then), from `sums`: one engine's SumsFor of the month, or several engines' together.
  static casewatch::Report ReportOf(const Policy& policy, const Month& month, Instant computed_at,
                                    const Scope& scope, int64_t min_cases,
                                    std::span<const store::v1::ScopeCounts> sums);

 private:
  // Kept small: a national service has thousands of practitioners and years of months
  // (about 0.55 KB per practitioner and month).
  struct Counts {
    int32_t met = 0, late = 0, missed = 0, cancelled = 0, pending = 0;
    int32_t relevant_cases = 0, met_cases = 0;
  };
  struct Unit {  // one allocation's cases and counts in one month
    uint32_t allocation = 0;  // in allocations_
    int32_t cases = 0;
    std::array<Counts, kIndicatorCount> totals{};
  };
  Policy policy_;
  Instant computed_at_;
  std::vector<Month> months_;
  std::vector<Allocation> allocations_;   // each once
  std::vector<std::vector<Unit>> units_;  // by month
};

}  // namespace casewatch::reports
