// Golden tests in the spirit of sqllogictest: each folder under tests/golden/ holds an event file
// (events.ndjson), the replay flags (args, one line), the expected report (expected.json, derived
// by hand from the spec) and optionally a policy file and lines that stderr must contain
// (expected_stderr). Adding a case is adding a folder.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "tests/support/process.h"

namespace casewatch {
namespace {

namespace fs = std::filesystem;
using testing::JsonDifference;
using testing::ReadFileOrEmpty;
using testing::RunProcess;

std::vector<std::string> GoldenCases() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(CASEWATCH_GOLDEN_DIR)) {
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, ReplayGivesTheExpectedReport) {
  const fs::path dir = fs::path(CASEWATCH_GOLDEN_DIR) / GetParam();
  std::vector<std::string> argv = {CASEWATCH_BIN, "replay", "--events", "events.ndjson"};
  std::istringstream args(ReadFileOrEmpty(dir / "args"));
  for (std::string a; args >> a;) argv.push_back(a);
  const auto run = RunProcess(argv, dir.string());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string expected = ReadFileOrEmpty(dir / "expected.json");
  ASSERT_FALSE(expected.empty()) << "no expected.json in " << dir;
  EXPECT_EQ(JsonDifference(expected, run.out), "") << run.out;
  for (const std::string& line : Lines(ReadFileOrEmpty(dir / "expected_stderr"))) {
    EXPECT_NE(run.err.find(line), std::string::npos) << "stderr lacks: " << line << "\n" << run.err;
  }
}

INSTANTIATE_TEST_SUITE_P(Files, Golden, ::testing::ValuesIn(GoldenCases()),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace casewatch
