#pragma once
// The subcommands of the `casewatch` tool. Each Add*Command registers its subcommand and flags on
// the root app; when the subcommand is chosen, its callback runs the command and stores the
// process exit code in `exit_code`.

#include <CLI/CLI.hpp>

namespace casewatch::cli {

void AddReplayCommand(CLI::App& root, int& exit_code);
void AddSimulateCommand(CLI::App& root, int& exit_code);
void AddDevBrokerCommand(CLI::App& root, int& exit_code);
void AddPublishCommand(CLI::App& root, int& exit_code);
void AddReportCommand(CLI::App& root, int& exit_code);
void AddRebuildCommand(CLI::App& root, int& exit_code);
void AddTokenCommand(CLI::App& root, int& exit_code);
void AddInspectCommand(CLI::App& root, int& exit_code);

}  // namespace casewatch::cli
