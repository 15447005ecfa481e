#pragma once
// How well the simulated probation service works: the rates that decide how often practice is
// on time, late or missing, and what the feed's recording looks like. A plain value; presets are
// named profiles, and any rate can be overridden one by one.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace casewatch::simulator {

// The tasks whose timeliness a profile can set one by one, each the obligation of one indicator
// of docs/rules.md (named in the comment). A task without rates of its own uses the profile's
// late_rate and miss_rate.
enum class Task : uint8_t {
  kFirstAppointment,   // prompt_start
  kRoshScreening,      // rosh_screening (a screening done at report stage is never late)
  kRoshFullAnalysis,   // rosh_full_analysis
  kInitialAssessment,  // initial_assessment
  kInitialPlan,        // initial_sentence_plan
  kInitialRmp,         // rmp_initial
  kPlanReview,         // sentence_plan_review: periodic, and after a significant change
  kAssessmentReview,   // assessment_review: likewise
  kRmpReview,          // rmp_review: likewise
  kRiskResponse,       // risk_response
  kAbsenceJudgement,   // absence_judged
  kEnforcement,        // enforcement: warnings and breach action
  kSafeguardingCheck,  // safeguarding_checks
  kVictimContact,      // victim_contact
};
inline constexpr size_t kTaskCount = 14;

// The task's name in flags ("plan-review"), and the task of such a name.
std::string_view TaskName(Task task);
std::optional<Task> TaskByName(std::string_view name);

// Of the task's occurrences: the share done after its due date, and the share never done (a
// review never done ends its chain of reviews).
struct TaskRates {
  double late = 0.0;
  double miss = 0.0;
};

// Every rate is a probability in [0, 1]. "Task" means a piece of practice that an indicator
// expects by a due date: RoSH screening and full analysis, initial assessment, sentence plan and
// risk management plan, their reviews (periodic and after a significant change), absence
// judgements, warnings and breach action, safeguarding checks, victim contact offers, the
// response to a risk increase, and the first appointment.
struct PracticeProfile {
  std::string name = "typical";

  // Practice.
  double late_rate = 0.10;           // a task is done, but after its due date
  double miss_rate = 0.04;           // a task is never done
  double home_visit_rate = 0.80;     // a due home visit (high RoSH / child protection) is on time;
                                     // the rest are late (60%) or stop for that period (40%)
  double oversight_rate = 0.93;      // a 28-day management oversight is recorded on time; the rest
                                     // as for home visits
  double psr_quality_rate = 0.80;    // a written pre-sentence report covers RoSH and likelihood of
                                     // reoffending (oral reports manage it less often)
  double oral_report_rate = 0.35;    // a pre-sentence report is given orally on the day
  double victim_safety_rate = 0.90;  // a risk management plan addresses victim safety
  double team_spread = 0.35;         // how much teams differ: each team's failure rates are scaled
                                     // by a factor in [1 - spread, 1 + spread]

  // Overrides, for presets calibrated against inspection findings that give one task's figure
  // apart from the rest. Absent, the general rates above apply (and the output is what it was
  // before these existed).
  std::array<std::optional<TaskRates>, kTaskCount> task_rates{};  // indexed by Task
  std::optional<double> home_visit_initial_rate;  // the first visit of a period of high RoSH or
                                                  // child protection, else home_visit_rate

  // People on probation.
  double absence_rate = 0.12;             // an appointment is missed
  double unacceptable_rate = 0.45;        // a missed appointment is judged unacceptable
  bool low_and_medium_rosh_only = false;  // no case is ever classified HIGH or VERY_HIGH (a
                                          // community rehabilitation company's caseload)

  // The feed.
  double late_record_rate = 0.05;  // an event is recorded 2-30 days after it happened
  double duplicate_rate = 0.004;   // an event is re-sent (an identical duplicate)

  // The task's own rates if it has them, else {late_rate, miss_rate}.
  TaskRates RatesFor(Task task) const;
  // Sets the task's own rates.
  void SetTaskRates(Task task, TaskRates rates);
};

// The preset names, in order: "good", "typical", "struggling", then the presets calibrated
// against inspection reports (calibration.h).
const std::vector<std::string>& ProfileNames();

// The preset of that name, or an error naming the presets.
[[nodiscard]] Result<PracticeProfile> ProfileByName(std::string_view name);

// An error naming the first rate outside [0, 1] (or late + miss above 1), or success.
[[nodiscard]] Result<void> ValidateProfile(const PracticeProfile& profile);

}  // namespace casewatch::simulator
