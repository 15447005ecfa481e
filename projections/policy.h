#pragma once
// Policy: the organisation's standards (docs/rules.md section 8). Plain data; every field has the
// spec's default. ParsePolicy reads the JSON policy file form and names any bad key.

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "projections/bank_holidays.h"
#include "projections/calendar.h"

namespace casewatch {

struct Policy {
  std::string name = "default";
  int prompt_start_wd = 5;
  int initial_plan_wd = 15;
  int plan_review_days = 112;
  int change_review_wd = 10;
  int absence_judgement_wd = 2;
  int warning_wd = 10;
  int breach_wd = 10;
  int enforcement_window_days = 365;
  int initial_assessment_wd = 15;
  int assessment_review_days = 112;
  int rosh_screening_wd = 15;
  int full_analysis_wd = 10;
  int rmp_initial_wd = 15;
  int rmp_review_days = 112;
  int risk_response_wd = 5;
  int home_visit_initial_wd = 10;
  int home_visit_repeat_days = 91;
  int oversight_days = 28;
  int safeguarding_wd = 10;
  int victim_contact_days = 56;
  double rating_outstanding = 0.80;
  double rating_good = 0.65;
  double rating_requires_improvement = 0.50;
  // Sorted, unique. Default: England and Wales bank holidays 2000-2035 (bank_holidays.h).
  std::vector<Date> holidays = EnglandAndWalesBankHolidays();
};

// Parses a policy file's text. Keys left out take their defaults; an unknown key or a bad value
// is an error naming the key.
[[nodiscard]] Result<Policy> ParsePolicy(std::string_view json);

// One key of a policy with its value as the policy file writes it (holidays: comma-separated
// dates), for showing a policy or the keys two policies differ in.
struct PolicySetting {
  std::string_view key;
  std::string value;
};
// Every key: the day counts, the rating thresholds, then the holidays.
std::vector<PolicySetting> PolicySettings(const Policy& policy);

}  // namespace casewatch
