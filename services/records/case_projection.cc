#include "services/records/case_projection.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <span>

#include "projections/report_json.h"
#include "services/store/format.h"

namespace casewatch::records {
namespace {

constexpr int64_t kSecondsPerDay = 86400;

int64_t StartOfDay(Date date) { return static_cast<int64_t>(date.days) * kSecondsPerDay; }

// FNV-1a, 64 bits: a fixed, documented hash, so derived ids are the same on every build.
uint64_t Fnv1a(std::initializer_list<std::string_view> parts) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (std::string_view part : parts) {
    for (char c : part) {
      hash ^= static_cast<uint8_t>(c);
      hash *= 0x100000001b3ull;
    }
    hash ^= 0xff;  // separator: parts cannot run into each other
    hash *= 0x100000001b3ull;
  }
  return hash;
}

// Missed, unfulfilled and its window still open: an obligation still to be done.
bool IsOverdue(const Item& item) {
  return item.status == ItemStatus::kMissed && item.fulfilled_by < 0 && item.window_end < 0 &&
         !InfoOf(item.indicator).judged_at_once;
}

// The allocation from the opening event on, after each case_allocated up to the closing event
// (events after `as_of` are not in view).
void AddAllocationHistory(const CaseHistory& history, Instant as_of,
                          store::v1::CaseProjection& projection) {
  Allocation current;
  bool open = false;
  for (const CaseEvent& e : history.events()) {
    if (as_of < e.occurred_at) break;
    if (!open) {
      if (e.type != EventType::kCaseOpened) continue;
      open = true;
      current = history.allocation_of(e);
    } else if (e.type == EventType::kCaseClosed) {
      break;
    } else if (e.type == EventType::kCaseAllocated) {
      current.Overlay(history.allocation_of(e));
    } else {
      continue;
    }
    store::v1::AllocationFrom* from = projection.add_allocations();
    from->set_seconds(e.occurred_at.seconds);
    from->set_nanos(e.occurred_at.nanos);
    from->set_region(current.region);
    from->set_pdu(current.pdu);
    from->set_team(current.team);
    from->set_offender_manager(current.offender_manager);
  }
}

}  // namespace

std::optional<CaseEvaluation> EvaluationAt(const store::v1::CaseProjection& projection,
                                           Instant as_of,
                                           std::vector<const store::v1::StoredItem*>* sources) {
  const auto& allocations = projection.allocations();
  if (!projection.counted() || allocations.empty() ||
      as_of < Instant{allocations[0].seconds(), allocations[0].nanos()}) {
    return std::nullopt;
  }
  CaseEvaluation evaluation;
  const store::v1::AllocationFrom* then = &allocations[0];
  for (const store::v1::AllocationFrom& from : allocations) {
    if (as_of < Instant{from.seconds(), from.nanos()}) break;
    then = &from;
  }
  evaluation.allocation = AllocationOf(*then);
  evaluation.items.reserve(static_cast<size_t>(projection.items_size()));
  if (sources != nullptr) sources->clear();
  const Date today = DateOf(as_of);
  for (const store::v1::StoredItem& stored : projection.items()) {
    if (as_of < Instant{stored.created_seconds(), stored.created_nanos()}) continue;
    const auto indicator = static_cast<Indicator>(stored.indicator());
    Item item{indicator, static_cast<ItemStatus>(stored.status()), Date{stored.due()},
              Date{stored.decided_on()}};
    item.detail = static_cast<uint8_t>(stored.detail());
    const bool fulfilled_then =
        stored.has_fulfilled_seconds() &&
        !(as_of < Instant{stored.fulfilled_seconds(), stored.fulfilled_nanos()});
    const bool closed_then =
        stored.has_window_end_seconds() &&
        !(as_of < Instant{stored.window_end_seconds(), stored.window_end_nanos()});
    if (InfoOf(indicator).judged_at_once || fulfilled_then || closed_then) {
      // Decided by events in view then, as now.
    } else if (today > item.due) {
      item.status = ItemStatus::kMissed;
      item.decided_on = item.due + 1;
    } else {
      item.status = ItemStatus::kPending;
      item.decided_on = Date{};
    }
    // Positions mean nothing outside the evaluated history; only "fulfilled or not" survives.
    item.fulfilled_by = fulfilled_then ? 0 : -1;
    evaluation.items.push_back(item);
    if (sources != nullptr) sources->push_back(&stored);
  }
  return evaluation;
}

namespace {

// The latest RoSH level and the registrations in force at `as_of`.
void AddRiskAndRegistrations(std::span<const CaseEvent> events, Instant as_of,
                             store::v1::CaseProjection& projection) {
  RoshLevel level = RoshLevel::kUnspecified;
  uint32_t registrations = 0;
  for (const CaseEvent& e : events) {
    if (as_of < e.occurred_at) break;
    if (e.type == EventType::kRoshClassified) {
      level = e.rosh_level();
    } else if (e.type == EventType::kRegistrationAdded) {
      registrations |= store::format::RegistrationBit(e.registration_type());
    } else if (e.type == EventType::kRegistrationRemoved) {
      registrations &= ~store::format::RegistrationBit(e.registration_type());
    }
  }
  projection.set_rosh_level(static_cast<uint32_t>(level));
  projection.set_registrations(registrations);
}

}  // namespace

store::v1::CaseProjection ProjectCase(const CaseHistory& history, const CaseEvaluation* evaluation,
                                      Instant as_of) {
  store::v1::CaseProjection projection;
  int64_t next_change = std::numeric_limits<int64_t>::max();
  // The first event after `as_of` changes what the rules see when its time comes (rounded up to
  // a whole second, so that reaching it always includes it).
  const auto events = history.events();
  const auto later =
      std::upper_bound(events.begin(), events.end(), as_of,
                       [](const Instant& t, const CaseEvent& e) { return t < e.occurred_at; });
  if (later != events.end()) {
    next_change = later->occurred_at.seconds + (later->occurred_at.nanos > 0 ? 1 : 0);
  }
  if (evaluation != nullptr) {
    projection.set_counted(true);
    projection.set_region(evaluation->allocation.region);
    projection.set_pdu(evaluation->allocation.pdu);
    projection.set_team(evaluation->allocation.team);
    projection.set_offender_manager(evaluation->allocation.offender_manager);
    projection.set_timeline(true);
    AddAllocationHistory(history, as_of, projection);
    AddRiskAndRegistrations(events, as_of, projection);
    for (const Item& item : evaluation->items) {
      store::v1::StoredItem* stored = projection.add_items();
      const auto at = [&](int32_t position) { return events[position].occurred_at; };
      if (item.trigger >= 0) {
        stored->set_created_seconds(at(item.trigger).seconds);
        stored->set_created_nanos(at(item.trigger).nanos);
      }
      if (item.fulfilled_by >= 0) {
        stored->set_fulfilled_seconds(at(item.fulfilled_by).seconds);
        stored->set_fulfilled_nanos(at(item.fulfilled_by).nanos);
      }
      if (item.window_end >= 0) {
        stored->set_window_end_seconds(at(item.window_end).seconds);
        stored->set_window_end_nanos(at(item.window_end).nanos);
      }
      stored->set_indicator(static_cast<uint32_t>(item.indicator));
      if (item.detail != 0) stored->set_detail(item.detail);
      stored->set_status(static_cast<uint32_t>(item.status));
      stored->set_due(item.due.days);
      if (item.decided()) stored->set_decided_on(item.decided_on.days);
      if (item.fulfilled_by >= 0) {
        stored->set_fulfilled_by(std::string(history.event_id(events[item.fulfilled_by])));
      }
      if (IsOverdue(item)) stored->set_overdue(true);
      // A pending item turns MISSED when date(T) > due: at the start of the next day.
      if (item.status == ItemStatus::kPending) {
        next_change = std::min(next_change, StartOfDay(item.due + 1));
      }
    }
  }
  if (next_change != std::numeric_limits<int64_t>::max()) {
    projection.set_next_change_seconds(next_change);
  }
  return projection;
}

std::vector<MissedObligation> MissedObligations(const CaseHistory& history,
                                                const CaseEvaluation& evaluation) {
  std::vector<MissedObligation> missed;
  const auto events = history.events();
  for (const Item& item : evaluation.items) {
    if (!IsOverdue(item)) continue;
    missed.push_back(MissedObligation{
        item.indicator, item.due,
        item.trigger >= 0 ? std::string(history.event_id(events[item.trigger])) : std::string()});
  }
  return missed;
}

std::string ObligationMissedEventId(std::string_view case_id, const MissedObligation& missed) {
  const std::string due = FormatDate(missed.due);
  return fmt::format("missed-{:016x}",
                     Fnv1a({case_id, InfoOf(missed.indicator).id, due, missed.trigger_event_id}));
}

events::v1::Envelope ObligationMissedEvent(std::string_view case_id, const MissedObligation& missed,
                                           Instant recorded_at) {
  events::v1::Envelope envelope;
  envelope.set_event_id(ObligationMissedEventId(case_id, missed));
  envelope.set_case_id(std::string(case_id));
  envelope.mutable_occurred_at()->set_seconds(StartOfDay(missed.due + 1));
  envelope.mutable_recorded_at()->set_seconds(recorded_at.seconds);
  envelope.mutable_recorded_at()->set_nanos(recorded_at.nanos);
  envelope.set_source("casewatch");
  auto* payload = envelope.mutable_obligation_missed();
  payload->set_indicator(std::string(InfoOf(missed.indicator).id));
  payload->mutable_due()->set_seconds(StartOfDay(missed.due));
  return envelope;
}

void AddContribution(const store::v1::CaseProjection& projection, int sign,
                     store::v1::ScopeCounts& counts) {
  if (!projection.counted()) return;
  counts.set_cases(counts.cases() + sign);
  std::array<bool, kIndicatorCount> relevant{};
  std::array<bool, kIndicatorCount> all_met;
  all_met.fill(true);
  for (const store::v1::StoredItem& item : projection.items()) {
    const int i = static_cast<int>(item.indicator());
    store::v1::IndicatorCounts& c = *counts.mutable_indicators(i);
    switch (static_cast<ItemStatus>(item.status())) {
      case ItemStatus::kMet:
        c.set_met(c.met() + sign);
        break;
      case ItemStatus::kLate:
        c.set_late(c.late() + sign);
        break;
      case ItemStatus::kMissed:
        c.set_missed(c.missed() + sign);
        break;
      case ItemStatus::kCancelled:
        c.set_cancelled(c.cancelled() + sign);
        continue;
      case ItemStatus::kPending:
        c.set_pending(c.pending() + sign);
        continue;
    }
    relevant[i] = true;
    all_met[i] = all_met[i] && static_cast<ItemStatus>(item.status()) == ItemStatus::kMet;
  }
  for (int i = 0; i < kIndicatorCount; ++i) {
    if (!relevant[i]) continue;
    store::v1::IndicatorCounts& c = *counts.mutable_indicators(i);
    c.set_relevant_cases(c.relevant_cases() + sign);
    if (all_met[i]) c.set_met_cases(c.met_cases() + sign);
  }
}

store::v1::ScopeCounts EmptyScopeCounts(std::string_view region, std::string_view pdu,
                                        std::string_view team, std::string_view offender_manager) {
  store::v1::ScopeCounts counts;
  counts.set_region(std::string(region));
  counts.set_pdu(std::string(pdu));
  counts.set_team(std::string(team));
  counts.set_offender_manager(std::string(offender_manager));
  for (int i = 0; i < kIndicatorCount; ++i) counts.add_indicators();
  return counts;
}

void AddCounts(store::v1::ScopeCounts& sum, const store::v1::ScopeCounts& counts) {
  sum.set_cases(sum.cases() + counts.cases());
  for (int i = 0; i < std::min(counts.indicators_size(), sum.indicators_size()); ++i) {
    const store::v1::IndicatorCounts& in = counts.indicators(i);
    store::v1::IndicatorCounts& to = *sum.mutable_indicators(i);
    to.set_met(to.met() + in.met());
    to.set_late(to.late() + in.late());
    to.set_missed(to.missed() + in.missed());
    to.set_cancelled(to.cancelled() + in.cancelled());
    to.set_pending(to.pending() + in.pending());
    to.set_relevant_cases(to.relevant_cases() + in.relevant_cases());
    to.set_met_cases(to.met_cases() + in.met_cases());
  }
}

std::array<IndicatorScore, kIndicatorCount> TotalsOf(const store::v1::ScopeCounts& counts) {
  std::array<IndicatorScore, kIndicatorCount> totals{};
  for (int i = 0; i < kIndicatorCount && i < counts.indicators_size(); ++i) {
    const store::v1::IndicatorCounts& c = counts.indicators(i);
    totals[i].items = ItemCounts{c.met(), c.late(), c.missed(), c.cancelled(), c.pending()};
    totals[i].relevant_cases = c.relevant_cases();
    totals[i].met_cases = c.met_cases();
  }
  return totals;
}

CaseEvaluation EvaluationOf(const store::v1::CaseProjection& projection) {
  CaseEvaluation evaluation;
  evaluation.allocation = AllocationOf(projection);
  evaluation.items.reserve(projection.items_size());
  for (const store::v1::StoredItem& stored : projection.items()) {
    Item item{static_cast<Indicator>(stored.indicator()), static_cast<ItemStatus>(stored.status()),
              Date{stored.due()}, Date{stored.decided_on()}};
    // Positions mean nothing outside the evaluated history; only "fulfilled or not" survives.
    item.fulfilled_by = stored.fulfilled_by().empty() ? -1 : 0;
    item.detail = static_cast<uint8_t>(stored.detail());
    evaluation.items.push_back(item);
  }
  return evaluation;
}

void AppendCaseItems(std::string_view case_id, const store::v1::CaseProjection& projection,
                     std::vector<CaseItemRow>& rows) {
  const CaseEvaluation evaluation = EvaluationOf(projection);
  for (int i = 0; i < projection.items_size(); ++i) {
    rows.push_back(
        CaseItemRow{std::string(case_id), evaluation.items[i], projection.items(i).fulfilled_by()});
  }
}

}  // namespace casewatch::records
