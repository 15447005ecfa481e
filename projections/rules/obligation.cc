#include "projections/rules/internal/obligation.h"

namespace casewatch::rules::internal {

Item Decide(const CaseTimeline& tl, const Obligation& o, int fulfilled_by) {
  Item item{.indicator = o.indicator,
            .status = ItemStatus::kPending,
            .due = o.due,
            .decided_on = {},
            .fulfilled_by = fulfilled_by,
            .trigger = o.trigger,
            .window_end = o.window_end};
  if (fulfilled_by >= 0) {
    const Date done = tl.date(fulfilled_by);
    if (done <= o.due) {
      item.status = ItemStatus::kMet;
      item.decided_on = std::max(done, o.trigger_date);
    } else {
      item.status = ItemStatus::kLate;
      item.decided_on = o.due + 1;
    }
  } else if (o.window_end >= 0) {
    const Date ended = tl.date(o.window_end);
    if (ended <= o.due) {
      item.status = ItemStatus::kCancelled;
      item.decided_on = ended;
    } else {
      item.status = ItemStatus::kMissed;
      item.decided_on = o.due + 1;
    }
  } else if (tl.as_of_date() > o.due) {
    item.status = ItemStatus::kMissed;
    item.decided_on = o.due + 1;
  }
  return item;
}

Item Judge(const CaseTimeline& tl, Indicator indicator, int pos, bool well_enough) {
  const Date date = tl.date(pos);
  return Item{.indicator = indicator,
              .status = well_enough ? ItemStatus::kMet : ItemStatus::kMissed,
              .due = date,
              .decided_on = date,
              .fulfilled_by = well_enough ? pos : -1,
              .trigger = pos,
              .window_end = -1};
}

}  // namespace casewatch::rules::internal
