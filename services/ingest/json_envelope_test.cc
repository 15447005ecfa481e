#include "services/ingest/json_envelope.h"

#include <gtest/gtest.h>

#include <string>

namespace casewatch::ingest {
namespace {

namespace pb = ::casewatch::events::v1;

constexpr std::string_view kHead =
    R"({"eventId":"e-1","caseId":"c-1","occurredAt":"2013-04-02T09:30:00Z",)";

struct Parsed {
  bool ok;
  std::string error;
  pb::Envelope envelope;
};

Parsed Parse(std::string_view line) {
  JsonEnvelopeParser parser;
  Parsed out;
  Result<void> result = parser.Parse(line, out.envelope);
  out.ok = result.has_value();
  if (!result) out.error = result.error().message;
  return out;
}

Parsed ParseWithHead(std::string_view rest) {
  return Parse(std::string(kHead) + std::string(rest));
}

TEST(JsonEnvelopeParser, CamelCaseKeysFillTheEnvelope) {
  const Parsed p = ParseWithHead(
      R"("recordedAt":"2013-04-02T10:00:00Z","source":"delius","actor":"om-1",)"
      R"("caseOpened":{"caseType":"CASE_TYPE_LICENCE","offenderManager":"om-117","victimContactRequired":true}})");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.envelope.event_id(), "e-1");
  EXPECT_EQ(p.envelope.case_id(), "c-1");
  EXPECT_EQ(p.envelope.occurred_at().seconds(), 1364895000);
  EXPECT_EQ(p.envelope.recorded_at().seconds(), 1364896800);
  EXPECT_EQ(p.envelope.source(), "delius");
  EXPECT_EQ(p.envelope.actor(), "om-1");
  EXPECT_EQ(p.envelope.case_opened().case_type(), pb::CASE_TYPE_LICENCE);
  EXPECT_EQ(p.envelope.case_opened().offender_manager(), "om-117");
  EXPECT_TRUE(p.envelope.case_opened().victim_contact_required());
}

TEST(JsonEnvelopeParser, SnakeCaseKeysAreAccepted) {
  const Parsed p =
      Parse(R"({"event_id":"e-1","case_id":"c-1","occurred_at":"2013-04-02T09:30:00Z",)"
            R"("absence_judged":{"appointment_id":"a-1","acceptable":true}})");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.envelope.absence_judged().appointment_id(), "a-1");
  EXPECT_TRUE(p.envelope.absence_judged().acceptable());
}

TEST(JsonEnvelopeParser, NullMeansAbsent) {
  const Parsed p =
      ParseWithHead(R"("recordedAt":null,"source":null,"caseClosed":null,"warningIssued":{}})");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_FALSE(p.envelope.has_recorded_at());
  EXPECT_EQ(p.envelope.payload_case(), pb::Envelope::kWarningIssued);
}

TEST(JsonEnvelopeParser, EnumsByNameOrNumberIncludingUnknownNumbers) {
  EXPECT_EQ(ParseWithHead(R"("roshClassified":{"level":"ROSH_LEVEL_MEDIUM"}})")
                .envelope.rosh_classified()
                .level(),
            pb::ROSH_LEVEL_MEDIUM);
  EXPECT_EQ(ParseWithHead(R"("roshClassified":{"level":3}})").envelope.rosh_classified().level(),
            pb::ROSH_LEVEL_HIGH);
  const Parsed unknown = ParseWithHead(R"("roshClassified":{"level":9}})");
  ASSERT_TRUE(unknown.ok);  // kept, so that validation can name it
  EXPECT_EQ(unknown.envelope.rosh_classified().level(), 9);
}

TEST(JsonEnvelopeParser, UnknownEnumNameIsRejected) {
  EXPECT_EQ(ParseWithHead(R"("roshClassified":{"level":"ROSH_LEVEL_EXTREME"}})").error,
            R"(rosh_classified.level: "ROSH_LEVEL_EXTREME" is not a RoshLevel value)");
}

TEST(JsonEnvelopeParser, TimestampsWithOffsetsAndFractions) {
  const Parsed p =
      Parse(R"({"eventId":"e-1","caseId":"c","occurredAt":"2013-04-02T10:30:00.123456789+01:00",)"
            R"("recordedAt":"2013-04-02T09:30:00.5-00:30","warningIssued":{}})");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.envelope.occurred_at().seconds(), 1364895000);
  EXPECT_EQ(p.envelope.occurred_at().nanos(), 123456789);
  EXPECT_EQ(p.envelope.recorded_at().seconds(), 1364896800);
  EXPECT_EQ(p.envelope.recorded_at().nanos(), 500000000);
}

TEST(JsonEnvelopeParser, MalformedTimestampIsRejectedNamingTheField) {
  const Parsed p =
      Parse(R"({"eventId":"e-1","caseId":"c","occurredAt":"2013-04-02","warningIssued":{}})");
  EXPECT_EQ(p.error.rfind("occurred_at: '2013-04-02' is not an RFC 3339 timestamp", 0), 0u)
      << p.error;
}

TEST(JsonEnvelopeParser, UnknownKeyIsRejectedNamingTheKey) {
  EXPECT_EQ(ParseWithHead(R"("warningIssued":{},"priority":1})").error,
            R"(unknown key "priority")");
  EXPECT_EQ(ParseWithHead(R"("warningIssued":{"severity":2}})").error,
            R"(unknown key "severity" in warning_issued)");
}

TEST(JsonEnvelopeParser, WrongJsonTypesAreRejectedNamingTheField) {
  EXPECT_EQ(Parse(R"({"eventId":7})").error, "event_id must be a string, got a number");
  EXPECT_EQ(ParseWithHead(R"("warningIssued":[]})").error,
            "warning_issued must be an object, got an array");
  EXPECT_EQ(ParseWithHead(R"("absenceJudged":{"acceptable":"yes"}})").error,
            "absence_judged.acceptable must be true or false, got a string");
  EXPECT_EQ(ParseWithHead(R"("roshClassified":{"level":true}})").error,
            "rosh_classified.level must be a RoshLevel name or an integer, got a boolean");
  EXPECT_EQ(Parse(R"({"occurredAt":1364895000})").error,
            "occurred_at must be an RFC 3339 timestamp string, got a number");
}

TEST(JsonEnvelopeParser, DuplicateKeysAndTwoPayloadsAreRejected) {
  EXPECT_EQ(Parse(R"({"caseId":"a","case_id":"b"})").error,
            "duplicate key: case_id is given more than once");
  EXPECT_EQ(ParseWithHead(R"("warningIssued":{},"homeVisitCompleted":{}})").error,
            "two payloads: warning_issued and home_visit_completed; an event has exactly one");
}

TEST(JsonEnvelopeParser, NotJsonOrNotAnObjectIsRejected) {
  EXPECT_EQ(Parse("{\"eventId\":").error.rfind("not valid JSON: ", 0), 0u);
  EXPECT_EQ(Parse("[1]").error, "expected a JSON object, got an array");
  EXPECT_EQ(Parse("{} {}").error.rfind("not valid JSON: ", 0), 0u);
}

TEST(JsonEnvelopeParser, ParserIsReusableAcrossLines) {
  JsonEnvelopeParser parser;
  pb::Envelope e;
  ASSERT_TRUE(parser.Parse(std::string(kHead) + R"("warningIssued":{}})", e).has_value());
  ASSERT_TRUE(parser.Parse(R"({"eventId":"e-2","homeVisitCompleted":{}})", e).has_value());
  EXPECT_EQ(e.event_id(), "e-2");
  EXPECT_EQ(e.case_id(), "");  // cleared between lines
  EXPECT_FALSE(e.has_occurred_at());
  EXPECT_EQ(e.payload_case(), pb::Envelope::kHomeVisitCompleted);
}

}  // namespace
}  // namespace casewatch::ingest
