// PUBLIC_PROTECTION and VICTIMS rules.
#include "projections/rules/internal/obligation.h"

namespace casewatch::rules {

using internal::Chain;
using internal::Decide;
using internal::FirstWhere;
using internal::Limit;
using internal::Obligation;
using internal::TriggeredAt;

void RoshScreening(const CaseTimeline& tl, const RuleContext& ctx, Items& out) {
  internal::OpeningObligation(
      tl, ctx, Indicator::kRoshScreening, ctx.policy.rosh_screening_wd,
      [&](int before) { return tl.FirstOf(EventType::kRoshScreeningCompleted, 0, before); }, out);
}

void RoshFullAnalysis(const CaseTimeline& tl, const RuleContext& ctx, Items& out) {
  const int limit = Limit(tl, tl.closing());
  for (int s : tl.Of(EventType::kRoshScreeningCompleted)) {
    if (!tl.event(s).full_analysis_required()) continue;
    const auto o =
        TriggeredAt(tl, Indicator::kRoshFullAnalysis, s,
                    ctx.calendar.AddWorkingDays(tl.date(s), ctx.policy.full_analysis_wd));
    out.push_back(
        Decide(tl, o, tl.FirstOf(EventType::kRoshFullAnalysisCompleted, tl.AtOrAfter(s), limit)));
  }
}

void RmpInitial(const CaseTimeline& tl, const RuleContext& ctx, Items& out) {
  // The RoSH level only changes at rosh_classified events, so the trigger is the opening (when
  // already MEDIUM or above) or the first classification to MEDIUM or above while open.
  const int open = tl.opening();
  const auto classified = tl.Of(EventType::kRoshClassified);
  auto it = std::lower_bound(classified.begin(), classified.end(), open);
  int trigger = -1;
  if (it != classified.begin() && tl.event(*(it - 1)).rosh_level() >= RoshLevel::kMedium) {
    trigger = open;
  }
  for (; trigger < 0 && it != classified.end(); ++it) {
    if (tl.WhileOpen(*it) && tl.event(*it).rosh_level() >= RoshLevel::kMedium) trigger = *it;
  }
  if (trigger < 0) return;
  const auto o =
      TriggeredAt(tl, Indicator::kRmpInitial, trigger,
                  ctx.calendar.AddWorkingDays(tl.date(trigger), ctx.policy.rmp_initial_wd));
  out.push_back(Decide(
      tl, o, tl.FirstOf(EventType::kRiskManagementPlanCompleted, 0, Limit(tl, o.window_end))));
}

void RmpReview(const CaseTimeline& tl, const RuleContext& ctx, Items& out) {
  internal::ReviewChain(
      tl, ctx, Indicator::kRmpReview, EventType::kRiskManagementPlanCompleted,
      ctx.policy.rmp_review_days, [](const CaseEvent&) { return true; },
      [](const CaseEvent& e) { return e.plan_kind() == PlanKind::kReview; }, out);
}

void RiskResponse(const CaseTimeline& tl, const RuleContext& ctx, Items& out) {
  const int limit = Limit(tl, tl.closing());
  for (int s : tl.Of(EventType::kSignificantChangeRecorded)) {
    if (!tl.WhileOpen(s) || !tl.event(s).risk_increased()) continue;
    const auto o =
        TriggeredAt(tl, Indicator::kRiskResponse, s,
                    ctx.calendar.AddWorkingDays(tl.date(s), ctx.policy.risk_response_wd));
    const int from = tl.AtOrAfter(s);
    int f = -1;
    for (EventType response : {EventType::kRoshClassified, EventType::kRoshFullAnalysisCompleted,
                               EventType::kBreachInstigated}) {
      const int p = tl.FirstOf(response, from, f < 0 ? limit : f);
      if (p >= 0) f = p;
    }
    out.push_back(Decide(tl, o, f));
  }
}

std::vector<RelevantInterval> RelevantIntervals(const CaseTimeline& tl) {
  std::vector<RelevantInterval> intervals;
  RoshLevel level = RoshLevel::kUnspecified;
  bool child_protection = false;
  bool was_relevant = false;
  int start = -1;
  for (int i = 0; i < tl.size(); ++i) {
    const CaseEvent& e = tl.event(i);
    if (e.type == EventType::kRoshClassified) {
      level = e.rosh_level();
    } else if ((e.type == EventType::kRegistrationAdded ||
                e.type == EventType::kRegistrationRemoved) &&
               e.registration_type() == RegistrationType::kChildProtection) {
      child_protection = e.type == EventType::kRegistrationAdded;
    }
    const bool open = i >= tl.opening() && (tl.closing() < 0 || i < tl.closing());
    const bool relevant = open && (level >= RoshLevel::kHigh || child_protection);
    if (relevant && !was_relevant) start = i;
    if (!relevant && was_relevant) intervals.push_back({start, i});
    was_relevant = relevant;
  }
  if (was_relevant) intervals.push_back({start, -1});
  return intervals;
}

namespace {

// An (R) chain per relevant interval: item 1 fulfilled at or after the interval start.
void IntervalChains(const CaseTimeline& tl, Indicator first, Indicator rest, EventType fulfils,
                    int first_wd, int first_days, int period_days, const WorkingCalendar& calendar,
                    Items& out) {
  auto find = [&](int from, int before) { return tl.FirstOf(fulfils, from, before); };
  for (const RelevantInterval& interval : RelevantIntervals(tl)) {
    const Date start = tl.date(interval.start);
    const Date due =
        first_wd > 0 ? calendar.AddWorkingDays(start, first_wd) : AddDays(start, first_days);
    Chain(tl, Obligation{first, due, interval.start, start, interval.end},
          tl.AtOrAfter(interval.start), period_days, rest, find, out);
  }
}

}  // namespace

void HomeVisits(const CaseTimeline& tl, const RuleContext& ctx, Items& out) {
  IntervalChains(tl, Indicator::kHomeVisitInitial, Indicator::kHomeVisitRepeat,
                 EventType::kHomeVisitCompleted, ctx.policy.home_visit_initial_wd, 0,
                 ctx.policy.home_visit_repeat_days, ctx.calendar, out);
}

void ManagementOversight(const CaseTimeline& tl, const RuleContext& ctx, Items& out) {
  IntervalChains(tl, Indicator::kManagementOversight, Indicator::kManagementOversight,
                 EventType::kManagementOversightRecorded, 0, ctx.policy.oversight_days,
                 ctx.policy.oversight_days, ctx.calendar, out);
}

void SafeguardingChecks(const CaseTimeline& tl, const RuleContext& ctx, Items& out) {
  const int limit = Limit(tl, tl.closing());
  bool domestic_abuse = false;
  bool child_protection = false;
  for (int i = 0; i < tl.size(); ++i) {
    const CaseEvent& e = tl.event(i);
    if (e.type != EventType::kRegistrationAdded && e.type != EventType::kRegistrationRemoved) {
      continue;
    }
    bool* active = e.registration_type() == RegistrationType::kDomesticAbuse     ? &domestic_abuse
                   : e.registration_type() == RegistrationType::kChildProtection ? &child_protection
                                                                                 : nullptr;
    if (active == nullptr) continue;
    const bool adding = e.type == EventType::kRegistrationAdded;
    const bool activated = adding && !*active;
    *active = adding;
    if (!activated) continue;
    const int trigger = std::max(i, tl.opening());
    const auto o =
        TriggeredAt(tl, Indicator::kSafeguardingChecks, trigger,
                    ctx.calendar.AddWorkingDays(tl.date(trigger), ctx.policy.safeguarding_wd));
    for (SafeguardingCheck kind :
         {SafeguardingCheck::kChildrensServices, SafeguardingCheck::kPoliceDomesticAbuse}) {
      out.push_back(Decide(
          tl, o,
          FirstWhere(tl, EventType::kSafeguardingCheckCompleted, tl.AtOrAfter(i), limit,
                     [kind](const CaseEvent& c) { return c.safeguarding_check() == kind; })));
      out.back().detail = static_cast<uint8_t>(kind);
    }
  }
}

void VictimContact(const CaseTimeline& tl, const RuleContext& ctx, Items& out) {
  const Opening& opening = tl.history().opening_of(tl.event(tl.opening()));
  if (!opening.victim_contact_required) return;
  const Date sentenced = DateOf(opening.sentence_date);
  const Obligation o{Indicator::kVictimContact, AddDays(sentenced, ctx.policy.victim_contact_days),
                     tl.opening(), sentenced, tl.closing()};
  out.push_back(
      Decide(tl, o,
             tl.FirstOf(EventType::kVictimContactOffered, tl.FirstAtOrAfter(opening.sentence_date),
                        Limit(tl, o.window_end))));
}

void RmpVictimSafety(const CaseTimeline& tl, const RuleContext&, Items& out) {
  for (int r : tl.Of(EventType::kRiskManagementPlanCompleted)) {
    out.push_back(
        internal::Judge(tl, Indicator::kRmpVictimSafety, r, tl.event(r).addresses_victim_safety()));
  }
}

}  // namespace casewatch::rules
