#include "services/reports/monthly_trend.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <thread>

#include "projections/evaluation.h"
#include "services/records/case_projection.h"
#include "services/records/stored_history.h"
#include "services/reports/store_report.h"

namespace casewatch::reports {

Month MonthOf(Date day) {
  CivilDate civil = CivilFromDate(day);
  const Date first = DateFromCivil(CivilDate{civil.year, civil.month, 1});
  civil = civil.month == 12 ? CivilDate{civil.year + 1, 1, 1}
                            : CivilDate{civil.year, civil.month + 1, 1};
  return Month{first, DateFromCivil(civil) + -1};
}

namespace {

int MonthIndex(Date day) {
  const CivilDate civil = CivilFromDate(day);
  return static_cast<int>(civil.year) * 12 + static_cast<int>(civil.month) - 1;
}

Month MonthOfIndex(int index) {
  return MonthOf(DateFromCivil(CivilDate{index / 12, static_cast<uint32_t>(index % 12) + 1, 1}));
}

}  // namespace

Month MonthsAfter(const Month& month, int count) {
  return MonthOfIndex(MonthIndex(month.first) + count);
}

Result<MonthlyTrend> MonthlyTrend::Compute(const store::StoreReader& store,
                                           std::optional<Month> first,
                                           const std::atomic<bool>* cancel) {
  const store::StoreReader* const stores[] = {&store};
  return Compute(stores, first, cancel);
}

Result<MonthlyTrend> MonthlyTrend::Compute(std::span<const store::StoreReader* const> stores,
                                           std::optional<Month> first,
                                           const std::atomic<bool>* cancel) {
  MonthlyTrend trend;
  CW_TRY(projected, EarliestProjectionInstant(stores));
  if (!projected) {
    return FailedPrecondition("the engine has not projected anything in this store yet");
  }
  trend.computed_at_ = *projected;
  CW_TRY(policy, StoresPolicy(stores));
  trend.policy_ = std::move(policy);
  const int last = MonthIndex(DateOf(trend.computed_at_));
  int lowest = last - kMaxMonths + 1;
  if (first) lowest = std::max(lowest, MonthIndex(first->first));
  if (lowest > last) return InvalidArgument("the trend's first month is after the store's last");

  // Month by month from a case's opening, the case as of the month's end (the last month: as of
  // the projections' instant), grouped by its whole allocation then. Each worker of the scan
  // counts into builders of its own, merged into the first's at the end.
  const int workers = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
  using Builders = std::vector<std::unique_ptr<GroupedReportBuilder>>;
  std::vector<Builders> shares(static_cast<size_t>(workers));
  for (Builders& share : shares) share.resize(static_cast<size_t>(last - lowest + 1));
  std::vector<int> earliest(static_cast<size_t>(workers), last);  // the first month with a case
  // Cases projected by an older engine: (store, case id), by worker.
  std::vector<std::vector<std::pair<size_t, std::string>>> without_timeline(
      static_cast<size_t>(workers));
  std::vector<Instant> ends;
  for (int index = lowest; index <= last; ++index) {
    ends.push_back(std::min(EndOfDay(MonthOfIndex(index).last), trend.computed_at_));
  }
  const auto builder_for = [&](int worker, int index, const Allocation& allocation) {
    auto& builder = shares[static_cast<size_t>(worker)][index - lowest];
    if (!builder) {
      const Month m = MonthOfIndex(index);
      builder = std::make_unique<GroupedReportBuilder>(trend.policy_, ends[index - lowest],
                                                       Period{m.first, m.last}, Scope{},
                                                       GroupBy::kOffenderManager);
    }
    int& first_seen = earliest[static_cast<size_t>(worker)];
    first_seen = std::min(first_seen, index);
    return builder->For(allocation);
  };
  for (size_t s = 0; s < stores.size(); ++s) {
    CW_TRY(stores[s]->ScanProjectionsParallel(
        workers,
        [&](int worker, std::string_view case_id, const store::v1::CaseProjection& projection) {
          if (!projection.counted() || projection.allocations().empty()) return;
          if (cancel != nullptr && *cancel) return;
          if (!projection.timeline()) {
            without_timeline[static_cast<size_t>(worker)].emplace_back(s, case_id);
            return;
          }
          const auto& opening = projection.allocations(0);
          const Instant opened{opening.seconds(), opening.nanos()};
          for (int index = std::max(lowest, MonthIndex(DateOf(opened))); index <= last; ++index) {
            if (auto evaluation = records::EvaluationAt(projection, ends[index - lowest])) {
              builder_for(worker, index, evaluation->allocation)->Add(*evaluation);
            }
          }
        }));
  }
  if (cancel != nullptr && *cancel) {
    return Unavailable("the monthly trend's computation was stopped");
  }
  Evaluator evaluator(trend.policy_);
  for (const auto& cases : without_timeline) {
    for (const auto& [s, case_id] : cases) {
      CW_TRY(history, records::LoadHistory(*stores[s], case_id));
      history->Seal();
      for (int index = lowest; index <= last; ++index) {
        if (const CaseEvaluation* evaluation = evaluator.Evaluate(*history, ends[index - lowest])) {
          builder_for(0, index, evaluation->allocation)->Add(*evaluation);
        }
      }
    }
  }
  Builders& builders = shares[0];
  for (size_t w = 1; w < shares.size(); ++w) {
    for (size_t m = 0; m < builders.size(); ++m) {
      if (!shares[w][m]) continue;
      if (!builders[m]) {
        builders[m] = std::move(shares[w][m]);
      } else {
        builders[m]->Merge(*shares[w][m]);
      }
    }
  }
  const int first_month = *std::min_element(earliest.begin(), earliest.end());
  const int from = first ? lowest : first_month;
  std::map<std::string, uint32_t> allocation_index;  // by ScopeKey
  const auto narrow = [](int64_t n) { return static_cast<int32_t>(n); };  // counts of one unit
  for (int index = from; index <= last; ++index) {
    trend.months_.push_back(MonthOfIndex(index));
    std::vector<Unit>& units = trend.units_.emplace_back();
    if (!builders[index - lowest]) continue;
    for (auto& [allocation, report] : builders[index - lowest]->FinishGroups()) {
      const std::string key = store::ScopeKey(allocation.region, allocation.pdu, allocation.team,
                                              allocation.offender_manager);
      auto [found, added] =
          allocation_index.emplace(key, static_cast<uint32_t>(trend.allocations_.size()));
      if (added) trend.allocations_.push_back(std::move(allocation));
      Unit unit{found->second, narrow(report.cases), {}};
      for (int i = 0; i < kIndicatorCount; ++i) {
        const IndicatorScore& s = report.indicators[i];
        unit.totals[i] = Counts{narrow(s.items.met),       narrow(s.items.late),
                                narrow(s.items.missed),    narrow(s.items.cancelled),
                                narrow(s.items.pending),   narrow(s.relevant_cases),
                                narrow(s.met_cases)};
      }
      units.push_back(unit);
    }
  }
  return trend;
}

std::vector<store::v1::ScopeCounts> MonthlyTrend::SumsFor(const Scope& scope) const {
  std::vector<bool> in_scope(allocations_.size());
  for (size_t a = 0; a < allocations_.size(); ++a) in_scope[a] = scope.Matches(allocations_[a]);
  std::vector<store::v1::ScopeCounts> sums;
  for (size_t m = 0; m < months_.size(); ++m) {
    store::v1::ScopeCounts& sum = sums.emplace_back(records::EmptyScopeCounts(
        scope.region.value_or(""), scope.pdu.value_or(""), scope.team.value_or(""),
        scope.offender_manager.value_or("")));
    for (const Unit& unit : units_[m]) {
      if (!in_scope[unit.allocation]) continue;
      sum.set_cases(sum.cases() + unit.cases);
      for (int i = 0; i < kIndicatorCount; ++i) {
        const Counts& c = unit.totals[i];
        store::v1::IndicatorCounts& to = *sum.mutable_indicators(i);
        to.set_met(to.met() + c.met);
        to.set_late(to.late() + c.late);
        to.set_missed(to.missed() + c.missed);
        to.set_cancelled(to.cancelled() + c.cancelled);
        to.set_pending(to.pending() + c.pending);
        to.set_relevant_cases(to.relevant_cases() + c.relevant_cases);
        to.set_met_cases(to.met_cases() + c.met_cases);
      }
    }
  }
  return sums;
}

casewatch::Report MonthlyTrend::ReportOf(const Policy& policy, const Month& month,
                                         Instant computed_at, const Scope& scope,
                                         int64_t min_cases,
                                         std::span<const store::v1::ScopeCounts> sums) {
  ReportBuilder builder(policy, std::min(EndOfDay(month.last), computed_at),
                        Period{month.first, month.last}, scope, min_cases);
  for (const store::v1::ScopeCounts& sum : sums) {
    builder.AddTotals(sum.cases(), records::TotalsOf(sum));
  }
  return builder.Finish();
}

std::vector<casewatch::Report> MonthlyTrend::For(const Scope& scope, int64_t min_cases) const {
  const std::vector<store::v1::ScopeCounts> sums = SumsFor(scope);
  std::vector<casewatch::Report> reports;
  for (size_t m = 0; m < months_.size(); ++m) {
    reports.push_back(ReportOf(policy_, months_[m], computed_at_, scope, min_cases,
                               std::span(&sums[m], 1)));
  }
  return reports;
}

}  // namespace casewatch::reports
