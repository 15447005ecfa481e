#include "services/simulator/simulated_event.h"

#include <fmt/format.h>

namespace casewatch::simulator {
namespace {

namespace v1 = ::casewatch::events::v1;

constexpr const char* kDescriptions[] = {
    "Lost accommodation",
    "New intimate relationship",
    "Relapse into drug use",
    "Relapse into alcohol misuse",
    "Employment ended",
    "Moved address",
    "Police call-out to a domestic incident",
    "Arrested and released under investigation",
    "Bereavement in the family",
    "Contact with children resumed",
    "Mental health crisis",
    "Started a training course",
};

void SetTimestamp(int64_t seconds, google::protobuf::Timestamp* out) {
  out->set_seconds(seconds);
  out->set_nanos(0);
}

}  // namespace

const char* SignificantChangeDescription(uint32_t index) { return kDescriptions[index]; }
uint32_t SignificantChangeDescriptionCount() {
  return static_cast<uint32_t>(sizeof(kDescriptions) / sizeof(kDescriptions[0]));
}

void AppendCaseId(const SimulatedEvent& event, const Organisation& org, std::string& out) {
  out += org.pdus[event.home_pdu].code;
  fmt::format_to(std::back_inserter(out), "-{:06d}", event.case_number);
}

void AppendEventId(const SimulatedEvent& event, const Organisation& org, std::string& out) {
  AppendCaseId(event, org, out);
  fmt::format_to(std::back_inserter(out), "-{:04d}", event.sequence);
}

void AppendAppointmentId(const SimulatedEvent& event, const Organisation& org, std::string& out) {
  AppendCaseId(event, org, out);
  fmt::format_to(std::back_inserter(out), "-a{}", event.value);
}

const char* SourceOf(EventType kind) {
  switch (kind) {
    case EventType::kAssessmentCompleted:
    case EventType::kRoshScreeningCompleted:
    case EventType::kRoshFullAnalysisCompleted:
    case EventType::kRoshClassified:
    case EventType::kSentencePlanCompleted:
    case EventType::kRiskManagementPlanCompleted:
      return "oasys";
    default:
      return "delius";
  }
}

int64_t SentenceSeconds(const SimulatedEvent& event) {
  int64_t day = event.occurred_seconds / 86400 - event.detail2;
  return day * 86400 + 10 * 3600;
}

v1::Envelope ToEnvelope(const SimulatedEvent& event, const Organisation& org) {
  v1::Envelope envelope;
  AppendEventId(event, org, *envelope.mutable_event_id());
  AppendCaseId(event, org, *envelope.mutable_case_id());
  SetTimestamp(event.occurred_seconds, envelope.mutable_occurred_at());
  SetTimestamp(event.recorded_seconds, envelope.mutable_recorded_at());
  envelope.set_source(SourceOf(event.kind));
  if (event.flags & kFlagManager) {
    envelope.set_actor(org.teams[event.actor].manager);
  } else {
    envelope.set_actor(org.practitioners[event.actor].id);
  }
  const bool first = (event.flags & kFlagFirst) != 0;
  const bool second = (event.flags & kFlagSecond) != 0;
  switch (event.kind) {
    case EventType::kCaseOpened: {
      v1::CaseOpened* p = envelope.mutable_case_opened();
      const Practitioner& om = org.practitioners[event.value];
      const Team& team = org.teams[om.team];
      const Pdu& pdu = org.pdus[team.pdu];
      p->set_case_type(static_cast<v1::CaseType>(event.detail));
      p->set_region(org.regions[pdu.region].name);
      p->set_pdu(pdu.name);
      p->set_team(team.code);
      p->set_offender_manager(om.id);
      p->set_victim_contact_required(first);
      if (event.flags & kFlagSentenceDate) {
        SetTimestamp(SentenceSeconds(event), p->mutable_sentence_date());
      }
      break;
    }
    case EventType::kCaseAllocated: {
      v1::CaseAllocated* p = envelope.mutable_case_allocated();
      const Practitioner& om = org.practitioners[event.value];
      if (!(event.flags & kFlagOnlyOffenderManager)) {
        const Team& team = org.teams[om.team];
        const Pdu& pdu = org.pdus[team.pdu];
        p->set_region(org.regions[pdu.region].name);
        p->set_pdu(pdu.name);
        p->set_team(team.code);
      }
      p->set_offender_manager(om.id);
      break;
    }
    case EventType::kCaseClosed:
      envelope.mutable_case_closed()->set_reason(static_cast<v1::ClosureReason>(event.detail));
      break;
    case EventType::kPreSentenceReportCompleted: {
      v1::PreSentenceReportCompleted* p = envelope.mutable_pre_sentence_report_completed();
      p->set_report_type(static_cast<v1::ReportType>(event.detail));
      p->set_includes_rosh(first);
      p->set_includes_lor(second);
      break;
    }
    case EventType::kAssessmentCompleted:
      envelope.mutable_assessment_completed()->set_kind(
          static_cast<v1::AssessmentKind>(event.detail));
      break;
    case EventType::kRoshScreeningCompleted:
      envelope.mutable_rosh_screening_completed()->set_full_analysis_required(first);
      break;
    case EventType::kRoshFullAnalysisCompleted:
      envelope.mutable_rosh_full_analysis_completed();
      break;
    case EventType::kRoshClassified:
      envelope.mutable_rosh_classified()->set_level(static_cast<v1::RoshLevel>(event.detail));
      break;
    case EventType::kSentencePlanCompleted:
      envelope.mutable_sentence_plan_completed()->set_kind(static_cast<v1::PlanKind>(event.detail));
      break;
    case EventType::kRiskManagementPlanCompleted: {
      v1::RiskManagementPlanCompleted* p = envelope.mutable_risk_management_plan_completed();
      p->set_kind(static_cast<v1::PlanKind>(event.detail));
      p->set_addresses_victim_safety(first);
      break;
    }
    case EventType::kRegistrationAdded:
      envelope.mutable_registration_added()->set_type(
          static_cast<v1::RegistrationType>(event.detail));
      break;
    case EventType::kRegistrationRemoved:
      envelope.mutable_registration_removed()->set_type(
          static_cast<v1::RegistrationType>(event.detail));
      break;
    case EventType::kAppointmentAttended:
      AppendAppointmentId(event, org,
                          *envelope.mutable_appointment_attended()->mutable_appointment_id());
      break;
    case EventType::kAppointmentMissed:
      AppendAppointmentId(event, org,
                          *envelope.mutable_appointment_missed()->mutable_appointment_id());
      break;
    case EventType::kAbsenceJudged: {
      v1::AbsenceJudged* p = envelope.mutable_absence_judged();
      AppendAppointmentId(event, org, *p->mutable_appointment_id());
      p->set_acceptable(first);
      break;
    }
    case EventType::kWarningIssued:
      envelope.mutable_warning_issued();
      break;
    case EventType::kBreachInstigated: {
      v1::BreachInstigated* p = envelope.mutable_breach_instigated();
      p->set_kind(static_cast<v1::BreachKind>(event.detail));
      p->set_reason(static_cast<v1::BreachReason>(event.detail2));
      break;
    }
    case EventType::kHomeVisitCompleted:
      envelope.mutable_home_visit_completed();
      break;
    case EventType::kManagementOversightRecorded:
      envelope.mutable_management_oversight_recorded();
      break;
    case EventType::kSignificantChangeRecorded: {
      v1::SignificantChangeRecorded* p = envelope.mutable_significant_change_recorded();
      p->set_risk_increased(first);
      p->set_description(SignificantChangeDescription(event.value));
      break;
    }
    case EventType::kSafeguardingCheckCompleted:
      envelope.mutable_safeguarding_check_completed()->set_kind(
          static_cast<v1::SafeguardingCheck>(event.detail));
      break;
    case EventType::kVictimContactOffered:
      envelope.mutable_victim_contact_offered();
      break;
    case EventType::kFurtherOffenceRecorded:
      envelope.mutable_further_offence_recorded()->set_kind(
          static_cast<v1::OffenceOutcome>(event.detail));
      break;
    case EventType::kObligationMissed:  // derived: the engine writes it, the simulator never does
      break;
  }
  return envelope;
}

}  // namespace casewatch::simulator
