#include "projections/case_timeline.h"

#include <algorithm>

namespace casewatch {

bool CaseTimeline::Reset(const CaseHistory& history, Instant as_of) {
  history_ = &history;
  events_ = history.events();
  as_of_ = as_of;
  as_of_date_ = DateOf(as_of);
  const auto& events = events_;

  // Events after T are not considered: a prefix, since the history is in case order.
  const int n = static_cast<int>(
      std::partition_point(events.begin(), events.end(),
                           [&](const CaseEvent& e) { return e.occurred_at <= as_of; }) -
      events.begin());

  opening_ = -1;
  closing_ = -1;
  for (int i = 0; i < n; ++i) {
    const EventType type = events[i].type;
    if (opening_ < 0) {
      if (type == EventType::kCaseOpened) opening_ = i;
    } else if (type == EventType::kCaseClosed) {
      closing_ = i;
      break;
    }
  }
  if (opening_ < 0) {
    size_ = 0;
    return false;
  }
  size_ = closing_ >= 0 ? closing_ + 1 : n;

  instant_start_.resize(size_);
  for (int i = 0; i < size_; ++i) {
    instant_start_[i] =
        i > 0 && events[i].occurred_at == events[i - 1].occurred_at ? instant_start_[i - 1] : i;
  }

  // Counting sort of positions by event type.
  type_begin_.fill(0);
  for (int i = 0; i < size_; ++i) ++type_begin_[static_cast<int>(events[i].type) + 1];
  for (int t = 0; t < kEventTypeCount; ++t) type_begin_[t + 1] += type_begin_[t];
  by_type_.resize(size_);
  std::array<int, kEventTypeCount> next;
  std::copy(type_begin_.begin(), type_begin_.end() - 1, next.begin());
  for (int i = 0; i < size_; ++i) by_type_[next[static_cast<int>(events[i].type)]++] = i;

  // Allocation: the opening's fields overlaid by the non-empty fields of later allocations.
  allocation_ = history.allocation_of(events[opening_]);
  for (int pos : Of(EventType::kCaseAllocated)) {
    if (pos >= opening_) allocation_.Overlay(history.allocation_of(events[pos]));
  }
  return true;
}

int CaseTimeline::FirstAtOrAfter(Instant t) const {
  const auto& events = events_;
  return static_cast<int>(
      std::partition_point(events.begin(), events.begin() + size_,
                           [&](const CaseEvent& e) { return e.occurred_at < t; }) -
      events.begin());
}

int CaseTimeline::FirstOf(EventType type, int from, int before) const {
  auto positions = Of(type);
  auto it = std::lower_bound(positions.begin(), positions.end(), from);
  return it != positions.end() && *it < before ? *it : -1;
}

}  // namespace casewatch
