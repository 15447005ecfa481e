#pragma once
// Test support: builds a CaseHistory from a short script of events and describes items as
// "due STATUS fulfilled_by decided_on" strings, so rule tests read like the spec.

#include <string>
#include <vector>

#include "projections/case_history.h"
#include "projections/evaluation.h"

namespace casewatch::testing {

// "2013-04-01" means 09:00Z that day; anything longer is RFC 3339.
Instant At(std::string_view when);

class CaseBuilder {
 public:
  explicit CaseBuilder(std::string case_id = "C1") : history_(std::move(case_id)) {}

  // The next event gets this id instead of the automatic e01, e02, ... (which sort in add order).
  CaseBuilder& Id(std::string id);

  CaseBuilder& Opened(std::string_view when, Allocation allocation = {"R1", "P1", "T1", "om-1"},
                      bool victim_contact_required = false, std::string_view sentenced = {});
  CaseBuilder& Allocated(std::string_view when, Allocation allocation);
  CaseBuilder& Closed(std::string_view when);
  CaseBuilder& Psr(std::string_view when, bool includes_rosh, bool includes_lor);
  CaseBuilder& Plan(std::string_view when, PlanKind kind);
  CaseBuilder& Assessment(std::string_view when, AssessmentKind kind);
  CaseBuilder& Screening(std::string_view when, bool full_analysis_required);
  CaseBuilder& Rosh(std::string_view when, RoshLevel level);
  CaseBuilder& Rmp(std::string_view when, PlanKind kind, bool addresses_victim_safety = true);
  CaseBuilder& Registered(std::string_view when, RegistrationType type);
  CaseBuilder& Deregistered(std::string_view when, RegistrationType type);
  CaseBuilder& Attended(std::string_view when, std::string appointment = "a");
  CaseBuilder& Missed(std::string_view when, std::string appointment);
  CaseBuilder& Judged(std::string_view when, std::string appointment, bool acceptable);
  CaseBuilder& Change(std::string_view when, bool risk_increased);
  CaseBuilder& Check(std::string_view when, SafeguardingCheck kind);
  // Events with no payload fields the rules read.
  CaseBuilder& Plain(std::string_view when, EventType type);

  CaseHistory Build();

 private:
  // The next event and its id.
  std::pair<CaseEvent, std::string> Next(std::string_view when, EventType type);

  CaseHistory history_;
  int seq_ = 0;
  std::string next_id_;
};

// The items of one indicator, each as "due STATUS fulfilled_by|- decided_on|-".
std::vector<std::string> Describe(const CaseEvaluation& evaluation, Indicator indicator);

// Evaluates `history` at `as_of` under `policy` and describes one indicator's items; empty when
// the case is not counted.
// The default policy with no holidays: the rules' tests count weekends only, so that their dates
// can be checked by hand; the calendar's holidays have tests of their own.
Policy WeekendsOnly();

std::vector<std::string> ItemsOf(const CaseHistory& history, Indicator indicator,
                                 std::string_view as_of, const Policy& policy = WeekendsOnly());

}  // namespace casewatch::testing
