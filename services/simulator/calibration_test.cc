// The calibrated presets against the figures they were set from (calibration.h): each preset is
// simulated into memory, its events go through ingest's validation and event log as a replay's
// would, and the projections library scores them at the window's end.

#include "services/simulator/calibration.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "projections/evaluation.h"
#include "projections/scores.h"
#include "services/ingest/event_log.h"
#include "services/ingest/validation.h"
#include "services/simulator/practice_profile.h"
#include "services/simulator/simulator.h"

namespace casewatch::simulator {
namespace {

// The runs every tolerance in calibration.cc is stated for: three seeds, whose mean is checked.
constexpr int64_t kCases = 3000;
constexpr int kMonths = 24;
constexpr uint64_t kSeeds[] = {1, 2, 3};

// What a calibration target can be checked against: the report, and per indicator the cases
// with a MISSED item decided in the period.
struct Measured {
  Report report;
  std::array<int64_t, kIndicatorCount> cases_with_missed{};

  std::optional<double> Value(const CalibrationTarget& target) const {
    for (int i = 0; i < kIndicatorCount; ++i) {
      if (kIndicators[i].id != target.subject) continue;
      const IndicatorScore& score = report.indicators[i];
      if (target.measure == CalibrationMeasure::kScore) return score.score;
      if (score.relevant_cases == 0) return std::nullopt;
      return static_cast<double>(cases_with_missed[i]) / static_cast<double>(score.relevant_cases);
    }
    for (int o = 0; o < kOutcomeCount; ++o) {
      if (kOutcomeNames[o] == target.subject && target.measure == CalibrationMeasure::kScore) {
        return report.outcomes[o].score;
      }
    }
    ADD_FAILURE() << "no " << target.subject << " to measure";
    return std::nullopt;
  }
};

// Accepts simulated events into an event log, as a replay of the written file would.
class LogSink final : public EventSink {
 public:
  LogSink(const Organisation& org, ingest::EventLog& log) : org_(org), log_(log) {}
  Result<void> Write(const SimulatedEvent& event) override {
    const events::v1::Envelope envelope = ToEnvelope(event, org_);
    CW_TRY(ingest::ValidateEnvelope(envelope, ingest::ValidationOptions::Replay()));
    CW_TRY(log_.Accept(envelope));
    return Ok();
  }

 private:
  const Organisation& org_;
  ingest::EventLog& log_;
};

Measured SimulateAndScore(std::string_view profile_name, uint64_t seed) {
  Measured measured;
  SimulationOptions options;
  options.cases = kCases;
  options.start = ParseDate("2023-01-01").value();
  options.months = kMonths;
  options.seed = seed;
  auto profile = ProfileByName(profile_name);
  EXPECT_TRUE(profile) << profile_name;
  if (!profile) return measured;
  options.profile = profile.value();
  auto simulator = Simulator::Create(options);
  EXPECT_TRUE(simulator) << simulator.error().message;
  if (!simulator) return measured;

  ingest::EventLog log;
  LogSink sink(simulator.value().organisation(), log);
  auto ran = simulator.value().Run(sink);
  EXPECT_TRUE(ran) << (ran ? "" : ran.error().message);
  log.SealAll();

  const Instant as_of{static_cast<int64_t>(simulator.value().end().days) * 86400, 0};
  Evaluator evaluator{Policy{}};
  const Period period = MakePeriod(std::nullopt, std::nullopt, as_of).value();
  ReportBuilder builder(evaluator.policy(), as_of, period, Scope{});
  for (const CaseHistory& history : log.cases()) {
    const CaseEvaluation* evaluation = evaluator.Evaluate(history, as_of);
    if (evaluation == nullptr || !builder.Add(*evaluation)) continue;
    std::array<bool, kIndicatorCount> missed{};
    for (const Item& item : evaluation->items) {
      if (item.status == ItemStatus::kMissed && period.Contains(item.decided_on)) {
        missed[static_cast<int>(item.indicator)] = true;
      }
    }
    for (int i = 0; i < kIndicatorCount; ++i) measured.cases_with_missed[i] += missed[i];
  }
  measured.report = builder.Finish();
  EXPECT_GT(measured.report.cases, kCases * 99 / 100);  // a few openings not yet recorded
  return measured;
}

class CalibratedPreset : public testing::TestWithParam<std::string_view> {};

TEST_P(CalibratedPreset, ScoresLieWithinTheToleranceOfTheReportsFigures) {
  const Calibration* calibration = CalibrationOf(GetParam());
  ASSERT_NE(calibration, nullptr) << GetParam();
  ASSERT_FALSE(calibration->targets.empty());
  std::vector<Measured> runs;
  for (uint64_t seed : kSeeds) runs.push_back(SimulateAndScore(GetParam(), seed));
  for (const CalibrationTarget& target : calibration->targets) {
    double sum = 0;
    for (const Measured& run : runs) {
      const std::optional<double> value = run.Value(target);
      ASSERT_TRUE(value) << target.subject << " has no score";
      sum += *value;
    }
    EXPECT_NEAR(sum / static_cast<double>(runs.size()), target.target, target.tolerance)
        << GetParam() << ": " << target.subject
        << (target.measure == CalibrationMeasure::kMissedShare ? " (cases with a MISSED item)" : "")
        << " - " << target.finding;
  }
}

std::vector<std::string_view> CalibratedProfiles() {
  std::vector<std::string_view> names;
  for (const Calibration& calibration : Calibrations()) names.push_back(calibration.profile);
  return names;
}

// Test names from preset names: "northumbria-2013" -> "northumbria_2013".
std::string TestNameOf(const testing::TestParamInfo<std::string_view>& param) {
  std::string name;
  for (char c : param.param) name += c == '-' ? '_' : c;
  return name;
}

INSTANTIATE_TEST_SUITE_P(Presets, CalibratedPreset, testing::ValuesIn(CalibratedProfiles()),
                         TestNameOf);

TEST(Calibrations, NameExistingPresetsAndIndicatorsWithSensibleTargets) {
  std::map<std::string_view, int> seen;
  for (const Calibration& calibration : Calibrations()) {
    EXPECT_TRUE(ProfileByName(calibration.profile)) << calibration.profile;
    EXPECT_EQ(++seen[calibration.profile], 1) << calibration.profile;
    EXPECT_FALSE(calibration.report.empty());
    for (const CalibrationTarget& target : calibration.targets) {
      EXPECT_GT(target.target, 0.0) << target.subject;
      EXPECT_LT(target.target, 1.0) << target.subject;
      EXPECT_GT(target.tolerance, 0.0) << target.subject;
      EXPECT_LE(target.tolerance, 0.075) << target.subject;  // "a few points", no more
      EXPECT_FALSE(target.finding.empty()) << target.subject;
    }
  }
  for (const std::string_view uncalibrated : {"good", "typical", "struggling"}) {
    EXPECT_EQ(CalibrationOf(uncalibrated), nullptr);
  }
  // Every preset after the three round guesses is calibrated.
  EXPECT_EQ(Calibrations().size() + 3, ProfileNames().size());
}

}  // namespace
}  // namespace casewatch::simulator
