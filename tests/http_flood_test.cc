// casewatchd's HTTP server under a connection flood, as a real process with a real descriptor
// limit (prlimit): one address cannot take every place (others are still answered), running out
// of descriptors pauses the accept loop instead of spinning and logging in a loop, repeated log
// lines are held back, and /metrics counts the connections.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "base/temp_dir.h"
#include "services/http/testing/http_client.h"
#include "tests/support/process.h"

namespace casewatch {
namespace {

namespace fs = std::filesystem;
namespace ht = http::testing;
using testing::ChildProcess;
using testing::ReadFileOrEmpty;

// casewatchd on an empty store with the embedded broker, HTTP without tokens on a free port,
// its descriptors limited to `nofile`.
class Daemon {
 public:
  Daemon(int nofile, std::vector<std::string> extra) : log_(dir_.path() / "casewatchd.log") {
    std::vector<std::string> argv = {"/usr/bin/prlimit",
                                     "--nofile=" + std::to_string(nofile) + ":" +
                                         std::to_string(nofile),
                                     CASEWATCHD_BIN,
                                     "--data",
                                     (dir_.path() / "store").string(),
                                     "--no-auth",
                                     "--http-port",
                                     "0",
                                     "--clock",
                                     "simulated",
                                     "--clock-start",
                                     "2026-01-01T00:00:00Z",
                                     "--clock-speed",
                                     "0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_.emplace(argv, log_.string());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    std::smatch match;
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string text = ReadFileOrEmpty(log_.string());
      if (std::regex_search(text, match, std::regex(R"(listening on http://127\.0\.0\.1:(\d+))"))) {
        port_ = static_cast<uint16_t>(std::stoi(match[1]));
        break;
      }
      if (!process_->running()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (port_ == 0) {
      ADD_FAILURE() << "casewatchd did not start serving:\n" << ReadFileOrEmpty(log_.string());
      return;
    }
    // Ready: its engine has connected to its broker and caught up. A flood before that would
    // leave the engine's Kafka clients without descriptors, retrying, and their work would be
    // counted as the accept loop's (the likely cause of one failure on a loaded machine).
    while (std::chrono::steady_clock::now() < deadline) {
      if (ReadyzAnswers200()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "casewatchd did not become ready:\n" << ReadFileOrEmpty(log_.string());
  }
  ~Daemon() {
    process_->Signal(SIGTERM);
    process_->Wait(30);
  }

  uint16_t port() const { return port_; }
  bool ReadyzAnswers200() const {
    return ht::RawExchange(port_,
                           "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                           std::chrono::milliseconds(1000), "127.0.0.1")
        .starts_with("HTTP/1.1 200");
  }
  std::string log() const { return ReadFileOrEmpty(log_.string()); }
  // User plus system CPU time so far, in seconds.
  double CpuSeconds() const {
    std::ifstream in("/proc/" + std::to_string(process_->pid()) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string field;
    double ticks = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
      if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
    }
    return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
  }

 private:
  TempDir dir_;
  fs::path log_;
  std::optional<ChildProcess> process_;
  uint16_t port_ = 0;
};

std::string Get(uint16_t port, const std::string& path, const std::string& source) {
  return ht::RawExchange(port,
                         "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                         std::chrono::milliseconds(3000), source);
}

int64_t Metric(const std::string& metrics, const std::string& name) {
  std::smatch match;
  if (!std::regex_search(metrics, match, std::regex("\n" + name + " (\\d+)\n"))) return -1;
  return std::stoll(match[1]);
}

int CountLines(const std::string& text, const std::string& part) {
  int n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

struct Flood {
  std::vector<int> fds;
  Flood(uint16_t port, int n, const std::string& source) {
    for (int i = 0; i < n; ++i) {
      const int fd = ht::OpenIdleConnection(port, source);
      if (fd >= 0) fds.push_back(fd);
    }
  }
  ~Flood() {
    for (int fd : fds) ::close(fd);
  }
  int StillOpen() const {
    int open = 0;
    for (int fd : fds) open += ht::ClosedByPeer(fd) ? 0 : 1;
    return open;
  }
};

TEST(HttpFlood, OneAddressCannotTakeEveryPlaceAndOthersAreStillAnswered) {
  // 1024 descriptors: 384 connections at most, 96 from one address.
  Daemon daemon(1024, {});
  ASSERT_NE(daemon.port(), 0);
  Flood flood(daemon.port(), 400, "127.0.0.1");
  ASSERT_EQ(flood.fds.size(), 400u) << "the kernel completes every handshake";
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_EQ(flood.StillOpen(), 96) << "connections beyond the address's share are closed";

  for (int i = 0; i < 3; ++i) {
    const auto started = std::chrono::steady_clock::now();
    const std::string health = Get(daemon.port(), "/healthz", "127.0.0.2");
    EXPECT_TRUE(health.starts_with("HTTP/1.1 200")) << health;
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
  }
  const std::string metrics = Get(daemon.port(), "/metrics", "127.0.0.2");
  EXPECT_LE(Metric(metrics, "casewatch_http_connections"), 97) << metrics;
  EXPECT_GE(Metric(metrics, "casewatch_http_connections_refused_total"), 304) << metrics;
  EXPECT_EQ(Metric(metrics, "casewatch_http_connections_max"), 384) << metrics;
  // 304 refusals, a handful of lines.
  EXPECT_LE(CountLines(daemon.log(), "closed at once"), 6) << daemon.log();
}

TEST(HttpFlood, OutOfDescriptorsTheAcceptLoopPausesThenRecovers) {
  // Caps above the descriptor limit: accept itself fails (EMFILE).
  Daemon daemon(256, {"--http-max-connections", "100000", "--http-max-connections-per-address",
                      "100000"});
  ASSERT_NE(daemon.port(), 0);
  {
    Flood flood(daemon.port(), 400, "127.0.0.1");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const double cpu_before = daemon.CpuSeconds();
    std::this_thread::sleep_for(std::chrono::seconds(3));
    const double cpu = daemon.CpuSeconds() - cpu_before;
    EXPECT_LT(cpu, 0.6) << "the accept loop spins: " << cpu << " s of CPU in 3 s";
    const std::string log = daemon.log();
    EXPECT_GE(CountLines(log, "accept failed"), 1) << log;
    EXPECT_LE(CountLines(log, "accept failed"), 6) << log;
    EXPECT_LT(log.size(), 64u << 10) << "the log grows with the flood";
  }
  // The flood gone, the server answers again within the longest pause.
  bool answered = false;
  for (int i = 0; i < 30 && !answered; ++i) {
    answered = Get(daemon.port(), "/healthz", "127.0.0.1").starts_with("HTTP/1.1 200");
    if (!answered) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(answered) << daemon.log();
  const std::string metrics = Get(daemon.port(), "/metrics", "127.0.0.1");
  EXPECT_GE(Metric(metrics, "casewatch_http_accept_errors_total"), 1) << metrics;
}

}  // namespace
}  // namespace casewatch
