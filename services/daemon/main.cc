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

// The exit status: 0 after a clean stop (and for --help, --version), 2 for a refused command line
// or a setting or a store that needs a command first, 1 when the environment failed (ExitCodeOf).
int Main(int argc, char** argv) {
  Flags flags;
  CLI::App app{
      "casewatchd: consumes case events from Kafka exactly once into a RocksDB store, keeps the "
      "oversight indicators current and raises missed-obligation alerts"};
  AddFlags(app, flags);
  app.set_version_flag("--version", "casewatchd " CASEWATCH_VERSION, "Print the version and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    // CLI11 checks required flags before leftovers: a mistyped name is the likelier cause.
    if (auto unknown = UnknownFlagMessage(app)) {
      std::fputs(unknown->c_str(), stderr);
      return 2;
    }
    app.exit(e);
    return 2;
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
