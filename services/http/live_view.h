#pragma once
// LiveView: what the HTTP API reads of the running engine, kept in memory so that the common
// questions cost microseconds: the per-allocation counts as of the engine's last durable write
// (immutable, versioned snapshots, so readers never wait for the engine), every case's open
// obligations (the worklist), and the runner's status. Loaded from the store before the engine
// starts, then fed by the engine's commit notifications (engine::CommitInfo) on its thread; read
// from any thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/mutex.h"
#include "base/result.h"
#include "casewatch/alerts/v1/alert.pb.h"
#include "casewatch/store/v1/records.pb.h"
#include "projections/scores.h"
#include "services/engine/engine.h"
#include "services/engine/engine_status.h"
#include "services/reports/store_report.h"
#include "services/store/store.h"

namespace casewatch::http {

// The counts of every allocation as of one engine write. Immutable once published, except for
// its cache of rendered reports.
class Snapshot {
 public:
  uint64_t version = 0;
  std::optional<Instant> as_of;  // nullopt: the engine has projected nothing yet
  std::vector<std::shared_ptr<const store::v1::ScopeCounts>> scopes;

  // The report (docs/rules.md section 10, no period, no case items) for `scope`, rendered once
  // per snapshot and scope (`min_cases` is the engine's one setting: not part of the key).
  std::shared_ptr<const std::string> Report(const Policy& policy, int64_t min_cases,
                                            const Scope& scope) const;
  // The scope's reports split by `by` (GroupBy::kNone: the scope's report, in `json`).
  reports::StoreReport Breakdown(const Policy& policy, int64_t min_cases, const Scope& scope,
                                 reports::GroupBy by) const;

 private:
  mutable Mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::shared_ptr<const std::string>> cache_
      CW_GUARDED_BY(cache_mutex_);
};

// One obligation still to be done: pending, or missed with its window open (overdue).
struct WorkItem {
  std::string_view case_id;
  const Allocation* allocation = nullptr;
  Indicator indicator{};
  Date due;
  bool overdue = false;
};

enum class WorkFilter { kAll, kOverdue, kPending };

struct WorklistPage {
  std::optional<Instant> as_of;
  int64_t total = 0;
  std::vector<WorkItem> items;  // views into the page's own copy below
  std::vector<std::string> case_ids;
  std::vector<Allocation> allocations;
};

class LiveView {
 public:
  // `min_cases`: the reports' small-base threshold (casewatchd --min-cases).
  explicit LiveView(Policy policy, int64_t min_cases = kDefaultMinCases);

  // Loads the stored counts and open items; call before the engine starts writing.
  [[nodiscard]] Result<void> Load(const store::StoreReader& store);

  // Engine thread: a durable write's changes; the runner's status.
  void OnCommit(const engine::CommitInfo& info);
  void OnStatus(const engine::EngineStatus& status);

  // Called on the engine's thread after each commit with the new snapshot and the alerts raised
  // by it. Keep it short (hand the work to another thread). Set before the engine starts.
  using Listener = std::function<void(std::shared_ptr<const Snapshot>,
                                      std::span<const alerts::v1::ObligationMissedAlert>)>;
  void SetListener(Listener listener) {
    MutexLock lock(listener_mutex_);
    listener_ = std::move(listener);
  }

  std::shared_ptr<const Snapshot> snapshot() const;
  engine::EngineStatus status() const;
  // Ready once the engine has caught up with its topic (lag 0) after starting, and not while it
  // is catching up (stored events not yet projected: EngineStatus::catching_up).
  bool ready() const;
  const Policy& policy() const { return policy_; }
  int64_t min_cases() const { return min_cases_; }

  // Open items in `scope`, most urgent first (overdue by due date, then pending by due date),
  // entries [offset, offset + limit).
  WorklistPage Worklist(const Scope& scope, WorkFilter filter, size_t offset, size_t limit) const;

 private:
  struct OpenItem {
    Indicator indicator;
    Date due;
    bool overdue;
  };
  struct CaseWork {
    Allocation allocation;
    std::vector<OpenItem> items;
  };
  void SetCase(std::string_view case_id, const store::v1::CaseProjection& projection);

  const Policy policy_;
  const int64_t min_cases_;
  Mutex listener_mutex_;
  Listener listener_ CW_GUARDED_BY(listener_mutex_);

  mutable Mutex snapshot_mutex_;
  std::shared_ptr<const Snapshot> snapshot_ CW_GUARDED_BY(snapshot_mutex_);
  // ScopeKey -> position in the snapshot's scopes.
  std::unordered_map<std::string, size_t> scope_index_ CW_GUARDED_BY(snapshot_mutex_);

  mutable SharedMutex work_mutex_;
  std::unordered_map<std::string, CaseWork> work_ CW_GUARDED_BY(work_mutex_);  // open items

  mutable Mutex status_mutex_;
  engine::EngineStatus status_ CW_GUARDED_BY(status_mutex_);
  bool ready_ CW_GUARDED_BY(status_mutex_) = false;
};

}  // namespace casewatch::http
