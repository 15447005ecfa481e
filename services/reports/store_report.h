#pragma once
// The report of docs/rules.md section 10 from an engine's store, in exactly the replay format, for
// one scope or split one level down (a breakdown). As of the store's projection instant it is
// read from the stored projections (the per-allocation counts when no period or case items are
// asked for, so it costs one scan of a few thousand records); as of an earlier instant, from the
// instants the stored projections carry (EvaluationAt: one scan of the projections, no events);
// as of a later one, or under another policy, every case is re-evaluated from the stored events.
// Reads only; safe on a secondary store while the engine writes, and from any thread.

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "casewatch/store/v1/records.pb.h"
#include "projections/report_json.h"
#include "projections/scores.h"
#include "services/store/store.h"

namespace casewatch::reports {

// How a breakdown splits its scope: by the allocation's first N levels.
enum class GroupBy { kNone, kRegion, kPdu, kTeam, kOffenderManager };
inline constexpr std::array<std::string_view, 5> kGroupByNames = {"none", "region", "pdu", "team",
                                                                  "offender_manager"};

// The split one level below a scope: regions nationally, a region's PDUs, a PDU's teams, a
// team's (and an offender manager's own) offender managers.
GroupBy GroupBelow(const Scope& scope);

struct StoreReportRequest {
  std::optional<Instant> as_of;  // nullopt: the store's projection instant
  std::optional<Date> from;
  std::optional<Date> to;
  Scope scope;
  bool case_items = false;
  std::optional<Policy> policy;  // nullopt: the policy the engine runs with
  GroupBy group_by = GroupBy::kNone;
  int64_t min_cases = kDefaultMinCases;  // the small-base mark's threshold (a product setting)
};

// From the cheapest to the costliest.
enum class ReportSource { kScopeCounts, kStoredProjections, kStoredTimelines, kReEvaluation };

// One group of a breakdown: its allocation levels (those below the split are empty) and report.
struct GroupReport {
  Allocation key;
  std::string json;
};

struct StoreReport {
  std::string json;                 // group_by kNone: the report
  std::vector<GroupReport> groups;  // otherwise: one per group with counted cases, by key
  ReportSource source = ReportSource::kReEvaluation;
  Instant as_of;
  int64_t cases = 0;  // counted cases in the scope
};

// Accumulates cases (or per-allocation counts) into one report per group of a scope.
class GroupedReportBuilder {
 public:
  GroupedReportBuilder(const Policy& policy, Instant as_of, Period period, Scope scope,
                       GroupBy group_by, int64_t min_cases = kDefaultMinCases);
  ~GroupedReportBuilder();

  // The builder of the group `allocation` falls in; nullptr when it is outside the scope.
  ReportBuilder* For(const Allocation& allocation);
  // Per-allocation counts (a store::v1::ScopeCounts), added to their group when in scope.
  void AddCounts(const store::v1::ScopeCounts& counts);
  // Adds what `other` (of the same policy, instant, period, scope and split) accumulated: the
  // builders of a scan shared between threads, one each, are merged at its end.
  void Merge(const GroupedReportBuilder& other);
  // An empty builder like this one (for another thread's share of a scan).
  std::unique_ptr<GroupedReportBuilder> Like() const;
  // Renders the report (kNone, with the case items when given) or the groups' reports.
  void Finish(StoreReport& out, const std::vector<CaseItemRow>* case_items) const;
  // GroupBy::kNone: the scope's report, unrendered.
  casewatch::Report FinishScope() const;
  // Otherwise: each group with counted cases and its report, unrendered, by key.
  std::vector<std::pair<Allocation, casewatch::Report>> FinishGroups() const;

 private:
  struct Group {
    Allocation key;
    std::unique_ptr<ReportBuilder> builder;
  };
  const Policy& policy_;
  Instant as_of_;
  Period period_;
  Scope scope_;
  GroupBy group_by_;
  int64_t min_cases_;
  Group& GroupOf(const std::string& id, const Allocation& key);

  std::map<std::string, Group> groups_;  // by ScopeKey of the group's levels
  ReportBuilder* last_ = nullptr;        // the last group found
};

// The policy the store's projections were made under.
[[nodiscard]] Result<Policy> StorePolicy(const store::StoreReader& store);
// The policy all of `stores` were projected under; refused (FailedPrecondition, naming `casewatch
// rebuild`) when they differ.
[[nodiscard]] Result<Policy> StoresPolicy(std::span<const store::StoreReader* const> stores);
// The earliest of the stores' projection instants: the instant all of them have reached. A store
// that has projected nothing holds no counted case and is passed over; nullopt when none has.
[[nodiscard]] Result<std::optional<Instant>> EarliestProjectionInstant(
    std::span<const store::StoreReader* const> stores);

// The daily counts (store::StoreReader::ScanDaily) of several stores of disjoint cases, day by day
// from `from` to `to`: on each day any of them recorded, every store's counts of its last write
// on or before that day (`visit` gets them all, store by store). A store that did not write that
// day stands as it last wrote, as one store's counts stand between its writes. Days none of them
// recorded are skipped.
[[nodiscard]] Result<void> ForEachDayOfStores(
    std::span<const store::StoreReader* const> stores, Date from, Date to,
    const std::function<void(Date, std::span<const store::v1::ScopeCounts>)>& visit);

// CheckScopeIsKnown against the allocations of the store's cases (its per-allocation counts):
// for a scope in which a report found no case, whether it was a typo.
[[nodiscard]] Result<void> CheckScopeInStores(std::span<const store::StoreReader* const> stores,
                                              const Scope& scope);

[[nodiscard]] Result<StoreReport> ReportFromStore(const store::StoreReader& store,
                                                  const StoreReportRequest& request);

// The same from several stores whose cases are disjoint: the tasks of an engine whose partitions
// are shared out, one store per partition (docs/partitioned-group.md). Each store answers from
// its own best source at the instant asked (its counts at its own instant, its projections'
// timelines before it, its events after it), and the report adds what they give: equal to one
// store holding all their cases. Without `as_of`: the earliest of their projection instants.
// Refused (FailedPrecondition) when their projections were made under different policies, or
// when two of them hold records of the same partition of `events_topic` (full copies, say: their
// cases would be counted twice). `source` is the costliest any store needed.
[[nodiscard]] Result<StoreReport> ReportFromStores(
    std::span<const store::StoreReader* const> stores, const StoreReportRequest& request,
    std::string_view events_topic = "case-events");

}  // namespace casewatch::reports
