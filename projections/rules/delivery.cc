// SENTENCING and DELIVERY rules: pre-sentence reports, starting the order, sentence plans,
// absences and enforcement.
#include "projections/rules/internal/obligation.h"

namespace casewatch::rules {

using internal::Decide;
using internal::FirstWhere;
using internal::Limit;
using internal::TriggeredAt;

namespace {

bool IsInitialPlan(const CaseEvent& e) { return e.plan_kind() == PlanKind::kInitial; }
bool IsReviewPlan(const CaseEvent& e) { return e.plan_kind() == PlanKind::kReview; }
bool IsInitialAssessment(const CaseEvent& e) {
  return e.assessment_kind() == AssessmentKind::kInitial;
}
bool IsReviewAssessment(const CaseEvent& e) {
  return e.assessment_kind() == AssessmentKind::kReview;
}

}  // namespace

void PsrQuality(const CaseTimeline& tl, const RuleContext&, Items& out) {
  for (int p : tl.Of(EventType::kPreSentenceReportCompleted)) {
    const CaseEvent& e = tl.event(p);
    out.push_back(
        internal::Judge(tl, Indicator::kPsrQuality, p, e.includes_rosh() && e.includes_lor()));
  }
}

void PromptStart(const CaseTimeline& tl, const RuleContext& ctx, Items& out) {
  internal::OpeningObligation(
      tl, ctx, Indicator::kPromptStart, ctx.policy.prompt_start_wd,
      [&](int before) {
        return tl.FirstOf(EventType::kAppointmentAttended, tl.AtOrAfter(tl.opening()), before);
      },
      out);
}

void InitialSentencePlan(const CaseTimeline& tl, const RuleContext& ctx, Items& out) {
  internal::OpeningObligation(
      tl, ctx, Indicator::kInitialSentencePlan, ctx.policy.initial_plan_wd,
      [&](int before) {
        return FirstWhere(tl, EventType::kSentencePlanCompleted, 0, before, IsInitialPlan);
      },
      out);
}

void SentencePlanReview(const CaseTimeline& tl, const RuleContext& ctx, Items& out) {
  internal::ReviewChain(tl, ctx, Indicator::kSentencePlanReview, EventType::kSentencePlanCompleted,
                        ctx.policy.plan_review_days, IsInitialPlan, IsReviewPlan, out);
}

void AbsenceJudged(const CaseTimeline& tl, const RuleContext& ctx, Items& out) {
  const int limit = Limit(tl, tl.closing());
  for (int m : tl.Of(EventType::kAppointmentMissed)) {
    if (!tl.WhileOpen(m)) continue;
    const std::string_view appointment = tl.history().appointment_of(tl.event(m));
    const auto o =
        TriggeredAt(tl, Indicator::kAbsenceJudged, m,
                    ctx.calendar.AddWorkingDays(tl.date(m), ctx.policy.absence_judgement_wd));
    out.push_back(Decide(
        tl, o,
        FirstWhere(tl, EventType::kAbsenceJudged, tl.AtOrAfter(m), limit, [&](const CaseEvent& e) {
          return tl.history().appointment_of(e) == appointment;
        })));
  }
}

void Enforcement(const CaseTimeline& tl, const RuleContext& ctx, Items& out) {
  const int limit = Limit(tl, tl.closing());
  const auto warnings = tl.Of(EventType::kWarningIssued);
  for (int u : tl.Of(EventType::kAbsenceJudged)) {
    if (!tl.WhileOpen(u) || tl.event(u).acceptable()) continue;
    // The latest warning before u decides: an earlier one is further away and has every breach
    // after the latest one between it and u too.
    bool breach_due = false;
    auto it = std::lower_bound(warnings.begin(), warnings.end(), u);
    if (it != warnings.begin()) {
      const int w = *(it - 1);
      breach_due = tl.date(u) - tl.date(w) <= ctx.policy.enforcement_window_days &&
                   tl.FirstOf(EventType::kBreachInstigated, w + 1, u) < 0;
    }
    const EventType action = breach_due ? EventType::kBreachInstigated : EventType::kWarningIssued;
    const int days = breach_due ? ctx.policy.breach_wd : ctx.policy.warning_wd;
    const auto o =
        TriggeredAt(tl, Indicator::kEnforcement, u, ctx.calendar.AddWorkingDays(tl.date(u), days));
    out.push_back(Decide(tl, o, tl.FirstOf(action, tl.AtOrAfter(u), limit)));
  }
}

// REOFFENDING

void InitialAssessment(const CaseTimeline& tl, const RuleContext& ctx, Items& out) {
  internal::OpeningObligation(
      tl, ctx, Indicator::kInitialAssessment, ctx.policy.initial_assessment_wd,
      [&](int before) {
        return FirstWhere(tl, EventType::kAssessmentCompleted, 0, before, IsInitialAssessment);
      },
      out);
}

void AssessmentReview(const CaseTimeline& tl, const RuleContext& ctx, Items& out) {
  internal::ReviewChain(tl, ctx, Indicator::kAssessmentReview, EventType::kAssessmentCompleted,
                        ctx.policy.assessment_review_days, IsInitialAssessment, IsReviewAssessment,
                        out);
}

}  // namespace casewatch::rules
