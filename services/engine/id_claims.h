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
// Claims are checked and made under one lock, so two tasks racing for one new id cannot both
// accept it. Thread-safe.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/mutex.h"
#include "base/result.h"
#include "services/store/store.h"

namespace casewatch::engine {

// An id held by another task, and where its first copy is.
struct HeldElsewhere {
  size_t task = 0;
  std::array<uint64_t, 2> content{};  // its content fingerprint
  std::string first_copy;             // "task 2's stored event #17", for the dead letter
};

class IdClaims {
 public:
  // Task N's store is stores[N].
  explicit IdClaims(std::vector<const store::StoreReader*> stores);

  size_t tasks() const { return stores_.size(); }

  // Task `task` is about to accept `ids`, none of which its own store holds (`contents`, their
  // fingerprints, alongside): for each, where another task holds it (nullopt: it is now claimed
  // for `task`, until Release).
  [[nodiscard]] Result<std::vector<std::optional<HeldElsewhere>>> Claim(
      size_t task, std::span<const std::string_view> ids,
      std::span<const std::array<uint64_t, 2>> contents);

  // Task `task`'s write of its claimed ids is durable, or failed: its claims go.
  void Release(size_t task);

 private:
  struct Claimed {
    size_t task;
    std::array<uint64_t, 2> content;
  };
  const std::vector<const store::StoreReader*> stores_;
  Mutex mutex_;
  std::unordered_map<std::string, Claimed> claims_ CW_GUARDED_BY(mutex_);
  std::vector<std::vector<std::string>> by_task_ CW_GUARDED_BY(mutex_);  // the ids each claimed
};

}  // namespace casewatch::engine
