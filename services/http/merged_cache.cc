#include "services/http/merged_cache.h"

#include <algorithm>

#include "services/http/params.h"

namespace casewatch::http {

using Clock = std::chrono::steady_clock;

MergedCountsCache::MergedCountsCache(Merge merge, std::chrono::milliseconds refresh)
    : merge_(std::move(merge)), refresh_(refresh) {}

MergedCountsCache::~MergedCountsCache() {
  std::thread worker;
  {
    MutexLock lock(mutex_);
    stopping_ = true;
    worker = std::move(worker_);
  }
  if (worker.joinable()) worker.join();
}

MergedCounts MergedCountsCache::Get(const Scope& scope, reports::GroupBy by) {
  const std::string key = ScopeQuery(scope, by);
  {
    MutexLock lock(mutex_);
    const auto found = entries_.find(key);
    const Clock::time_point now = Clock::now();
    if (found != entries_.end() && now - found->second.made < 4 * refresh_) {
      found->second.asked = now;
      if (now - found->second.made >= refresh_ && !refreshing_ && !stopping_) {
        refreshing_ = true;
        if (worker_.joinable()) worker_.join();  // the last refresh, finished
        worker_ = std::thread([this] { Refresh(); });
      }
      return found->second.merged;
    }
  }
  MergedCounts merged = merge_(scope, by);
  MutexLock lock(mutex_);
  if (entries_.size() >= kMaxScopes && entries_.count(key) == 0) {
    // The scope asked for longest ago makes room.
    entries_.erase(std::min_element(entries_.begin(), entries_.end(),
                                    [](const auto& a, const auto& b) {
                                      return a.second.asked < b.second.asked;
                                    }));
  }
  Entry& entry = entries_[key];
  entry.scope = scope;
  entry.by = by;
  entry.merged = merged;
  entry.made = entry.asked = Clock::now();
  return merged;
}

bool MergedCountsCache::Holds(const Scope& scope, reports::GroupBy by) {
  const std::string key = ScopeQuery(scope, by);
  MutexLock lock(mutex_);
  const auto found = entries_.find(key);
  return found != entries_.end() && Clock::now() - found->second.made < 3 * refresh_;
}

void MergedCountsCache::Refresh() {
  while (true) {
    std::string key;
    Scope scope;
    reports::GroupBy by = reports::GroupBy::kNone;
    {
      MutexLock lock(mutex_);
      const Clock::time_point now = Clock::now();
      const auto due = std::find_if(entries_.begin(), entries_.end(), [&](const auto& e) {
        return e.second.asked > e.second.made && now - e.second.made >= refresh_;
      });
      if (stopping_ || due == entries_.end()) {
        refreshing_ = false;
        return;
      }
      key = due->first;
      scope = due->second.scope;
      by = due->second.by;
    }
    MergedCounts merged = merge_(scope, by);
    MutexLock lock(mutex_);
    if (const auto entry = entries_.find(key); entry != entries_.end()) {
      entry->second.merged = std::move(merged);
      entry->second.made = Clock::now();
    }
  }
}

}  // namespace casewatch::http
