#include "services/engine/id_claims.h"

#include <fmt/format.h>

#include <algorithm>

namespace casewatch::engine {

IdClaims::IdClaims(std::vector<const store::StoreReader*> stores)
    : stores_(std::move(stores)), filters_(stores_.size()), by_task_(stores_.size()) {}

Result<std::unique_ptr<IdClaims>> IdClaims::Open(std::vector<const store::StoreReader*> stores) {
  auto claims = std::make_unique<IdClaims>(std::move(stores));
  WriterLock lock(claims->filters_mutex_);
  for (size_t t = 0; t < claims->stores_.size(); ++t) {
    IdFilter& filter = claims->filters_[t];
    CW_TRY(claims->stores_[t]->ScanIds([&](std::string_view id) { filter.Add(id); }));
  }
  return claims;
}

Result<std::vector<std::optional<HeldElsewhere>>> IdClaims::Claim(
    size_t task, std::span<const std::string_view> ids,
    std::span<const std::array<uint64_t, 2>> contents, std::span<const int64_t> /*offsets*/) {
  if (task >= stores_.size()) {
    return InvalidArgument(fmt::format("id claims: no task {} (there are {})", task,
                                       stores_.size()));
  }
  uint64_t start = 0;
  {
    MutexLock lock(mutex_);
    start = released_count_;
    looking_.insert(start);
  }
  // In another task's store: looked up without the lock, so that tasks look up at once, and
  // only where its filter says it may be.
  std::vector<std::optional<HeldElsewhere>> held(ids.size());
  std::vector<std::vector<size_t>> maybe(stores_.size());  // per other task, ids it may hold
  {
    ReaderLock lock(filters_mutex_);
    for (size_t other = 0; other < stores_.size(); ++other) {
      if (other == task) continue;
      for (size_t k = 0; k < ids.size(); ++k) {
        if (filters_[other].MayContain(ids[k])) maybe[other].push_back(k);
      }
    }
  }
  Result<void> looked = Ok();
  for (size_t other = 0; other < stores_.size() && looked; ++other) {
    if (other == task) continue;
    std::vector<std::string_view> unknown;
    std::vector<size_t> at;
    for (size_t k : maybe[other]) {
      if (held[k]) continue;
      unknown.push_back(ids[k]);
      at.push_back(k);
    }
    if (unknown.empty()) continue;
    auto stored = stores_[other]->FindIds(unknown);
    if (!stored) {
      looked = stored.error();
      break;
    }
    for (size_t j = 0; j < at.size(); ++j) {
      if (!stored.value()[j]) continue;
      held[at[j]] = HeldElsewhere{other, stored.value()[j]->content,
                                  fmt::format("task {}'s stored event #{}", other,
                                              stored.value()[j]->sequence)};
    }
  }
  MutexLock lock(mutex_);
  looking_.erase(looking_.find(start));
  if (looked) {
    // Claimed by another task's write under way, or released since the look-up began (durable
    // then, perhaps after the look-up read that store): both are that task's.
    for (size_t k = 0; k < ids.size(); ++k) {
      if (held[k]) continue;
      const std::string id(ids[k]);
      if (auto found = claims_.find(id); found != claims_.end() && found->second.task != task) {
        held[k] = HeldElsewhere{found->second.task, found->second.content,
                                fmt::format("task {}'s write under way", found->second.task)};
      } else if (auto was = released_.find(id);
                 was != released_.end() && was->second.released > start &&
                 was->second.task != task) {
        held[k] = HeldElsewhere{was->second.task, was->second.content,
                                fmt::format("task {}'s write", was->second.task)};
      }
    }
    for (size_t k = 0; k < ids.size(); ++k) {
      if (held[k]) continue;
      if (claims_.emplace(std::string(ids[k]), Claimed{task, contents[k], 0}).second) {
        by_task_[task].emplace_back(ids[k]);
      }
    }
  }
  Prune();
  if (!looked) return looked.error();
  return held;
}

void IdClaims::Release(size_t task) {
  if (task >= stores_.size()) return;
  MutexLock lock(mutex_);
  {
    // Into the filter first: a look-up that begins after the claims go must find the ids there.
    WriterLock filters(filters_mutex_);
    for (const std::string& id : by_task_[task]) filters_[task].Add(id);
  }
  ++released_count_;
  for (const std::string& id : by_task_[task]) {
    auto found = claims_.find(id);
    if (found == claims_.end()) continue;
    if (!looking_.empty()) {
      Claimed released = found->second;
      released.released = released_count_;
      released_.insert_or_assign(id, released);
      released_order_.emplace_back(released_count_, id);
    }
    claims_.erase(found);
  }
  by_task_[task].clear();
  Prune();
}

void IdClaims::Prune() {
  // A released id matters only to look-ups that began before its release.
  const uint64_t oldest = looking_.empty() ? released_count_ : *looking_.begin();
  while (!released_order_.empty() && released_order_.front().first <= oldest) {
    auto found = released_.find(released_order_.front().second);
    if (found != released_.end() && found->second.released == released_order_.front().first) {
      released_.erase(found);
    }
    released_order_.pop_front();
  }
}

}  // namespace casewatch::engine
