#pragma once
// The indicator rules of docs/rules.md section 7. Each rule is a pure function: given one case's
// timeline as of T (which carries T) and the policy, it appends that indicator's items. No I/O,
// no clock, no global state.

#include <vector>

#include "projections/case_timeline.h"
#include "projections/indicators.h"
#include "projections/policy.h"
#include "projections/working_days.h"

namespace casewatch::rules {

struct RuleContext {
  const Policy& policy;
  const WorkingCalendar& calendar;
};

using Items = std::vector<Item>;
using Rule = void (*)(const CaseTimeline&, const RuleContext&, Items&);

// SENTENCING
void PsrQuality(const CaseTimeline& tl, const RuleContext& ctx, Items& out);
// DELIVERY
void PromptStart(const CaseTimeline& tl, const RuleContext& ctx, Items& out);
void InitialSentencePlan(const CaseTimeline& tl, const RuleContext& ctx, Items& out);
void SentencePlanReview(const CaseTimeline& tl, const RuleContext& ctx, Items& out);
void AbsenceJudged(const CaseTimeline& tl, const RuleContext& ctx, Items& out);
void Enforcement(const CaseTimeline& tl, const RuleContext& ctx, Items& out);
// REOFFENDING
void InitialAssessment(const CaseTimeline& tl, const RuleContext& ctx, Items& out);
void AssessmentReview(const CaseTimeline& tl, const RuleContext& ctx, Items& out);
// PUBLIC_PROTECTION
void RoshScreening(const CaseTimeline& tl, const RuleContext& ctx, Items& out);
void RoshFullAnalysis(const CaseTimeline& tl, const RuleContext& ctx, Items& out);
void RmpInitial(const CaseTimeline& tl, const RuleContext& ctx, Items& out);
void RmpReview(const CaseTimeline& tl, const RuleContext& ctx, Items& out);
void RiskResponse(const CaseTimeline& tl, const RuleContext& ctx, Items& out);
// home_visit_initial and home_visit_repeat: one chain per relevant interval.
void HomeVisits(const CaseTimeline& tl, const RuleContext& ctx, Items& out);
void ManagementOversight(const CaseTimeline& tl, const RuleContext& ctx, Items& out);
void SafeguardingChecks(const CaseTimeline& tl, const RuleContext& ctx, Items& out);
// VICTIMS
void VictimContact(const CaseTimeline& tl, const RuleContext& ctx, Items& out);
void RmpVictimSafety(const CaseTimeline& tl, const RuleContext& ctx, Items& out);

// Every rule, in table order.
inline constexpr Rule kAllRules[] = {
    PsrQuality,    PromptStart,      InitialSentencePlan, SentencePlanReview,
    AbsenceJudged, Enforcement,      InitialAssessment,   AssessmentReview,
    RoshScreening, RoshFullAnalysis, RmpInitial,          RmpReview,
    RiskResponse,  HomeVisits,       ManagementOversight, SafeguardingChecks,
    VictimContact, RmpVictimSafety,
};

// A relevant interval (R rules): [start, end) in positions; end = -1 while still relevant at T.
struct RelevantInterval {
  int start;
  int end;
};
std::vector<RelevantInterval> RelevantIntervals(const CaseTimeline& tl);

}  // namespace casewatch::rules
