#include "projections/testing/case_builder.h"

#include <fmt/format.h>

#include <stdexcept>

namespace casewatch::testing {

Instant At(std::string_view when) {
  const std::string text = when.size() == 10 ? std::string(when) + "T09:00:00Z" : std::string(when);
  auto parsed = ParseInstant(text);
  if (!parsed) throw std::invalid_argument(parsed.error().message);
  return parsed.value();
}

CaseBuilder& CaseBuilder::Id(std::string id) {
  next_id_ = std::move(id);
  return *this;
}

std::pair<CaseEvent, std::string> CaseBuilder::Next(std::string_view when, EventType type) {
  CaseEvent e;
  e.occurred_at = At(when);
  e.type = type;
  ++seq_;
  std::string id = next_id_.empty() ? fmt::format("e{:02}", seq_) : next_id_;
  next_id_.clear();
  return {e, std::move(id)};
}

CaseBuilder& CaseBuilder::Opened(std::string_view when, Allocation allocation,
                                 bool victim_contact_required, std::string_view sentenced) {
  auto [e, id] = Next(when, EventType::kCaseOpened);
  Opening opening{victim_contact_required, sentenced.empty() ? e.occurred_at : At(sentenced)};
  history_.AddCaseOpened(e, id, std::move(allocation), opening);
  return *this;
}

CaseBuilder& CaseBuilder::Allocated(std::string_view when, Allocation allocation) {
  auto [e, id] = Next(when, EventType::kCaseAllocated);
  history_.AddCaseAllocated(e, id, std::move(allocation));
  return *this;
}

CaseBuilder& CaseBuilder::Closed(std::string_view when) {
  auto [e, id] = Next(when, EventType::kCaseClosed);
  e.code = 1;
  history_.Add(e, id);
  return *this;
}

CaseBuilder& CaseBuilder::Psr(std::string_view when, bool includes_rosh, bool includes_lor) {
  auto [e, id] = Next(when, EventType::kPreSentenceReportCompleted);
  e.code = 2;
  e.flag = includes_rosh;
  e.flag2 = includes_lor;
  history_.Add(e, id);
  return *this;
}

CaseBuilder& CaseBuilder::Plan(std::string_view when, PlanKind kind) {
  auto [e, id] = Next(when, EventType::kSentencePlanCompleted);
  e.code = static_cast<uint8_t>(kind);
  history_.Add(e, id);
  return *this;
}

CaseBuilder& CaseBuilder::Assessment(std::string_view when, AssessmentKind kind) {
  auto [e, id] = Next(when, EventType::kAssessmentCompleted);
  e.code = static_cast<uint8_t>(kind);
  history_.Add(e, id);
  return *this;
}

CaseBuilder& CaseBuilder::Screening(std::string_view when, bool full_analysis_required) {
  auto [e, id] = Next(when, EventType::kRoshScreeningCompleted);
  e.flag = full_analysis_required;
  history_.Add(e, id);
  return *this;
}

CaseBuilder& CaseBuilder::Rosh(std::string_view when, RoshLevel level) {
  auto [e, id] = Next(when, EventType::kRoshClassified);
  e.code = static_cast<uint8_t>(level);
  history_.Add(e, id);
  return *this;
}

CaseBuilder& CaseBuilder::Rmp(std::string_view when, PlanKind kind, bool addresses_victim_safety) {
  auto [e, id] = Next(when, EventType::kRiskManagementPlanCompleted);
  e.code = static_cast<uint8_t>(kind);
  e.flag = addresses_victim_safety;
  history_.Add(e, id);
  return *this;
}

CaseBuilder& CaseBuilder::Registered(std::string_view when, RegistrationType type) {
  auto [e, id] = Next(when, EventType::kRegistrationAdded);
  e.code = static_cast<uint8_t>(type);
  history_.Add(e, id);
  return *this;
}

CaseBuilder& CaseBuilder::Deregistered(std::string_view when, RegistrationType type) {
  auto [e, id] = Next(when, EventType::kRegistrationRemoved);
  e.code = static_cast<uint8_t>(type);
  history_.Add(e, id);
  return *this;
}

CaseBuilder& CaseBuilder::Attended(std::string_view when, std::string appointment) {
  auto [e, id] = Next(when, EventType::kAppointmentAttended);
  history_.AddAppointmentEvent(e, id, appointment);
  return *this;
}

CaseBuilder& CaseBuilder::Missed(std::string_view when, std::string appointment) {
  auto [e, id] = Next(when, EventType::kAppointmentMissed);
  history_.AddAppointmentEvent(e, id, appointment);
  return *this;
}

CaseBuilder& CaseBuilder::Judged(std::string_view when, std::string appointment, bool acceptable) {
  auto [e, id] = Next(when, EventType::kAbsenceJudged);
  e.flag = acceptable;
  history_.AddAppointmentEvent(e, id, appointment);
  return *this;
}

CaseBuilder& CaseBuilder::Change(std::string_view when, bool risk_increased) {
  auto [e, id] = Next(when, EventType::kSignificantChangeRecorded);
  e.flag = risk_increased;
  history_.Add(e, id);
  return *this;
}

CaseBuilder& CaseBuilder::Check(std::string_view when, SafeguardingCheck kind) {
  auto [e, id] = Next(when, EventType::kSafeguardingCheckCompleted);
  e.code = static_cast<uint8_t>(kind);
  history_.Add(e, id);
  return *this;
}

CaseBuilder& CaseBuilder::Plain(std::string_view when, EventType type) {
  auto [e, id] = Next(when, type);
  history_.Add(e, id);
  return *this;
}

CaseHistory CaseBuilder::Build() {
  CaseHistory h = history_;
  h.Seal();
  return h;
}

std::vector<std::string> Describe(const CaseEvaluation& evaluation, Indicator indicator) {
  std::vector<std::string> out;
  for (const Item& item : evaluation.items) {
    if (item.indicator != indicator) continue;
    out.push_back(fmt::format(
        "{} {} {} {}", FormatDate(item.due), NameOf(item.status),
        item.fulfilled_by >= 0
            ? evaluation.history->event_id(evaluation.history->events()[item.fulfilled_by])
            : "-",
        item.decided() ? FormatDate(item.decided_on) : "-"));
  }
  return out;
}

Policy WeekendsOnly() {
  Policy policy;
  policy.holidays.clear();
  return policy;
}

std::vector<std::string> ItemsOf(const CaseHistory& history, Indicator indicator,
                                 std::string_view as_of, const Policy& policy) {
  Evaluator evaluator(policy);
  const CaseEvaluation* evaluation = evaluator.Evaluate(history, At(as_of));
  if (evaluation == nullptr) return {};
  return Describe(*evaluation, indicator);
}

}  // namespace casewatch::testing
