#pragma once
// An inspection: what `casewatch inspect` finds in a history as of a date, as data. One pass over
// every case (InspectionBuilder::AddCase) gives the report of the scope (exactly what `casewatch
// replay` gives for the same inputs), the same split by the level below the scope, month by
// month, against an earlier date and under another policy; a second, short pass over the cases
// drawn (AddSampledCase) gives the case sample, each case judged as an inspector reading its file
// would judge it. The renderers (report_json.h, report_csv.h, report_html.h) only format this.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "projections/evaluation.h"
#include "projections/labels.h"
#include "projections/report_json.h"
#include "projections/scores.h"

namespace casewatch::inspection {

// How the case sample is drawn, as an inspectorate draws one: cases that started within a window
// and have been supervised for at least a minimum time by the as-of date, spread across delivery
// units in proportion to their eligible cases (every unit gets one when the sample is at least as
// large as the number of units), and within a unit by a pseudo-random order fixed by the seed.
struct SampleCriteria {
  int size = 0;  // 0: no sample
  uint64_t seed = 1;
  Date started_from;  // opening dates in [started_from, started_to]
  Date started_to;
  int min_supervised_days = 270;  // from opening to closing, or to the as-of date if still open
};

struct InspectionRequest {
  Instant as_of;
  Period period;  // decisions counted in the scores
  Scope scope;
  Policy policy;
  std::optional<Instant> compare_as_of;  // the previous inspection: same scope and policy
  std::optional<Policy> compare_policy;  // "what if the standard had been...": same date
  SampleCriteria sample;
  int late_record_days = 5;  // a record is late when recorded more than this after it occurred
  int months = 12;           // months shown in the trend charts (ending with the period's end)
  int64_t min_cases = kDefaultMinCases;  // a score on fewer relevant cases is "too few to rate"
  std::string source;        // where the history came from, for the annex
};

// The period a comparison at `compare_as_of` uses: the inspection's period moved back by the
// same number of days (still unbounded when the inspection's is).
Period ComparisonPeriod(const Period& period, Instant as_of, Instant compare_as_of);

// One unit one level below the scope (a delivery unit of a region, a team of a PDU...).
struct GroupReport {
  std::string name;
  Report report;
};

// Changes in one indicator's case verdicts between two evaluations of the same cases, from the
// first to the second (a case's verdict: not relevant, done well enough (every decided item MET),
// or not).
struct VerdictShift {
  int64_t now_met = 0;         // not done well enough in the first, done well enough in the second
  int64_t now_not_met = 0;     // done well enough in the first, not in the second
  int64_t now_relevant = 0;    // not relevant in the first, relevant in the second
  int64_t now_irrelevant = 0;  // relevant in the first, not in the second
};

// A second evaluation of the same history, set against the inspection's. For an earlier
// inspection the deltas are progress: now minus then. For another policy they are what would
// change: under the other policy minus under the inspection's.
struct Comparison {
  enum class Kind { kEarlierInspection, kOtherPolicy };
  Kind kind = Kind::kEarlierInspection;
  std::string label;  // "as of 2023-12-31" / "under policy \"strict\""
  Report baseline;    // the other evaluation's report (same scope)
  std::array<std::optional<double>, kIndicatorCount> indicator_delta{};  // null when either is
  std::array<std::optional<double>, kOutcomeCount> outcome_delta{};
  // kOtherPolicy only (the same cases judged twice): how the verdicts would move, from the
  // inspection's policy to the other.
  std::array<VerdictShift, kIndicatorCount> shifts{};
  std::vector<PolicySetting> baseline_settings;  // kOtherPolicy: the keys that differ, its values
  std::vector<PolicySetting> current_settings;   // ... and the inspection's values for them
};

struct TimelineEntry {
  Instant occurred_at;
  std::string event_id;
  std::string type;    // the payload's field name in docs/rules.md section 2.3, e.g. "home_visit_completed"
  std::string detail;  // its content in words, e.g. "RoSH HIGH", "plan REVIEW", "unacceptable"
};

struct SampledCase {
  std::string case_id;
  Allocation allocation;  // at the as-of date
  Date opened;
  std::optional<Date> closed;  // when closed by the as-of date
  int supervised_days = 0;
  std::string rosh_level;  // latest classification by the as-of date ("" none)
  // Every item of the case as of the as-of date, sorted as "case_items" are.
  std::vector<CaseItemRow> items;
  // Over its whole supervision to the as-of date: per indicator, null when nothing was decided,
  // else whether every decided item was MET; per outcome, the share of its relevant indicators
  // done well enough.
  std::array<std::optional<bool>, kIndicatorCount> well_enough{};
  std::array<std::optional<double>, kOutcomeCount> outcome_scores{};
  std::vector<TimelineEntry> timeline;  // events occurred by the as-of date, in case order
  int64_t late_records = 0;
};

struct UnitDraw {
  std::string pdu;
  int64_t eligible = 0;
  int64_t drawn = 0;
};

struct SampleDraw {
  SampleCriteria criteria;
  int64_t eligible = 0;
  std::vector<UnitDraw> units;  // by PDU name
};

struct Finding {
  Outcome outcome;
  std::optional<Indicator> indicator;
  std::string text;
};

struct RejectedReason {
  std::string reason;  // the rejection message with ids and numbers taken out
  int64_t count = 0;
  std::string example;  // one full message
};

struct DataQuality {
  int64_t accepted = 0;            // events accepted (the whole history, every scope)
  int64_t duplicates = 0;          // identical re-sends ignored
  bool duplicates_counted = true;  // false when the source keeps no count (an engine's store)
  int64_t rejected = 0;            // invalid or conflicting records
  std::vector<RejectedReason> rejected_reasons;  // most frequent first
  // Events of the cases in scope that occurred by the as-of date.
  int64_t events_in_view = 0;
  int64_t late_records = 0;          // of those, recorded more than late_record_days late
  int64_t recorded_after_as_of = 0;  // of those, recorded only after the as-of date
};

struct Inspection {
  InspectionRequest request;
  std::vector<PolicySetting> policy_settings;
  Report report;                    // the scope's report: `casewatch replay`'s, to the item
  std::string group_level;          // "region", "pdu", "team", "offender_manager" or ""
  std::vector<GroupReport> groups;  // by name
  std::vector<Report> monthly;      // one per calendar month, oldest first
  std::vector<Comparison> comparisons;
  SampleDraw draw;
  Report sample_report;             // the sampled cases only, every decision to the as-of date
  std::vector<SampledCase> sample;  // by case id
  std::vector<Finding> strengths;
  std::vector<Finding> improvements;
  DataQuality quality;
  // When no case is in the scope: the allocations of the cases outside it (CheckScopeIsKnown).
  std::vector<Allocation> known_allocations;
};

class InspectionBuilder {
 public:
  explicit InspectionBuilder(InspectionRequest request);
  ~InspectionBuilder();
  InspectionBuilder(const InspectionBuilder&) = delete;
  InspectionBuilder& operator=(const InspectionBuilder&) = delete;

  // The intake: what was accepted, ignored and rejected, with each rejection's message.
  void AddIntake(int64_t accepted, int64_t duplicates);
  void AddRejection(std::string_view message);
  // One accepted event's instants (any order, before or after its case's AddCase).
  void AddRecord(std::string_view case_id, Instant occurred_at, Instant recorded_at);

  // Pass 1: every case once, sealed.
  void AddCase(const CaseHistory& history);
  // After pass 1: the ids of the cases drawn, sorted.
  std::vector<std::string> DrawSample();
  // Pass 2: each drawn case's history.
  void AddSampledCase(const CaseHistory& history);

  Inspection Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace casewatch::inspection
