#include "services/reports/store_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <span>
#include <thread>

#include "services/records/case_projection.h"
#include "services/records/stored_history.h"

namespace casewatch::reports {
namespace {

using records::AllocationOf;
using records::AppendCaseItems;
using records::EvaluationAt;
using records::EvaluationOf;
using records::ForEachHistory;
using records::LoadHistory;
using records::TotalsOf;

// Counts a case evaluated from its events (nullptr: not counted).
void Count(const CaseEvaluation* evaluation, GroupedReportBuilder& groups,
           std::vector<CaseItemRow>* rows) {
  if (evaluation == nullptr) return;
  ReportBuilder* builder = groups.For(evaluation->allocation);
  if (builder != nullptr && builder->Add(*evaluation) && rows != nullptr) {
    AppendCaseItems(*evaluation, *rows);
  }
}

Result<void> ReEvaluate(const store::StoreReader& store, Evaluator& evaluator, Instant as_of,
                        GroupedReportBuilder& groups, std::vector<CaseItemRow>* rows) {
  return ForEachHistory(store, [&](CaseHistory& history) -> Result<void> {
    Count(evaluator.Evaluate(history, as_of), groups, rows);
    return Ok();
  });
}

// Counts a case evaluated from its projection's instants (EvaluationAt, with its items' sources).
void Count(std::string_view case_id, const CaseEvaluation& evaluation,
           std::span<const store::v1::StoredItem* const> sources, GroupedReportBuilder& groups,
           std::vector<CaseItemRow>* rows) {
  ReportBuilder* builder = groups.For(evaluation.allocation);
  if (builder == nullptr || !builder->Add(evaluation) || rows == nullptr) return;
  for (size_t i = 0; i < evaluation.items.size(); ++i) {
    const Item& item = evaluation.items[i];
    rows->push_back(CaseItemRow{std::string(case_id), item,
                                item.fulfilled_by >= 0 ? sources[i]->fulfilled_by() : ""});
  }
}

// One worker's share of a scan of the projections: its own builder and case items.
struct Share {
  std::unique_ptr<GroupedReportBuilder> groups;
  std::vector<CaseItemRow> rows;
  std::vector<std::string> without_timeline;
  std::vector<const store::v1::StoredItem*> sources;
};

// Scans the projections with a thread per core (up to four) parsing and counting, each into a
// share of its own, then merges the shares into `groups` and `rows` (when wanted; they are
// sorted later). Returns the shares for what else they collected.
Result<std::vector<Share>> CountInParallel(
    const store::StoreReader& store, GroupedReportBuilder& groups, std::vector<CaseItemRow>* rows,
    const std::function<void(Share&, std::string_view, const store::v1::CaseProjection&,
                             std::vector<CaseItemRow>*)>& count) {
  const int workers = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
  std::vector<Share> shares(static_cast<size_t>(workers));
  for (Share& share : shares) share.groups = groups.Like();
  CW_TRY(store.ScanProjectionsParallel(
      workers, [&](int worker, std::string_view case_id, const store::v1::CaseProjection& p) {
        Share& share = shares[static_cast<size_t>(worker)];
        count(share, case_id, p, rows != nullptr ? &share.rows : nullptr);
      }));
  for (Share& share : shares) {
    groups.Merge(*share.groups);
    if (rows != nullptr) {
      rows->insert(rows->end(), std::make_move_iterator(share.rows.begin()),
                   std::make_move_iterator(share.rows.end()));
    }
  }
  return shares;
}

// As of an instant before the projections': each case from its projection's instants; a case
// projected by an older engine (no instants) from its events.
Result<void> ReportFromTimelines(const store::StoreReader& store, const Policy& policy, Instant as_of,
                                 GroupedReportBuilder& groups, std::vector<CaseItemRow>* rows) {
  CW_TRY(shares,
         CountInParallel(store, groups, rows,
                         [&](Share& share, std::string_view case_id,
                             const store::v1::CaseProjection& projection,
                             std::vector<CaseItemRow>* share_rows) {
                           if (!projection.counted()) return;  // not counted now: not before
                           if (!projection.timeline()) {
                             share.without_timeline.emplace_back(case_id);
                             return;
                           }
                           if (auto evaluation = EvaluationAt(projection, as_of, &share.sources)) {
                             Count(case_id, *evaluation, share.sources, *share.groups, share_rows);
                           }
                         }));
  std::vector<std::string> without_timeline;
  for (Share& share : shares) {
    without_timeline.insert(without_timeline.end(), share.without_timeline.begin(),
                            share.without_timeline.end());
  }
  Evaluator evaluator(policy);
  for (const std::string& case_id : without_timeline) {
    CW_TRY(history, LoadHistory(store, case_id));
    history->Seal();
    Count(evaluator.Evaluate(*history, as_of), groups, rows);
  }
  return Ok();
}

}  // namespace

GroupBy GroupBelow(const Scope& scope) {
  if (scope.offender_manager || scope.team) return GroupBy::kOffenderManager;
  if (scope.pdu) return GroupBy::kTeam;
  if (scope.region) return GroupBy::kPdu;
  return GroupBy::kRegion;
}

GroupedReportBuilder::GroupedReportBuilder(const Policy& policy, Instant as_of, Period period,
                                           Scope scope, GroupBy group_by, int64_t min_cases)
    : policy_(policy),
      as_of_(as_of),
      period_(period),
      scope_(std::move(scope)),
      group_by_(group_by),
      min_cases_(min_cases) {}

GroupedReportBuilder::~GroupedReportBuilder() = default;

ReportBuilder* GroupedReportBuilder::For(const Allocation& allocation) {
  if (!scope_.Matches(allocation)) return nullptr;
  const int levels = static_cast<int>(group_by_);
  if (levels == 0 && last_ != nullptr) return last_;  // one group: no key to make
  Allocation key;
  if (levels >= 1) key.region = allocation.region;
  if (levels >= 2) key.pdu = allocation.pdu;
  if (levels >= 3) key.team = allocation.team;
  if (levels >= 4) key.offender_manager = allocation.offender_manager;
  const std::string id = store::ScopeKey(key.region, key.pdu, key.team, key.offender_manager);
  last_ = GroupOf(id, key).builder.get();
  return last_;
}

GroupedReportBuilder::Group& GroupedReportBuilder::GroupOf(const std::string& id,
                                                          const Allocation& key) {
  auto found = groups_.find(id);
  if (found == groups_.end()) {
    const int levels = static_cast<int>(group_by_);
    Scope scope = scope_;
    if (levels >= 1) scope.region = key.region;
    if (levels >= 2) scope.pdu = key.pdu;
    if (levels >= 3) scope.team = key.team;
    if (levels >= 4) scope.offender_manager = key.offender_manager;
    found = groups_
                .emplace(id, Group{key, std::make_unique<ReportBuilder>(
                                    policy_, as_of_, period_, std::move(scope), min_cases_)})
                .first;
  }
  return found->second;
}

std::unique_ptr<GroupedReportBuilder> GroupedReportBuilder::Like() const {
  return std::make_unique<GroupedReportBuilder>(policy_, as_of_, period_, scope_, group_by_,
                                                min_cases_);
}

void GroupedReportBuilder::Merge(const GroupedReportBuilder& other) {
  for (const auto& [id, group] : other.groups_) {
    const casewatch::Report report = group.builder->Finish();
    GroupOf(id, group.key).builder->AddTotals(report.cases, report.indicators);
  }
}

void GroupedReportBuilder::AddCounts(const store::v1::ScopeCounts& counts) {
  if (ReportBuilder* builder = For(AllocationOf(counts)); builder != nullptr) {
    builder->AddTotals(counts.cases(), TotalsOf(counts));
  }
}

void GroupedReportBuilder::Finish(StoreReport& out,
                                  const std::vector<CaseItemRow>* case_items) const {
  if (group_by_ == GroupBy::kNone) {
    const casewatch::Report report = FinishScope();
    out.cases = report.cases;
    out.json = RenderReportJson(report, case_items);
    return;
  }
  out.groups.clear();
  out.cases = 0;
  for (const auto& [key, report] : FinishGroups()) {
    out.cases += report.cases;
    out.groups.push_back(GroupReport{key, RenderReportJson(report, nullptr)});
  }
}

std::vector<std::pair<Allocation, casewatch::Report>> GroupedReportBuilder::FinishGroups() const {
  std::vector<std::pair<Allocation, casewatch::Report>> reports;
  for (const auto& [id, group] : groups_) {
    casewatch::Report report = group.builder->Finish();
    if (report.cases == 0) continue;  // e.g. the empty allocation of cases not yet opened
    reports.emplace_back(group.key, std::move(report));
  }
  return reports;
}

casewatch::Report GroupedReportBuilder::FinishScope() const {
  // The scope's report even when no case is in it.
  const auto found = groups_.find(store::ScopeKey("", "", "", ""));
  return found != groups_.end()
             ? found->second.builder->Finish()
             : ReportBuilder(policy_, as_of_, period_, scope_, min_cases_).Finish();
}

Result<Policy> StorePolicy(const store::StoreReader& store) {
  CW_TRY(text, store.Policy());
  if (!text || text->empty()) return Policy{};
  auto policy = ParsePolicy(*text);
  if (!policy) return IoError("store: its policy does not parse: " + policy.error().message);
  return policy;
}

Result<void> CheckScopeInStores(std::span<const store::StoreReader* const> stores,
                                const Scope& scope) {
  if (scope.empty()) return Ok();
  KnownAllocations known;
  for (const store::StoreReader* store : stores) {
    CW_TRY(store->ScanScopes([&](const store::v1::ScopeCounts& counts) {
      if (counts.cases() > 0) {
        known.Add(
            Allocation{counts.region(), counts.pdu(), counts.team(), counts.offender_manager()});
      }
    }));
  }
  return CheckScopeIsKnown(scope, known.list());
}

Result<Policy> StoresPolicy(std::span<const store::StoreReader* const> stores) {
  if (stores.empty()) return Policy{};
  CW_TRY(first, stores.front()->Policy());
  for (const store::StoreReader* store : stores.subspan(1)) {
    CW_TRY(text, store->Policy());
    if (text.value_or("") != first.value_or("")) {
      return FailedPrecondition(
          "the stores were projected under different policies: rebuild each under the same one "
          "(casewatch rebuild --data DIR --policy FILE)");
    }
  }
  return StorePolicy(*stores.front());
}

namespace {

// Each store's projection instant, in order.
Result<std::vector<std::optional<Instant>>> ProjectionInstants(
    std::span<const store::StoreReader* const> stores) {
  std::vector<std::optional<Instant>> instants;
  for (const store::StoreReader* store : stores) {
    CW_TRY(instant, store->ProjectionInstant());
    instants.push_back(instant);
  }
  return instants;
}

std::optional<Instant> EarliestOf(const std::vector<std::optional<Instant>>& instants) {
  std::optional<Instant> earliest;
  for (const std::optional<Instant>& instant : instants) {
    if (instant && (!earliest || *instant < *earliest)) earliest = instant;
  }
  return earliest;
}

}  // namespace

Result<std::optional<Instant>> EarliestProjectionInstant(
    std::span<const store::StoreReader* const> stores) {
  CW_TRY(instants, ProjectionInstants(stores));
  return EarliestOf(instants);
}

Result<void> ForEachDayOfStores(
    std::span<const store::StoreReader* const> stores, Date from, Date to,
    const std::function<void(Date, std::span<const store::v1::ScopeCounts>)>& visit) {
  if (to < from) return Ok();
  if (stores.size() == 1) {  // nothing to carry: each day as it was written
    std::vector<store::v1::ScopeCounts> day_counts;
    std::optional<Date> current;
    CW_TRY(stores.front()->ScanDaily(from, to, [&](Date day, const store::v1::ScopeCounts& c) {
      if (current && *current != day) {
        visit(*current, day_counts);
        day_counts.clear();
      }
      current = day;
      day_counts.push_back(c);
    }));
    if (current) visit(*current, day_counts);
    return Ok();
  }
  // Each store's counts of its last write so far (from before `from` at first), then the day's.
  std::vector<std::vector<store::v1::ScopeCounts>> standing(stores.size());
  const auto read_day = [](const store::StoreReader& store, Date day,
                           std::vector<store::v1::ScopeCounts>& into) -> Result<void> {
    into.clear();
    return store.ScanDaily(day, day,
                           [&](Date, const store::v1::ScopeCounts& c) { into.push_back(c); });
  };
  for (size_t s = 0; s < stores.size(); ++s) {
    CW_TRY(before, stores[s]->LastDailyBefore(from));
    if (before) {
      CW_TRY(read_day(*stores[s], *before, standing[s]));
    }
  }
  std::vector<store::v1::ScopeCounts> all;
  std::vector<store::v1::ScopeCounts> written;
  for (Date day = from; day <= to; day = day + 1) {
    bool any = false;
    for (size_t s = 0; s < stores.size(); ++s) {
      CW_TRY(read_day(*stores[s], day, written));
      if (written.empty()) continue;
      standing[s].swap(written);
      any = true;
    }
    if (!any) continue;
    all.clear();
    for (const auto& counts : standing) all.insert(all.end(), counts.begin(), counts.end());
    visit(day, all);
  }
  return Ok();
}

Result<StoreReport> ReportFromStore(const store::StoreReader& store,
                                    const StoreReportRequest& request) {
  const store::StoreReader* const stores[] = {&store};
  return ReportFromStores(stores, request);
}

namespace {

// What one store adds to a report as of `as_of`, from the cheapest source that answers for it
// (`projected`: the store's projection instant); which source that was.
Result<ReportSource> CountStore(const store::StoreReader& store,
                                const std::optional<Instant>& projected,
                                const StoreReportRequest& request, const Policy& policy,
                                Instant as_of, bool whole_period, GroupedReportBuilder& groups,
                                std::vector<CaseItemRow>* wanted_rows) {
  // The stored projections answer for their own instant under the engine's policy.
  const bool stored_view = !request.policy && projected && as_of == *projected;
  if (stored_view && whole_period && wanted_rows == nullptr) {
    CW_TRY(
        store.ScanScopes([&](const store::v1::ScopeCounts& counts) { groups.AddCounts(counts); }));
    return ReportSource::kScopeCounts;
  }
  if (stored_view) {
    CW_TRY(CountInParallel(store, groups, wanted_rows,
                           [](Share& share, std::string_view case_id,
                              const store::v1::CaseProjection& projection,
                              std::vector<CaseItemRow>* share_rows) {
                             if (!projection.counted()) return;
                             ReportBuilder* builder = share.groups->For(AllocationOf(projection));
                             if (builder == nullptr || !builder->Add(EvaluationOf(projection))) {
                               return;
                             }
                             if (share_rows != nullptr) {
                               AppendCaseItems(case_id, projection, *share_rows);
                             }
                           }));
    return ReportSource::kStoredProjections;
  }
  if (!request.policy && projected && as_of < *projected) {
    CW_TRY(ReportFromTimelines(store, policy, as_of, groups, wanted_rows));
    return ReportSource::kStoredTimelines;
  }
  Evaluator evaluator(policy);
  CW_TRY(ReEvaluate(store, evaluator, as_of, groups, wanted_rows));
  return ReportSource::kReEvaluation;
}

// Refuses stores two of which hold records of one partition of `topic`.
Result<void> CheckPartitionsDisjoint(std::span<const store::StoreReader* const> stores,
                                     std::string_view topic) {
  std::map<int32_t, size_t> holder;  // partition -> the first store holding it
  for (size_t i = 0; i < stores.size(); ++i) {
    CW_TRY(offsets, stores[i]->Offsets(topic));
    for (const store::OffsetEntry& entry : offsets) {
      if (auto [it, first] = holder.emplace(entry.partition, i); !first) {
        return FailedPrecondition(fmt::format(
            "stores {} and {} both hold records of partition {} of {}: their cases would be "
            "counted twice (a report adds stores of different partitions, not copies)",
            it->second + 1, i + 1, entry.partition, topic));
      }
    }
  }
  return Ok();
}

}  // namespace

Result<StoreReport> ReportFromStores(std::span<const store::StoreReader* const> stores,
                                     const StoreReportRequest& request,
                                     std::string_view events_topic) {
  if (stores.empty()) return InvalidArgument("a report needs a store to read");
  if (stores.size() > 1) {
    CW_TRY(CheckPartitionsDisjoint(stores, events_topic));
  }
  CW_TRY(projected, ProjectionInstants(stores));
  const std::optional<Instant> earliest = EarliestOf(projected);
  if (!request.as_of && !earliest) {
    return FailedPrecondition("the engine has not projected anything in this store yet");
  }
  StoreReport result;
  result.as_of = request.as_of ? *request.as_of : *earliest;
  Policy policy;
  if (request.policy) {
    policy = *request.policy;
  } else {
    CW_TRY(stored_policy, StoresPolicy(stores));
    policy = std::move(stored_policy);
  }
  CW_TRY(period, MakePeriod(request.from, request.to, result.as_of));
  GroupedReportBuilder groups(policy, result.as_of, period, request.scope, request.group_by,
                              request.min_cases);
  std::vector<CaseItemRow> rows;
  std::vector<CaseItemRow>* wanted_rows =
      request.case_items && request.group_by == GroupBy::kNone ? &rows : nullptr;

  // Every item decided by T was decided on date(T) or before: a period to date(T) or later,
  // from any time, is the counts' own.
  const bool whole_period = !request.from && (!request.to || *request.to >= DateOf(result.as_of));
  result.source = ReportSource::kScopeCounts;
  for (size_t i = 0; i < stores.size(); ++i) {
    CW_TRY(source, CountStore(*stores[i], projected[i], request, policy, result.as_of,
                              whole_period, groups, wanted_rows));
    result.source = std::max(result.source, source);
  }
  if (wanted_rows != nullptr) SortCaseItems(rows);
  groups.Finish(result, wanted_rows);
  return result;
}

}  // namespace casewatch::reports
