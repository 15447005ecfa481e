#pragma once
// CaseTimeline: one case's history as an evaluation at T sees it (docs/rules.md sections 3 and 4): the
// events with occurred_at <= T, in case order, cut after the closing event, with the positions of
// the opening and closing events and indexes the rules search. Reset() re-targets it at another
// case or instant and reuses its memory, so one timeline serves a whole replay.

#include <span>
#include <vector>

#include "projections/case_history.h"

namespace casewatch {

class CaseTimeline {
 public:
  // Points the timeline at `history` (which must be sealed and outlive this use) as of `as_of`.
  // Returns false when the case is not counted (no opening event at or before T).
  bool Reset(const CaseHistory& history, Instant as_of);

  const CaseHistory& history() const { return *history_; }
  Instant as_of() const { return as_of_; }
  Date as_of_date() const { return as_of_date_; }

  // Events considered: positions [0, size()).
  int size() const { return size_; }
  const CaseEvent& event(int pos) const { return events_[pos]; }
  Date date(int pos) const { return DateOf(event(pos).occurred_at); }

  int opening() const { return opening_; }
  int closing() const { return closing_; }  // -1 while the case is open at T
  // Positions after the opening and before the closing: "while open".
  bool WhileOpen(int pos) const { return pos > opening_ && (closing_ < 0 || pos < closing_); }

  // The first position whose occurred_at equals that of `pos`: "at or after pos" starts here.
  int AtOrAfter(int pos) const { return instant_start_[pos]; }
  // The first position with occurred_at >= t (size() when none).
  int FirstAtOrAfter(Instant t) const;

  // Positions of the events of one type, ascending.
  std::span<const int> Of(EventType type) const {
    const int t = static_cast<int>(type);
    return {by_type_.data() + type_begin_[t], by_type_.data() + type_begin_[t + 1]};
  }
  // The first position of `type` in [from, before), or -1.
  int FirstOf(EventType type, int from, int before) const;

  // The allocation that decides the case's scopes: at T, or at the closing event.
  const Allocation& allocation() const { return allocation_; }

 private:
  const CaseHistory* history_ = nullptr;
  std::span<const CaseEvent> events_;
  Instant as_of_;
  Date as_of_date_;
  int size_ = 0;
  int opening_ = -1;
  int closing_ = -1;
  std::vector<int> instant_start_;
  std::vector<int> by_type_;
  std::array<int, kEventTypeCount + 1> type_begin_{};
  Allocation allocation_;
};

}  // namespace casewatch
