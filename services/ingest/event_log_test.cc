#include "services/ingest/event_log.h"

#include <gtest/gtest.h>

#include "services/ingest/test_util.h"

namespace casewatch::ingest {
namespace {

namespace pb = ::casewatch::events::v1;
using testing::RoshEvent;

TEST(EventLog, NewEventIsAppendedToItsCase) {
  EventLog log;
  ASSERT_EQ(log.Accept(RoshEvent("e-1", "A")).value(), Acceptance::kAccepted);
  ASSERT_EQ(log.Accept(RoshEvent("e-2", "B")).value(), Acceptance::kAccepted);
  ASSERT_EQ(log.Accept(RoshEvent("e-3", "A")).value(), Acceptance::kAccepted);
  EXPECT_EQ(log.accepted(), 3u);
  ASSERT_EQ(log.case_count(), 2u);
  EXPECT_EQ(log.cases()[0].case_id(), "A");
  EXPECT_EQ(log.FindCase("A")->events().size(), 2u);
  EXPECT_EQ(log.FindCase("Z"), nullptr);
}

TEST(EventLog, IdenticalContentIsADuplicateWhateverRecordedAt) {
  EventLog log;
  pb::Envelope e = RoshEvent("e-1");
  ASSERT_TRUE(log.Accept(e).has_value());
  e.mutable_recorded_at()->set_seconds(1);
  EXPECT_EQ(log.Accept(e).value(), Acceptance::kDuplicate);
  EXPECT_EQ(log.duplicates(), 1u);
  EXPECT_EQ(log.FindCase("N13-00042")->events().size(), 1u);
}

TEST(EventLog, SameIdWithDifferentContentIsAConflictNamingTheFirstCopy) {
  EventLog log;
  const uint16_t source = log.AddSource("events.ndjson line");
  ASSERT_TRUE(log.Accept(RoshEvent("e-1"), Origin{source, 7}).has_value());
  pb::Envelope other = RoshEvent("e-1", "OTHER-CASE");
  Result<Acceptance> result = log.Accept(other, Origin{source, 9});
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(result.error().message,
            "event_id \"e-1\" was already accepted with different content (first copy: "
            "events.ndjson line 7)");
  EXPECT_EQ(log.FindCase("OTHER-CASE"), nullptr);
  // Any payload difference conflicts, too.
  pb::Envelope level = RoshEvent("e-1");
  level.mutable_rosh_classified()->set_level(pb::ROSH_LEVEL_LOW);
  EXPECT_FALSE(log.Accept(level).has_value());
  pb::Envelope actor = RoshEvent("e-1");
  actor.set_actor("om-9");
  EXPECT_FALSE(log.Accept(actor).has_value());
}

TEST(EventLog, ConversionFillsCodeFlagsAndSideTables) {
  EventLog log;
  pb::Envelope opened = RoshEvent("e-1");
  auto* o = opened.mutable_case_opened();
  o->set_case_type(pb::CASE_TYPE_SUSPENDED_SENTENCE_ORDER);
  o->set_region("North East");
  o->set_offender_manager("om-117");
  o->set_victim_contact_required(true);
  ASSERT_TRUE(log.Accept(opened).has_value());
  pb::Envelope judged = RoshEvent("e-2", "N13-00042", 1364895100);
  judged.mutable_absence_judged()->set_appointment_id("a-1");
  judged.mutable_absence_judged()->set_acceptable(true);
  ASSERT_TRUE(log.Accept(judged).has_value());
  pb::Envelope breach = RoshEvent("e-0", "N13-00042", 1364895200);
  breach.mutable_breach_instigated()->set_kind(pb::BREACH_KIND_RECALL);
  breach.mutable_breach_instigated()->set_reason(pb::BREACH_REASON_RISK_ESCALATION);
  ASSERT_TRUE(log.Accept(breach).has_value());
  pb::Envelope psr = RoshEvent("e-3", "N13-00042", 1364895300);
  psr.mutable_pre_sentence_report_completed()->set_report_type(pb::REPORT_TYPE_ORAL);
  psr.mutable_pre_sentence_report_completed()->set_includes_lor(true);
  ASSERT_TRUE(log.Accept(psr).has_value());

  log.SealAll();
  const CaseHistory& history = *log.FindCase("N13-00042");
  ASSERT_TRUE(history.sealed());
  ASSERT_EQ(history.events().size(), 4u);
  const CaseEvent& first = history.events()[0];
  EXPECT_EQ(first.type, EventType::kCaseOpened);
  EXPECT_EQ(first.code, 2);
  EXPECT_EQ(history.allocation_of(first).region, "North East");
  EXPECT_EQ(history.allocation_of(first).offender_manager, "om-117");
  EXPECT_TRUE(history.opening_of(first).victim_contact_required);
  EXPECT_EQ(history.opening_of(first).sentence_date, (Instant{1364895000, 0}));  // defaulted
  const CaseEvent& second = history.events()[1];
  EXPECT_EQ(second.type, EventType::kAbsenceJudged);
  EXPECT_TRUE(second.acceptable());
  EXPECT_EQ(history.appointment_of(second), "a-1");
  EXPECT_EQ(history.events()[2].type, EventType::kBreachInstigated);
  EXPECT_EQ(history.events()[2].code, 2);
  EXPECT_EQ(history.events()[3].type, EventType::kPreSentenceReportCompleted);
  EXPECT_FALSE(history.events()[3].includes_rosh());
  EXPECT_TRUE(history.events()[3].includes_lor());
}

TEST(EventLog, ManyIdsStayDistinct) {
  EventLog log;
  for (int i = 0; i < 100000; ++i) {
    ASSERT_EQ(
        log.Accept(RoshEvent("e-" + std::to_string(i), "C" + std::to_string(i % 1000))).value(),
        Acceptance::kAccepted);
  }
  for (int i = 0; i < 100000; i += 997) {
    EXPECT_EQ(
        log.Accept(RoshEvent("e-" + std::to_string(i), "C" + std::to_string(i % 1000))).value(),
        Acceptance::kDuplicate);
  }
  EXPECT_EQ(log.case_count(), 1000u);
}

}  // namespace
}  // namespace casewatch::ingest
