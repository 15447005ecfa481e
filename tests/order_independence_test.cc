// Shuffling an event file's lines, or giving it in the binary form, does not change the report:
// for simulated histories (late-recorded, out-of-order and duplicated events included), several
// evaluation times and scopes, with every case item.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "tests/support/process.h"

namespace casewatch {
namespace {

namespace fs = std::filesystem;
using testing::ReadFileOrEmpty;
using testing::RunProcess;

class OrderIndependence : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // ctest runs each test in its own process, possibly at once: one directory per process.
    dir_ = new fs::path(fs::path(::testing::TempDir()) /
                        ("order_independence_" + std::to_string(getpid())));
    fs::create_directories(*dir_);
    for (const char* name : {"events.ndjson", "events.bin"}) {
      const auto run = RunProcess({CASEWATCH_BIN, "simulate", "--cases", "400", "--start",
                                   "2022-01-01", "--months", "20", "--seed", "11", "--profile",
                                   "struggling", "--duplicate-rate", "0.02", "--late-record-rate",
                                   "0.2", "--quiet", "--out", (*dir_ / name).string()});
      ASSERT_EQ(run.exit_code, 0) << run.err;
    }
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }

  static std::string Replay(const std::string& file, const std::vector<std::string>& flags) {
    std::vector<std::string> argv = {CASEWATCH_BIN, "replay", "--events", (*dir_ / file).string(),
                                     "--case-items"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    const auto run = RunProcess(argv);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.err.find("rejected; "), run.err.find("0 rejected; ") + 2) << run.err;
    return run.out;
  }

  static inline fs::path* dir_ = nullptr;
};

const std::vector<std::vector<std::string>> kQueries = {
    {"--as-of", "2023-08-31T23:59:59Z"},
    {"--as-of", "2022-09-15T12:00:00Z", "--from", "2022-06-01"},
    {"--as-of", "2023-03-01T00:00:00Z", "--region", "North East"},
};

TEST_F(OrderIndependence, ShuffledLinesGiveTheSameReport) {
  std::istringstream in(ReadFileOrEmpty((*dir_ / "events.ndjson").string()));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_GT(lines.size(), 10000u);
  for (unsigned seed : {1u, 2u}) {
    std::vector<std::string> shuffled = lines;
    std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(seed));
    ASSERT_NE(shuffled, lines);
    std::string text;
    for (const std::string& line : shuffled) text += line + "\n";
    const std::string name = "shuffled" + std::to_string(seed) + ".ndjson";
    std::ofstream(*dir_ / name, std::ios::binary) << text;
    for (const auto& query : kQueries) {
      const std::string original = Replay("events.ndjson", query);
      ASSERT_NE(original.find("\"case_items\""), std::string::npos);
      EXPECT_EQ(Replay(name, query), original) << "seed " << seed << " " << query[1];
    }
  }
}

TEST_F(OrderIndependence, TheBinaryFormGivesTheSameReportAsJson) {
  for (const auto& query : kQueries) {
    EXPECT_EQ(Replay("events.bin", query), Replay("events.ndjson", query)) << query[1];
  }
}

}  // namespace
}  // namespace casewatch
