// casewatch: the command-line tools (replay, simulate, ...). Each subcommand lives in its own
// file; see commands.h.
#include <cstdio>

#include "services/cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"casewatch: event-sourced oversight of probation case work"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show the help of every subcommand");
  int exit_code = 0;
  casewatch::cli::AddReplayCommand(app, exit_code);
  casewatch::cli::AddSimulateCommand(app, exit_code);
  casewatch::cli::AddDevBrokerCommand(app, exit_code);
  casewatch::cli::AddPublishCommand(app, exit_code);
  casewatch::cli::AddReportCommand(app, exit_code);
  casewatch::cli::AddRebuildCommand(app, exit_code);
  casewatch::cli::AddTokenCommand(app, exit_code);
  casewatch::cli::AddInspectCommand(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
