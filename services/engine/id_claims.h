#pragma once
// IdClaims: event ids across the tasks of one process. An engine whose partitions are shared out
// keeps one store per partition (a task: docs/partitioned-group.md), and a task's store holds the
// ids of its own cases only; but an event_id is unique across all cases (docs/rules.md 2.6), so a
// case in another partition may already have it. Before a task's engine accepts ids new to its
// store, it claims them here: an id another task's store holds, or another task has claimed for a
// write not yet durable, is that task's, and the event is a duplicate or a conflict exactly as if
// the first copy were in the engine's own store. Claims last until the claiming write is durable
// (Release): the store answers for its ids from then on.
//
// The other tasks' stores are looked up outside the lock (tasks look up at once); the claims are
// checked and made under it, with the ids released while a look-up was under way, so two tasks
// racing for one new id cannot both accept it. Thread-safe.

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/mutex.h"
#include "base/result.h"
#include "services/engine/id_filter.h"
#include "services/store/store.h"

namespace casewatch::engine {

// An id held by another task, and where its first copy is.
struct HeldElsewhere {
  size_t task = 0;
  std::array<uint64_t, 2> content{};  // its content fingerprint
  std::string first_copy;             // "task 2's stored event #17", for the dead letter
};

// Where a task's engine claims the ids new to its store (EngineOptions::id_claims): IdClaims,
// among the tasks of one process; daemon::IdsTopic, among the engines of a group, through Kafka.
class IdCheck {
 public:
  virtual ~IdCheck() = default;
  // Task `task` is about to accept `ids`, none of which its own store holds (`contents`, their
  // fingerprints, and `offsets`, their events' offsets in the task's partition, alongside): for
  // each, where another task holds it (nullopt: this task's event has it; claimed until Release).
  [[nodiscard]] virtual Result<std::vector<std::optional<HeldElsewhere>>> Claim(
      size_t task, std::span<const std::string_view> ids,
      std::span<const std::array<uint64_t, 2>> contents, std::span<const int64_t> offsets) = 0;
  // Task `task`'s write of its claimed ids is durable, or failed: its claims go.
  virtual void Release(size_t task) = 0;
};

class IdClaims : public IdCheck {
 public:
  // Task N's store is stores[N]. Reads every store's ids once (into a Bloom filter per task, so
  // that an id new to every task, nearly all of them, needs no look-up in the other stores).
  [[nodiscard]] static Result<std::unique_ptr<IdClaims>> Open(
      std::vector<const store::StoreReader*> stores);
  explicit IdClaims(std::vector<const store::StoreReader*> stores);  // empty filters: new stores

  size_t tasks() const { return stores_.size(); }

  [[nodiscard]] Result<std::vector<std::optional<HeldElsewhere>>> Claim(
      size_t task, std::span<const std::string_view> ids,
      std::span<const std::array<uint64_t, 2>> contents,
      std::span<const int64_t> offsets) override;
  void Release(size_t task) override;

 private:
  struct Claimed {
    size_t task;
    std::array<uint64_t, 2> content;
    uint64_t released;  // released_count_ when released (released_ only)
  };
  void Prune() CW_REQUIRES(mutex_);

  const std::vector<const store::StoreReader*> stores_;
  // Per task, the ids its store may hold: every id it held when opened, and every one it
  // accepted since (added at Release, before the claims go).
  SharedMutex filters_mutex_;
  std::vector<IdFilter> filters_ CW_GUARDED_BY(filters_mutex_);
  Mutex mutex_;
  std::unordered_map<std::string, Claimed> claims_ CW_GUARDED_BY(mutex_);
  std::vector<std::vector<std::string>> by_task_ CW_GUARDED_BY(mutex_);  // the ids each claimed
  // The stores are looked up without the lock. An id released (durable) while a look-up was
  // under way may have been missed by it: kept here until no look-up that began before its
  // release is left.
  uint64_t released_count_ CW_GUARDED_BY(mutex_) = 0;  // Release calls so far
  std::multiset<uint64_t> looking_ CW_GUARDED_BY(mutex_);  // released_count_ as each began
  std::unordered_map<std::string, Claimed> released_ CW_GUARDED_BY(mutex_);
  std::deque<std::pair<uint64_t, std::string>> released_order_ CW_GUARDED_BY(mutex_);
};

}  // namespace casewatch::engine
