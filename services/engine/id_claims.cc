#include "services/engine/id_claims.h"

#include <fmt/format.h>

namespace casewatch::engine {

IdClaims::IdClaims(std::vector<const store::StoreReader*> stores)
    : stores_(std::move(stores)), by_task_(stores_.size()) {}

Result<std::vector<std::optional<HeldElsewhere>>> IdClaims::Claim(
    size_t task, std::span<const std::string_view> ids,
    std::span<const std::array<uint64_t, 2>> contents) {
  if (task >= stores_.size()) {
    return InvalidArgument(fmt::format("id claims: no task {} (there are {})", task,
                                       stores_.size()));
  }
  std::vector<std::optional<HeldElsewhere>> held(ids.size());
  MutexLock lock(mutex_);
  // Claimed by another task's write under way: not in its store yet.
  for (size_t k = 0; k < ids.size(); ++k) {
    if (auto found = claims_.find(std::string(ids[k]));
        found != claims_.end() && found->second.task != task) {
      held[k] = HeldElsewhere{found->second.task, found->second.content,
                              fmt::format("task {}'s write under way", found->second.task)};
    }
  }
  // In another task's store.
  for (size_t other = 0; other < stores_.size(); ++other) {
    if (other == task) continue;
    std::vector<std::string_view> unknown;
    std::vector<size_t> at;
    for (size_t k = 0; k < ids.size(); ++k) {
      if (held[k]) continue;
      unknown.push_back(ids[k]);
      at.push_back(k);
    }
    if (unknown.empty()) break;
    CW_TRY(stored, stores_[other]->FindIds(unknown));
    for (size_t j = 0; j < at.size(); ++j) {
      if (!stored[j]) continue;
      held[at[j]] = HeldElsewhere{other, stored[j]->content,
                                  fmt::format("task {}'s stored event #{}", other,
                                              stored[j]->sequence)};
    }
  }
  for (size_t k = 0; k < ids.size(); ++k) {
    if (held[k]) continue;
    if (claims_.emplace(std::string(ids[k]), Claimed{task, contents[k]}).second) {
      by_task_[task].emplace_back(ids[k]);
    }
  }
  return held;
}

void IdClaims::Release(size_t task) {
  MutexLock lock(mutex_);
  if (task >= by_task_.size()) return;
  for (const std::string& id : by_task_[task]) claims_.erase(id);
  by_task_[task].clear();
}

}  // namespace casewatch::engine
