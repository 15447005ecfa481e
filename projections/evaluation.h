#pragma once
// Evaluator: (case history, policy, T) -> the case's items. Owns a copy of the policy, its working
// calendar and scratch buffers reused from case to case, so it is cheap to call per case; use one
// Evaluator per thread.

#include <vector>

#include "projections/case_timeline.h"
#include "projections/indicators.h"
#include "projections/policy.h"
#include "projections/working_days.h"

namespace casewatch {

struct CaseEvaluation {
  const CaseHistory* history = nullptr;
  Allocation allocation;    // decides the scopes the case falls in
  std::vector<Item> items;  // in rule (table) order; within a rule, in trigger order
};

class Evaluator {
 public:
  explicit Evaluator(Policy policy);

  const Policy& policy() const { return policy_; }

  // Evaluates a sealed history at `as_of`. Returns nullptr when the case is not counted; otherwise
  // a result valid until the next call.
  const CaseEvaluation* Evaluate(const CaseHistory& history, Instant as_of);

 private:
  Policy policy_;
  WorkingCalendar calendar_;
  CaseTimeline timeline_;
  CaseEvaluation result_;
};

}  // namespace casewatch
