// `casewatch rebuild` killed with SIGKILL at several points: a half-rebuilt store is never served.
// After each kill, casewatchd (with and without HTTP), `casewatch report` and `casewatch inspect`
// refuse the store with a message naming the command that finishes the rebuild; running exactly
// that command finishes it, and the store then reports what an uninterrupted rebuild reports (and
// what `casewatch replay` gives under the same policy).
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <thread>

#include <rocksdb/db.h>

#include "base/temp_dir.h"
#include "services/engine/engine.h"
#include "services/engine/testing/simulated_stream.h"
#include "services/store/format.h"
#include "tests/support/process.h"

namespace casewatch {
namespace {

namespace fs = std::filesystem;
using testing::ChildProcess;
using testing::JsonDifference;
using testing::ReadFileOrEmpty;
using testing::RunProcess;

constexpr const char* kStrictPolicy = R"({"home_visit_initial_wd": 5, "home_visit_repeat_days": 56})";

// Splits a command line as a POSIX shell would for the words the store's message uses (plain
// words and single-quoted ones).
std::vector<std::string> ShellWords(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '\'') {
      in_word = true;
      for (++i; i < line.size() && line[i] != '\''; ++i) word += line[i];
    } else if (c == '\\' && i + 1 < line.size()) {
      in_word = true;
      word += line[++i];
    } else if (c == ' ') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else {
      in_word = true;
      word += c;
    }
  }
  if (in_word) words.push_back(word);
  return words;
}

// The command a refusal names: the text between backticks after "run ".
std::string NamedCommand(const std::string& message) {
  std::smatch match;
  if (!std::regex_search(message, match, std::regex("run `(casewatch rebuild [^`]*)`"))) return "";
  return match[1];
}

class RebuildKill : public ::testing::Test {
 protected:
  // One store for the whole suite: 20,000 cases over a year, projected under the defaults.
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    sim_ = new engine::testing::SimulatedStream(engine::testing::Simulate(20000, 12, 17));
    {
      std::ofstream events(dir_->path() / "events.bin", std::ios::binary);
      events << sim_->file_bytes;
      std::ofstream(dir_->path() / "strict.json") << kStrictPolicy;
    }
    auto store = store::Store::Open(Pristine());
    ASSERT_TRUE(store) << store.error().message;
    uint64_t sequence = 0;
    engine::testing::ImportHistory(*store.value(), *sim_, &sequence);
    auto rebuilt = engine::Engine::Rebuild(*store.value(), engine::EngineOptions{},
                                           engine::RebuildRequest{sim_->end, "", sim_->end},
                                           [](uint64_t) {});
    ASSERT_TRUE(rebuilt) << rebuilt.error().message;
  }
  static void TearDownTestSuite() {
    delete sim_;
    delete dir_;
  }

  static fs::path Dir() { return dir_->path(); }
  static fs::path Pristine() { return dir_->path() / "pristine"; }
  static fs::path Copy(const std::string& name) {
    const fs::path to = dir_->path() / name;
    fs::remove_all(to);
    fs::copy(Pristine(), to, fs::copy_options::recursive);
    return to;
  }
  static std::string Strict() { return (dir_->path() / "strict.json").string(); }
  static std::string AsOf() { return FormatInstant(sim_->end); }

  // `casewatch report --data DIR --case-items`; its stdout, asserting success.
  static std::string Report(const fs::path& data, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {CASEWATCH_BIN, "report", "--data", data.string(),
                                     "--case-items"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const auto run = RunProcess(argv);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return run.out;
  }

  // Every reader refuses `data` naming the command that finishes the rebuild; that command.
  static std::string ExpectRefusedEverywhere(const fs::path& data) {
    const auto report = RunProcess({CASEWATCH_BIN, "report", "--data", data.string()});
    EXPECT_EQ(report.exit_code, 2) << report.out << report.err;
    EXPECT_NE(report.err.find("half-rebuilt"), std::string::npos) << report.err;
    const std::string command = NamedCommand(report.err);
    EXPECT_FALSE(command.empty()) << report.err;
    EXPECT_NE(command.find("--policy " + Strict()), std::string::npos) << command;

    const auto inspect =
        RunProcess({CASEWATCH_BIN, "inspect", "--data", data.string(), "--json", "-"});
    EXPECT_EQ(inspect.exit_code, 2) << inspect.err;
    EXPECT_EQ(NamedCommand(inspect.err), command) << inspect.err;
    EXPECT_TRUE(inspect.out.empty()) << "no figures from a half-rebuilt store";

    // casewatchd under either policy, with the HTTP API and without: refused before serving.
    for (const std::vector<std::string>& flags :
         {std::vector<std::string>{"--no-http"}, {"--no-auth", "--http-port", "0"},
          {"--no-http", "--policy", Strict()}}) {
      const fs::path log = data.parent_path() / "casewatchd.log";
      fs::remove(log);
      std::vector<std::string> argv = {CASEWATCHD_BIN, "--data", data.string(), "--clock",
                                       "simulated", "--clock-start", AsOf(), "--clock-speed", "0"};
      argv.insert(argv.end(), flags.begin(), flags.end());
      ChildProcess daemon(argv, log.string());
      EXPECT_EQ(daemon.Wait(60), 2) << ReadFileOrEmpty(log.string());
      EXPECT_EQ(NamedCommand(ReadFileOrEmpty(log.string())), command)
          << ReadFileOrEmpty(log.string());
    }
    return command;
  }

  static TempDir* dir_;
  static engine::testing::SimulatedStream* sim_;
};

TempDir* RebuildKill::dir_ = nullptr;
engine::testing::SimulatedStream* RebuildKill::sim_ = nullptr;

// Waits until `log` holds `lines` progress lines ("rebuild: N events"); false if the process
// ended first or 60 s passed.
bool WaitForProgress(ChildProcess& process, const fs::path& log, int lines) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string text = ReadFileOrEmpty(log.string());
    int seen = 0;
    for (size_t at = text.find("rebuild: "); at != std::string::npos;
         at = text.find("rebuild: ", at + 1)) {
      if (text.compare(at, 9, "rebuild: ") == 0 && at + 9 < text.size() &&
          std::isdigit(static_cast<unsigned char>(text[at + 9]))) {
        ++seen;
      }
    }
    if (seen >= lines) return true;
    if (!process.running()) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return false;
}

TEST_F(RebuildKill, AScopeTypoIsRefusedByReportInspectAndTokenAddWithTheClosestNames) {
  const std::string expected =
      "no case is allocated to PDU \"Sunderlnd\", did you mean \"Sunderland\"?";
  const auto report =
      RunProcess({CASEWATCH_BIN, "report", "--data", Pristine().string(), "--pdu", "Sunderlnd"});
  EXPECT_EQ(report.exit_code, 2) << report.err;
  EXPECT_EQ(report.out, "");
  EXPECT_NE(report.err.find("casewatch report: " + expected), std::string::npos) << report.err;
  const auto inspect = RunProcess({CASEWATCH_BIN, "inspect", "--data", Pristine().string(),
                                   "--pdu", "Sunderlnd", "--json", "-"});
  EXPECT_EQ(inspect.exit_code, 2) << inspect.err;
  EXPECT_NE(inspect.err.find("casewatch inspect: " + expected), std::string::npos) << inspect.err;

  const fs::path tokens = Dir() / "tokens.json";
  const auto typo = RunProcess({CASEWATCH_BIN, "token", "add", "--tokens", tokens.string(),
                                "--name", "SPO", "--role", "viewer", "--region", "North East",
                                "--pdu", "Sunderlnd", "--data", Pristine().string()});
  EXPECT_EQ(typo.exit_code, 2) << typo.err;
  EXPECT_NE(typo.err.find(expected), std::string::npos) << typo.err;
  EXPECT_FALSE(fs::exists(tokens)) << "no token is made for a scope with no cases";
  const auto right = RunProcess({CASEWATCH_BIN, "token", "add", "--tokens", tokens.string(),
                                 "--name", "SPO", "--role", "viewer", "--region", "North East",
                                 "--pdu", "Sunderland", "--data", Pristine().string()});
  EXPECT_EQ(right.exit_code, 0) << right.err;
  EXPECT_TRUE(fs::exists(tokens));
  // A real unit is still a report, whatever it holds.
  const auto real =
      RunProcess({CASEWATCH_BIN, "report", "--data", Pristine().string(), "--pdu", "Sunderland"});
  EXPECT_EQ(real.exit_code, 0) << real.err;
}

TEST_F(RebuildKill, KilledAtAnyPointTheStoreIsRefusedUntilTheNamedCommandFinishesIt) {
  // What an uninterrupted rebuild under the strict policy gives, and replay's agreement with it.
  const fs::path reference = Copy("reference");
  const auto whole =
      RunProcess({CASEWATCH_BIN, "rebuild", "--data", reference.string(), "--policy", Strict()});
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  const std::string expected = Report(reference);
  const auto replay =
      RunProcess({CASEWATCH_BIN, "replay", "--events", (Dir() / "events.bin").string(),
                  "--as-of", AsOf(), "--policy", Strict(), "--case-items"});
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  ASSERT_EQ(JsonDifference(replay.out, expected), "");
  const std::string before = Report(Pristine());
  ASSERT_NE(JsonDifference(before, expected), "") << "the policies must give different figures";

  // Kill points: after the first, second and third batch of cases written, and at random
  // moments from the start (before the marker, while clearing, while writing).
  std::mt19937 random(20261204);
  struct Point {
    int progress_lines;
    int delay_us;
  };
  std::vector<Point> points = {{1, 0}, {2, 0}, {3, 0}};
  for (int i = 0; i < 4; ++i) {
    points.push_back({0, std::uniform_int_distribution<int>(0, 400000)(random)});
  }
  int refused = 0;
  for (size_t k = 0; k < points.size(); ++k) {
    SCOPED_TRACE(::testing::Message() << "kill point " << k << ": after "
                                      << points[k].progress_lines << " batches + "
                                      << points[k].delay_us << " us");
    const fs::path data = Copy("killed");
    const fs::path log = Dir() / "rebuild.log";
    fs::remove(log);
    {
      ChildProcess rebuild(
          {CASEWATCH_BIN, "rebuild", "--data", data.string(), "--policy", Strict()}, log.string());
      if (points[k].progress_lines > 0) {
        ASSERT_TRUE(WaitForProgress(rebuild, log, points[k].progress_lines))
            << "the rebuild ended before the kill point: " << ReadFileOrEmpty(log.string());
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds(points[k].delay_us));
      }
      rebuild.Signal(SIGKILL);
      const int status = rebuild.Wait(30);
      if (status == 0) continue;  // finished before a random kill: nothing to test here
      ASSERT_EQ(status, 128 + SIGKILL);
    }
    // Killed before the marker: the store is as it was. After: refused until finished.
    const auto probe = RunProcess({CASEWATCH_BIN, "report", "--data", data.string()});
    if (probe.exit_code == 0) {
      EXPECT_EQ(JsonDifference(before, Report(data)), "") << "killed before anything changed";
      continue;
    }
    ++refused;
    const std::vector<std::string> words = ShellWords(ExpectRefusedEverywhere(data));
    ASSERT_GE(words.size(), 4u);
    std::vector<std::string> argv = {CASEWATCH_BIN};
    argv.insert(argv.end(), words.begin() + 1, words.end());
    const auto finish = RunProcess(argv);
    ASSERT_EQ(finish.exit_code, 0) << finish.err;
    EXPECT_NE(finish.err.find("finishing the rebuild started at"), std::string::npos)
        << finish.err;
    EXPECT_EQ(JsonDifference(expected, Report(data)), "");
    // And the engine starts on it again, under the policy it was rebuilt with.
    ChildProcess daemon({CASEWATCHD_BIN, "--data", data.string(), "--no-http", "--policy",
                         Strict(), "--clock", "simulated", "--clock-start", AsOf(),
                         "--clock-speed", "0"},
                        (Dir() / "daemon-after.log").string());
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    EXPECT_TRUE(daemon.running()) << ReadFileOrEmpty((Dir() / "daemon-after.log").string());
    daemon.Signal(SIGTERM);
    EXPECT_EQ(daemon.Wait(30), 0);
  }
  EXPECT_GE(refused, 3) << "the three kills after a batch must each leave a refused store";
}

// Removes the store's format version, as a store written before stores carried one has it.
void MakeFormatOne(const fs::path& dir) {
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const char* name : store::format::kFamilyNames) {
    families.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), dir.string(), families, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), handles[store::format::kMeta],
                         std::string(store::format::kFormatVersionKey))
                  .ok());
  for (auto* handle : handles) db->DestroyColumnFamilyHandle(handle);
}

TEST_F(RebuildKill, AStoreOfAnOlderFormatIsRefusedUntilTheRebuildItNamesUpgradesIt) {
  const fs::path data = Copy("older");
  const std::string before = Report(data);
  MakeFormatOne(data);
  // The engine (with or without HTTP), report and inspect refuse it, naming the upgrade.
  const fs::path log = Dir() / "older-casewatchd.log";
  ChildProcess daemon({CASEWATCHD_BIN, "--data", data.string(), "--no-auth", "--http-port", "0",
                       "--clock", "simulated", "--clock-start", AsOf(), "--clock-speed", "0"},
                      log.string());
  EXPECT_EQ(daemon.Wait(60), 2) << ReadFileOrEmpty(log.string());
  EXPECT_NE(ReadFileOrEmpty(log.string()).find("older format (1;"), std::string::npos)
      << ReadFileOrEmpty(log.string());
  EXPECT_NE(ReadFileOrEmpty(log.string()).find("casewatch rebuild --data " + data.string()),
            std::string::npos);
  const auto report = RunProcess({CASEWATCH_BIN, "report", "--data", data.string()});
  EXPECT_EQ(report.exit_code, 2);
  EXPECT_NE(report.err.find("casewatch rebuild --data " + data.string()), std::string::npos)
      << report.err;
  EXPECT_TRUE(report.out.empty());
  const auto inspect =
      RunProcess({CASEWATCH_BIN, "inspect", "--data", data.string(), "--json", "-"});
  EXPECT_EQ(inspect.exit_code, 2);
  EXPECT_NE(inspect.err.find("older format"), std::string::npos) << inspect.err;
  // The rebuild upgrades it: the same figures, and the engine starts.
  const auto rebuilt = RunProcess({CASEWATCH_BIN, "rebuild", "--data", data.string()});
  ASSERT_EQ(rebuilt.exit_code, 0) << rebuilt.err;
  EXPECT_EQ(JsonDifference(before, Report(data)), "");
  ChildProcess after({CASEWATCHD_BIN, "--data", data.string(), "--no-http", "--clock", "simulated",
                      "--clock-start", AsOf(), "--clock-speed", "0"},
                     (Dir() / "older-after.log").string());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_TRUE(after.running()) << ReadFileOrEmpty((Dir() / "older-after.log").string());
  after.Signal(SIGTERM);
  EXPECT_EQ(after.Wait(30), 0);
}

}  // namespace
}  // namespace casewatch
