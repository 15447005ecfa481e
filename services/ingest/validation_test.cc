#include "services/ingest/validation.h"

#include <gtest/gtest.h>

#include <string>

#include "services/ingest/test_util.h"

namespace casewatch::ingest {
namespace {

namespace pb = ::casewatch::events::v1;
using testing::RoshEvent;

std::string ErrorOf(const pb::Envelope& e,
                    const ValidationOptions& options = ValidationOptions::Replay()) {
  Result<void> result = ValidateEnvelope(e, options);
  return result ? std::string("ok") : result.error().message;
}

TEST(ValidateEnvelope, CompleteEventIsValid) { EXPECT_EQ(ErrorOf(RoshEvent("e-1")), "ok"); }

TEST(ValidateEnvelope, MissingEventIdIsRejected) {
  EXPECT_EQ(ErrorOf(RoshEvent("")), "event_id is missing");
}

TEST(ValidateEnvelope, EventIdOver128BytesIsRejected) {
  EXPECT_EQ(ErrorOf(RoshEvent(std::string(128, 'e'))), "ok");
  EXPECT_EQ(ErrorOf(RoshEvent(std::string(129, 'e'))),
            "event_id is 129 bytes long; at most 128 are allowed");
}

TEST(ValidateEnvelope, MissingCaseIdIsRejected) {
  EXPECT_EQ(ErrorOf(RoshEvent("e-1", "")), "case_id is missing");
}

TEST(ValidateEnvelope, CaseIdOver64BytesIsRejected) {
  EXPECT_EQ(ErrorOf(RoshEvent("e-1", std::string(64, 'c'))), "ok");
  EXPECT_EQ(ErrorOf(RoshEvent("e-1", std::string(65, 'c'))),
            "case_id is 65 bytes long; at most 64 are allowed");
}

TEST(ValidateEnvelope, CaseIdWithCharactersOutsideTheSetIsRejected) {
  EXPECT_EQ(ErrorOf(RoshEvent("e-1", "N13 42")),
            R"(case_id "N13 42" has characters outside [A-Za-z0-9_-])");
  EXPECT_EQ(ErrorOf(RoshEvent("e-1", "a\nb")),
            R"(case_id "a\x0ab" has characters outside [A-Za-z0-9_-])");
  EXPECT_EQ(ErrorOf(RoshEvent("e-1", "Az09_-")), "ok");
}

TEST(ValidateEnvelope, AnAllocationNameWithAControlCharacterIsRejected) {
  // A NUL inside a name once made two allocations share one set of counts.
  pb::Envelope opened = RoshEvent("e-1");
  auto* o = opened.mutable_case_opened();
  o->set_case_type(pb::CASE_TYPE_COMMUNITY_ORDER);
  o->set_region("North East");
  o->set_pdu("Sunderland");
  o->set_team("SUN-2");
  o->set_offender_manager("om-117");
  EXPECT_EQ(ErrorOf(opened), "ok");
  o->set_pdu(std::string("Sunderland\0ZZ", 13));
  EXPECT_EQ(ErrorOf(opened),
            R"(case_opened.pdu "Sunderland\x00ZZ" has a control character (U+0000); names may )"
            R"(not contain any)");
  o->set_pdu("Sunderland");
  o->set_team("SUN\n2");
  EXPECT_NE(ErrorOf(opened).find("case_opened.team"), std::string::npos);
  o->set_team("SUN-2");
  o->set_region("North\x7f East");
  EXPECT_NE(ErrorOf(opened).find("U+007F"), std::string::npos);
  o->set_region("North\xc2\x85" "East");  // NEL, a C1 control
  EXPECT_NE(ErrorOf(opened).find("U+0085"), std::string::npos);
  o->set_region("Gogledd Cymru \xe2\x80\x93 M\xc3\xb4n");  // en dash, o circumflex: fine
  EXPECT_EQ(ErrorOf(opened), "ok");

  pb::Envelope moved = RoshEvent("e-2");
  moved.mutable_case_allocated()->set_offender_manager("om\t1");
  EXPECT_NE(ErrorOf(moved).find("case_allocated.offender_manager"), std::string::npos);
  moved.mutable_case_allocated()->set_offender_manager("");  // empty: keeps the old one
  EXPECT_EQ(ErrorOf(moved), "ok");
}

TEST(ValidateEnvelope, AnAllocationNameOver200BytesIsRejected) {
  pb::Envelope moved = RoshEvent("e-1");
  moved.mutable_case_allocated()->set_team(std::string(200, 't'));
  EXPECT_EQ(ErrorOf(moved), "ok");
  moved.mutable_case_allocated()->set_team(std::string(201, 't'));
  EXPECT_EQ(ErrorOf(moved), "case_allocated.team is 201 bytes long; at most 200 are allowed");
}

TEST(ValidateEnvelope, MissingOccurredAtIsRejected) {
  pb::Envelope e = RoshEvent("e-1");
  e.clear_occurred_at();
  EXPECT_EQ(ErrorOf(e), "occurred_at is missing");
}

TEST(ValidateEnvelope, MissingPayloadIsRejected) {
  pb::Envelope e = RoshEvent("e-1");
  e.clear_payload();
  EXPECT_EQ(ErrorOf(e), "payload is missing");
}

TEST(ValidateEnvelope, TimestampOutsideProtobufRangeIsRejected) {
  pb::Envelope e = RoshEvent("e-1", "c", kMaxTimestampSeconds + 1);
  EXPECT_EQ(ErrorOf(e),
            "occurred_at has seconds 253402300800, outside "
            "0001-01-01T00:00:00Z..9999-12-31T23:59:59Z");
  e = RoshEvent("e-1");
  e.mutable_recorded_at()->set_nanos(1'000'000'000);
  EXPECT_EQ(ErrorOf(e), "recorded_at has nanos 1000000000, outside [0, 999999999]");
  e = RoshEvent("e-1");
  e.mutable_case_opened()->set_case_type(pb::CASE_TYPE_LICENCE);
  e.mutable_case_opened()->mutable_sentence_date()->set_seconds(kMinTimestampSeconds - 1);
  EXPECT_EQ(ErrorOf(e),
            "case_opened.sentence_date has seconds -62135596801, outside "
            "0001-01-01T00:00:00Z..9999-12-31T23:59:59Z");
}

TEST(ValidateEnvelope, UnspecifiedEnumIsRejectedByItsValueName) {
  pb::Envelope e = RoshEvent("e-1");
  e.mutable_rosh_classified()->set_level(pb::ROSH_LEVEL_UNSPECIFIED);
  EXPECT_EQ(ErrorOf(e), "rosh_classified.level is ROSH_LEVEL_UNSPECIFIED");
  e.mutable_case_opened();
  EXPECT_EQ(ErrorOf(e), "case_opened.case_type is CASE_TYPE_UNSPECIFIED");
  e.mutable_breach_instigated()->set_kind(pb::BREACH_KIND_BREACH);
  EXPECT_EQ(ErrorOf(e), "breach_instigated.reason is BREACH_REASON_UNSPECIFIED");
}

TEST(ValidateEnvelope, EveryEnumFieldIsRequired) {
  pb::Envelope e = RoshEvent("e-1");
  const std::pair<std::function<void()>, std::string> cases[] = {
      {[&] { e.mutable_case_closed(); }, "case_closed.reason is CLOSURE_REASON_UNSPECIFIED"},
      {[&] { e.mutable_pre_sentence_report_completed(); },
       "pre_sentence_report_completed.report_type is REPORT_TYPE_UNSPECIFIED"},
      {[&] { e.mutable_assessment_completed(); },
       "assessment_completed.kind is ASSESSMENT_KIND_UNSPECIFIED"},
      {[&] { e.mutable_sentence_plan_completed(); },
       "sentence_plan_completed.kind is PLAN_KIND_UNSPECIFIED"},
      {[&] { e.mutable_risk_management_plan_completed(); },
       "risk_management_plan_completed.kind is PLAN_KIND_UNSPECIFIED"},
      {[&] { e.mutable_registration_added(); },
       "registration_added.type is REGISTRATION_TYPE_UNSPECIFIED"},
      {[&] { e.mutable_registration_removed(); },
       "registration_removed.type is REGISTRATION_TYPE_UNSPECIFIED"},
      {[&] { e.mutable_breach_instigated(); }, "breach_instigated.kind is BREACH_KIND_UNSPECIFIED"},
      {[&] { e.mutable_safeguarding_check_completed(); },
       "safeguarding_check_completed.kind is SAFEGUARDING_CHECK_UNSPECIFIED"},
      {[&] { e.mutable_further_offence_recorded(); },
       "further_offence_recorded.kind is OFFENCE_OUTCOME_UNSPECIFIED"},
  };
  for (const auto& [set_payload, message] : cases) {
    set_payload();
    EXPECT_EQ(ErrorOf(e), message);
  }
}

TEST(ValidateEnvelope, UnknownEnumNumberIsRejected) {
  pb::Envelope e = RoshEvent("e-1");
  e.mutable_rosh_classified()->set_level(static_cast<pb::RoshLevel>(9));
  EXPECT_EQ(ErrorOf(e), "rosh_classified.level: enum value 9 is not a known RoshLevel");
}

TEST(ValidateEnvelope, EmptyAppointmentIdIsRejected) {
  pb::Envelope e = RoshEvent("e-1");
  e.mutable_appointment_attended();
  EXPECT_EQ(ErrorOf(e), "appointment_attended.appointment_id is empty");
  e.mutable_appointment_missed();
  EXPECT_EQ(ErrorOf(e), "appointment_missed.appointment_id is empty");
  e.mutable_absence_judged()->set_acceptable(true);
  EXPECT_EQ(ErrorOf(e), "absence_judged.appointment_id is empty");
  e.mutable_absence_judged()->set_appointment_id("a-1");
  EXPECT_EQ(ErrorOf(e), "ok");
}

TEST(ValidateEnvelope, PayloadsWithoutRequiredFieldsAreValidEmpty) {
  pb::Envelope e = RoshEvent("e-1");
  e.mutable_warning_issued();
  EXPECT_EQ(ErrorOf(e), "ok");
  e.mutable_case_allocated();
  EXPECT_EQ(ErrorOf(e), "ok");
}

TEST(ValidateEnvelope, DerivedEventIsAcceptedInReplayAndRejectedLive) {
  pb::Envelope e = RoshEvent("e-1");
  e.mutable_obligation_missed()->set_indicator("review missed");
  EXPECT_EQ(ErrorOf(e), "ok");
  EXPECT_EQ(ErrorOf(e, ValidationOptions::Live(Instant{1364895000, 0})),
            "obligation_missed is a derived event written by the engine; publishers may not "
            "send it");
}

TEST(ValidateEnvelope, LiveEventMoreThan24HoursInTheFutureIsRejected) {
  const Instant received{1364895000, 0};
  pb::Envelope e = RoshEvent("e-1", "c", received.seconds + 86400);
  EXPECT_EQ(ErrorOf(e, ValidationOptions::Live(received)), "ok");
  e.mutable_occurred_at()->set_nanos(1);
  EXPECT_EQ(ErrorOf(e, ValidationOptions::Live(received)),
            "occurred_at 2013-04-03T09:30:00.000000001Z is more than 24 hours after the receive "
            "time 2013-04-02T09:30:00Z");
  EXPECT_EQ(ErrorOf(e), "ok");  // replay files may hold any time
}

}  // namespace
}  // namespace casewatch::ingest
