// casewatch's and casewatchd's command lines as a user meets them: --version, and a mistyped
// command or flag named with what it was probably meant to be (exit 2).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/process.h"

namespace casewatch {
namespace {

using testing::RunProcess;

TEST(CommandLine, VersionIsTheProjectVersion) {
  auto run = RunProcess({CASEWATCH_BIN, "--version"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "casewatch " CASEWATCH_VERSION "\n");
  run = RunProcess({CASEWATCHD_BIN, "--version"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "casewatchd " CASEWATCH_VERSION "\n");
}

TEST(CommandLine, AnUnknownCommandIsNamedWithTheNearestCommand) {
  const auto run = RunProcess({CASEWATCH_BIN, "repaly", "--events", "x"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err,
            "casewatch: unknown command \"repaly\", did you mean \"replay\"?\n"
            "Run `casewatch --help` for the commands.\n");
}

TEST(CommandLine, AnUnknownSubcommandIsNamedWithTheNearestOne) {
  const auto run = RunProcess({CASEWATCH_BIN, "token", "ad"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("casewatch token: unknown command \"ad\", did you mean \"add\"?"),
            std::string::npos)
      << run.err;
}

// Named before the required flags CLI11 would otherwise complain of (--data here), and named as
// the flag, not its value.
TEST(CommandLine, AnUnknownFlagIsNamedWithTheNearestFlags) {
  for (const std::string pdo : {"--pdo", "--pdo=Sunderland"}) {
    std::vector<std::string> argv = {CASEWATCH_BIN, "report", pdo};
    if (pdo == "--pdo") argv.push_back("Sunderland");
    const auto run = RunProcess(argv);
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_EQ(run.out, "");
    EXPECT_NE(run.err.find("casewatch report: unknown flag --pdo, did you mean \"--pdu\""),
              std::string::npos)
        << run.err;
    EXPECT_EQ(run.err.find("Sunderland"), std::string::npos) << run.err;
    EXPECT_EQ(run.err.find("--data is required"), std::string::npos) << run.err;
  }
}

TEST(CommandLine, AFlagNothingIsNearIsStillNamed) {
  const auto run = RunProcess({CASEWATCH_BIN, "simulate", "--zzzzzzzz"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err,
            "casewatch simulate: unknown flag --zzzzzzzz\n"
            "Run `casewatch simulate --help` for its flags.\n");
}

TEST(CommandLine, AStrayArgumentIsNamed) {
  const auto run = RunProcess({CASEWATCH_BIN, "replay", "--events", "e.ndjson", "--as-of",
                               "2013-09-30", "extra"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("casewatch replay: unexpected argument \"extra\""), std::string::npos)
      << run.err;
}

TEST(CommandLine, OtherRefusedCommandLinesExitTwo) {
  const auto run = RunProcess({CASEWATCH_BIN, "replay", "--events", "e.ndjson"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("--as-of is required"), std::string::npos) << run.err;
}

TEST(CommandLine, TheDaemonNamesAnUnknownFlagWithTheNearestFlag) {
  auto run = RunProcess({CASEWATCHD_BIN, "--dta", "/tmp/store"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err,
            "casewatchd: unknown flag --dta, did you mean \"--data\"?\n"
            "Run `casewatchd --help` for its flags.\n");
  run = RunProcess({CASEWATCHD_BIN, "--data", "/nonexistent/store", "--no-htp"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("unknown flag --no-htp, did you mean \"--no-http\"?"), std::string::npos)
      << run.err;
}

TEST(CommandLine, TheDaemonNamesAnUnknownConfigSettingWithTheNearestOne) {
  const std::filesystem::path config = std::filesystem::path(::testing::TempDir()) /
                                       (std::to_string(getpid()) + "-casewatchd.conf");
  std::ofstream(config) << "# settings\nbrokres = 127.0.0.1:9092\n";
  const auto run =
      RunProcess({CASEWATCHD_BIN, "--data", "/nonexistent/store", "--config", config.string()});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "casewatchd: " + config.string() +
                         ":2: unknown setting \"brokres\", did you mean \"brokers\"?\n");
  std::filesystem::remove(config);
}

TEST(CommandLine, TheDaemonRefusesAnAdvertisedUrlItCannotUse) {
  const std::string data = std::string(::testing::TempDir()) + "/advertise-" +
                           std::to_string(getpid());
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"--advertise-url", "http://a:8080"}, "give --group too"},
      {{"--group", "g", "--brokers", "127.0.0.1:1", "--advertise-url", "http://a:8080",
        "--no-http"},
       "leave out --no-http"},
      {{"--group", "g", "--brokers", "127.0.0.1:1", "--advertise-url", "a:8080"},
       "--advertise-url a:8080: expected http://HOST:PORT"},
      {{"--group", "g", "--brokers", "127.0.0.1:1", "--advertise-url", "http://a b:8080"},
       "no spaces or quotes"},
      {{"--peer-token-file", "/nonexistent/token"}, "give --tasks --group too"},
      {{"--group", "g", "--brokers", "127.0.0.1:1", "--tasks", "--peer-token-file",
        "/nonexistent/token"},
       "under --no-auth the engines of a group ask each other without one"},
      {{"--peer-ca-file", "/nonexistent/ca.pem"}, "--peer-ca-file is what this engine checks "
                                                  "the other engines of a group against"},
      {{"--standby-replicas", "1"}, "--standby-replicas is how many engines of a group keep a "
                                    "copy of each task: give --tasks --group too"},
      {{"--peer-refresh-ms", "100"}, "--peer-refresh-ms is how often an engine of a group asks "
                                     "the others for their partitions' counts again: give "
                                     "--tasks --group too"},
      {{"--group", "g", "--brokers", "127.0.0.1:1", "--tasks", "--peer-refresh-ms", "-5"},
       "--peer-refresh-ms: Value -5 not in range 0 to 60000"},
      {{"--group", "g", "--brokers", "127.0.0.1:1", "--standby-replicas", "1"},
       "give --tasks --group too"},
      {{"--group", "g", "--brokers", "127.0.0.1:1", "--tasks", "--standby-replicas", "-1"},
       "--standby-replicas: Value -1 not in range 0 to 1000"},
  };
  for (const auto& [flags, message] : cases) {
    std::vector<std::string> args = {CASEWATCHD_BIN, "--data", data, "--no-auth"};
    args.insert(args.end(), flags.begin(), flags.end());
    const auto run = RunProcess(args);
    EXPECT_EQ(run.exit_code, 2) << flags.back();
    // casewatchd logs, its errors included, to stdout (services/daemon/logging.h); a flag's
    // value out of range is told on stderr, before logging starts.
    EXPECT_NE((run.out + run.err).find(message), std::string::npos) << run.out << run.err;
  }
  EXPECT_FALSE(std::filesystem::exists(data)) << "refused before anything was opened";
}

}  // namespace
}  // namespace casewatch
