#include "services/simulator/practice_profile.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace casewatch::simulator {
namespace {

constexpr std::string_view kTaskNames[kTaskCount] = {
    "first-appointment",  "rosh-screening", "rosh-full-analysis", "initial-assessment",
    "initial-plan",       "initial-rmp",    "plan-review",        "assessment-review",
    "rmp-review",         "risk-response",  "absence-judgement",  "enforcement",
    "safeguarding-check", "victim-contact",
};

PracticeProfile Good() {
  PracticeProfile p;
  p.name = "good";
  p.late_rate = 0.03;
  p.miss_rate = 0.01;
  p.home_visit_rate = 0.95;
  p.oversight_rate = 0.98;
  p.psr_quality_rate = 0.95;
  p.victim_safety_rate = 0.97;
  p.team_spread = 0.25;
  p.absence_rate = 0.08;
  p.unacceptable_rate = 0.40;
  p.late_record_rate = 0.02;
  p.duplicate_rate = 0.002;
  return p;
}

PracticeProfile Struggling() {
  PracticeProfile p;
  p.name = "struggling";
  p.late_rate = 0.22;
  p.miss_rate = 0.12;
  p.home_visit_rate = 0.50;
  p.oversight_rate = 0.70;
  p.psr_quality_rate = 0.55;
  p.victim_safety_rate = 0.60;
  p.team_spread = 0.45;
  p.absence_rate = 0.18;
  p.unacceptable_rate = 0.55;
  p.late_record_rate = 0.12;
  p.duplicate_rate = 0.01;
  return p;
}

}  // namespace

std::string_view TaskName(Task task) { return kTaskNames[static_cast<size_t>(task)]; }

std::optional<Task> TaskByName(std::string_view name) {
  for (size_t i = 0; i < kTaskCount; ++i) {
    if (kTaskNames[i] == name) return static_cast<Task>(i);
  }
  return std::nullopt;
}

TaskRates PracticeProfile::RatesFor(Task task) const {
  const std::optional<TaskRates>& own = task_rates[static_cast<size_t>(task)];
  return own ? *own : TaskRates{late_rate, miss_rate};
}

void PracticeProfile::SetTaskRates(Task task, TaskRates rates) {
  task_rates[static_cast<size_t>(task)] = rates;
}

const std::vector<std::string>& ProfileNames() {
  static const std::vector<std::string> kNames = {"good", "typical", "struggling"};
  return kNames;
}

Result<PracticeProfile> ProfileByName(std::string_view name) {
  if (name == "good") return Good();
  if (name == "typical") return PracticeProfile{};
  if (name == "struggling") return Struggling();
  return InvalidArgument(fmt::format("unknown profile '{}': expected one of {}", name,
                                     fmt::join(ProfileNames(), ", ")));
}

Result<void> ValidateProfile(const PracticeProfile& p) {
  auto in_unit = [](std::string_view name, double value) -> Result<void> {
    if (!(value >= 0.0 && value <= 1.0)) {
      return InvalidArgument(fmt::format("{} must be in [0, 1], got {}", name, value));
    }
    return Ok();
  };
  const struct {
    const char* name;
    double value;
  } rates[] = {
      {"late-rate", p.late_rate},
      {"miss-rate", p.miss_rate},
      {"home-visit-rate", p.home_visit_rate},
      {"oversight-rate", p.oversight_rate},
      {"psr-quality-rate", p.psr_quality_rate},
      {"oral-report-rate", p.oral_report_rate},
      {"victim-safety-rate", p.victim_safety_rate},
      {"team-spread", p.team_spread},
      {"absence-rate", p.absence_rate},
      {"unacceptable-rate", p.unacceptable_rate},
      {"late-record-rate", p.late_record_rate},
      {"duplicate-rate", p.duplicate_rate},
  };
  for (const auto& rate : rates) {
    CW_TRY(in_unit(rate.name, rate.value));
  }
  if (p.home_visit_initial_rate) {
    CW_TRY(in_unit("home-visit-initial-rate", *p.home_visit_initial_rate));
  }
  if (p.late_rate + p.miss_rate > 1.0) {
    return InvalidArgument(
        fmt::format("late-rate + miss-rate must be at most 1, got {}", p.late_rate + p.miss_rate));
  }
  for (size_t i = 0; i < kTaskCount; ++i) {
    const std::optional<TaskRates>& own = p.task_rates[i];
    if (!own) continue;
    CW_TRY(in_unit(fmt::format("task-rate {} late", kTaskNames[i]), own->late));
    CW_TRY(in_unit(fmt::format("task-rate {} miss", kTaskNames[i]), own->miss));
    if (own->late + own->miss > 1.0) {
      return InvalidArgument(fmt::format("task-rate {}: late + miss must be at most 1, got {}",
                                         kTaskNames[i], own->late + own->miss));
    }
  }
  return Ok();
}

}  // namespace casewatch::simulator
