#include "services/cli/commands.h"
namespace casewatch::cli {
void AddReplayCommand(CLI::App& root, int& exit_code) {
  root.add_subcommand("replay", "Replay an event file into a report (not yet built)")
      ->callback([&exit_code] { exit_code = 2; });
}
}  // namespace casewatch::cli
