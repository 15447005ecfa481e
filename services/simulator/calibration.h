#pragma once
// The inspection findings each calibrated preset was set from, as checkable targets: which
// report, which figure, which indicator or outcome of docs/rules.md it maps onto, and the score
// the preset is meant to give there. Data only: calibration_test.cc simulates each preset and
// checks it, and README.md tells how each figure became a rate.

#include <cstdint>
#include <string_view>
#include <vector>

namespace casewatch::simulator {

enum class CalibrationMeasure : uint8_t {
  kScore,        // an indicator's or an outcome's score (docs/rules.md section 9)
  kMissedShare,  // of an indicator's relevant cases, the share with at least one MISSED item
};

struct CalibrationTarget {
  std::string_view subject;  // an indicator id ("rosh_screening") or an outcome ("DELIVERY")
  CalibrationMeasure measure;
  double target;             // the report's figure as a proportion
  double tolerance;          // the mean of three 3,000-case, 24-month runs (seeds 1-3), scored
                             // at the window's end, lies within this of the target
  std::string_view finding;  // the report's words
};

struct Calibration {
  std::string_view profile;  // the preset (ProfileByName)
  std::string_view report;   // the inspection report the figures come from
  std::vector<CalibrationTarget> targets;
};

// The calibrated presets' calibrations, in ProfileNames() order.
const std::vector<Calibration>& Calibrations();

// The preset's calibration, or nullptr for a preset that is not calibrated (good, typical,
// struggling).
const Calibration* CalibrationOf(std::string_view profile);

}  // namespace casewatch::simulator
