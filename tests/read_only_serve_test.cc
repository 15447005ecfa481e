// A store looked at again after its engine stopped: the demo's store, whose embedded development
// broker is gone. casewatchd on it refuses with words a person can act on, naming --read-only;
// casewatchd --read-only serves its dashboard and API as they were, with no broker.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "base/temp_dir.h"
#include "services/http/testing/http_client.h"
#include "tests/support/process.h"

namespace casewatch {
namespace {

namespace fs = std::filesystem;
namespace ht = http::testing;
using testing::ChildProcess;
using testing::ReadFileOrEmpty;
using testing::RunProcess;

const std::string kEvents =
    std::string(CASEWATCH_GOLDEN_DIR) + "/01_two_cases_full_history/events.ndjson";

// casewatchd with `extra` flags, its log in `log`; waits for the line matching `ready` (its first
// group returned) or for the process to end (nullopt).
std::optional<std::string> WaitForLine(ChildProcess& process, const fs::path& log,
                                       const std::regex& ready) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::smatch match;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string text = ReadFileOrEmpty(log.string());
    if (std::regex_search(text, match, ready)) return match[1].str();
    if (!process.running()) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return std::nullopt;
}

std::vector<std::string> Daemon(const fs::path& data, std::vector<std::string> extra) {
  std::vector<std::string> argv = {CASEWATCHD_BIN, "--data",  data.string(), "--no-auth",
                                   "--http-port",  "0",       "--clock",     "simulated",
                                   "--clock-start", "2013-09-30T23:59:59Z", "--clock-speed", "0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

ht::HttpReply Get(uint16_t port, const std::string& target) {
  ht::HttpCall call;
  call.target = target;
  return ht::Fetch(port, call);
}

const std::regex kListening(R"(listening on http://127\.0\.0\.1:(\d+))");

TEST(ReadOnlyServe, TheDemosStoreIsServedAgainWithoutABroker) {
  TempDir dir;
  const fs::path data = dir.path() / "store";
  std::string live_report;
  {
    // As the demo runs: the embedded development broker, events published to it.
    const fs::path log = dir.path() / "first.log";
    ChildProcess engine(Daemon(data, {}), log.string());
    const auto port = WaitForLine(engine, log, kListening);
    ASSERT_TRUE(port) << ReadFileOrEmpty(log.string());
    const auto brokers = WaitForLine(engine, log, std::regex(R"(development broker at (\S+))"));
    ASSERT_TRUE(brokers) << ReadFileOrEmpty(log.string());
    const auto published = RunProcess({CASEWATCH_BIN, "publish", "--brokers", *brokers, kEvents});
    ASSERT_EQ(published.exit_code, 0) << published.err;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      const ht::HttpReply reply = Get(static_cast<uint16_t>(std::stoi(*port)), "/api/v1/report");
      if (reply.status == 200 && reply.body.find("\"cases\":2") != std::string::npos) {
        live_report = reply.body;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_FALSE(live_report.empty()) << ReadFileOrEmpty(log.string());
    engine.Signal(SIGTERM);
    ASSERT_EQ(engine.Wait(30), 0) << ReadFileOrEmpty(log.string());
  }
  {
    // Started again as before: a new embedded broker holds none of what the store has read.
    const fs::path log = dir.path() / "again.log";
    ChildProcess engine(Daemon(data, {}), log.string());
    const int code = engine.Wait(60);
    const std::string text = ReadFileOrEmpty(log.string());
    EXPECT_EQ(code, 1) << text;
    EXPECT_NE(text.find("do not hold the records of topic case-events that this store has read"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("casewatchd --read-only --data DIR --no-auth"), std::string::npos) << text;
  }
  {
    const fs::path log = dir.path() / "read_only.log";
    ChildProcess server(Daemon(data, {"--read-only"}), log.string());
    const auto port_text = WaitForLine(server, log, kListening);
    ASSERT_TRUE(port_text) << ReadFileOrEmpty(log.string());
    const auto port = static_cast<uint16_t>(std::stoi(*port_text));
    EXPECT_EQ(Get(port, "/api/v1/report").body, live_report);
    const ht::HttpReply meta = Get(port, "/api/v1/meta");
    EXPECT_NE(meta.body.find("\"ready\":true,\"read_only\":true"), std::string::npos) << meta.body;
    EXPECT_EQ(Get(port, "/readyz").status, 200);
    EXPECT_EQ(Get(port, "/").status, 200);  // the dashboard
    ht::HttpCall post;
    post.method = "POST";
    post.target = "/api/v1/events";
    post.headers.emplace_back("Content-Type", "application/x-ndjson");
    post.body = ReadFileOrEmpty(kEvents);
    const ht::HttpReply refused = ht::Fetch(port, post);
    EXPECT_EQ(refused.status, 503) << refused.body;
    EXPECT_NE(refused.body.find("read-only"), std::string::npos) << refused.body;
    EXPECT_NE(ReadFileOrEmpty(log.string()).find("serving store"), std::string::npos);
    server.Signal(SIGTERM);
    EXPECT_EQ(server.Wait(30), 0) << ReadFileOrEmpty(log.string());
  }
  // Read-only means no broker.
  const auto contradiction =
      RunProcess(Daemon(data, {"--read-only", "--brokers", "127.0.0.1:9092"}));
  EXPECT_EQ(contradiction.exit_code, 2);
  const std::string said = contradiction.out + contradiction.err;  // the log's lines
  EXPECT_NE(said.find("--read-only reads no broker: leave out --brokers"), std::string::npos)
      << said;
}

}  // namespace
}  // namespace casewatch
