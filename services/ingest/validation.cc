#include "services/ingest/validation.h"

#include <string>
#include <string_view>

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/unknown_field_set.h>

namespace casewatch::ingest {
namespace {

namespace pb = ::casewatch::events::v1;

constexpr size_t kMaxEventIdBytes = 128;
constexpr size_t kMaxCaseIdBytes = 64;
constexpr int64_t kMaxFutureSeconds = 24 * 60 * 60;

// Quotes `text` for a message, escaping bytes that would not print and shortening long values.
std::string Quoted(std::string_view text) {
  constexpr size_t kMaxShown = 80;
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > kMaxShown) out += "...";
  out += '"';
  return out;
}

bool IsCaseIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

Result<void> CheckTimestamp(const google::protobuf::Timestamp& t, std::string_view path) {
  const Instant instant{t.seconds(), t.nanos()};
  if (IsValidInstant(instant)) return Ok();
  if (t.nanos() < 0 || t.nanos() > 999'999'999) {
    return InvalidArgument(
        fmt::format("{} has nanos {}, outside [0, 999999999]", path, t.nanos()));
  }
  return InvalidArgument(fmt::format(
      "{} has seconds {}, outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59Z", path, t.seconds()));
}

// An enum field of a payload: required, so neither 0 (UNSPECIFIED) nor a number the schema lacks.
template <class IsValidFn>
Result<void> CheckEnum(int value, IsValidFn is_valid, const google::protobuf::EnumDescriptor* type,
                       std::string_view payload, std::string_view field) {
  if (value == 0) {
    return InvalidArgument(
        fmt::format("{}.{} is {}", payload, field, type->FindValueByNumber(0)->name()));
  }
  if (!is_valid(value)) {
    return InvalidArgument(fmt::format("{}.{}: enum value {} is not a known {}", payload, field,
                                       value, type->name()));
  }
  return Ok();
}

Result<void> CheckAppointmentId(const std::string& id, std::string_view payload) {
  if (id.empty()) return InvalidArgument(fmt::format("{}.appointment_id is empty", payload));
  return Ok();
}

// The name of the payload's oneof field, e.g. "rosh_classified".
std::string_view PayloadName(const pb::Envelope& envelope) {
  const auto* field = pb::Envelope::descriptor()->FindFieldByNumber(envelope.payload_case());
  return field == nullptr ? std::string_view("payload") : std::string_view(field->name());
}

Result<void> CheckPayload(const pb::Envelope& e, const ValidationOptions& options) {
  const std::string_view name = PayloadName(e);
  switch (e.payload_case()) {
    case pb::Envelope::kCaseOpened: {
      CW_TRY(CheckEnum(e.case_opened().case_type(), pb::CaseType_IsValid,
                       pb::CaseType_descriptor(), name, "case_type"));
      if (e.case_opened().has_sentence_date()) {
        return CheckTimestamp(e.case_opened().sentence_date(), "case_opened.sentence_date");
      }
      return Ok();
    }
    case pb::Envelope::kCaseClosed:
      return CheckEnum(e.case_closed().reason(), pb::ClosureReason_IsValid,
                       pb::ClosureReason_descriptor(), name, "reason");
    case pb::Envelope::kPreSentenceReportCompleted:
      return CheckEnum(e.pre_sentence_report_completed().report_type(), pb::ReportType_IsValid,
                       pb::ReportType_descriptor(), name, "report_type");
    case pb::Envelope::kAssessmentCompleted:
      return CheckEnum(e.assessment_completed().kind(), pb::AssessmentKind_IsValid,
                       pb::AssessmentKind_descriptor(), name, "kind");
    case pb::Envelope::kRoshClassified:
      return CheckEnum(e.rosh_classified().level(), pb::RoshLevel_IsValid,
                       pb::RoshLevel_descriptor(), name, "level");
    case pb::Envelope::kSentencePlanCompleted:
      return CheckEnum(e.sentence_plan_completed().kind(), pb::PlanKind_IsValid,
                       pb::PlanKind_descriptor(), name, "kind");
    case pb::Envelope::kRiskManagementPlanCompleted:
      return CheckEnum(e.risk_management_plan_completed().kind(), pb::PlanKind_IsValid,
                       pb::PlanKind_descriptor(), name, "kind");
    case pb::Envelope::kRegistrationAdded:
      return CheckEnum(e.registration_added().type(), pb::RegistrationType_IsValid,
                       pb::RegistrationType_descriptor(), name, "type");
    case pb::Envelope::kRegistrationRemoved:
      return CheckEnum(e.registration_removed().type(), pb::RegistrationType_IsValid,
                       pb::RegistrationType_descriptor(), name, "type");
    case pb::Envelope::kAppointmentAttended:
      return CheckAppointmentId(e.appointment_attended().appointment_id(), name);
    case pb::Envelope::kAppointmentMissed:
      return CheckAppointmentId(e.appointment_missed().appointment_id(), name);
    case pb::Envelope::kAbsenceJudged:
      return CheckAppointmentId(e.absence_judged().appointment_id(), name);
    case pb::Envelope::kBreachInstigated: {
      CW_TRY(CheckEnum(e.breach_instigated().kind(), pb::BreachKind_IsValid,
                       pb::BreachKind_descriptor(), name, "kind"));
      return CheckEnum(e.breach_instigated().reason(), pb::BreachReason_IsValid,
                       pb::BreachReason_descriptor(), name, "reason");
    }
    case pb::Envelope::kSafeguardingCheckCompleted:
      return CheckEnum(e.safeguarding_check_completed().kind(), pb::SafeguardingCheck_IsValid,
                       pb::SafeguardingCheck_descriptor(), name, "kind");
    case pb::Envelope::kFurtherOffenceRecorded:
      return CheckEnum(e.further_offence_recorded().kind(), pb::OffenceOutcome_IsValid,
                       pb::OffenceOutcome_descriptor(), name, "kind");
    case pb::Envelope::kObligationMissed:
      if (options.live) {
        return InvalidArgument(
            "obligation_missed is a derived event written by the engine; publishers may not send "
            "it");
      }
      if (e.obligation_missed().has_due()) {
        return CheckTimestamp(e.obligation_missed().due(), "obligation_missed.due");
      }
      return Ok();
    case pb::Envelope::kCaseAllocated:
    case pb::Envelope::kRoshScreeningCompleted:
    case pb::Envelope::kRoshFullAnalysisCompleted:
    case pb::Envelope::kWarningIssued:
    case pb::Envelope::kHomeVisitCompleted:
    case pb::Envelope::kManagementOversightRecorded:
    case pb::Envelope::kSignificantChangeRecorded:
    case pb::Envelope::kVictimContactOffered:
      return Ok();
    case pb::Envelope::PAYLOAD_NOT_SET:
      break;
  }
  // A newer publisher's payload arrives over binary as an unknown field where the oneof would be.
  const auto& unknown = e.GetReflection()->GetUnknownFields(e);
  if (unknown.field_count() > 0) {
    return InvalidArgument(fmt::format("unknown payload (field {})", unknown.field(0).number()));
  }
  return InvalidArgument("payload is missing");
}

}  // namespace

Result<void> ValidateEnvelope(const pb::Envelope& e, const ValidationOptions& options) {
  if (e.event_id().empty()) return InvalidArgument("event_id is missing");
  if (e.event_id().size() > kMaxEventIdBytes) {
    return InvalidArgument(fmt::format("event_id is {} bytes long; at most {} are allowed",
                                       e.event_id().size(), kMaxEventIdBytes));
  }
  if (e.case_id().empty()) return InvalidArgument("case_id is missing");
  if (e.case_id().size() > kMaxCaseIdBytes) {
    return InvalidArgument(fmt::format("case_id is {} bytes long; at most {} are allowed",
                                       e.case_id().size(), kMaxCaseIdBytes));
  }
  for (char c : e.case_id()) {
    if (!IsCaseIdChar(c)) {
      return InvalidArgument(
          fmt::format("case_id {} has characters outside [A-Za-z0-9_-]", Quoted(e.case_id())));
    }
  }
  if (!e.has_occurred_at()) return InvalidArgument("occurred_at is missing");
  CW_TRY(CheckTimestamp(e.occurred_at(), "occurred_at"));
  if (e.has_recorded_at()) {
    CW_TRY(CheckTimestamp(e.recorded_at(), "recorded_at"));
  }
  if (options.live) {
    const Instant occurred{e.occurred_at().seconds(), e.occurred_at().nanos()};
    const Instant limit{options.received_at.seconds + kMaxFutureSeconds,
                        options.received_at.nanos};
    if (occurred > limit) {
      return InvalidArgument(
          fmt::format("occurred_at {} is more than 24 hours after the receive time {}",
                      FormatInstant(occurred), FormatInstant(options.received_at)));
    }
  }
  return CheckPayload(e, options);
}

}  // namespace casewatch::ingest
