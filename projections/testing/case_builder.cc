#include "projections/testing/case_builder.h"

#include <stdexcept>

#include <fmt/format.h>

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

CaseEvent CaseBuilder::Next(std::string_view when, EventType type) {
  CaseEvent e;
  e.occurred_at = At(when);
  e.type = type;
  ++seq_;
  e.event_id = next_id_.empty() ? fmt::format("e{:02}", seq_) : next_id_;
  next_id_.clear();
  return e;
}

CaseBuilder& CaseBuilder::Opened(std::string_view when, Allocation allocation,
                                 bool victim_contact_required, std::string_view sentenced) {
  CaseEvent e = Next(when, EventType::kCaseOpened);
  Opening opening{1, victim_contact_required, sentenced.empty() ? e.occurred_at : At(sentenced)};
  history_.AddCaseOpened(std::move(e), std::move(allocation), opening);
  return *this;
}

CaseBuilder& CaseBuilder::Allocated(std::string_view when, Allocation allocation) {
  history_.AddCaseAllocated(Next(when, EventType::kCaseAllocated), std::move(allocation));
  return *this;
}

CaseBuilder& CaseBuilder::Closed(std::string_view when) {
  CaseEvent e = Next(when, EventType::kCaseClosed);
  e.code = 1;
  history_.Add(std::move(e));
  return *this;
}

CaseBuilder& CaseBuilder::Psr(std::string_view when, bool includes_rosh, bool includes_lor) {
  CaseEvent e = Next(when, EventType::kPreSentenceReportCompleted);
  e.code = 2;
  e.flag = includes_rosh;
  e.flag2 = includes_lor;
  history_.Add(std::move(e));
  return *this;
}

CaseBuilder& CaseBuilder::Plan(std::string_view when, PlanKind kind) {
  CaseEvent e = Next(when, EventType::kSentencePlanCompleted);
  e.code = static_cast<uint8_t>(kind);
  history_.Add(std::move(e));
  return *this;
}

CaseBuilder& CaseBuilder::Assessment(std::string_view when, AssessmentKind kind) {
  CaseEvent e = Next(when, EventType::kAssessmentCompleted);
  e.code = static_cast<uint8_t>(kind);
  history_.Add(std::move(e));
  return *this;
}

CaseBuilder& CaseBuilder::Screening(std::string_view when, bool full_analysis_required) {
  CaseEvent e = Next(when, EventType::kRoshScreeningCompleted);
  e.flag = full_analysis_required;
  history_.Add(std::move(e));
  return *this;
}

CaseBuilder& CaseBuilder::Rosh(std::string_view when, RoshLevel level) {
  CaseEvent e = Next(when, EventType::kRoshClassified);
  e.code = static_cast<uint8_t>(level);
  history_.Add(std::move(e));
  return *this;
}

CaseBuilder& CaseBuilder::Rmp(std::string_view when, PlanKind kind, bool addresses_victim_safety) {
  CaseEvent e = Next(when, EventType::kRiskManagementPlanCompleted);
  e.code = static_cast<uint8_t>(kind);
  e.flag = addresses_victim_safety;
  history_.Add(std::move(e));
  return *this;
}

CaseBuilder& CaseBuilder::Registered(std::string_view when, RegistrationType type) {
  CaseEvent e = Next(when, EventType::kRegistrationAdded);
  e.code = static_cast<uint8_t>(type);
  history_.Add(std::move(e));
  return *this;
}

CaseBuilder& CaseBuilder::Deregistered(std::string_view when, RegistrationType type) {
  CaseEvent e = Next(when, EventType::kRegistrationRemoved);
  e.code = static_cast<uint8_t>(type);
  history_.Add(std::move(e));
  return *this;
}

CaseBuilder& CaseBuilder::Attended(std::string_view when, std::string appointment) {
  history_.AddAppointmentEvent(Next(when, EventType::kAppointmentAttended), std::move(appointment));
  return *this;
}

CaseBuilder& CaseBuilder::Missed(std::string_view when, std::string appointment) {
  history_.AddAppointmentEvent(Next(when, EventType::kAppointmentMissed), std::move(appointment));
  return *this;
}

CaseBuilder& CaseBuilder::Judged(std::string_view when, std::string appointment, bool acceptable) {
  CaseEvent e = Next(when, EventType::kAbsenceJudged);
  e.flag = acceptable;
  history_.AddAppointmentEvent(std::move(e), std::move(appointment));
  return *this;
}

CaseBuilder& CaseBuilder::Change(std::string_view when, bool risk_increased) {
  CaseEvent e = Next(when, EventType::kSignificantChangeRecorded);
  e.flag = risk_increased;
  history_.Add(std::move(e));
  return *this;
}

CaseBuilder& CaseBuilder::Check(std::string_view when, SafeguardingCheck kind) {
  CaseEvent e = Next(when, EventType::kSafeguardingCheckCompleted);
  e.code = static_cast<uint8_t>(kind);
  history_.Add(std::move(e));
  return *this;
}

CaseBuilder& CaseBuilder::Plain(std::string_view when, EventType type) {
  history_.Add(Next(when, type));
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
        item.fulfilled_by >= 0 ? evaluation.history->events()[item.fulfilled_by].event_id : "-",
        item.decided() ? FormatDate(item.decided_on) : "-"));
  }
  return out;
}

std::vector<std::string> ItemsOf(const CaseHistory& history, Indicator indicator,
                                 std::string_view as_of, const Policy& policy) {
  Evaluator evaluator(policy);
  const CaseEvaluation* evaluation = evaluator.Evaluate(history, At(as_of));
  if (evaluation == nullptr) return {};
  return Describe(*evaluation, indicator);
}

}  // namespace casewatch::testing
