#include "services/simulator/event_writer.h"

#include <fmt/format.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/delimited_message_util.h>

#include <cerrno>
#include <cstring>

namespace casewatch::simulator {
namespace {

constexpr size_t kFlushBytes = 1 << 20;

void AppendTwo(std::string& out, uint32_t value) {
  out += static_cast<char>('0' + value / 10);
  out += static_cast<char>('0' + value % 10);
}

// "2013-04-02T09:30:00Z": whole seconds, so no fraction (protobuf's form).
void AppendTimestamp(std::string& out, int64_t seconds) {
  int64_t days = seconds / 86400;
  int64_t rest = seconds % 86400;
  if (rest < 0) {
    rest += 86400;
    --days;
  }
  const CivilDate civil = CivilFromDate(Date{static_cast<int32_t>(days)});
  out += '"';
  const auto year = static_cast<uint32_t>(civil.year);
  AppendTwo(out, year / 100);
  AppendTwo(out, year % 100);
  out += '-';
  AppendTwo(out, civil.month);
  out += '-';
  AppendTwo(out, civil.day);
  out += 'T';
  AppendTwo(out, static_cast<uint32_t>(rest / 3600));
  out += ':';
  AppendTwo(out, static_cast<uint32_t>(rest / 60 % 60));
  out += ':';
  AppendTwo(out, static_cast<uint32_t>(rest % 60));
  out += "Z\"";
}

// The simulator's strings are plain ASCII from fixed tables; escape defensively anyway.
void AppendString(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
    } else {
      out += c;
    }
  }
  out += '"';
}

void AppendKey(std::string& out, std::string_view key) {
  out += '"';
  out += key;
  out += "\":";
}

const char* const kCaseTypes[] = {"", "CASE_TYPE_COMMUNITY_ORDER",
                                  "CASE_TYPE_SUSPENDED_SENTENCE_ORDER", "CASE_TYPE_LICENCE"};
const char* const kClosureReasons[] = {"",
                                       "CLOSURE_REASON_COMPLETED",
                                       "CLOSURE_REASON_REVOKED",
                                       "CLOSURE_REASON_TRANSFERRED_OUT",
                                       "CLOSURE_REASON_DIED",
                                       "CLOSURE_REASON_OTHER"};
const char* const kReportTypes[] = {"", "REPORT_TYPE_ORAL", "REPORT_TYPE_WRITTEN"};
const char* const kAssessmentKinds[] = {"", "ASSESSMENT_KIND_INITIAL", "ASSESSMENT_KIND_REVIEW",
                                        "ASSESSMENT_KIND_TERMINATION"};
const char* const kRoshLevels[] = {"", "ROSH_LEVEL_LOW", "ROSH_LEVEL_MEDIUM", "ROSH_LEVEL_HIGH",
                                   "ROSH_LEVEL_VERY_HIGH"};
const char* const kPlanKinds[] = {"", "PLAN_KIND_INITIAL", "PLAN_KIND_REVIEW"};
const char* const kRegistrationTypes[] = {"", "REGISTRATION_TYPE_MAPPA",
                                          "REGISTRATION_TYPE_CHILD_PROTECTION",
                                          "REGISTRATION_TYPE_DOMESTIC_ABUSE"};
const char* const kBreachKinds[] = {"", "BREACH_KIND_BREACH", "BREACH_KIND_RECALL"};
const char* const kBreachReasons[] = {"", "BREACH_REASON_NON_COMPLIANCE",
                                      "BREACH_REASON_RISK_ESCALATION"};
const char* const kSafeguardingChecks[] = {"", "SAFEGUARDING_CHECK_CHILDRENS_SERVICES",
                                           "SAFEGUARDING_CHECK_POLICE_DOMESTIC_ABUSE"};
const char* const kOffenceOutcomes[] = {"", "OFFENCE_OUTCOME_CAUTION", "OFFENCE_OUTCOME_CHARGE",
                                        "OFFENCE_OUTCOME_CONVICTION"};

// {"key":"ENUM_NAME"}
void AppendEnumPayload(std::string& out, std::string_view payload, std::string_view field,
                       const char* name) {
  AppendKey(out, payload);
  out += "{\"";
  out += field;
  out += "\":\"";
  out += name;
  out += "\"}";
}

void AppendAppointmentPayload(std::string& out, std::string_view payload,
                              const SimulatedEvent& event, const Organisation& org,
                              const char* extra) {
  AppendKey(out, payload);
  out += "{\"appointmentId\":\"";
  AppendAppointmentId(event, org, out);
  out += '"';
  out += extra;
  out += '}';
}

void AppendAllocation(std::string& out, const Organisation& org, uint32_t practitioner,
                      bool only_offender_manager) {
  const Practitioner& om = org.practitioners[practitioner];
  const Team& team = org.teams[om.team];
  const Pdu& pdu = org.pdus[team.pdu];
  if (!only_offender_manager) {
    AppendKey(out, "region");
    AppendString(out, org.regions[pdu.region].name);
    out += ",\"pdu\":";
    AppendString(out, pdu.name);
    out += ",\"team\":";
    AppendString(out, team.code);
    out += ',';
  }
  AppendKey(out, "offenderManager");
  AppendString(out, om.id);
}

// Buffers the output and writes it in large blocks; a subclass appends one event's bytes.
class BufferedWriter : public EventWriter {
 public:
  Result<void> Write(const SimulatedEvent& event) final {
    Append(event, buffer_);
    if (buffer_.size() >= kFlushBytes) return Flush();
    return Ok();
  }

  Result<void> Finish() final {
    CW_TRY(Flush());
    if (std::fflush(file_) != 0)
      return IoError(fmt::format("write failed: {}", std::strerror(errno)));
    return Ok();
  }

 public:
  BufferedWriter(std::FILE* file, const Organisation& org) : file_(file), org_(org) {
    buffer_.reserve(kFlushBytes + 4096);
  }

 protected:
  const Organisation& org() const { return org_; }
  virtual void Append(const SimulatedEvent& event, std::string& out) = 0;

 private:
  Result<void> Flush() {
    if (!buffer_.empty() &&
        std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
      return IoError(fmt::format("write failed: {}", std::strerror(errno)));
    }
    buffer_.clear();
    return Ok();
  }

  std::FILE* file_;
  const Organisation& org_;
  std::string buffer_;
};

class NdjsonWriter final : public BufferedWriter {
 public:
  using BufferedWriter::BufferedWriter;

 private:
  void Append(const SimulatedEvent& event, std::string& out) override {
    AppendJson(event, org(), out);
    out += '\n';
  }
};

// Protobuf wire format, written by hand for speed. Fields go out in field-number order with
// proto3 defaults (false, 0, "") left out, as protobuf's own serializer does, so the bytes are
// the same (see AppendDelimited's test).
void PutVarint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out += static_cast<char>((value & 0x7f) | 0x80);
    value >>= 7;
  }
  out += static_cast<char>(value);
}
void PutTag(std::string& out, uint32_t field, uint32_t wire_type) {
  PutVarint(out, (field << 3) | wire_type);
}
void PutVarintField(std::string& out, uint32_t field, uint64_t value) {
  if (value == 0) return;
  PutTag(out, field, 0);
  PutVarint(out, value);
}
void PutBytes(std::string& out, uint32_t field, std::string_view bytes) {
  PutTag(out, field, 2);
  PutVarint(out, bytes.size());
  out += bytes;
}
void PutString(std::string& out, uint32_t field, std::string_view text) {
  if (!text.empty()) PutBytes(out, field, text);
}
void PutTimestamp(std::string& out, uint32_t field, int64_t seconds) {
  std::string body;  // at most 11 bytes: no allocation
  PutVarintField(body, 1, static_cast<uint64_t>(seconds));
  PutBytes(out, field, body);
}
void PutAllocation(std::string& out, const Organisation& org, uint32_t practitioner,
                   bool only_offender_manager, uint32_t first_field) {
  const Practitioner& om = org.practitioners[practitioner];
  const Team& team = org.teams[om.team];
  const Pdu& pdu = org.pdus[team.pdu];
  if (!only_offender_manager) {
    PutString(out, first_field, org.regions[pdu.region].name);
    PutString(out, first_field + 1, pdu.name);
    PutString(out, first_field + 2, team.code);
  }
  PutString(out, first_field + 3, om.id);
}

class DelimitedWriter final : public BufferedWriter {
 public:
  using BufferedWriter::BufferedWriter;

 private:
  void Append(const SimulatedEvent& event, std::string& out) override {
    AppendDelimited(event, org(), out, scratch_);
  }

  std::string scratch_[2];
};

}  // namespace

void AppendJson(const SimulatedEvent& event, const Organisation& org, std::string& out) {
  out += "{\"eventId\":\"";
  AppendEventId(event, org, out);
  out += "\",\"caseId\":\"";
  AppendCaseId(event, org, out);
  out += "\",\"occurredAt\":";
  AppendTimestamp(out, event.occurred_seconds);
  out += ",\"recordedAt\":";
  AppendTimestamp(out, event.recorded_seconds);
  out += ",\"source\":\"";
  out += SourceOf(event.kind);
  out += "\",\"actor\":";
  AppendString(out, (event.flags & kFlagManager) ? org.teams[event.actor].manager
                                                 : org.practitioners[event.actor].id);
  out += ',';
  const bool first = (event.flags & kFlagFirst) != 0;
  const bool second = (event.flags & kFlagSecond) != 0;
  switch (event.kind) {
    case EventType::kCaseOpened:
      out += "\"caseOpened\":{\"caseType\":\"";
      out += kCaseTypes[event.detail];
      out += "\",";
      AppendAllocation(out, org, event.value, false);
      if (first) out += ",\"victimContactRequired\":true";
      if (event.flags & kFlagSentenceDate) {
        out += ",\"sentenceDate\":";
        AppendTimestamp(out, SentenceSeconds(event));
      }
      out += '}';
      break;
    case EventType::kCaseAllocated:
      out += "\"caseAllocated\":{";
      AppendAllocation(out, org, event.value, (event.flags & kFlagOnlyOffenderManager) != 0);
      out += '}';
      break;
    case EventType::kCaseClosed:
      AppendEnumPayload(out, "caseClosed", "reason", kClosureReasons[event.detail]);
      break;
    case EventType::kPreSentenceReportCompleted:
      out += "\"preSentenceReportCompleted\":{\"reportType\":\"";
      out += kReportTypes[event.detail];
      out += '"';
      if (first) out += ",\"includesRosh\":true";
      if (second) out += ",\"includesLor\":true";
      out += '}';
      break;
    case EventType::kAssessmentCompleted:
      AppendEnumPayload(out, "assessmentCompleted", "kind", kAssessmentKinds[event.detail]);
      break;
    case EventType::kRoshScreeningCompleted:
      out += first ? "\"roshScreeningCompleted\":{\"fullAnalysisRequired\":true}"
                   : "\"roshScreeningCompleted\":{}";
      break;
    case EventType::kRoshFullAnalysisCompleted:
      out += "\"roshFullAnalysisCompleted\":{}";
      break;
    case EventType::kRoshClassified:
      AppendEnumPayload(out, "roshClassified", "level", kRoshLevels[event.detail]);
      break;
    case EventType::kSentencePlanCompleted:
      AppendEnumPayload(out, "sentencePlanCompleted", "kind", kPlanKinds[event.detail]);
      break;
    case EventType::kRiskManagementPlanCompleted:
      out += "\"riskManagementPlanCompleted\":{\"kind\":\"";
      out += kPlanKinds[event.detail];
      out += first ? "\",\"addressesVictimSafety\":true}" : "\"}";
      break;
    case EventType::kRegistrationAdded:
      AppendEnumPayload(out, "registrationAdded", "type", kRegistrationTypes[event.detail]);
      break;
    case EventType::kRegistrationRemoved:
      AppendEnumPayload(out, "registrationRemoved", "type", kRegistrationTypes[event.detail]);
      break;
    case EventType::kAppointmentAttended:
      AppendAppointmentPayload(out, "appointmentAttended", event, org, "");
      break;
    case EventType::kAppointmentMissed:
      AppendAppointmentPayload(out, "appointmentMissed", event, org, "");
      break;
    case EventType::kAbsenceJudged:
      AppendAppointmentPayload(out, "absenceJudged", event, org,
                               first ? ",\"acceptable\":true" : "");
      break;
    case EventType::kWarningIssued:
      out += "\"warningIssued\":{}";
      break;
    case EventType::kBreachInstigated:
      out += "\"breachInstigated\":{\"kind\":\"";
      out += kBreachKinds[event.detail];
      out += "\",\"reason\":\"";
      out += kBreachReasons[event.detail2];
      out += "\"}";
      break;
    case EventType::kHomeVisitCompleted:
      out += "\"homeVisitCompleted\":{}";
      break;
    case EventType::kManagementOversightRecorded:
      out += "\"managementOversightRecorded\":{}";
      break;
    case EventType::kSignificantChangeRecorded:
      out += "\"significantChangeRecorded\":{";
      if (first) out += "\"riskIncreased\":true,";
      out += "\"description\":";
      AppendString(out, SignificantChangeDescription(event.value));
      out += '}';
      break;
    case EventType::kSafeguardingCheckCompleted:
      AppendEnumPayload(out, "safeguardingCheckCompleted", "kind",
                        kSafeguardingChecks[event.detail]);
      break;
    case EventType::kVictimContactOffered:
      out += "\"victimContactOffered\":{}";
      break;
    case EventType::kFurtherOffenceRecorded:
      AppendEnumPayload(out, "furtherOffenceRecorded", "kind", kOffenceOutcomes[event.detail]);
      break;
    case EventType::kObligationMissed:  // derived: the engine writes it, the simulator never does
      break;
  }
  out += '}';
}

void AppendDelimited(const SimulatedEvent& event, const Organisation& org, std::string& out) {
  std::string scratch[2];
  AppendDelimited(event, org, out, scratch);
}

void AppendDelimited(const SimulatedEvent& event, const Organisation& org, std::string& out,
                     std::string (&scratch)[2]) {
  std::string& envelope = scratch[0];
  std::string& payload = scratch[1];
  envelope.clear();
  payload.clear();
  AppendEventId(event, org, payload);
  PutString(envelope, 1, payload);
  payload.clear();
  AppendCaseId(event, org, payload);
  PutString(envelope, 2, payload);
  payload.clear();
  PutTimestamp(envelope, 3, event.occurred_seconds);
  PutTimestamp(envelope, 4, event.recorded_seconds);
  PutString(envelope, 5, SourceOf(event.kind));
  PutString(envelope, 6,
            (event.flags & kFlagManager) ? org.teams[event.actor].manager
                                         : org.practitioners[event.actor].id);
  const bool first = (event.flags & kFlagFirst) != 0;
  const bool second = (event.flags & kFlagSecond) != 0;
  switch (event.kind) {
    case EventType::kCaseOpened:
      PutVarintField(payload, 1, event.detail);
      PutAllocation(payload, org, event.value, false, 2);
      PutVarintField(payload, 6, first);
      if (event.flags & kFlagSentenceDate) PutTimestamp(payload, 7, SentenceSeconds(event));
      break;
    case EventType::kCaseAllocated:
      PutAllocation(payload, org, event.value, (event.flags & kFlagOnlyOffenderManager) != 0, 1);
      break;
    case EventType::kPreSentenceReportCompleted:
      PutVarintField(payload, 1, event.detail);
      PutVarintField(payload, 2, first);
      PutVarintField(payload, 3, second);
      break;
    case EventType::kRoshScreeningCompleted:
      PutVarintField(payload, 1, first);
      break;
    case EventType::kRiskManagementPlanCompleted:
      PutVarintField(payload, 1, event.detail);
      PutVarintField(payload, 2, first);
      break;
    case EventType::kAppointmentAttended:
    case EventType::kAppointmentMissed:
    case EventType::kAbsenceJudged: {
      std::string appointment;
      AppendAppointmentId(event, org, appointment);
      PutString(payload, 1, appointment);
      if (event.kind == EventType::kAbsenceJudged) PutVarintField(payload, 2, first);
      break;
    }
    case EventType::kBreachInstigated:
      PutVarintField(payload, 1, event.detail);
      PutVarintField(payload, 2, event.detail2);
      break;
    case EventType::kSignificantChangeRecorded:
      PutVarintField(payload, 1, first);
      PutString(payload, 2, SignificantChangeDescription(event.value));
      break;
    case EventType::kRoshFullAnalysisCompleted:
    case EventType::kWarningIssued:
    case EventType::kHomeVisitCompleted:
    case EventType::kManagementOversightRecorded:
    case EventType::kVictimContactOffered:
      break;
    case EventType::kCaseClosed:
    case EventType::kAssessmentCompleted:
    case EventType::kRoshClassified:
    case EventType::kSentencePlanCompleted:
    case EventType::kRegistrationAdded:
    case EventType::kRegistrationRemoved:
    case EventType::kSafeguardingCheckCompleted:
    case EventType::kFurtherOffenceRecorded:
      PutVarintField(payload, 1, event.detail);
      break;
    case EventType::kObligationMissed:  // derived: the engine writes it, the simulator never does
      break;
  }
  // Payload fields are numbered 10, 11, ... in EventType order.
  PutBytes(envelope, 10 + static_cast<uint32_t>(event.kind), payload);
  PutVarint(out, envelope.size());
  out += envelope;
}

std::unique_ptr<EventWriter> MakeEventWriter(OutputFormat format, std::FILE* file,
                                             const Organisation& org) {
  if (format == OutputFormat::kBinary) return std::make_unique<DelimitedWriter>(file, org);
  return std::make_unique<NdjsonWriter>(file, org);
}

}  // namespace casewatch::simulator
