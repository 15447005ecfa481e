#include "services/simulator/practice_profile.h"

#include <fmt/format.h>

namespace casewatch::simulator {
namespace {

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

const std::vector<std::string>& ProfileNames() {
  static const std::vector<std::string> kNames = {"good", "typical", "struggling"};
  return kNames;
}

Result<PracticeProfile> ProfileByName(std::string_view name) {
  if (name == "good") return Good();
  if (name == "typical") return PracticeProfile{};
  if (name == "struggling") return Struggling();
  return InvalidArgument(
      fmt::format("unknown profile '{}': expected good, typical or struggling", name));
}

Result<void> ValidateProfile(const PracticeProfile& p) {
  const struct {
    const char* name;
    double value;
  } rates[] = {
      {"late-rate", p.late_rate},
      {"miss-rate", p.miss_rate},
      {"home-visit-rate", p.home_visit_rate},
      {"oversight-rate", p.oversight_rate},
      {"psr-quality-rate", p.psr_quality_rate},
      {"victim-safety-rate", p.victim_safety_rate},
      {"team-spread", p.team_spread},
      {"absence-rate", p.absence_rate},
      {"unacceptable-rate", p.unacceptable_rate},
      {"late-record-rate", p.late_record_rate},
      {"duplicate-rate", p.duplicate_rate},
  };
  for (const auto& rate : rates) {
    if (!(rate.value >= 0.0 && rate.value <= 1.0)) {
      return InvalidArgument(fmt::format("{} must be in [0, 1], got {}", rate.name, rate.value));
    }
  }
  if (p.late_rate + p.miss_rate > 1.0) {
    return InvalidArgument(
        fmt::format("late-rate + miss-rate must be at most 1, got {}", p.late_rate + p.miss_rate));
  }
  return Ok();
}

}  // namespace casewatch::simulator
