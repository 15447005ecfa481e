// One or more tests per indicator of docs/rules.md section 7, and the cross-cutting rules of
// sections 1 and 2: ties, weekends and holidays, chains, cancellation, relevance, events outside
// the opening-closing span. Dates: 1 April 2013 was a Monday.
#include <gtest/gtest.h>

#include "projections/testing/case_builder.h"

namespace casewatch {
namespace {

using testing::CaseBuilder;
using testing::ItemsOf;
using V = std::vector<std::string>;

// ---- prompt_start, weekends, holidays, ties --------------------------------------------------

TEST(PromptStart, AttendanceByTheFifthWorkingDayIsMet) {
  auto h = CaseBuilder().Opened("2013-04-01").Attended("2013-04-08").Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kPromptStart, "2013-06-01"),
            (V{"2013-04-08 MET e02 2013-04-08"}));
}

TEST(PromptStart, LaterAttendanceIsLateAndDecidedTheDayAfterDue) {
  auto h = CaseBuilder().Opened("2013-04-01").Attended("2013-04-10").Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kPromptStart, "2013-06-01"),
            (V{"2013-04-08 LATE e02 2013-04-09"}));
}

TEST(PromptStart, PendingUntilTheDueDatePassesThenMissed) {
  auto h = CaseBuilder().Opened("2013-04-01").Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kPromptStart, "2013-04-08T23:59:59Z"),
            (V{"2013-04-08 PENDING - -"}));
  EXPECT_EQ(ItemsOf(h, Indicator::kPromptStart, "2013-04-09T00:00:00Z"),
            (V{"2013-04-08 MISSED - 2013-04-09"}));
}

TEST(PromptStart, OpeningOnAWeekendCountsFromMonday) {
  auto h = CaseBuilder().Opened("2013-04-06").Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kPromptStart, "2013-04-07"), (V{"2013-04-12 PENDING - -"}));
}

TEST(PromptStart, HolidaysPushTheDueDate) {
  Policy policy = testing::WeekendsOnly();
  policy.holidays = {ParseDate("2013-04-08").value(), ParseDate("2013-04-13").value()};
  auto h = CaseBuilder().Opened("2013-04-05").Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kPromptStart, "2013-04-06", policy),
            (V{"2013-04-15 PENDING - -"}));
}

TEST(PromptStart, AttendanceEarlierOnTheSameInstantCountsAsAtOrAfter) {
  // e01 sorts before the opening (e02) at the same instant: "at or after" still includes it.
  auto h = CaseBuilder().Id("a1").Attended("2013-04-01").Id("b2").Opened("2013-04-01").Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kPromptStart, "2013-04-02"), (V{"2013-04-08 MET a1 2013-04-01"}));
}

TEST(PromptStart, AttendanceBeforeTheOpeningInstantDoesNotCount) {
  auto h = CaseBuilder().Attended("2013-03-29").Opened("2013-04-01").Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kPromptStart, "2013-04-02"), (V{"2013-04-08 PENDING - -"}));
}

// ---- opening and closing ---------------------------------------------------------------------

TEST(Opening, ACaseIsNotCountedBeforeItsOpening) {
  auto h = CaseBuilder().Psr("2013-03-01", false, false).Opened("2013-04-01").Build();
  EXPECT_TRUE(ItemsOf(h, Indicator::kPsrQuality, "2013-03-31").empty());
  EXPECT_EQ(ItemsOf(h, Indicator::kPsrQuality, "2013-04-01T09:00:00Z"),
            (V{"2013-03-01 MISSED - 2013-03-01"}));
}

TEST(Opening, LaterOpeningsAreIgnored) {
  auto h = CaseBuilder().Opened("2013-04-01").Opened("2013-05-01").Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kPromptStart, "2013-05-02"),
            (V{"2013-04-08 MISSED - 2013-04-09"}));
}

TEST(Closing, UnfulfilledItemsCancelWhenTheCaseClosesByTheirDueDate) {
  auto h = CaseBuilder().Opened("2013-04-01").Closed("2013-04-08").Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kPromptStart, "2013-06-01"),
            (V{"2013-04-08 CANCELLED - 2013-04-08"}));
}

TEST(Closing, ClosingAfterTheDueDateLeavesTheItemMissed) {
  auto h = CaseBuilder().Opened("2013-04-01").Closed("2013-04-09").Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kPromptStart, "2013-04-09T10:00:00Z"),
            (V{"2013-04-08 MISSED - 2013-04-09"}));
}

TEST(Closing, EventsAfterTheClosingChangeNothing) {
  auto h = CaseBuilder()
               .Opened("2013-04-01")
               .Closed("2013-04-03")
               .Attended("2013-04-04")
               .Psr("2013-04-04", true, true)
               .Change("2013-04-04", true)
               .Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kPromptStart, "2013-06-01"),
            (V{"2013-04-08 CANCELLED - 2013-04-03"}));
  EXPECT_TRUE(ItemsOf(h, Indicator::kPsrQuality, "2013-06-01").empty());
  EXPECT_TRUE(ItemsOf(h, Indicator::kRiskResponse, "2013-06-01").empty());
}

TEST(Closing, AnEventAtTheClosingInstantOrderedAfterItDoesNotFulfil) {
  auto h = CaseBuilder()
               .Id("c1")
               .Opened("2013-04-01")
               .Id("c2")
               .Closed("2013-04-05")
               .Id("c3")
               .Attended("2013-04-05")
               .Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kPromptStart, "2013-06-01"),
            (V{"2013-04-08 CANCELLED - 2013-04-05"}));
  auto before = CaseBuilder()
                    .Id("c1")
                    .Opened("2013-04-01")
                    .Id("c3")
                    .Closed("2013-04-05")
                    .Id("c2")
                    .Attended("2013-04-05")
                    .Build();
  EXPECT_EQ(ItemsOf(before, Indicator::kPromptStart, "2013-06-01"),
            (V{"2013-04-08 MET c2 2013-04-05"}));
}

TEST(Closing, AClosingBeforeTheOpeningIsIgnored) {
  auto h = CaseBuilder().Closed("2013-03-01").Opened("2013-04-01").Attended("2013-04-02").Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kPromptStart, "2013-06-01"),
            (V{"2013-04-08 MET e03 2013-04-02"}));
}

TEST(Closing, EventsAfterTheEvaluationTimeAreNotSeen) {
  auto h = CaseBuilder().Opened("2013-04-01").Closed("2013-04-05").Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kPromptStart, "2013-04-04"), (V{"2013-04-08 PENDING - -"}));
}

// ---- psr_quality and rmp_victim_safety: judged at once -----------------------------------------

TEST(PsrQuality, AReportWithRoshAndLikelihoodIsMetOnItsDate) {
  auto h = CaseBuilder()
               .Psr("2013-03-01", true, true)
               .Psr("2013-03-02", true, false)
               .Opened("2013-04-01")
               .Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kPsrQuality, "2013-04-02"),
            (V{"2013-03-01 MET e01 2013-03-01", "2013-03-02 MISSED - 2013-03-02"}));
}

TEST(RmpVictimSafety, EachPlanIsJudged) {
  auto h = CaseBuilder()
               .Opened("2013-04-01")
               .Rmp("2013-04-02", PlanKind::kInitial, true)
               .Rmp("2013-05-02", PlanKind::kReview, false)
               .Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kRmpVictimSafety, "2013-06-01"),
            (V{"2013-04-02 MET e02 2013-04-02", "2013-05-02 MISSED - 2013-05-02"}));
}

// ---- plans and assessments -----------------------------------------------------------------

TEST(InitialSentencePlan, APlanBeforeTheOpeningCountsAndIsDecidedOnTheOpeningDate) {
  auto h = CaseBuilder().Plan("2013-03-20", PlanKind::kInitial).Opened("2013-04-01").Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kInitialSentencePlan, "2013-04-02"),
            (V{"2013-04-22 MET e01 2013-04-01"}));
}

TEST(InitialSentencePlan, AReviewPlanDoesNotFulfilIt) {
  auto h = CaseBuilder().Opened("2013-04-01").Plan("2013-04-02", PlanKind::kReview).Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kInitialSentencePlan, "2013-04-03"),
            (V{"2013-04-22 PENDING - -"}));
}

TEST(SentencePlanReview, AChainRunsFromTheInitialPlanAndEachReviewStartsTheNext) {
  auto h = CaseBuilder()
               .Opened("2013-04-01")
               .Plan("2013-04-01T10:00:00Z", PlanKind::kInitial)
               .Plan("2013-07-20", PlanKind::kReview)
               .Plan("2013-11-20", PlanKind::kReview)
               .Build();
  // 1 Apr + 112 = 22 Jul; 20 Jul + 112 = 9 Nov (reviewed late on 20 Nov); then 20 Nov + 112.
  EXPECT_EQ(ItemsOf(h, Indicator::kSentencePlanReview, "2014-01-01"),
            (V{"2013-07-22 MET e03 2013-07-20", "2013-11-09 LATE e04 2013-11-10",
               "2014-03-12 PENDING - -"}));
  EXPECT_EQ(ItemsOf(h, Indicator::kSentencePlanReview, "2014-03-13"),
            (V{"2013-07-22 MET e03 2013-07-20", "2013-11-09 LATE e04 2013-11-10",
               "2014-03-12 MISSED - 2014-03-13"}));
}

TEST(SentencePlanReview, AReviewOnlyFulfilsTheItemAfterThePreviousFulfilment) {
  // Two reviews the same day: the first fulfils item 1, the second item 2.
  auto h = CaseBuilder()
               .Opened("2013-04-01")
               .Plan("2013-04-02", PlanKind::kInitial)
               .Plan("2013-05-01", PlanKind::kReview)
               .Plan("2013-05-01", PlanKind::kReview)
               .Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kSentencePlanReview, "2013-06-01"),
            (V{"2013-07-23 MET e03 2013-05-01", "2013-08-21 MET e04 2013-05-01",
               "2013-08-21 PENDING - -"}));
}

TEST(SentencePlanReview, ClosureCancelsOrMissesTheOpenLink) {
  auto base = [] {
    return CaseBuilder().Opened("2013-04-01").Plan("2013-04-01T10:00:00Z", PlanKind::kInitial);
  };
  EXPECT_EQ(
      ItemsOf(base().Closed("2013-07-22").Build(), Indicator::kSentencePlanReview, "2014-01-01"),
      (V{"2013-07-22 CANCELLED - 2013-07-22"}));
  EXPECT_EQ(
      ItemsOf(base().Closed("2013-07-23").Build(), Indicator::kSentencePlanReview, "2014-01-01"),
      (V{"2013-07-22 MISSED - 2013-07-23"}));
}

TEST(SentencePlanReview, SignificantChangesWhileOpenAddReviewItems) {
  auto h = CaseBuilder()
               .Change("2013-03-25", false)  // before the chain and the opening: nothing
               .Opened("2013-04-01")
               .Plan("2013-04-02", PlanKind::kInitial)
               .Change("2013-05-01", false)
               .Plan("2013-05-10", PlanKind::kReview)
               .Build();
  // Change on Wed 1 May: due 10 working days later, 15 May. The review also fulfils the chain.
  EXPECT_EQ(ItemsOf(h, Indicator::kSentencePlanReview, "2013-06-01"),
            (V{"2013-07-23 MET e05 2013-05-10", "2013-08-30 PENDING - -",
               "2013-05-15 MET e05 2013-05-10"}));
}

TEST(AssessmentReview, ChainsAndChangeItemsLikePlanReviews) {
  auto h = CaseBuilder()
               .Opened("2013-04-01")
               .Assessment("2013-04-10", AssessmentKind::kInitial)
               .Change("2013-06-03", true)
               .Assessment("2013-06-20", AssessmentKind::kReview)
               .Assessment("2013-06-21", AssessmentKind::kTermination)
               .Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kInitialAssessment, "2013-07-01"),
            (V{"2013-04-22 MET e02 2013-04-10"}));
  EXPECT_EQ(ItemsOf(h, Indicator::kAssessmentReview, "2013-07-01"),
            (V{"2013-07-31 MET e04 2013-06-20", "2013-10-10 PENDING - -",
               "2013-06-17 LATE e04 2013-06-18"}));
}

// ---- absences and enforcement ----------------------------------------------------------------

TEST(AbsenceJudged, TheJudgementMustNameTheSameAppointment) {
  auto h = CaseBuilder()
               .Opened("2013-04-01")
               .Missed("2013-04-10", "A1")
               .Judged("2013-04-11", "A2", true)
               .Judged("2013-04-15", "A1", true)
               .Build();
  // Wed 10 Apr + 2 working days = Fri 12 Apr.
  EXPECT_EQ(ItemsOf(h, Indicator::kAbsenceJudged, "2013-05-01"),
            (V{"2013-04-12 LATE e04 2013-04-13"}));
}

TEST(AbsenceJudged, MissesBeforeTheOpeningCreateNothing) {
  auto h = CaseBuilder().Missed("2013-03-10", "A0").Opened("2013-04-01").Build();
  EXPECT_TRUE(ItemsOf(h, Indicator::kAbsenceJudged, "2013-05-01").empty());
}

TEST(Enforcement, AFirstFailureCallsForAWarningAndARepeatForBreach) {
  auto h = CaseBuilder()
               .Opened("2013-04-01")
               .Missed("2013-04-10", "A1")
               .Judged("2013-04-11", "A1", false)
               .Plain("2013-04-15", EventType::kWarningIssued)
               .Missed("2013-05-01", "A2")
               .Judged("2013-05-02", "A2", false)
               .Plain("2013-05-20", EventType::kBreachInstigated)
               .Missed("2013-06-03", "A3")
               .Judged("2013-06-04", "A3", false)
               .Missed("2013-06-05", "A4")
               .Judged("2013-06-05", "A4", true)
               .Build();
  // A1: warning due 25 Apr, given 15 Apr. A2: breach due 16 May, instigated 20 May (late).
  // A3: a breach lies between the warning and A3, so a warning is due again (18 Jun).
  EXPECT_EQ(ItemsOf(h, Indicator::kEnforcement, "2013-06-10"),
            (V{"2013-04-25 MET e04 2013-04-15", "2013-05-16 LATE e07 2013-05-17",
               "2013-06-18 PENDING - -"}));
}

TEST(Enforcement, AWarningOlderThanTheWindowCallsForANewWarning) {
  auto h = CaseBuilder()
               .Plain("2012-03-01", EventType::kWarningIssued)
               .Opened("2012-03-01T10:00:00Z")
               .Judged("2013-04-11", "A1", false)
               .Build();
  Policy policy = testing::WeekendsOnly();
  EXPECT_EQ(ItemsOf(h, Indicator::kEnforcement, "2013-04-12", policy),
            (V{"2013-04-25 PENDING - -"}));
  policy.enforcement_window_days = 406;  // 1 Mar 2012 to 11 Apr 2013
  EXPECT_EQ(ItemsOf(h, Indicator::kEnforcement, "2013-04-12", policy),
            (V{"2013-04-25 PENDING - -"}));
  policy.breach_wd = 3;
  policy.warning_wd = 4;
  EXPECT_EQ(ItemsOf(h, Indicator::kEnforcement, "2013-04-12", policy),
            (V{"2013-04-16 PENDING - -"}));
  policy.enforcement_window_days = 405;
  EXPECT_EQ(ItemsOf(h, Indicator::kEnforcement, "2013-04-12", policy),
            (V{"2013-04-17 PENDING - -"}));
}

// ---- RoSH ------------------------------------------------------------------------------------

TEST(RoshScreening, AScreeningAtReportStageCounts) {
  auto h = CaseBuilder().Screening("2013-03-01", true).Opened("2013-04-01").Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kRoshScreening, "2013-04-02"),
            (V{"2013-04-22 MET e01 2013-04-01"}));
  // The full analysis it called for was due 10 working days after 1 March.
  EXPECT_EQ(ItemsOf(h, Indicator::kRoshFullAnalysis, "2013-04-02"),
            (V{"2013-03-15 MISSED - 2013-03-16"}));
}

TEST(RoshFullAnalysis, OneItemPerScreeningThatRequiresIt) {
  auto h = CaseBuilder()
               .Opened("2013-04-01")
               .Screening("2013-04-02", false)
               .Screening("2013-04-03", true)
               .Plain("2013-04-10", EventType::kRoshFullAnalysisCompleted)
               .Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kRoshFullAnalysis, "2013-05-01"),
            (V{"2013-04-17 MET e04 2013-04-10"}));
}

TEST(RmpInitial, TriggeredAtTheOpeningWhenAlreadyMedium) {
  auto h = CaseBuilder()
               .Rosh("2013-03-01", RoshLevel::kMedium)
               .Opened("2013-04-01")
               .Rmp("2013-04-30", PlanKind::kInitial)
               .Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kRmpInitial, "2013-05-01"),
            (V{"2013-04-22 LATE e03 2013-04-23"}));
}

TEST(RmpInitial, TriggeredByTheFirstClassificationToMediumWhileOpenOnlyOnce) {
  auto h = CaseBuilder()
               .Opened("2013-04-01")
               .Rosh("2013-04-02", RoshLevel::kLow)
               .Rosh("2013-04-03", RoshLevel::kHigh)
               .Rosh("2013-04-04", RoshLevel::kLow)
               .Rosh("2013-04-05", RoshLevel::kMedium)
               .Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kRmpInitial, "2013-04-06"), (V{"2013-04-24 PENDING - -"}));
}

TEST(RmpInitial, LowRiskCasesHaveNone) {
  auto h = CaseBuilder().Opened("2013-04-01").Rosh("2013-04-02", RoshLevel::kLow).Build();
  EXPECT_TRUE(ItemsOf(h, Indicator::kRmpInitial, "2013-06-01").empty());
}

TEST(RmpReview, AnyFirstPlanStartsTheChainAndOnlyReviewsFulfil) {
  auto h = CaseBuilder()
               .Opened("2013-04-01")
               .Rmp("2013-04-02", PlanKind::kReview)
               .Rmp("2013-05-01", PlanKind::kInitial)
               .Change("2013-05-02", false)
               .Rmp("2013-05-03", PlanKind::kReview)
               .Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kRmpReview, "2013-06-01"),
            (V{"2013-07-23 MET e05 2013-05-03", "2013-08-23 PENDING - -",
               "2013-05-16 MET e05 2013-05-03"}));
}

TEST(RiskResponse, AnyOfTheResponsesAtOrAfterTheChangeCounts) {
  auto h = CaseBuilder()
               .Opened("2013-04-01")
               .Change("2013-04-10", true)
               .Change("2013-04-11", false)  // not an increase: no item
               .Plain("2013-04-12", EventType::kBreachInstigated)
               .Change("2013-05-01", true)
               .Rosh("2013-05-09", RoshLevel::kHigh)
               .Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kRiskResponse, "2013-06-01"),
            (V{"2013-04-17 MET e04 2013-04-12", "2013-05-08 LATE e06 2013-05-09"}));
}

TEST(RiskResponse, TheDefaultPolicyCountsEnglandAndWalesBankHolidays) {
  // The same case under the default policy: Monday 6 May 2013 was a bank holiday, so the second
  // response is due a day later and was on time.
  auto h = CaseBuilder()
               .Opened("2013-04-01")
               .Change("2013-04-10", true)
               .Change("2013-04-11", false)
               .Plain("2013-04-12", EventType::kBreachInstigated)
               .Change("2013-05-01", true)
               .Rosh("2013-05-09", RoshLevel::kHigh)
               .Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kRiskResponse, "2013-06-01", Policy{}),
            (V{"2013-04-17 MET e04 2013-04-12", "2013-05-09 MET e06 2013-05-09"}));
}

TEST(RiskResponse, AChangeBeforeTheOpeningOnTheSameInstantIsNotWhileOpen) {
  auto h = CaseBuilder().Id("a").Change("2013-04-01", true).Id("b").Opened("2013-04-01").Build();
  EXPECT_TRUE(ItemsOf(h, Indicator::kRiskResponse, "2013-06-01").empty());
  auto after =
      CaseBuilder().Id("b").Change("2013-04-01", true).Id("a").Opened("2013-04-01").Build();
  EXPECT_EQ(ItemsOf(after, Indicator::kRiskResponse, "2013-06-01"),
            (V{"2013-04-08 MISSED - 2013-04-09"}));
}

// ---- relevant intervals: home visits and oversight ---------------------------------------------

TEST(HomeVisits, AnIntervalStartsAtTheEventThatMakesTheCaseRelevant) {
  auto h = CaseBuilder()
               .Opened("2013-04-01")
               .Rosh("2013-04-02", RoshLevel::kHigh)
               .Plain("2013-04-10", EventType::kHomeVisitCompleted)
               .Plain("2013-07-15", EventType::kHomeVisitCompleted)
               .Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kHomeVisitInitial, "2013-08-01"),
            (V{"2013-04-16 MET e03 2013-04-10"}));
  // 10 Apr + 91 = 10 Jul, visited 15 Jul; then 15 Jul + 91 = 14 Oct.
  EXPECT_EQ(ItemsOf(h, Indicator::kHomeVisitRepeat, "2013-08-01"),
            (V{"2013-07-10 LATE e04 2013-07-11", "2013-10-14 PENDING - -"}));
}

TEST(HomeVisits, TheEndOfTheIntervalCancelsAndReenteringStartsAgain) {
  auto h = CaseBuilder()
               .Opened("2013-04-01")
               .Rosh("2013-04-02", RoshLevel::kVeryHigh)
               .Plain("2013-04-10", EventType::kHomeVisitCompleted)
               .Rosh("2013-06-01", RoshLevel::kMedium)
               .Plain("2013-06-05", EventType::kHomeVisitCompleted)  // between intervals: unused
               .Registered("2013-08-01", RegistrationType::kChildProtection)
               .Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kHomeVisitInitial, "2013-08-02"),
            (V{"2013-04-16 MET e03 2013-04-10", "2013-08-15 PENDING - -"}));
  EXPECT_EQ(ItemsOf(h, Indicator::kHomeVisitRepeat, "2013-08-02"),
            (V{"2013-07-10 CANCELLED - 2013-06-01"}));
}

TEST(HomeVisits, AnIntervalEndingAfterTheDueDateLeavesItMissed) {
  auto h = CaseBuilder()
               .Registered("2013-03-01", RegistrationType::kChildProtection)
               .Opened("2013-04-01")  // relevant at opening: the interval starts here
               .Deregistered("2013-04-20", RegistrationType::kChildProtection)
               .Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kHomeVisitInitial, "2013-06-01"),
            (V{"2013-04-15 MISSED - 2013-04-16"}));
}

TEST(HomeVisits, ClosingEndsTheInterval) {
  auto h = CaseBuilder()
               .Opened("2013-04-01")
               .Rosh("2013-04-02", RoshLevel::kHigh)
               .Closed("2013-04-05")
               .Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kHomeVisitInitial, "2013-06-01"),
            (V{"2013-04-16 CANCELLED - 2013-04-05"}));
}

TEST(HomeVisits, AVisitOnTheSameInstantAsTheStartCounts) {
  auto h = CaseBuilder()
               .Opened("2013-04-01")
               .Id("x1")
               .Plain("2013-04-02", EventType::kHomeVisitCompleted)
               .Id("x2")
               .Rosh("2013-04-02", RoshLevel::kHigh)
               .Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kHomeVisitInitial, "2013-04-03"),
            (V{"2013-04-16 MET x1 2013-04-02"}));
}

TEST(ManagementOversight, FirstDueCalendarDaysAfterTheStartThenEveryPeriod) {
  auto h = CaseBuilder()
               .Opened("2013-04-01")
               .Rosh("2013-04-02", RoshLevel::kHigh)
               .Plain("2013-04-25", EventType::kManagementOversightRecorded)
               .Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kManagementOversight, "2013-06-01"),
            (V{"2013-04-30 MET e03 2013-04-25", "2013-05-23 MISSED - 2013-05-24"}));
}

// ---- safeguarding and victims --------------------------------------------------------------

TEST(SafeguardingChecks, TwoChecksPerActivationTriggeredNoEarlierThanTheOpening) {
  auto h = CaseBuilder()
               .Registered("2013-03-20", RegistrationType::kDomesticAbuse)
               .Check("2013-03-25", SafeguardingCheck::kChildrensServices)
               .Opened("2013-04-01")
               .Registered("2013-04-02", RegistrationType::kDomesticAbuse)  // already active
               .Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kSafeguardingChecks, "2013-05-01"),
            (V{"2013-04-15 MET e02 2013-04-01", "2013-04-15 MISSED - 2013-04-16"}));
}

// Each item says which check it stands for (staff are told which one to make): one children's
// services and one police check per activation, in that order.
TEST(SafeguardingChecks, EachItemNamesItsCheck) {
  auto h = CaseBuilder()
               .Opened("2013-04-01")
               .Registered("2013-04-02", RegistrationType::kChildProtection)
               .Check("2013-04-04", SafeguardingCheck::kPoliceDomesticAbuse)
               .Build();
  Evaluator evaluator(Policy{});
  const CaseEvaluation* evaluation = evaluator.Evaluate(h, testing::At("2013-04-05"));
  ASSERT_NE(evaluation, nullptr);
  std::vector<std::pair<SafeguardingCheck, ItemStatus>> checks;
  for (const Item& item : evaluation->items) {
    if (item.indicator == Indicator::kSafeguardingChecks) {
      checks.emplace_back(static_cast<SafeguardingCheck>(item.detail), item.status);
    } else {
      EXPECT_EQ(item.detail, 0) << "only safeguarding items have kinds";
    }
  }
  EXPECT_EQ(checks, (std::vector<std::pair<SafeguardingCheck, ItemStatus>>{
                        {SafeguardingCheck::kChildrensServices, ItemStatus::kPending},
                        {SafeguardingCheck::kPoliceDomesticAbuse, ItemStatus::kMet}}));
}

TEST(SafeguardingChecks, ReactivationCreatesNewItems) {
  auto h = CaseBuilder()
               .Opened("2013-04-01")
               .Registered("2013-04-02", RegistrationType::kChildProtection)
               .Deregistered("2013-04-03", RegistrationType::kChildProtection)
               .Registered("2013-04-04", RegistrationType::kChildProtection)
               .Check("2013-04-04", SafeguardingCheck::kPoliceDomesticAbuse)
               .Registered("2013-04-05", RegistrationType::kMappa)
               .Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kSafeguardingChecks, "2013-04-05"),
            (V{"2013-04-16 PENDING - -", "2013-04-16 MET e05 2013-04-04", "2013-04-18 PENDING - -",
               "2013-04-18 MET e05 2013-04-04"}));
}

TEST(VictimContact, DueCalendarDaysAfterSentenceAndOfferedFromTheSentenceOn) {
  auto h = CaseBuilder()
               .Plain("2013-03-14", EventType::kVictimContactOffered)  // before sentence
               .Plain("2013-03-20", EventType::kVictimContactOffered)
               .Opened("2013-04-01", {"R1", "P1", "T1", "om-1"}, true, "2013-03-15")
               .Build();
  EXPECT_EQ(ItemsOf(h, Indicator::kVictimContact, "2013-04-02"),
            (V{"2013-05-10 MET e02 2013-03-20"}));
}

TEST(VictimContact, OnlyWhenRequired) {
  auto h = CaseBuilder().Opened("2013-04-01").Build();
  EXPECT_TRUE(ItemsOf(h, Indicator::kVictimContact, "2013-06-02").empty());
  auto required = CaseBuilder().Opened("2013-04-01", {"R", "P", "T", "O"}, true).Build();
  EXPECT_EQ(ItemsOf(required, Indicator::kVictimContact, "2013-06-02"),
            (V{"2013-05-27 MISSED - 2013-05-28"}));
}

}  // namespace
}  // namespace casewatch
