#pragma once
// The live counts of a scope with the other engines' added (an engine of a group that misses
// partitions: LiveSnapshot), kept per scope and grouping so that a live report or breakdown does
// not wait on the other engines at every request. An answer younger than the refresh interval is
// given again as it is; one older, but not more than four intervals, is given while it is made
// again in the background; an older one, or none, is made at once (and waited for). An answer
// given from here is at most that old, and says what it holds (its instant, the records each
// partition's counts reflect, the partitions missing): it equals the replay of what it names, as
// a fresh one does. Only scopes asked for since their answer was made are made again.
// Thread-safe.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "services/http/live_view.h"

namespace casewatch::http {

// A snapshot with the other engines' counts added, and the urls of the engines added.
struct MergedCounts {
  std::shared_ptr<const Snapshot> snapshot;
  std::vector<std::string> peers;
};

class MergedCountsCache {
 public:
  using Merge = std::function<MergedCounts(const Scope& scope, reports::GroupBy by)>;
  // `refresh`: more than 0.
  MergedCountsCache(Merge merge, std::chrono::milliseconds refresh);
  ~MergedCountsCache();  // waits for a merge under way

  MergedCounts Get(const Scope& scope, reports::GroupBy by);
  // Whether Get gives an answer kept, without waiting, for some time yet (it is younger than
  // three intervals): a request for it can be answered on the thread that read it.
  bool Holds(const Scope& scope, reports::GroupBy by);

 private:
  struct Entry {
    Scope scope;
    reports::GroupBy by = reports::GroupBy::kNone;
    MergedCounts merged;
    std::chrono::steady_clock::time_point made;
    std::chrono::steady_clock::time_point asked;
  };
  static constexpr size_t kMaxScopes = 256;
  // Makes again, one after another, the answers asked for since they were made and older than
  // the interval; then ends.
  void Refresh();

  const Merge merge_;
  const std::chrono::milliseconds refresh_;
  Mutex mutex_;
  std::map<std::string, Entry> entries_ CW_GUARDED_BY(mutex_);  // by ScopeQuery
  bool refreshing_ CW_GUARDED_BY(mutex_) = false;
  bool stopping_ CW_GUARDED_BY(mutex_) = false;
  std::thread worker_ CW_GUARDED_BY(mutex_);
};

}  // namespace casewatch::http
