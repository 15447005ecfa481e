#include "projections/policy.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cmath>

namespace casewatch {
namespace {

struct IntKey {
  std::string_view key;
  int Policy::*field;
};

constexpr std::array kIntKeys = {
    IntKey{"prompt_start_wd", &Policy::prompt_start_wd},
    IntKey{"initial_plan_wd", &Policy::initial_plan_wd},
    IntKey{"plan_review_days", &Policy::plan_review_days},
    IntKey{"change_review_wd", &Policy::change_review_wd},
    IntKey{"absence_judgement_wd", &Policy::absence_judgement_wd},
    IntKey{"warning_wd", &Policy::warning_wd},
    IntKey{"breach_wd", &Policy::breach_wd},
    IntKey{"enforcement_window_days", &Policy::enforcement_window_days},
    IntKey{"initial_assessment_wd", &Policy::initial_assessment_wd},
    IntKey{"assessment_review_days", &Policy::assessment_review_days},
    IntKey{"rosh_screening_wd", &Policy::rosh_screening_wd},
    IntKey{"full_analysis_wd", &Policy::full_analysis_wd},
    IntKey{"rmp_initial_wd", &Policy::rmp_initial_wd},
    IntKey{"rmp_review_days", &Policy::rmp_review_days},
    IntKey{"risk_response_wd", &Policy::risk_response_wd},
    IntKey{"home_visit_initial_wd", &Policy::home_visit_initial_wd},
    IntKey{"home_visit_repeat_days", &Policy::home_visit_repeat_days},
    IntKey{"oversight_days", &Policy::oversight_days},
    IntKey{"safeguarding_wd", &Policy::safeguarding_wd},
    IntKey{"victim_contact_days", &Policy::victim_contact_days},
};

struct RatingKey {
  std::string_view key;
  double Policy::*field;
};

constexpr std::array kRatingKeys = {
    RatingKey{"rating_outstanding", &Policy::rating_outstanding},
    RatingKey{"rating_good", &Policy::rating_good},
    RatingKey{"rating_requires_improvement", &Policy::rating_requires_improvement},
};

// Day counts beyond this are certainly typos, and would overflow date arithmetic.
constexpr int64_t kMaxDays = 100000;

Error BadKey(std::string_view key, std::string_view why) {
  return InvalidArgument(fmt::format("policy key \"{}\": {}", key, why));
}

}  // namespace

Result<Policy> ParsePolicy(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto error = parser.parse(json.data(), json.size()).get(root)) {
    return InvalidArgument(
        fmt::format("policy is not valid JSON: {}", simdjson::error_message(error)));
  }
  simdjson::dom::object object;
  if (root.get(object)) return InvalidArgument("policy must be a JSON object");

  Policy policy;
  std::vector<std::string_view> seen;
  for (auto [json_key, value] : object) {
    const std::string_view key = json_key;  // a plain variable: lambdas below capture it
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      return BadKey(key, "appears more than once");
    }
    seen.push_back(key);
    if (key == "name") {
      std::string_view name;
      if (value.get(name)) return BadKey(key, "must be a string");
      policy.name = std::string(name);
      continue;
    }
    if (key == "holidays") {
      simdjson::dom::array days;
      if (value.get(days)) return BadKey(key, "must be a list of \"YYYY-MM-DD\" dates");
      policy.holidays.clear();  // the file's list replaces the default one
      for (auto day : days) {
        std::string_view text;
        if (day.get(text)) return BadKey(key, "must be a list of \"YYYY-MM-DD\" dates");
        auto date = ParseDate(text);
        if (!date) return BadKey(key, date.error().message);
        policy.holidays.push_back(date.value());
      }
      continue;
    }
    if (auto it = std::find_if(kIntKeys.begin(), kIntKeys.end(),
                               [&](const IntKey& k) { return k.key == key; });
        it != kIntKeys.end()) {
      int64_t n;
      if (!value.is_int64() || value.get(n)) {
        return BadKey(key, "must be a whole number (JSON integer) of at least 1");
      }
      if (n < 1) return BadKey(key, fmt::format("must be at least 1, not {}", n));
      if (n > kMaxDays)
        return BadKey(key, fmt::format("{} is implausibly large (max {})", n, kMaxDays));
      policy.*(it->field) = static_cast<int>(n);
      continue;
    }
    if (auto it = std::find_if(kRatingKeys.begin(), kRatingKeys.end(),
                               [&](const RatingKey& k) { return k.key == key; });
        it != kRatingKeys.end()) {
      double v;
      if (value.get(v) || !std::isfinite(v)) return BadKey(key, "must be a number in [0, 1]");
      if (v < 0 || v > 1) return BadKey(key, fmt::format("must be in [0, 1], not {}", v));
      policy.*(it->field) = v;
      continue;
    }
    return BadKey(key, "is not a policy key (see docs/rules.md section 8)");
  }
  if (policy.rating_outstanding < policy.rating_good) {
    return BadKey("rating_outstanding", "must be at least rating_good");
  }
  if (policy.rating_good < policy.rating_requires_improvement) {
    return BadKey("rating_good", "must be at least rating_requires_improvement");
  }
  std::sort(policy.holidays.begin(), policy.holidays.end());
  policy.holidays.erase(std::unique(policy.holidays.begin(), policy.holidays.end()),
                        policy.holidays.end());
  return policy;
}

std::vector<PolicySetting> PolicySettings(const Policy& policy) {
  std::vector<PolicySetting> settings;
  for (const IntKey& k : kIntKeys) settings.push_back({k.key, fmt::format("{}", policy.*k.field)});
  for (const RatingKey& k : kRatingKeys) {
    settings.push_back({k.key, fmt::format("{}", policy.*k.field)});
  }
  std::string holidays;
  if (policy.holidays == EnglandAndWalesBankHolidays()) {
    settings.push_back({"holidays", "England and Wales bank holidays 2000-2035 (the default)"});
    return settings;
  }
  for (const Date& day : policy.holidays) {
    holidays += (holidays.empty() ? "" : ",") + FormatDate(day);
  }
  settings.push_back({"holidays", std::move(holidays)});
  return settings;
}

}  // namespace casewatch
