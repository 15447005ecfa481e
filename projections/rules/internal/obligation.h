#pragma once
// The mechanics shared by every rule (docs/rules.md section 5): deciding an item's status and
// decision date, finding its fulfilling event, and running a chain of recurring obligations.

#include <algorithm>

#include "projections/rules/rules.h"

namespace casewatch::rules::internal {

// What a rule knows about an item before looking for its fulfilment.
struct Obligation {
  Indicator indicator;
  Date due;
  int trigger;        // position of the trigger event
  Date trigger_date;  // the trigger's date (for victim_contact, the sentence date)
  int window_end;     // position of the event that closes the window, or -1
};

// Qualifying events must come before the window end.
inline int Limit(const CaseTimeline& tl, int window_end) {
  return window_end >= 0 ? window_end : tl.size();
}

// The obligation whose trigger is the event at `pos` and whose window is the case's.
inline Obligation TriggeredAt(const CaseTimeline& tl, Indicator indicator, int pos, Date due) {
  return Obligation{indicator, due, pos, tl.date(pos), tl.closing()};
}

// Status and decision date, given the fulfilling event's position (or -1).
Item Decide(const CaseTimeline& tl, const Obligation& o, int fulfilled_by);

// A judged-at-once item: MET (fulfilled by the event itself) or MISSED, decided on its date.
Item Judge(const CaseTimeline& tl, Indicator indicator, int pos, bool well_enough);

// The first event of `type` in [from, before) for which `qualifies(event)` holds, or -1.
template <class Pred>
int FirstWhere(const CaseTimeline& tl, EventType type, int from, int before, Pred qualifies) {
  auto positions = tl.Of(type);
  for (auto it = std::lower_bound(positions.begin(), positions.end(), from);
       it != positions.end() && *it < before; ++it) {
    if (qualifies(tl.event(*it))) return *it;
  }
  return -1;
}

// An obligation of every case, triggered by its opening and due `working_days` after it;
// `find(before)` returns the fulfilling position before `before` (the window end), or -1.
template <class Find>
void OpeningObligation(const CaseTimeline& tl, const RuleContext& ctx, Indicator indicator,
                       int working_days, const Find& find, Items& out) {
  const int open = tl.opening();
  const Obligation o =
      TriggeredAt(tl, indicator, open, ctx.calendar.AddWorkingDays(tl.date(open), working_days));
  out.push_back(Decide(tl, o, find(Limit(tl, o.window_end))));
}

// A chain: `first` is item 1, fulfilled by find(first_from, limit); once item k is fulfilled by f,
// item k+1 (indicator `rest`) is due add_days(date(f), period_days) and only events after f fulfil
// it. `find(from, before)` returns the first qualifying position in [from, before) or -1.
template <class Find>
void Chain(const CaseTimeline& tl, Obligation item, int first_from, int period_days, Indicator rest,
           const Find& find, Items& out) {
  const int before = Limit(tl, item.window_end);
  int from = first_from;
  while (true) {
    const int f = find(from, before);
    out.push_back(Decide(tl, item, f));
    if (f < 0) return;
    item.indicator = rest;
    item.trigger = f;
    item.trigger_date = tl.date(f);
    item.due = AddDays(item.trigger_date, period_days);
    from = f + 1;
  }
}

// A review obligation (plans, assessments, RMPs): a chain from the first `start` event (any time),
// plus one item per significant_change_recorded after it and while open. `is_start` and
// `is_review` pick the events of `type` that start the chain and that fulfil its items.
template <class IsStart, class IsReview>
void ReviewChain(const CaseTimeline& tl, const RuleContext& ctx, Indicator indicator,
                 EventType type, int period_days, IsStart is_start, IsReview is_review,
                 Items& out) {
  const int f0 = FirstWhere(tl, type, 0, tl.size(), is_start);
  if (f0 < 0) return;
  auto find_review = [&](int from, int before) {
    return FirstWhere(tl, type, from, before, is_review);
  };
  Chain(tl, TriggeredAt(tl, indicator, f0, AddDays(tl.date(f0), period_days)), f0 + 1, period_days,
        indicator, find_review, out);
  const int limit = Limit(tl, tl.closing());
  for (int s : tl.Of(EventType::kSignificantChangeRecorded)) {
    if (s <= f0 || !tl.WhileOpen(s)) continue;
    const Obligation change = TriggeredAt(
        tl, indicator, s, ctx.calendar.AddWorkingDays(tl.date(s), ctx.policy.change_review_wd));
    out.push_back(Decide(tl, change, find_review(tl.AtOrAfter(s), limit)));
  }
}

}  // namespace casewatch::rules::internal
