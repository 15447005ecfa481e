#pragma once
// How well the simulated probation service works: the rates that decide how often practice is
// on time, late or missing, and what the feed's recording looks like. A plain value; presets are
// named profiles, and any rate can be overridden one by one.

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace casewatch::simulator {

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
  double victim_safety_rate = 0.90;  // a risk management plan addresses victim safety
  double team_spread = 0.35;         // how much teams differ: each team's failure rates are scaled
                                     // by a factor in [1 - spread, 1 + spread]

  // People on probation.
  double absence_rate = 0.12;       // an appointment is missed
  double unacceptable_rate = 0.45;  // a missed appointment is judged unacceptable

  // The feed.
  double late_record_rate = 0.05;  // an event is recorded 2-30 days after it happened
  double duplicate_rate = 0.004;   // an event is re-sent (an identical duplicate)
};

// The preset names, in order: "good", "typical", "struggling".
const std::vector<std::string>& ProfileNames();

// The preset of that name, or an error naming the presets.
[[nodiscard]] Result<PracticeProfile> ProfileByName(std::string_view name);

// An error naming the first rate outside [0, 1], or success.
[[nodiscard]] Result<void> ValidateProfile(const PracticeProfile& profile);

}  // namespace casewatch::simulator
