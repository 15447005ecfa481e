#include "services/cli/commands.h"
namespace casewatch::cli {
void AddSimulateCommand(CLI::App& root, int& exit_code) {
  root.add_subcommand("simulate", "Generate simulated case histories (not yet built)")
      ->callback([&exit_code] { exit_code = 2; });
}
}  // namespace casewatch::cli
