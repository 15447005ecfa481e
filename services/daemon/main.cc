// casewatchd: the engine as a daemon. Consumes case events from Kafka exactly once into its
// RocksDB store, keeps the projections current, raises missed-obligation alerts and serves the
// managers' dashboard and API. The pieces are wired in application.cc; see README.md here and
// deploy/ for production.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>

#include "services/daemon/application.h"
#include "services/daemon/flags.h"
#include "services/daemon/logging.h"

namespace casewatch::daemon {
namespace {

std::atomic<bool> g_stop{false};

}  // namespace

extern "C" void OnSignal(int) { g_stop.store(true); }

// The exit status: 0 after a clean stop, 2 for a setting or a store that needs a command first,
// 1 when the environment failed (ExitCodeOf).
int Main(int argc, char** argv) {
  Flags flags;
  CLI::App app{
      "casewatchd: consumes case events from Kafka exactly once into a RocksDB store, keeps the "
      "oversight indicators current and raises missed-obligation alerts"};
  AddFlags(app, flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  std::vector<kafka::Property> properties;
  if (!flags.config.empty()) {
    if (auto applied = ApplyConfigFile(flags.config, app, properties); !applied) {
      std::fprintf(stderr, "casewatchd: %s\n", applied.error().message.c_str());
      return 2;
    }
  }
  SetUpLogging(flags.log_format, flags.log_level);
  auto started = Application::Start(flags, std::move(properties));
  if (!started) {
    spdlog::error("{}", started.error().message);
    return ExitCodeOf(started.error());
  }
  if (auto ran = started.value()->Run(g_stop); !ran) {
    spdlog::error("{}", ran.error().message);
    return ExitCodeOf(ran.error());
  }
  started.value().reset();
  spdlog::info("casewatchd: stopped cleanly");
  return 0;
}

}  // namespace casewatch::daemon

int main(int argc, char** argv) {
  // First of all: a SIGTERM at any point means "stop cleanly", never "die mid-write".
  std::signal(SIGTERM, casewatch::daemon::OnSignal);
  std::signal(SIGINT, casewatch::daemon::OnSignal);
  return casewatch::daemon::Main(argc, argv);
}
