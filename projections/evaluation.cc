#include "projections/evaluation.h"

#include "projections/rules/rules.h"

namespace casewatch {

Evaluator::Evaluator(Policy policy) : policy_(std::move(policy)), calendar_(policy_.holidays) {}

const CaseEvaluation* Evaluator::Evaluate(const CaseHistory& history, Instant as_of) {
  if (!timeline_.Reset(history, as_of)) return nullptr;
  result_.history = &history;
  result_.allocation = timeline_.allocation();
  result_.items.clear();
  const rules::RuleContext ctx{policy_, calendar_};
  for (rules::Rule rule : rules::kAllRules) rule(timeline_, ctx, result_.items);
  return &result_;
}

}  // namespace casewatch
