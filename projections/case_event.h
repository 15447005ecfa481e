#pragma once
// One case's events in the form the rules read: a compact, protobuf-free copy of the contract in
// docs/rules.md section 2. Enum values equal the protobuf enum numbers, so converting is a cast.
// Text a rule needs (allocation, appointment ids) lives in the owning CaseHistory.

#include <array>
#include <cstdint>
#include <string_view>

#include "projections/calendar.h"

namespace casewatch {

enum class EventType : uint8_t {
  kCaseOpened,
  kCaseAllocated,
  kCaseClosed,
  kPreSentenceReportCompleted,
  kAssessmentCompleted,
  kRoshScreeningCompleted,
  kRoshFullAnalysisCompleted,
  kRoshClassified,
  kSentencePlanCompleted,
  kRiskManagementPlanCompleted,
  kRegistrationAdded,
  kRegistrationRemoved,
  kAppointmentAttended,
  kAppointmentMissed,
  kAbsenceJudged,
  kWarningIssued,
  kBreachInstigated,
  kHomeVisitCompleted,
  kManagementOversightRecorded,
  kSignificantChangeRecorded,
  kSafeguardingCheckCompleted,
  kVictimContactOffered,
  kFurtherOffenceRecorded,
  kObligationMissed,  // derived; ignored by the rules
};
inline constexpr int kEventTypeCount = static_cast<int>(EventType::kObligationMissed) + 1;

// The payload's field name in docs/rules.md section 2.3, by type.
inline constexpr std::array<std::string_view, kEventTypeCount> kEventTypeNames = {
    "case_opened",
    "case_allocated",
    "case_closed",
    "pre_sentence_report_completed",
    "assessment_completed",
    "rosh_screening_completed",
    "rosh_full_analysis_completed",
    "rosh_classified",
    "sentence_plan_completed",
    "risk_management_plan_completed",
    "registration_added",
    "registration_removed",
    "appointment_attended",
    "appointment_missed",
    "absence_judged",
    "warning_issued",
    "breach_instigated",
    "home_visit_completed",
    "management_oversight_recorded",
    "significant_change_recorded",
    "safeguarding_check_completed",
    "victim_contact_offered",
    "further_offence_recorded",
    "obligation_missed",
};
inline std::string_view NameOf(EventType type) { return kEventTypeNames[static_cast<int>(type)]; }

enum class RoshLevel : uint8_t { kUnspecified, kLow, kMedium, kHigh, kVeryHigh };
enum class PlanKind : uint8_t { kUnspecified, kInitial, kReview };
enum class AssessmentKind : uint8_t { kUnspecified, kInitial, kReview, kTermination };
enum class RegistrationType : uint8_t { kUnspecified, kMappa, kChildProtection, kDomesticAbuse };
enum class SafeguardingCheck : uint8_t { kUnspecified, kChildrensServices, kPoliceDomesticAbuse };

// One accepted event, 32 bytes. `code` holds the payload's (first) enum field and `flag`/`flag2`
// its bool fields; read them through the typed accessors below. Text lives in the owning
// CaseHistory: `id` refers to the event id there, and `detail` to its side tables (allocations
// for case_opened/case_allocated, the appointment id for appointment events).
struct CaseEvent {
  Instant occurred_at;
  uint32_t id = 0;
  EventType type = EventType::kObligationMissed;
  uint8_t code = 0;
  bool flag = false;
  bool flag2 = false;
  uint32_t detail = 0;

  RoshLevel rosh_level() const { return static_cast<RoshLevel>(code); }
  PlanKind plan_kind() const { return static_cast<PlanKind>(code); }
  AssessmentKind assessment_kind() const { return static_cast<AssessmentKind>(code); }
  RegistrationType registration_type() const { return static_cast<RegistrationType>(code); }
  SafeguardingCheck safeguarding_check() const { return static_cast<SafeguardingCheck>(code); }

  // pre_sentence_report_completed
  bool includes_rosh() const { return flag; }
  bool includes_lor() const { return flag2; }
  // rosh_screening_completed
  bool full_analysis_required() const { return flag; }
  // risk_management_plan_completed
  bool addresses_victim_safety() const { return flag; }
  // absence_judged
  bool acceptable() const { return flag; }
  // significant_change_recorded
  bool risk_increased() const { return flag; }
};
static_assert(sizeof(CaseEvent) == 32);

}  // namespace casewatch
