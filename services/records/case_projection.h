#pragma once
// From a case's history to what the engine stores about it: its items as of T (a
// store::v1::CaseProjection), the instant they can next change without a new event, the
// obligations that have just been missed, and the case's contribution to its allocation's counts.
// Pure functions over projections/ types and the stored-record protos; no I/O.

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "casewatch/events/v1/events.pb.h"
#include "casewatch/store/v1/records.pb.h"
#include "projections/evaluation.h"
#include "projections/report_json.h"
#include "projections/scores.h"

namespace casewatch::records {

// The projection of `evaluation` (nullptr: the case is not counted at `as_of`). `history` must
// be the sealed history that was evaluated.
store::v1::CaseProjection ProjectCase(const CaseHistory& history, const CaseEvaluation* evaluation,
                                      Instant as_of);

// An item that has passed its due date unfulfilled with its window open (docs/rules.md section 2.4,
// obligation_missed): not for judged-at-once items.
struct MissedObligation {
  Indicator indicator;
  Date due;
  std::string trigger_event_id;
};
// The case as of an instant no later than the one `projection` was evaluated at, from the
// instants its items and allocations carry (projection.timeline()): exactly what evaluating the
// case's events at `as_of` gives, since the events in view then are a prefix of those in view at
// the projection's instant. nullopt when the case was not counted then. `sources` (optional)
// gets each returned item's stored item (its fulfilling event id when fulfilled then).
std::optional<CaseEvaluation> EvaluationAt(
    const store::v1::CaseProjection& projection, Instant as_of,
    std::vector<const store::v1::StoredItem*>* sources = nullptr);

std::vector<MissedObligation> MissedObligations(const CaseHistory& history,
                                                const CaseEvaluation& evaluation);

// The deterministic event id of the obligation_missed event for one item of one case, so that
// re-deriving it (after a crash, in a rebuild) never records it twice.
std::string ObligationMissedEventId(std::string_view case_id, const MissedObligation& missed);

// The obligation_missed event itself: occurred at the start of the day after the due date.
events::v1::Envelope ObligationMissedEvent(std::string_view case_id, const MissedObligation& missed,
                                           Instant recorded_at);

// Adds (sign +1) or removes (sign -1) a counted case's items in `counts`, as a report with an
// unbounded period at the projection instant counts them: every decided item, every pending one.
void AddContribution(const store::v1::CaseProjection& projection, int sign,
                     store::v1::ScopeCounts& counts);

// Counts for one allocation, every indicator present, all zero.
store::v1::ScopeCounts EmptyScopeCounts(std::string_view region, std::string_view pdu,
                                        std::string_view team, std::string_view offender_manager);

// Adds `counts`' cases and items to `sum` (whose allocation stays as it is).
void AddCounts(store::v1::ScopeCounts& sum, const store::v1::ScopeCounts& counts);

// The stored counts as a report's per-indicator totals (for ReportBuilder::AddTotals).
std::array<IndicatorScore, kIndicatorCount> TotalsOf(const store::v1::ScopeCounts& counts);

// A stored projection in the form ReportBuilder and the case-items rows take.
CaseEvaluation EvaluationOf(const store::v1::CaseProjection& projection);
void AppendCaseItems(std::string_view case_id, const store::v1::CaseProjection& projection,
                     std::vector<CaseItemRow>& rows);

// The allocation of any record with the four allocation fields (a projection, its allocation
// history, per-allocation counts, an alert).
template <class Record>
Allocation AllocationOf(const Record& r) {
  return Allocation{r.region(), r.pdu(), r.team(), r.offender_manager()};
}

}  // namespace casewatch::records
