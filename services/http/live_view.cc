#include "services/http/live_view.h"

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "base/json_writer.h"

#include "services/records/case_projection.h"
#include "services/store/format.h"

namespace casewatch::http {
namespace {

constexpr size_t kMaxCachedReports = 4096;

// A level given is '=' and its name, one left open is empty: as key parts, never ambiguous.
std::string CacheKey(const Scope& scope) {
  std::string key;
  for (const auto* level : {&scope.region, &scope.pdu, &scope.team, &scope.offender_manager}) {
    store::AppendKeyPart(key, *level ? "=" + **level : std::string());
  }
  return key;
}

std::string KeyOf(const store::v1::ScopeCounts& c) {
  return store::ScopeKey(c.region(), c.pdu(), c.team(), c.offender_manager());
}

// An allocation's counts in one task.
std::string TaskKey(size_t task, std::string key) {
  key.insert(0, std::to_string(task) + ":");
  return key;
}

using CountsPtr = std::shared_ptr<const store::v1::ScopeCounts>;

// What a task's store reflects as of its last write.
struct StoredTask {
  std::optional<Instant> as_of;
  std::map<int32_t, int64_t> consumed;  // of `events_topic`
  uint64_t pending = 0;
  std::vector<CountsPtr> scopes;
};

Result<StoredTask> ReadStoredTask(const store::StoreReader& store,
                                  std::string_view events_topic) {
  StoredTask task;
  CW_TRY(as_of, store.ProjectionInstant());
  task.as_of = as_of;
  if (!events_topic.empty()) {
    CW_TRY(offsets, store.Offsets(events_topic));
    for (const store::OffsetEntry& e : offsets) task.consumed[e.partition] = e.next_offset;
  }
  CW_TRY(store.ScanPendingCases([&](std::string_view) { ++task.pending; }));
  CW_TRY(store.ScanScopes([&](const store::v1::ScopeCounts& counts) {
    task.scopes.push_back(std::make_shared<const store::v1::ScopeCounts>(counts));
  }));
  return task;
}

// Task `task`'s allocations in `changed` replace their counts in `scopes` (whose positions
// `index` keeps by TaskKey); new ones are added.
void ReplaceCounts(std::vector<CountsPtr>& scopes, std::unordered_map<std::string, size_t>& index,
                   size_t task, std::span<const store::v1::ScopeCounts* const> changed) {
  for (const store::v1::ScopeCounts* counts : changed) {
    auto copy = std::make_shared<const store::v1::ScopeCounts>(*counts);
    const auto [slot, added] = index.emplace(TaskKey(task, KeyOf(*counts)), scopes.size());
    if (added) {
      scopes.push_back(std::move(copy));
    } else {
      scopes[slot->second] = std::move(copy);
    }
  }
}

}  // namespace

std::shared_ptr<const std::string> Snapshot::Report(const Policy& policy, int64_t min_cases,
                                                    const Scope& scope) const {
  const std::string key = CacheKey(scope);
  {
    MutexLock lock(cache_mutex_);
    if (auto found = cache_.find(key); found != cache_.end()) return found->second;
  }
  auto rendered = std::make_shared<const std::string>(
      Breakdown(policy, min_cases, scope, reports::GroupBy::kNone).json);
  MutexLock lock(cache_mutex_);
  if (cache_.size() >= kMaxCachedReports) cache_.clear();
  cache_.emplace(key, rendered);
  return rendered;
}

std::shared_ptr<const std::string> Snapshot::PeerCountsBytes(const Scope& scope,
                                                             reports::GroupBy by) const {
  std::string key = CacheKey(scope);
  key.insert(0, fmt::format("peer {} ", static_cast<int>(by)));  // never a report's key
  {
    MutexLock lock(cache_mutex_);
    if (auto found = cache_.find(key); found != cache_.end()) return found->second;
  }
  auto bytes =
      std::make_shared<const std::string>(PeerCountsOf(*this, scope, by).SerializeAsString());
  MutexLock lock(cache_mutex_);
  if (cache_.size() >= kMaxCachedReports) cache_.clear();
  cache_.emplace(key, bytes);
  return bytes;
}

reports::StoreReport Snapshot::Breakdown(const Policy& policy, int64_t min_cases,
                                         const Scope& scope, reports::GroupBy by) const {
  reports::StoreReport report;
  const Instant at = as_of.value_or(Instant{});
  report.as_of = at;
  report.source = reports::ReportSource::kScopeCounts;
  reports::GroupedReportBuilder builder(policy, at, Period{std::nullopt, DateOf(at)}, scope, by,
                                        min_cases);
  for (const auto& counts : scopes) builder.AddCounts(*counts);
  builder.Finish(report, nullptr);  // kNone: report.json
  return report;
}

store::v1::PeerCounts PeerCountsOf(const Snapshot& snapshot, const Scope& scope,
                                   reports::GroupBy by) {
  store::v1::PeerCounts out;
  if (snapshot.as_of) {
    out.set_as_of_seconds(snapshot.as_of->seconds);
    out.set_as_of_nanos(snapshot.as_of->nanos);
  }
  out.set_one_instant(snapshot.one_instant);
  for (const auto& [partition, next] : snapshot.consumed) {
    (*out.mutable_consumed())[partition] = next;
  }
  out.set_cases_pending(snapshot.cases_pending);
  const int levels = static_cast<int>(by);
  std::map<std::string, store::v1::ScopeCounts> sums;  // by ScopeKey of the group's levels
  for (const auto& counts : snapshot.scopes) {
    if (!scope.Matches(records::AllocationOf(*counts))) continue;
    // The group's levels: those of `by`, or for one sum those the scope names.
    const auto level = [&](int n, const std::string& value, const std::optional<std::string>& in) {
      return levels >= n || (levels == 0 && in) ? value : std::string();
    };
    const std::string region = level(1, counts->region(), scope.region);
    const std::string pdu = level(2, counts->pdu(), scope.pdu);
    const std::string team = level(3, counts->team(), scope.team);
    const std::string manager = level(4, counts->offender_manager(), scope.offender_manager);
    const std::string key = store::ScopeKey(region, pdu, team, manager);
    auto at = sums.find(key);
    if (at == sums.end()) {
      at = sums.emplace(key, records::EmptyScopeCounts(region, pdu, team, manager)).first;
    }
    records::AddCounts(at->second, *counts);
  }
  for (auto& [key, sum] : sums) *out.add_scopes() = std::move(sum);
  return out;
}

store::v1::PeerCounts PeerCountsOf(std::span<const std::shared_ptr<const Snapshot>> parts,
                                   const Scope& scope, reports::GroupBy by) {
  store::v1::PeerCounts out;
  for (const auto& part : parts) {
    store::v1::PeerCounts one = PeerCountsOf(*part, scope, by);
    if (&part == parts.data()) {
      out.set_as_of_seconds(one.as_of_seconds());
      out.set_as_of_nanos(one.as_of_nanos());
      out.set_one_instant(one.one_instant());
    } else if (one.as_of_seconds() != out.as_of_seconds() ||
               one.as_of_nanos() != out.as_of_nanos() || !one.one_instant()) {
      out.set_one_instant(false);
    }
    out.mutable_consumed()->insert(one.consumed().begin(), one.consumed().end());
    out.set_cases_pending(out.cases_pending() + one.cases_pending());
    for (store::v1::ScopeCounts& counts : *one.mutable_scopes()) {
      *out.add_scopes() = std::move(counts);  // an allocation's sums once per part: they add
    }
  }
  return out;
}

std::string CopiesTag(std::span<const std::shared_ptr<const Snapshot>> copies) {
  std::string tag = "copies";
  for (const auto& copy : copies) {
    const int32_t partition = copy->consumed.empty() ? -1 : copy->consumed.begin()->first;
    fmt::format_to(std::back_inserter(tag), "-{}.{}", partition, copy->version);
  }
  return tag;
}

bool HoldsOnlyMissing(const google::protobuf::Map<int32_t, int64_t>& consumed,
                      const std::set<int32_t>& left) {
  return !consumed.empty() && std::all_of(consumed.begin(), consumed.end(), [&](const auto& p) {
    return left.count(p.first) > 0;
  });
}

std::shared_ptr<const Snapshot> WithPeers(const Snapshot& local,
                                          std::span<const PeerAnswer> peers,
                                          std::vector<std::string>& added) {
  auto merged = std::make_shared<Snapshot>();
  merged->version = local.version;
  merged->as_of = local.as_of;
  merged->one_instant = local.one_instant;
  merged->scopes = local.scopes;
  merged->consumed = local.consumed;
  merged->cases_pending = local.cases_pending;
  std::set<int32_t> missing(local.missing.begin(), local.missing.end());
  for (const PeerAnswer& peer : peers) {
    if (!peer.counts) continue;
    const store::v1::PeerCounts& c = *peer.counts;
    const Instant at{c.as_of_seconds(), c.as_of_nanos()};
    if (!local.as_of || !local.one_instant || !c.one_instant() || at != *local.as_of ||
        !HoldsOnlyMissing(c.consumed(), missing)) {
      continue;
    }
    for (const auto& [partition, next] : c.consumed()) {
      merged->consumed[partition] = next;
      missing.erase(partition);
      if (peer.copy) merged->copies.push_back(partition);
    }
    merged->cases_pending += c.cases_pending();
    for (const store::v1::ScopeCounts& counts : c.scopes()) {  // sharing the peer's, no copy
      merged->scopes.push_back(std::shared_ptr<const store::v1::ScopeCounts>(peer.counts, &counts));
    }
    if (!peer.url.empty()) added.push_back(peer.url);
  }
  merged->missing.assign(missing.begin(), missing.end());
  std::sort(merged->copies.begin(), merged->copies.end());
  return merged;
}

int64_t CasesIn(const Snapshot& snapshot, const Scope& scope) {
  int64_t cases = 0;
  for (const auto& counts : snapshot.scopes) {
    if (scope.Matches(records::AllocationOf(*counts))) cases += counts->cases();
  }
  return cases;
}

LiveView::LiveView(Policy policy, int64_t min_cases)
    : policy_(std::move(policy)),
      min_cases_(min_cases),
      snapshot_(std::make_shared<const Snapshot>()) {}

Result<void> LiveView::Load(const store::StoreReader& store, std::string_view events_topic) {
  const store::StoreReader* const stores[] = {&store};
  return Load(stores, events_topic);
}

Result<void> LiveView::Load(std::span<const store::StoreReader* const> stores,
                            std::string_view events_topic, bool partitions) {
  if (stores.empty()) return InvalidArgument("the live view needs a store to load");
  {
    MutexLock lock(snapshot_mutex_);
    partitions_ = partitions;
  }
  for (size_t t = 0; t < stores.size(); ++t) {
    CW_TRY(LoadTask(t, *stores[t], events_topic));
  }
  return Ok();
}

Result<void> LiveView::LoadTask(size_t t, const store::StoreReader& store,
                                std::string_view events_topic) {
  CW_TRY(stored, ReadStoredTask(store, events_topic));
  Task task;
  task.serving = true;
  task.as_of = stored.as_of;
  task.consumed = std::move(stored.consumed);
  task.pending = stored.pending;
  std::vector<CountsPtr> scopes = std::move(stored.scopes);
  DropWork(t);
  CW_TRY(store.ScanProjections(
      [&](std::string_view case_id, const store::v1::CaseProjection& projection) {
        SetCase(case_id, projection, t);
      }));
  {
    MutexLock lock(status_mutex_);  // ready once the task has caught up
    if (t >= task_statuses_.size()) {
      task_statuses_.resize(t + 1);
      task_ready_.resize(t + 1, false);
      task_serving_.resize(t + 1, false);
    }
    task_statuses_[t] = engine::EngineStatus{};
    task_ready_[t] = false;
    task_serving_[t] = true;
    MergeStatuses();
  }
  MutexLock lock(snapshot_mutex_);
  if (t >= tasks_.size()) tasks_.resize(t + 1);
  tasks_[t] = std::move(task);
  ReplaceTaskScopes(t, std::move(scopes));
  return Ok();
}

void LiveView::StopServing(size_t t) {
  DropWork(t);
  {
    MutexLock lock(status_mutex_);
    if (t < task_serving_.size()) {
      task_statuses_[t] = engine::EngineStatus{};
      task_ready_[t] = false;
      task_serving_[t] = false;
      MergeStatuses();
    }
  }
  MutexLock lock(snapshot_mutex_);
  if (t >= tasks_.size()) tasks_.resize(t + 1);
  tasks_[t] = Task{};
  ReplaceTaskScopes(t, {});
}

void LiveView::ReplaceTaskScopes(size_t t, std::vector<CountsPtr> scopes) {
  auto next = std::make_shared<Snapshot>();
  next->version = snapshot_->version + 1;
  const std::string prefix = TaskKey(t, "");
  std::unordered_map<std::string, size_t> index;
  for (const auto& [key, position] : scope_index_) {
    if (key.starts_with(prefix)) continue;
    index.emplace(key, next->scopes.size());
    next->scopes.push_back(snapshot_->scopes[position]);
  }
  for (auto& counts : scopes) {
    index.emplace(TaskKey(t, KeyOf(*counts)), next->scopes.size());
    next->scopes.push_back(std::move(counts));
  }
  SumTasks(*next);
  wholes_ = {};  // the partitions served change: what was kept is no longer this engine's
  Publish(std::move(next));
  scope_index_ = std::move(index);
}

void LiveView::Publish(std::shared_ptr<const Snapshot> next) {
  snapshot_ = std::move(next);
  if (!snapshot_->one_instant || !snapshot_->as_of) return;
  const Instant at = *snapshot_->as_of;
  if (wholes_[0] && *wholes_[0]->as_of < at) {
    wholes_[1] = std::move(wholes_[0]);
  } else if (wholes_[0] && *wholes_[0]->as_of > at) {
    wholes_[1].reset();  // an instant earlier than the one kept (not in a running engine)
  }
  wholes_[0] = snapshot_;
}

void LiveView::DropWork(size_t t) {
  WriterLock lock(work_mutex_);
  std::erase_if(work_, [t](const auto& entry) { return entry.second.task == t; });
}

void LiveView::SumTasks(Snapshot& snapshot) const {
  snapshot.as_of.reset();
  snapshot.consumed.clear();
  snapshot.cases_pending = 0;
  snapshot.one_instant = true;
  snapshot.missing.clear();
  for (size_t t = 0; t < tasks_.size(); ++t) {
    const Task& task = tasks_[t];
    if (!task.serving) {
      snapshot.missing.push_back(static_cast<int32_t>(t));
      continue;
    }
    // A task that has projected nothing holds no counted case (as in reports::ReportFromStores).
    if (task.as_of) {
      if (snapshot.as_of && *snapshot.as_of != *task.as_of) snapshot.one_instant = false;
      if (!snapshot.as_of || *task.as_of < *snapshot.as_of) snapshot.as_of = task.as_of;
    }
    snapshot.consumed.insert(task.consumed.begin(), task.consumed.end());
    if (partitions_) snapshot.consumed.emplace(static_cast<int32_t>(t), 0);  // none consumed yet
    snapshot.cases_pending += task.pending;
  }
}

void LiveView::SetCase(std::string_view case_id, const store::v1::CaseProjection& projection,
                       size_t task) {
  CaseWork work;
  work.task = task;
  if (projection.counted()) {
    for (const store::v1::StoredItem& item : projection.items()) {
      const auto status = static_cast<ItemStatus>(item.status());
      if (status == ItemStatus::kPending || item.overdue()) {
        work.items.push_back(
            OpenItem{static_cast<Indicator>(item.indicator()), Date{item.due()}, item.overdue(),
                     static_cast<uint8_t>(item.detail())});
      }
    }
  }
  WriterLock lock(work_mutex_);
  if (work.items.empty()) {
    work_.erase(std::string(case_id));
    return;
  }
  work.allocation = records::AllocationOf(projection);
  work.rosh_level = static_cast<RoshLevel>(projection.rosh_level());
  work.registrations = projection.registrations();
  work_.insert_or_assign(std::string(case_id), std::move(work));
}

void LiveView::OnCommit(const engine::CommitInfo& info, size_t task) {
  for (const auto& [case_id, projection] : info.cases) SetCase(case_id, *projection, task);
  std::shared_ptr<const Snapshot> published;
  {
    auto next = std::make_shared<Snapshot>();
    MutexLock lock(snapshot_mutex_);
    if (task >= tasks_.size()) {
      tasks_.resize(task + 1);
      tasks_[task].serving = true;  // a task fed without Load (tests)
    }
    Task& committed = tasks_[task];
    committed.as_of = info.as_of;
    if (info.consumed != nullptr) committed.consumed = *info.consumed;
    committed.pending = info.cases_pending;
    next->version = snapshot_->version + 1;
    SumTasks(*next);
    next->scopes = snapshot_->scopes;  // shares the unchanged allocations' counts
    ReplaceCounts(next->scopes, scope_index_, task, info.scopes);
    Publish(std::move(next));
    published = snapshot_;
  }
  MutexLock lock(listener_mutex_);
  if (!listener_) return;
  if (alerts_from_topic_) {
    listener_(std::move(published), {});
  } else {
    listener_(std::move(published), info.alerts);
  }
}

void LiveView::TakeAlertsFromTopic() { alerts_from_topic_ = true; }

void LiveView::PublishAlerts(std::span<const alerts::v1::ObligationMissedAlert> alerts) {
  std::shared_ptr<const Snapshot> current = snapshot();
  MutexLock lock(listener_mutex_);
  if (listener_) listener_(std::move(current), alerts);
}

std::optional<alerts::v1::ObligationMissedAlert> AlertOfRecord(std::string_view value,
                                                               bool json) {
  alerts::v1::ObligationMissedAlert alert;
  const bool read =
      json ? google::protobuf::util::JsonStringToMessage(std::string(value), &alert).ok()
           : alert.ParseFromArray(value.data(), static_cast<int>(value.size()));
  if (!read || alert.event_id().empty()) return std::nullopt;
  return alert;
}

void LiveView::OnStatus(const engine::EngineStatus& status, size_t task) {
  MutexLock lock(status_mutex_);
  if (task >= task_statuses_.size()) {
    task_statuses_.resize(task + 1);
    task_ready_.resize(task + 1, false);
    task_serving_.resize(task + 1, true);  // a task fed without Load (tests)
  }
  if (!task_serving_[task] && (task >= task_standby_.size() || !task_standby_[task])) {
    return;  // a runner stopping after its task was taken away
  }
  task_statuses_[task] = status;
  if (status.lag == 0) task_ready_[task] = true;
  MergeStatuses();
}

Result<void> LiveView::LoadCopy(size_t t, const store::StoreReader& store,
                                std::string_view events_topic) {
  CW_TRY(stored, ReadStoredTask(store, events_topic));
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->as_of = stored.as_of;
  snapshot->consumed = std::move(stored.consumed);
  snapshot->consumed.emplace(static_cast<int32_t>(t), 0);  // named before it has consumed any
  snapshot->cases_pending = stored.pending;
  Copy copy;
  for (CountsPtr& counts : stored.scopes) {
    copy.index.emplace(TaskKey(t, KeyOf(*counts)), snapshot->scopes.size());
    snapshot->scopes.push_back(std::move(counts));
  }
  copy.snapshot = std::move(snapshot);
  MutexLock lock(copy_mutex_);
  copies_.insert_or_assign(t, std::move(copy));
  return Ok();
}

void LiveView::OnCopyCommit(const engine::CommitInfo& info, size_t t) {
  MutexLock lock(copy_mutex_);
  const auto found = copies_.find(t);
  if (found == copies_.end()) return;
  Copy& copy = found->second;
  auto next = std::make_shared<Snapshot>();
  next->version = copy.snapshot->version + 1;
  next->as_of = info.as_of;
  next->consumed = info.consumed != nullptr ? *info.consumed : copy.snapshot->consumed;
  next->consumed.emplace(static_cast<int32_t>(t), 0);
  next->cases_pending = info.cases_pending;
  next->scopes = copy.snapshot->scopes;  // shares the unchanged allocations' counts
  ReplaceCounts(next->scopes, copy.index, t, info.scopes);
  copy.snapshot = std::move(next);
}

std::vector<std::shared_ptr<const Snapshot>> LiveView::Copies(
    std::span<const int32_t> partitions) const {
  std::vector<std::shared_ptr<const Snapshot>> found;
  MutexLock lock(copy_mutex_);
  for (const auto& [t, copy] : copies_) {
    if (std::find(partitions.begin(), partitions.end(), static_cast<int32_t>(t)) !=
        partitions.end()) {
      found.push_back(copy.snapshot);
    }
  }
  return found;
}

std::vector<std::pair<size_t, std::optional<Instant>>> LiveView::CopyTasks() const {
  std::vector<std::pair<size_t, std::optional<Instant>>> tasks;
  MutexLock lock(copy_mutex_);
  for (const auto& [t, copy] : copies_) tasks.emplace_back(t, copy.snapshot->as_of);
  return tasks;
}

void LiveView::SetStandby(size_t task, bool standby) {
  if (!standby) {
    MutexLock lock(copy_mutex_);
    copies_.erase(task);
  }
  MutexLock lock(status_mutex_);
  if (task >= task_standby_.size()) task_standby_.resize(task + 1, false);
  task_standby_[task] = standby;
  if (task < task_statuses_.size() && !task_serving_[task]) {
    task_statuses_[task] = engine::EngineStatus{};
  }
  MergeStatuses();
}

void LiveView::MergeStatuses() {
  bool any = false;
  bool all_ready = true;
  std::vector<int32_t> missing;
  std::vector<engine::PartitionStatus> standby;
  for (size_t t = 0; t < task_standby_.size() && t < task_statuses_.size(); ++t) {
    if (!task_standby_[t] || task_serving_[t]) continue;
    const engine::EngineStatus& s = task_statuses_[t];
    // Before its first status: named, its lag unknown.
    standby.push_back(s.partitions.empty() ? engine::PartitionStatus{static_cast<int32_t>(t), -1}
                                           : s.partitions.front());
  }
  for (size_t t = 0; t < task_serving_.size(); ++t) {
    if (!task_serving_[t]) {
      missing.push_back(static_cast<int32_t>(t));
      continue;
    }
    any = true;
    all_ready = all_ready && task_ready_[t];
  }
  ready_ = any && all_ready;
  if (task_statuses_.size() == 1) {
    status_ = task_statuses_.front();
    status_.missing = std::move(missing);
    status_.standby = std::move(standby);
    return;
  }
  engine::EngineStatus sum;
  sum.lag = 0;
  bool first = true;
  for (size_t t = 0; t < task_statuses_.size(); ++t) {
    if (!task_serving_[t]) continue;
    const engine::EngineStatus& s = task_statuses_[t];
    if (first) {
      sum.role = s.role;
      sum.leader_terms = s.leader_terms;
      sum.projection_instant = s.projection_instant;
      first = false;
    }
    sum.counters.accepted += s.counters.accepted;
    sum.counters.duplicates += s.counters.duplicates;
    sum.counters.rejected += s.counters.rejected;
    sum.counters.missed_obligations += s.counters.missed_obligations;
    sum.counters.batches += s.counters.batches;
    sum.counters.cases_evaluated += s.counters.cases_evaluated;
    sum.counters.derived_restored += s.counters.derived_restored;
    sum.counters.cases_pending += s.counters.cases_pending;
    sum.lag = sum.lag < 0 || s.lag < 0 ? -1 : sum.lag + s.lag;
    sum.partitions.insert(sum.partitions.end(), s.partitions.begin(), s.partitions.end());
    sum.published += s.published;
    sum.outbox_pending += s.outbox_pending;
    sum.transient_errors += s.transient_errors;
    sum.catching_up = sum.catching_up || s.catching_up;
    sum.projection_instant = std::min(sum.projection_instant, s.projection_instant);
  }
  if (first) sum.lag = -1;  // no task served here
  std::sort(sum.partitions.begin(), sum.partitions.end(),
            [](const auto& a, const auto& b) { return a.partition < b.partition; });
  sum.missing = std::move(missing);
  sum.standby = std::move(standby);
  status_ = std::move(sum);
}

std::shared_ptr<const Snapshot> LiveView::snapshot() const {
  MutexLock lock(snapshot_mutex_);
  return snapshot_;
}

std::shared_ptr<const Snapshot> LiveView::SnapshotAt(Instant at) const {
  MutexLock lock(snapshot_mutex_);
  for (const auto& whole : wholes_) {
    if (whole && *whole->as_of == at) return whole;
  }
  return nullptr;
}

std::shared_ptr<const Snapshot> LiveView::LatestWhole() const {
  MutexLock lock(snapshot_mutex_);
  return wholes_[0];
}

engine::EngineStatus LiveView::status() const {
  MutexLock lock(status_mutex_);
  return status_;
}

bool LiveView::ready() const {
  MutexLock lock(status_mutex_);
  return ready_ && !status_.catching_up;
}

std::string_view NameOf(WorkGroup group) {
  static constexpr std::string_view kNames[] = {"overdue", "due_today", "due_this_week", "later",
                                                "long_overdue"};
  static_assert(std::size(kNames) == kWorkGroupCount);
  return kNames[static_cast<int>(group)];
}

WorkGroup GroupOf(bool overdue, Date due, Date today) {
  if (overdue) {
    return today.days - due.days > kLongOverdueDays ? WorkGroup::kLongOverdue : WorkGroup::kOverdue;
  }
  if (due.days <= today.days) return WorkGroup::kDueToday;
  if (due.days <= today.days + kThisWeekDays) return WorkGroup::kDueThisWeek;
  return WorkGroup::kLater;
}

namespace {

// Worklist order: by group, priority cases first, by due date, then by case, indicator and check
// (a total order: an item is one case's obligation).
auto UrgencyOf(const WorkItem& item) {
  return std::tuple(item.group, !item.priority, item.due, item.case_id, item.indicator,
                    item.detail);
}

constexpr uint32_t kPriorityRegistrations =
    store::format::kRegistrationMappa | store::format::kRegistrationChildProtection;

bool PriorityOf(RoshLevel rosh_level, uint32_t registrations) {
  return rosh_level == RoshLevel::kHigh || rosh_level == RoshLevel::kVeryHigh ||
         (registrations & kPriorityRegistrations) != 0;
}

// `page`'s items [begin, end) of `matching` (sorted that far), copied into the page.
void CopyItems(std::span<const WorkItem> matching, size_t begin, size_t end, WorklistPage& page) {
  page.case_ids.reserve(end - begin);
  page.allocations.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) {
    page.case_ids.emplace_back(matching[i].case_id);
    page.allocations.push_back(*matching[i].allocation);
  }
  for (size_t i = begin; i < end; ++i) {
    WorkItem item = matching[i];
    item.case_id = page.case_ids[i - begin];
    item.allocation = &page.allocations[i - begin];
    page.items.push_back(item);
  }
}

// Sorts `matching` as far as the page [offset, offset + limit) and copies that page out.
void TakePage(std::vector<WorkItem>& matching, size_t offset, size_t limit, WorklistPage& page) {
  const size_t begin = std::min(offset, matching.size());
  const size_t end = std::min(matching.size(), begin + std::min(limit, matching.size()));
  std::partial_sort(matching.begin(), matching.begin() + static_cast<std::ptrdiff_t>(end),
                    matching.end(),
                    [](const WorkItem& a, const WorkItem& b) { return UrgencyOf(a) < UrgencyOf(b); });
  CopyItems(matching, begin, end, page);
}

}  // namespace

store::v1::PeerWorklist PeerWorklistOf(const WorklistPage& page, const Snapshot& snapshot) {
  store::v1::PeerWorklist out;
  if (page.as_of) {
    out.set_as_of_seconds(page.as_of->seconds);
    out.set_as_of_nanos(page.as_of->nanos);
  }
  for (const auto& [partition, next] : snapshot.consumed) (*out.mutable_consumed())[partition] = next;
  out.set_total(page.total);
  for (int64_t n : page.group_totals) out.add_group_totals(n);
  for (const WorkItem& item : page.items) {
    store::v1::PeerWorklist::Item& to = *out.add_items();
    to.set_case_id(std::string(item.case_id));
    to.set_region(item.allocation->region);
    to.set_pdu(item.allocation->pdu);
    to.set_team(item.allocation->team);
    to.set_offender_manager(item.allocation->offender_manager);
    to.set_indicator(static_cast<int32_t>(item.indicator));
    to.set_detail(item.detail);
    to.set_due_days(item.due.days);
    to.set_overdue(item.overdue);
    to.set_rosh_level(static_cast<int32_t>(item.rosh_level));
    to.set_registrations(item.registrations);
  }
  return out;
}

WorklistPage MergeWorklists(const WorklistPage& local, std::span<const PeerWork> peers,
                            const WorklistQuery& query, std::vector<int32_t>& missing,
                            std::vector<std::string>& added) {
  WorklistPage merged;
  merged.as_of = local.as_of;
  merged.total = local.total;
  merged.group_totals = local.group_totals;
  const Date today = DateOf(local.as_of.value_or(Instant{}));
  std::vector<WorkItem> matching(local.items.begin(), local.items.end());
  std::vector<Allocation> allocations;  // the peers' items' (a deque would do; counted first)
  size_t peer_items = 0;
  for (const PeerWork& peer : peers) peer_items += peer.reply ? peer.reply->items_size() : 0;
  allocations.reserve(peer_items);
  std::set<int32_t> left(missing.begin(), missing.end());
  for (const PeerWork& peer : peers) {
    if (!peer.reply || !local.as_of) continue;
    const store::v1::PeerWorklist& w = *peer.reply;
    const Instant at{w.as_of_seconds(), w.as_of_nanos()};
    if (DateOf(at) != today || w.group_totals_size() != kWorkGroupCount ||
        !HoldsOnlyMissing(w.consumed(), left)) {
      continue;  // another day (which groups an item), or counted twice
    }
    for (const auto& [partition, next] : w.consumed()) left.erase(partition);
    merged.total += w.total();
    for (int g = 0; g < kWorkGroupCount; ++g) merged.group_totals[g] += w.group_totals(g);
    for (const store::v1::PeerWorklist::Item& from : w.items()) {
      allocations.push_back(
          Allocation{from.region(), from.pdu(), from.team(), from.offender_manager()});
      WorkItem item;
      item.case_id = from.case_id();
      item.allocation = &allocations.back();
      item.indicator = static_cast<Indicator>(from.indicator());
      item.detail = static_cast<uint8_t>(from.detail());
      item.due = Date{from.due_days()};
      item.overdue = from.overdue();
      item.group = GroupOf(item.overdue, item.due, today);
      item.rosh_level = static_cast<RoshLevel>(from.rosh_level());
      item.registrations = from.registrations();
      item.priority = PriorityOf(item.rosh_level, item.registrations);
      if (query.group && item.group != *query.group) continue;
      matching.push_back(item);
    }
    added.push_back(peer.url);
  }
  missing.assign(left.begin(), left.end());
  TakePage(matching, query.offset, query.limit, merged);
  return merged;
}

WorklistPage LiveView::Worklist(const WorklistQuery& query) const {
  WorklistPage page;
  page.as_of = snapshot()->as_of;
  const Date today = DateOf(page.as_of.value_or(Instant{}));
  std::vector<WorkItem> matching;  // views into work_, under its lock
  ReaderLock lock(work_mutex_);
  for (const auto& [case_id, work] : work_) {
    if (!query.scope.Matches(work.allocation)) continue;
    if (!query.rosh_levels.empty() &&
        std::find(query.rosh_levels.begin(), query.rosh_levels.end(), work.rosh_level) ==
            query.rosh_levels.end()) {
      continue;
    }
    const bool priority = PriorityOf(work.rosh_level, work.registrations);
    for (const OpenItem& item : work.items) {
      if ((query.filter == WorkFilter::kOverdue && !item.overdue) ||
          (query.filter == WorkFilter::kPending && item.overdue) ||
          (query.indicator && item.indicator != *query.indicator)) {
        continue;
      }
      const WorkGroup group = GroupOf(item.overdue, item.due, today);
      ++page.group_totals[static_cast<int>(group)];
      if (query.group && group != *query.group) continue;
      matching.push_back(WorkItem{case_id, &work.allocation, item.indicator, item.detail,
                                  item.due, item.overdue, group, work.rosh_level,
                                  work.registrations, priority});
    }
  }
  page.total = static_cast<int64_t>(matching.size());
  TakePage(matching, query.offset, query.limit, page);
  return page;
}

std::string FreshnessJson(const engine::EngineStatus& status) {
  JsonWriter out;
  out.BeginObject().Key("lag").Int(status.lag).Key("catching_up").Bool(status.catching_up);
  if (!status.role.empty()) out.Key("role").String(status.role);
  out.Key("behind").BeginArray();
  for (const engine::PartitionStatus& p : status.partitions) {
    if (p.lag == 0) continue;
    out.BeginObject().Key("partition").Int(p.partition).Key("lag").Int(p.lag).EndObject();
  }
  out.EndArray().Key("unavailable").BeginArray();
  for (const engine::PartitionStatus& p : status.partitions) {
    if (!p.unavailable_since) continue;
    out.BeginObject().Key("partition").Int(p.partition);
    out.Key("since").String(FormatInstant(*p.unavailable_since)).Key("lag").Int(p.lag);
    out.EndObject();
  }
  out.EndArray();
  WriteMissing(out, status);
  out.EndObject();
  return out.Take();
}

void WriteMissing(JsonWriter& out, const engine::EngineStatus& status) {
  if (status.missing.empty()) return;
  out.Key("missing").BeginArray();
  for (int32_t partition : status.missing) out.Int(partition);
  out.EndArray();
}

}  // namespace casewatch::http
