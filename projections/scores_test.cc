#include "projections/scores.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "projections/report_json.h"
#include "projections/testing/case_builder.h"

namespace casewatch {
namespace {

using testing::At;
using testing::CaseBuilder;

constexpr int Idx(Indicator i) { return static_cast<int>(i); }

Report ReportOf(const std::vector<CaseHistory>& cases, std::string_view as_of, Period period,
                Scope scope = {}, const Policy& policy = Policy{},
                int64_t min_cases = kDefaultMinCases) {
  Evaluator evaluator(policy);
  ReportBuilder builder(evaluator.policy(), At(as_of), period, std::move(scope), min_cases);
  for (const CaseHistory& h : cases) {
    if (const CaseEvaluation* e = evaluator.Evaluate(h, At(as_of))) builder.Add(*e);
  }
  return builder.Finish();
}

Date D(const char* text) { return ParseDate(text).value(); }

std::vector<CaseHistory> TwoTeams() {
  // Team A: prompt start met, psr missed. Team B: prompt start late, then pending plan.
  return {CaseBuilder("A1")
              .Psr("2013-03-01", false, true)
              .Opened("2013-04-01", {"North East", "Sunderland", "SUN-1", "om-1"})
              .Attended("2013-04-02")
              .Build(),
          CaseBuilder("B1")
              .Opened("2013-04-01", {"North East", "Gateshead", "GAT-1", "om-2"})
              .Attended("2013-04-10")
              .Build(),
          CaseBuilder("C1").Opened("2013-07-01").Build()};  // opens after T: not counted
}

TEST(Scores, CountsAndCaseScoresFollowTheDecisionDates) {
  const Report r = ReportOf(TwoTeams(), "2013-04-20", MakePeriod({}, {}, At("2013-04-20")).value());
  EXPECT_EQ(r.cases, 2);
  const IndicatorScore& prompt = r.indicators[Idx(Indicator::kPromptStart)];
  EXPECT_EQ(prompt.items.met, 1);
  EXPECT_EQ(prompt.items.late, 1);
  EXPECT_EQ(prompt.relevant_cases, 2);
  EXPECT_EQ(prompt.met_cases, 1);
  EXPECT_DOUBLE_EQ(*prompt.score, 0.5);
  const IndicatorScore& plan = r.indicators[Idx(Indicator::kInitialSentencePlan)];
  EXPECT_EQ(plan.items.pending, 2);
  EXPECT_FALSE(plan.score.has_value());
  EXPECT_DOUBLE_EQ(*r.indicators[Idx(Indicator::kPsrQuality)].score, 0.0);
  // SENTENCING: psr only, 0 -> INADEQUATE. DELIVERY: prompt 0.5 only (others null).
  EXPECT_DOUBLE_EQ(*r.outcomes[0].score, 0.0);
  EXPECT_EQ(*r.outcomes[0].rating, Rating::kInadequate);
  EXPECT_DOUBLE_EQ(*r.outcomes[1].score, 0.5);
  EXPECT_EQ(*r.outcomes[1].rating, Rating::kRequiresImprovement);
  EXPECT_FALSE(r.outcomes[4].score.has_value());
}

TEST(Scores, APeriodKeepsOnlyItemsDecidedInsideItButAllPending) {
  // The late item is decided on 9 Apr, the met one on 2 Apr, the psr on 1 Mar.
  const Report r = ReportOf(TwoTeams(), "2013-04-20",
                            MakePeriod(D("2013-04-03"), D("2013-04-30"), At("2013-04-20")).value());
  const IndicatorScore& prompt = r.indicators[Idx(Indicator::kPromptStart)];
  EXPECT_EQ(prompt.items.met, 0);
  EXPECT_EQ(prompt.items.late, 1);
  EXPECT_EQ(prompt.relevant_cases, 1);
  EXPECT_EQ(prompt.met_cases, 0);
  EXPECT_EQ(r.indicators[Idx(Indicator::kPsrQuality)].relevant_cases, 0);
  EXPECT_EQ(r.indicators[Idx(Indicator::kInitialSentencePlan)].items.pending, 2);
}

TEST(Scores, AStartAfterTheEndIsAnError) {
  auto p = MakePeriod(D("2013-05-01"), D("2013-04-01"), At("2013-06-01"));
  ASSERT_TRUE(p.has_error());
  EXPECT_NE(p.error().message.find("2013-05-01"), std::string::npos);
  EXPECT_EQ(MakePeriod({}, {}, At("2013-06-01T23:00:00Z")).value().to, D("2013-06-01"));
}

TEST(Scores, ScopesMatchEveryGivenFieldExactly) {
  const Period all = MakePeriod({}, {}, At("2013-04-20")).value();
  Scope pdu;
  pdu.pdu = "Sunderland";
  EXPECT_EQ(ReportOf(TwoTeams(), "2013-04-20", all, pdu).cases, 1);
  Scope region;
  region.region = "North East";
  EXPECT_EQ(ReportOf(TwoTeams(), "2013-04-20", all, region).cases, 2);
  Scope mismatch;
  mismatch.region = "North East";
  mismatch.team = "GAT-1";
  mismatch.offender_manager = "om-1";
  EXPECT_EQ(ReportOf(TwoTeams(), "2013-04-20", all, mismatch).cases, 0);
  Scope prefix;
  prefix.team = "SUN";
  EXPECT_EQ(ReportOf(TwoTeams(), "2013-04-20", all, prefix).cases, 0);
}

TEST(Scores, AScopeNoCaseIsAllocatedToIsNamedWithTheClosestKnownNames) {
  const std::vector<Allocation> known = {{"North East", "Sunderland", "Team A", "Ann Smith"},
                                         {"North East", "Gateshead", "Team B", "Bob Jones"}};
  EXPECT_TRUE(CheckScopeIsKnown(Scope{}, known));
  EXPECT_TRUE(CheckScopeIsKnown(Scope{std::nullopt, "Sunderland"}, known));
  EXPECT_TRUE(CheckScopeIsKnown(Scope{"North East", "Gateshead", "Team B"}, known));

  auto typo = CheckScopeIsKnown(Scope{std::nullopt, "Sunderlnd"}, known);
  ASSERT_FALSE(typo);
  EXPECT_EQ(typo.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_EQ(typo.error().message,
            "no case is allocated to PDU \"Sunderlnd\", did you mean \"Sunderland\"?");

  auto far = CheckScopeIsKnown(Scope{"Wales"}, known);
  ASSERT_FALSE(far);
  EXPECT_EQ(far.error().message, "no case is allocated to region \"Wales\" (known: \"North East\")");

  auto apart = CheckScopeIsKnown(Scope{std::nullopt, "Sunderland", "Team B"}, known);
  ASSERT_FALSE(apart);
  EXPECT_EQ(apart.error().message,
            "no case is allocated to PDU \"Sunderland\", team \"Team B\" together");

  EXPECT_FALSE(CheckScopeIsKnown(Scope{std::nullopt, "Sunderland"}, {}));
}

TEST(Scores, TheAllocationAtTOrAtClosingDecidesTheScope) {
  std::vector<CaseHistory> cases = {
      CaseBuilder("X")
          .Allocated("2013-03-01", {"Ignored", "", "", ""})  // before opening
          .Opened("2013-04-01", {"R1", "P1", "T1", "om-1"})
          .Allocated("2013-05-01", {"", "P2", "T2", ""})
          .Closed("2013-06-01")
          .Allocated("2013-07-01", {"R9", "P9", "T9", "om-9"})  // after closing
          .Build()};
  const Period all = MakePeriod({}, {}, At("2013-08-01")).value();
  Scope then;
  then.pdu = "P1";
  EXPECT_EQ(ReportOf(cases, "2013-04-15", MakePeriod({}, {}, At("2013-04-15")).value(), then).cases,
            1);
  Scope now;
  now.region = "R1";
  now.pdu = "P2";
  now.team = "T2";
  now.offender_manager = "om-1";
  EXPECT_EQ(ReportOf(cases, "2013-08-01", all, now).cases, 1);
}

TEST(Scores, RatingsUseTheThresholdsWithATolerance) {
  Policy p;
  EXPECT_EQ(RatingFor(0.80, p), Rating::kOutstanding);
  EXPECT_EQ(RatingFor(0.8 - 1e-10, p), Rating::kOutstanding);
  EXPECT_EQ(RatingFor(0.79, p), Rating::kGood);
  EXPECT_EQ(RatingFor(0.65, p), Rating::kGood);
  EXPECT_EQ(RatingFor(0.5, p), Rating::kRequiresImprovement);
  EXPECT_EQ(RatingFor(0.4999, p), Rating::kInadequate);
}

TEST(ReportJson, HasEveryIndicatorAndOutcomeInTableOrder) {
  const Report r = ReportOf(TwoTeams(), "2013-04-20T12:00:00+01:00",
                            MakePeriod({}, {}, At("2013-04-20T12:00:00+01:00")).value());
  const std::string json = RenderReportJson(r, nullptr);
  EXPECT_EQ(
      json.rfind(R"({"as_of":"2013-04-20T11:00:00Z","period":{"from":null,"to":"2013-04-20"},)"
                 R"("policy":"default","scope":{"region":null,"pdu":null,"team":null,)"
                 R"("offender_manager":null},"cases":2,"indicators":[{"id":"psr_quality",)",
                 0),
      0u)
      << json;
  size_t last = 0;
  for (const IndicatorInfo& info : kIndicators) {
    const size_t at = json.find(fmt::format(R"("id":"{}")", info.id));
    ASSERT_NE(at, std::string::npos) << info.id;
    EXPECT_GT(at, last);
    last = at;
  }
  // The small-base marks come after the normative keys, which are as they were.
  EXPECT_NE(
      json.find(R"({"id":"prompt_start","outcome":"DELIVERY","relevant_cases":2,"met_cases":1,)"
                R"("score":0.5,"items":{"met":1,"late":1,"missed":0,"cancelled":0,"pending":0},)"
                R"("too_few_cases":true})"),
      std::string::npos)
      << json;
  EXPECT_NE(json.find(R"({"id":"DELIVERY","score":0.5,"rating":"REQUIRES_IMPROVEMENT",)"
                      R"("base":2,"too_few_cases":true})"),
            std::string::npos)
      << json;
  EXPECT_NE(
      json.find(R"({"id":"VICTIMS","score":null,"rating":null,"base":0,"too_few_cases":true})"),
      std::string::npos)
      << json;
}

TEST(Scores, SmallBasesAreMarkedAndScoresAndRatingsStayTheSame) {
  const Period period = MakePeriod({}, {}, At("2013-04-20")).value();
  const Report marked = ReportOf(TwoTeams(), "2013-04-20", period);  // the default, 10
  const Report two = ReportOf(TwoTeams(), "2013-04-20", period, {}, Policy{}, 2);
  const Report none = ReportOf(TwoTeams(), "2013-04-20", period, {}, Policy{}, 0);
  EXPECT_EQ(marked.min_cases, kDefaultMinCases);
  EXPECT_EQ(kDefaultMinCases, 10);
  for (const Report* r : {&marked, &two, &none}) {
    EXPECT_DOUBLE_EQ(*r->indicators[Idx(Indicator::kPromptStart)].score, 0.5);
    EXPECT_DOUBLE_EQ(*r->outcomes[0].score, 0.0);
    EXPECT_EQ(*r->outcomes[0].rating, Rating::kInadequate);
    EXPECT_EQ(*r->outcomes[1].rating, Rating::kRequiresImprovement);
    EXPECT_EQ(r->outcomes[0].base, 1);  // SENTENCING: psr_quality on A1 only
    EXPECT_EQ(r->outcomes[1].base, 2);  // DELIVERY: prompt_start on both
    EXPECT_EQ(r->outcomes[4].base, 0);  // VICTIMS: nothing relevant
  }
  // 10: every score rests on fewer cases.
  EXPECT_TRUE(marked.indicators[Idx(Indicator::kPromptStart)].too_few_cases);
  EXPECT_TRUE(marked.outcomes[0].too_few_cases);
  EXPECT_TRUE(marked.outcomes[1].too_few_cases);
  // 2: prompt_start's 2 cases are enough, psr_quality's 1 is not; a threshold is "at least".
  EXPECT_FALSE(two.indicators[Idx(Indicator::kPromptStart)].too_few_cases);
  EXPECT_TRUE(two.indicators[Idx(Indicator::kPsrQuality)].too_few_cases);
  EXPECT_TRUE(two.outcomes[0].too_few_cases);
  EXPECT_FALSE(two.outcomes[1].too_few_cases);
  EXPECT_TRUE(two.outcomes[4].too_few_cases);  // no case at all is fewer than 2
  // 0: nothing is marked.
  for (const IndicatorScore& s : none.indicators) EXPECT_FALSE(s.too_few_cases);
  for (const OutcomeScore& s : none.outcomes) EXPECT_FALSE(s.too_few_cases);
}

TEST(Scores, AnOutcomesBaseIsItsLargestIndicatorBaseNotTheSum) {
  // One case relevant to two DELIVERY indicators (prompt start, initial plan) counts once.
  const std::vector<CaseHistory> cases = {CaseBuilder("A1")
                                              .Opened("2013-04-01")
                                              .Attended("2013-04-02")
                                              .Build()};
  const Report r = ReportOf(cases, "2013-06-30", MakePeriod({}, {}, At("2013-06-30")).value(), {},
                            Policy{}, 2);
  EXPECT_EQ(r.indicators[Idx(Indicator::kPromptStart)].relevant_cases, 1);
  EXPECT_EQ(r.indicators[Idx(Indicator::kInitialSentencePlan)].relevant_cases, 1);
  EXPECT_EQ(r.outcomes[1].base, 1);
  EXPECT_TRUE(r.outcomes[1].too_few_cases);
}

TEST(Scores, TotalsFromElsewhereGiveTheSameMarksAsCases) {
  // The engine adds per-allocation counts (AddTotals): the marks depend on the counts alone.
  const Period period = MakePeriod({}, {}, At("2013-04-20")).value();
  const Report from_cases = ReportOf(TwoTeams(), "2013-04-20", period, {}, Policy{}, 2);
  Policy policy;
  ReportBuilder builder(policy, At("2013-04-20"), period, Scope{}, 2);
  builder.AddTotals(from_cases.cases, from_cases.indicators);
  EXPECT_EQ(RenderReportJson(builder.Finish(), nullptr), RenderReportJson(from_cases, nullptr));
}

TEST(ReportJson, CaseItemsAreSortedByCaseIndicatorDueAndFulfiller) {
  Evaluator evaluator{Policy{}};
  std::vector<CaseItemRow> rows;
  auto cases = TwoTeams();
  for (auto it = cases.rbegin(); it != cases.rend(); ++it) {
    if (auto* e = evaluator.Evaluate(*it, At("2013-04-20"))) AppendCaseItems(*e, rows);
  }
  SortCaseItems(rows);
  ASSERT_GE(rows.size(), 4u);
  EXPECT_EQ(rows.front().case_id, "A1");
  EXPECT_EQ(rows.front().item.indicator, Indicator::kPsrQuality);
  EXPECT_EQ(rows.back().case_id, "B1");
  const Report r = ReportOf(cases, "2013-04-20", MakePeriod({}, {}, At("2013-04-20")).value());
  const std::string json = RenderReportJson(r, &rows);
  EXPECT_NE(json.find(R"({"case_id":"A1","indicator":"psr_quality","due":"2013-03-01",)"
                      R"("status":"MISSED","fulfilled_by":null,"decided_on":"2013-03-01"})"),
            std::string::npos);
  EXPECT_NE(json.find(R"({"case_id":"B1","indicator":"prompt_start","due":"2013-04-08",)"
                      R"("status":"LATE","fulfilled_by":"e02","decided_on":"2013-04-09"})"),
            std::string::npos);
  EXPECT_NE(json.find(R"("status":"PENDING","fulfilled_by":null,"decided_on":null})"),
            std::string::npos);
}

}  // namespace
}  // namespace casewatch
