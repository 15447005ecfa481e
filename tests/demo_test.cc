// The live demo, as `./run demo` runs it (scripts/demo.sh with this build's binaries): within its
// first minute the dashboard's figures move. The engine's report is read twice, 20 s apart,
// once it first answers: its instant has moved on by simulated days, and its cases or scores have
// changed. Then the demo stops on its own (--for) and cleanly.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <regex>
#include <string>
#include <thread>

#include "base/temp_dir.h"
#include "tests/support/process.h"

namespace casewatch {
namespace {

using testing::ChildProcess;
using testing::ReadFileOrEmpty;
using testing::RunProcess;

const std::string kSource = CASEWATCH_SOURCE_DIR;

// GET `target` from 127.0.0.1:`port` (bash's /dev/tcp, as the demo itself does): the body, or ""
// when the answer is not a 200.
std::string Get(const std::string& port, const std::string& target) {
  auto got = RunProcess(
      {"/bin/bash", "-c",
       "exec 3<>/dev/tcp/127.0.0.1/$0 && printf 'GET %s HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n' \"$1\" "
       ">&3 && timeout 10 cat <&3",
       port, target});
  const std::string& reply = got.out;
  if (reply.rfind("HTTP/1.1 200", 0) != 0 && reply.rfind("HTTP/1.0 200", 0) != 0) return "";
  const size_t body = reply.find("\r\n\r\n");
  return body == std::string::npos ? "" : reply.substr(body + 4);
}

std::string Field(const std::string& json, const std::string& pattern) {
  std::smatch match;
  return std::regex_search(json, match, std::regex(pattern)) ? match[1].str() : "";
}

TEST(Demo, TheFiguresMoveWithinTheFirstMinute) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const auto started = std::chrono::steady_clock::now();
  const std::string out = (dir.path() / "demo").string();
  ChildProcess demo({"/usr/bin/env", "CASEWATCH_BUILD_DIR=" + std::string(CASEWATCH_BUILD_DIR),
                     "CASEWATCH_DEMO_DIR=" + out, "CASEWATCH_HTTP_PORT=0", "/bin/bash",
                     kSource + "/scripts/demo.sh", "--for", "45"},
                    (dir.path() / "demo.log").string());
  // The engine's port, from its log; then its first answer.
  std::string port;
  std::string first;
  const auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  while (seconds() < 40 && demo.running() && first.empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    if (port.empty()) {
      port = Field(ReadFileOrEmpty(out + "/engine.log"),
                   R"(http: listening on http://[0-9.]+:([0-9]+))");
    }
    if (!port.empty()) first = Get(port, "/api/v1/report");
  }
  ASSERT_FALSE(first.empty()) << "no report within 40 s of the demo's start\n"
                              << ReadFileOrEmpty((dir.path() / "demo.log").string())
                              << ReadFileOrEmpty(out + "/engine.log");
  const double first_at = seconds();
  std::this_thread::sleep_for(std::chrono::seconds(20));
  const std::string later = Get(port, "/api/v1/report");
  ASSERT_FALSE(later.empty());
  const double later_at = seconds();
  EXPECT_LT(later_at, 60.0) << "the second look is within the first minute";

  const std::string first_as_of = Field(first, R"("as_of":"([^"]+)\")");
  const std::string later_as_of = Field(later, R"("as_of":"([^"]+)\")");
  ASSERT_FALSE(first_as_of.empty()) << first;
  // A day every 2 s: 20 s is about ten simulated days.
  EXPECT_GE(later_as_of.substr(0, 10), first_as_of.substr(0, 10))
      << first_as_of << " " << later_as_of;
  EXPECT_NE(later_as_of.substr(0, 10), first_as_of.substr(0, 10)) << "the engine's date moved on";
  const std::string first_figures = Field(first, R"(("cases":[0-9]+.*"outcomes":.*))");
  const std::string later_figures = Field(later, R"(("cases":[0-9]+.*"outcomes":.*))");
  EXPECT_NE(first_figures, later_figures) << "cases or scores changed between " << first_at
                                          << " s and " << later_at << " s";
  std::cout << "report first at " << first_at << " s (as of " << first_as_of << "), again at "
            << later_at << " s (as of " << later_as_of << ")\n";
  EXPECT_EQ(demo.Wait(60), 0) << ReadFileOrEmpty((dir.path() / "demo.log").string());
}

}  // namespace
}  // namespace casewatch
