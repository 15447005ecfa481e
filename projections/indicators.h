#pragma once
// The indicators, outcomes and item statuses of docs/rules.md sections 2 and 3, and the Item an
// indicator produces. Table order is report order.

#include <array>
#include <cstdint>
#include <string_view>

#include "projections/calendar.h"

namespace casewatch {

enum class Outcome : uint8_t { kSentencing, kDelivery, kReoffending, kPublicProtection, kVictims };
inline constexpr int kOutcomeCount = 5;

enum class Indicator : uint8_t {
  kPsrQuality,
  kPromptStart,
  kInitialSentencePlan,
  kSentencePlanReview,
  kAbsenceJudged,
  kEnforcement,
  kInitialAssessment,
  kAssessmentReview,
  kRoshScreening,
  kRoshFullAnalysis,
  kRmpInitial,
  kRmpReview,
  kRiskResponse,
  kHomeVisitInitial,
  kHomeVisitRepeat,
  kManagementOversight,
  kSafeguardingChecks,
  kVictimContact,
  kRmpVictimSafety,
};
inline constexpr int kIndicatorCount = 19;

struct IndicatorInfo {
  std::string_view id;
  Outcome outcome;
  bool judged_at_once;  // a judgement of one event: MET or MISSED at once
};

inline constexpr std::array<IndicatorInfo, kIndicatorCount> kIndicators = {{
    {"psr_quality", Outcome::kSentencing, true},
    {"prompt_start", Outcome::kDelivery, false},
    {"initial_sentence_plan", Outcome::kDelivery, false},
    {"sentence_plan_review", Outcome::kDelivery, false},
    {"absence_judged", Outcome::kDelivery, false},
    {"enforcement", Outcome::kDelivery, false},
    {"initial_assessment", Outcome::kReoffending, false},
    {"assessment_review", Outcome::kReoffending, false},
    {"rosh_screening", Outcome::kPublicProtection, false},
    {"rosh_full_analysis", Outcome::kPublicProtection, false},
    {"rmp_initial", Outcome::kPublicProtection, false},
    {"rmp_review", Outcome::kPublicProtection, false},
    {"risk_response", Outcome::kPublicProtection, false},
    {"home_visit_initial", Outcome::kPublicProtection, false},
    {"home_visit_repeat", Outcome::kPublicProtection, false},
    {"management_oversight", Outcome::kPublicProtection, false},
    {"safeguarding_checks", Outcome::kPublicProtection, false},
    {"victim_contact", Outcome::kVictims, false},
    {"rmp_victim_safety", Outcome::kVictims, true},
}};

inline constexpr std::array<std::string_view, kOutcomeCount> kOutcomeNames = {
    "SENTENCING", "DELIVERY", "REOFFENDING", "PUBLIC_PROTECTION", "VICTIMS"};

inline const IndicatorInfo& InfoOf(Indicator i) { return kIndicators[static_cast<int>(i)]; }
inline std::string_view NameOf(Outcome o) { return kOutcomeNames[static_cast<int>(o)]; }

enum class ItemStatus : uint8_t { kMet, kLate, kMissed, kCancelled, kPending };

inline constexpr std::array<std::string_view, 5> kStatusNames = {"MET", "LATE", "MISSED",
                                                                 "CANCELLED", "PENDING"};
inline std::string_view NameOf(ItemStatus s) { return kStatusNames[static_cast<int>(s)]; }

// One obligation (or judgement) of one case, as of an evaluation time. Event positions index the
// case's sealed history (CaseHistory::events()).
struct Item {
  Indicator indicator;
  ItemStatus status;
  Date due;
  Date decided_on;            // meaningful unless status is kPending
  int32_t fulfilled_by = -1;  // position of the fulfilling event, or -1
  int32_t trigger = -1;       // position of the event that created the item
  int32_t window_end = -1;    // position of the event that closed its window, or -1
  // Which of an indicator's kinds the item is, where it has kinds: a safeguarding_checks item's
  // SafeguardingCheck (case_event.h). 0 otherwise. Not part of the report; named to staff.
  uint8_t detail = 0;

  bool decided() const { return status != ItemStatus::kPending; }
};

}  // namespace casewatch
