#pragma once
// LiveView: what the HTTP API reads of the running engine, kept in memory so that the common
// questions cost microseconds: the per-allocation counts as of the engine's last durable write
// (immutable, versioned snapshots, so readers never wait for the engine), every case's open
// obligations (the worklist), and the runner's status. Loaded from the store before the engine
// starts, then fed by the engine's commit notifications (engine::CommitInfo) on its thread; read
// from any thread.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/json_writer.h"
#include "base/mutex.h"
#include "base/result.h"
#include "casewatch/alerts/v1/alert.pb.h"
#include "casewatch/store/v1/records.pb.h"
#include "projections/case_event.h"
#include "projections/scores.h"
#include "services/engine/engine.h"
#include "services/engine/engine_status.h"
#include "services/reports/store_report.h"
#include "services/store/store.h"

namespace casewatch::http {

// The counts of every allocation as of one engine write. Immutable once published, except for
// its cache of rendered reports.
//
// With several tasks (an engine whose partitions are shared out, each task a store and engine of
// its own: docs/partitioned-group.md), their cases are disjoint and their counts add: `scopes`
// holds each task's allocations (one allocation may be there once per task), `consumed` every
// task's partitions, `cases_pending` their sum, and `as_of` the earliest of their instants.
class Snapshot {
 public:
  uint64_t version = 0;
  std::optional<Instant> as_of;  // nullopt: the engine has projected nothing yet
  // Every task's counts are as of `as_of`. False while one has written at a later instant: the
  // counts then mix instants, and a report is read from the stores as of `as_of` instead.
  bool one_instant = true;
  // Partitions of the events topic no task here serves (another engine of the group holds them):
  // their cases are not in these counts.
  std::vector<int32_t> missing;
  // Partitions whose counts come from a copy another engine's standby keeps (WithPeers), while
  // the engine holding them cannot answer.
  std::vector<int32_t> copies;
  std::vector<std::shared_ptr<const store::v1::ScopeCounts>> scopes;
  // The records the counts reflect: per partition of the events topic, the offset after the
  // last one applied (engine::CommitInfo::consumed); empty before the engine's first write (but
  // for tasks that are partitions, Load: a task served here is named at 0 until then). While
  // `cases_pending` is not 0 some cases' newest events are stored but not yet counted.
  std::map<int32_t, int64_t> consumed;
  uint64_t cases_pending = 0;

  // The report (docs/rules.md section 10, no period, no case items) for `scope`, rendered once
  // per snapshot and scope (`min_cases` is the engine's one setting: not part of the key).
  std::shared_ptr<const std::string> Report(const Policy& policy, int64_t min_cases,
                                            const Scope& scope) const;
  // The scope's reports split by `by` (GroupBy::kNone: the scope's report, in `json`).
  reports::StoreReport Breakdown(const Policy& policy, int64_t min_cases, const Scope& scope,
                                 reports::GroupBy by) const;
  // PeerCountsOf(*this, scope, by), serialized once per snapshot, scope and grouping.
  std::shared_ptr<const std::string> PeerCountsBytes(const Scope& scope,
                                                     reports::GroupBy by) const;

 private:
  mutable Mutex cache_mutex_;
  // Rendered reports and serialized peer counts, by scope (and grouping).
  mutable std::unordered_map<std::string, std::shared_ptr<const std::string>> cache_
      CW_GUARDED_BY(cache_mutex_);
};

// The snapshot's counts as its engine gives them to a peer of its group (GET
// /internal/v1/counts): its own partitions only, never what it merged from others. Only the
// allocations within `scope`, summed by the groups of `by` (kNone: one sum for the scope), each
// sum named by its group's levels (the scope's, for kNone) and the levels below left empty. The
// counts add, so a report or breakdown of `scope` by `by` from the sums is the one from every
// allocation, and a peer sends a few sums however many allocations it holds.
store::v1::PeerCounts PeerCountsOf(const Snapshot& snapshot, const Scope& scope,
                                   reports::GroupBy by);

// One peer's counts, and the peer (its url in the group's directory). `tag` names the peer's
// snapshot (its ETag; "" when unknown): the same url and tag are the same counts.
struct PeerAnswer {
  std::string url;
  std::string tag;
  std::shared_ptr<const store::v1::PeerCounts> counts;
  // The counts of copies kept for the engine a partition is given to (a standby's: asked for by
  // partition while its owner cannot answer), not of the partitions' owner; `url` "": this
  // engine's own copies.
  bool copy = false;
};

// PeerCountsOf for several snapshots whose partitions are disjoint (the copies one engine keeps,
// LiveView::Copies) as one answer: their counts and offsets together, at one instant when all
// are at the same (one_instant is false otherwise).
store::v1::PeerCounts PeerCountsOf(std::span<const std::shared_ptr<const Snapshot>> parts,
                                   const Scope& scope, reports::GroupBy by);
// Names the state of `copies` (each one's partition and version), with no space or quote: for
// an ETag of their counts.
std::string CopiesTag(std::span<const std::shared_ptr<const Snapshot>> copies);

// `local` with the counts of those of `peers` that can be added to it: at its instant (each at
// one instant), holding nothing but partitions `local` misses and no peer before them holds. Their
// partitions leave `missing` and join `consumed` (and `copies`, for a copy's); `added` gets the
// urls of the peers added (not "", this engine's copies). The cases are disjoint, so the counts
// add: the answer is what one engine holding all those partitions gives.
std::shared_ptr<const Snapshot> WithPeers(const Snapshot& local,
                                          std::span<const PeerAnswer> peers,
                                          std::vector<std::string>& added);

// The counted cases of `scope` in the snapshot.
int64_t CasesIn(const Snapshot& snapshot, const Scope& scope);

// When an open item is to be done, as a practitioner plans a day: overdue (missed, still to be
// done late), due today, due in the next 7 days, later; and overdue for more than
// kLongOverdueDays, which can no longer be done anywhere near on time and is kept apart from the
// work that still can be saved. In this order.
enum class WorkGroup : uint8_t { kOverdue, kDueToday, kDueThisWeek, kLater, kLongOverdue };
inline constexpr int kWorkGroupCount = 5;
inline constexpr int kLongOverdueDays = 28;
inline constexpr int kThisWeekDays = 7;
std::string_view NameOf(WorkGroup group);  // "overdue", "due_today", ...
WorkGroup GroupOf(bool overdue, Date due, Date today);

// One obligation still to be done: pending, or missed with its window open (overdue).
struct WorkItem {
  std::string_view case_id;
  const Allocation* allocation = nullptr;
  Indicator indicator{};
  uint8_t detail = 0;  // Item::detail: which safeguarding check
  Date due;
  bool overdue = false;
  WorkGroup group = WorkGroup::kLater;
  RoshLevel rosh_level = RoshLevel::kUnspecified;  // the case's latest; kUnspecified: none
  uint32_t registrations = 0;                       // store::format::kRegistration* bits
  // High or very high RoSH, child protection or MAPPA: first within its group.
  bool priority = false;
};

enum class WorkFilter { kAll, kOverdue, kPending };

struct WorklistQuery {
  Scope scope;
  WorkFilter filter = WorkFilter::kAll;
  std::optional<WorkGroup> group;         // only this group
  std::optional<Indicator> indicator;     // only this indicator
  std::vector<RoshLevel> rosh_levels;     // only cases at these levels; empty: any
  size_t offset = 0;
  size_t limit = 50;
};

struct WorklistPage {
  std::optional<Instant> as_of;
  int64_t total = 0;  // matching the query (all groups when it names none)
  // Items matching the query but its group, per group (WorkGroup order).
  std::array<int64_t, kWorkGroupCount> group_totals{};
  std::vector<WorkItem> items;  // views into the page's own copy below
  std::vector<std::string> case_ids;
  std::vector<Allocation> allocations;
};

// A page's items [0, limit) (LiveView::Worklist at offset 0) as an engine gives them to a peer of
// its group answering the same query (GET /internal/v1/worklist), with the snapshot's
// partitions.
store::v1::PeerWorklist PeerWorklistOf(const WorklistPage& page, const Snapshot& snapshot);

// Whether a peer's answer for the partitions `consumed` names may be added to an answer still
// missing `left` (the partitions missing here that no answer before it gave): it names some,
// and none but those. Otherwise a partition is moving, or another answer's: its cases would be
// counted twice.
bool HoldsOnlyMissing(const google::protobuf::Map<int32_t, int64_t>& consumed,
                      const std::set<int32_t>& left);

// One peer's answer (a `Proto`), and the peer (its url in the group's directory).
template <class Proto>
struct PeerReply {
  std::string url;
  std::shared_ptr<const Proto> reply;
};
using PeerWork = PeerReply<store::v1::PeerWorklist>;        // GET /internal/v1/worklist
using PeerTrendAnswer = PeerReply<store::v1::PeerTrend>;  // GET /internal/v1/trend

// `local` (`query`'s items [0, offset + limit): LiveView::Worklist at offset 0) with the items of
// those of `peers` that can be added to it: on its day (which groups an item), holding nothing
// but partitions in `missing` and none a peer before them gave. Their items are merged in
// worklist order and their totals added; the answer is the page [offset, offset + limit) that one
// engine holding all those partitions gives. `missing` is left with the partitions no peer gave;
// `added` gets the urls of the peers added.
WorklistPage MergeWorklists(const WorklistPage& local, std::span<const PeerWork> peers,
                            const WorklistQuery& query, std::vector<int32_t>& missing,
                            std::vector<std::string>& added);

// An alert as the alerts topic holds it (casewatchd --alert-format): JSON (`json`) or binary
// protobuf; nullopt when it is not one.
std::optional<alerts::v1::ObligationMissedAlert> AlertOfRecord(std::string_view value, bool json);

// How current the answers are, for a reader (the stream's freshness events): the records not
// yet applied, and the partitions behind and those the brokers do not serve (since when):
// {"lag":35,"catching_up":false,"role":"follower","behind":[{"partition":1,"lag":30},...],
//  "unavailable":[{"partition":3,"since":"2026-12-06T04:31:07Z","lag":0}]}. "role" only in a group;
// "missing":[1,4] only when some partitions are served by other engines (casewatchd --tasks
// --group).
std::string FreshnessJson(const engine::EngineStatus& status);
// "missing":[1,4], the partitions other engines hold, when there are any (EngineStatus::missing).
void WriteMissing(JsonWriter& out, const engine::EngineStatus& status);

class LiveView {
 public:
  // `min_cases`: the reports' small-base threshold (casewatchd --min-cases).
  explicit LiveView(Policy policy, int64_t min_cases = kDefaultMinCases);

  // Loads the stored counts and open items; call before the engine starts writing.
  // `events_topic`: the topic whose stored offsets the counts reflect (Snapshot::consumed).
  [[nodiscard]] Result<void> Load(const store::StoreReader& store,
                                  std::string_view events_topic = {});
  // The same from the stores of several tasks (task N is stores[N]): their cases disjoint. With
  // `partitions` (casewatchd --tasks), task N is partition N of the events topic, and a task
  // served here is named in Snapshot::consumed even before it has consumed anything (at offset
  // 0): every answer then names every partition, held or missing.
  [[nodiscard]] Result<void> Load(std::span<const store::StoreReader* const> stores,
                                  std::string_view events_topic = {}, bool partitions = false);
  // Task N (partition N of the events topic) is served here again, from `store` as it stands:
  // its counts, offsets and open items replace whatever was there. Before its engine starts.
  [[nodiscard]] Result<void> LoadTask(size_t task, const store::StoreReader& store,
                                      std::string_view events_topic = {});
  // Task N is no longer served here (the group gave it to another engine): its counts and open
  // items leave the answers, and every answer names its partition as missing
  // (Snapshot::missing, EngineStatus::missing) until LoadTask.
  void StopServing(size_t task);
  // A task not served here whose copy this engine keeps for another (a standby): its status
  // goes to EngineStatus::standby, and not into readiness or the served partitions. False: the
  // copy's counts (LoadCopy) are dropped too.
  void SetStandby(size_t task, bool standby);
  // The copy of task N (partition N) this engine keeps for another engine, from `store` as it
  // stands: its counts, apart from the answers (Copies), fed by OnCopyCommit until
  // SetStandby(task, false). Before its runner starts.
  [[nodiscard]] Result<void> LoadCopy(size_t task, const store::StoreReader& store,
                                      std::string_view events_topic = {});
  // A write of a copy's runner: its counts only (a copy has no open items served here). Ignored
  // for a task of which no copy is loaded.
  void OnCopyCommit(const engine::CommitInfo& info, size_t task);
  // The counts of the copies kept here of those of `partitions` there are, each a snapshot of
  // one task (as of its last write; `consumed` names its partition), by partition.
  std::vector<std::shared_ptr<const Snapshot>> Copies(std::span<const int32_t> partitions) const;
  // The tasks of which a copy is kept here, with each copy's instant.
  std::vector<std::pair<size_t, std::optional<Instant>>> CopyTasks() const;

  // Engine thread (task N's engine's, for its store): a durable write's changes; the runner's
  // status. Commits of different tasks may come from different threads.
  void OnCommit(const engine::CommitInfo& info, size_t task = 0);
  // Several tasks: status() is theirs together (counters, lag and published records added, every
  // task's partitions, catching up while any is, the earliest instant) and names the partitions
  // no task here serves (missing); ready once every task served here has reported lag 0.
  void OnStatus(const engine::EngineStatus& status, size_t task = 0);

  // Every engine's alerts, read from the alerts topic (an engine of a group sharing the
  // partitions out raises only its own): from now on the listener gets those (PublishAlerts)
  // and not the alerts this engine's commits raise, so that each reaches it once.
  void TakeAlertsFromTopic();
  // Alerts read from the alerts topic, to the listener with the current snapshot.
  void PublishAlerts(std::span<const alerts::v1::ObligationMissedAlert> alerts);

  // Called on the engine's thread after each commit with the new snapshot and the alerts raised
  // by it. Keep it short (hand the work to another thread). Set before the engine starts.
  using Listener = std::function<void(std::shared_ptr<const Snapshot>,
                                      std::span<const alerts::v1::ObligationMissedAlert>)>;
  void SetListener(Listener listener) {
    MutexLock lock(listener_mutex_);
    listener_ = std::move(listener);
  }

  std::shared_ptr<const Snapshot> snapshot() const;
  // The snapshot at one instant (Snapshot::one_instant) at `at`: the current one, or the last one
  // published at `at` before a task moved on, when `at` is one of the two latest instants every
  // task here stood at together. A clock moving in whole seconds reaches the tasks one after
  // another; meanwhile the answers are given as of the instant they all stood at, and engines of
  // a group that tick a moment apart still answer at one instant. nullptr when none is kept (and
  // after a task is loaded or stops being served: the partitions served change).
  std::shared_ptr<const Snapshot> SnapshotAt(Instant at) const;
  // The latest snapshot at one instant (the current one when it is); nullptr when none is kept.
  std::shared_ptr<const Snapshot> LatestWhole() const;
  engine::EngineStatus status() const;
  // Ready once the engine has caught up with its topic (lag 0) after starting, and not while it
  // is catching up (stored events not yet projected: EngineStatus::catching_up).
  bool ready() const;
  const Policy& policy() const { return policy_; }
  int64_t min_cases() const { return min_cases_; }

  // Open items matching `query`, by group (WorkGroup order), priority cases first within a
  // group, then by due date; entries [offset, offset + limit).
  WorklistPage Worklist(const WorklistQuery& query) const;

 private:
  struct OpenItem {
    Indicator indicator;
    Date due;
    bool overdue;
    uint8_t detail;
  };
  struct CaseWork {
    size_t task = 0;
    Allocation allocation;
    RoshLevel rosh_level = RoshLevel::kUnspecified;
    uint32_t registrations = 0;
    std::vector<OpenItem> items;
  };
  // What one task's engine last wrote.
  struct Task {
    bool serving = false;  // its counts are in the answers
    std::optional<Instant> as_of;
    std::map<int32_t, int64_t> consumed;
    uint64_t pending = 0;
  };
  void SetCase(std::string_view case_id, const store::v1::CaseProjection& projection,
               size_t task);
  void DropWork(size_t task);  // the task's cases' open items
  // Publishes a snapshot in which task `t`'s counts are `scopes`.
  using CountsPtr = std::shared_ptr<const store::v1::ScopeCounts>;
  void ReplaceTaskScopes(size_t t, std::vector<CountsPtr> scopes) CW_REQUIRES(snapshot_mutex_);
  // The serving tasks' instant, offsets and pending cases, and the others' partitions, into
  // `snapshot`.
  void SumTasks(Snapshot& snapshot) const CW_REQUIRES(snapshot_mutex_);
  // Makes `next` the current snapshot, and keeps it (wholes_) when it is at one instant.
  void Publish(std::shared_ptr<const Snapshot> next) CW_REQUIRES(snapshot_mutex_);
  void MergeStatuses() CW_REQUIRES(status_mutex_);

  const Policy policy_;
  const int64_t min_cases_;
  Mutex listener_mutex_;
  Listener listener_ CW_GUARDED_BY(listener_mutex_);
  std::atomic<bool> alerts_from_topic_{false};

  mutable Mutex snapshot_mutex_;
  std::shared_ptr<const Snapshot> snapshot_ CW_GUARDED_BY(snapshot_mutex_);
  std::vector<Task> tasks_ CW_GUARDED_BY(snapshot_mutex_);  // by task number
  bool partitions_ CW_GUARDED_BY(snapshot_mutex_) = false;  // task N is partition N (Load)
  // The last snapshot at one instant of each of the two latest instants, the latest first
  // (SnapshotAt).
  std::array<std::shared_ptr<const Snapshot>, 2> wholes_ CW_GUARDED_BY(snapshot_mutex_);
  // Task number and ScopeKey (TaskKey) -> position in the snapshot's scopes.
  std::unordered_map<std::string, size_t> scope_index_ CW_GUARDED_BY(snapshot_mutex_);

  mutable SharedMutex work_mutex_;
  std::unordered_map<std::string, CaseWork> work_ CW_GUARDED_BY(work_mutex_);  // open items

  mutable Mutex status_mutex_;
  engine::EngineStatus status_ CW_GUARDED_BY(status_mutex_);  // every task's together
  std::vector<engine::EngineStatus> task_statuses_ CW_GUARDED_BY(status_mutex_);
  std::vector<bool> task_ready_ CW_GUARDED_BY(status_mutex_);
  std::vector<bool> task_serving_ CW_GUARDED_BY(status_mutex_);
  std::vector<bool> task_standby_ CW_GUARDED_BY(status_mutex_);
  bool ready_ CW_GUARDED_BY(status_mutex_) = false;

  // The copies kept for other engines (LoadCopy), by task: each its own snapshot, and the
  // position of each allocation's counts in it.
  struct Copy {
    std::shared_ptr<const Snapshot> snapshot;
    std::unordered_map<std::string, size_t> index;
  };
  mutable Mutex copy_mutex_;
  std::map<size_t, Copy> copies_ CW_GUARDED_BY(copy_mutex_);
};

}  // namespace casewatch::http
