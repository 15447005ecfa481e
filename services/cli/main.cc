// casewatch: the command-line tools (replay, simulate, ...). Each subcommand lives in its own
// file; see commands.h.
#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "base/closest_names.h"
#include "services/cli/commands.h"

namespace casewatch::cli {
namespace {

// The chosen command whose arguments were left over (the root when none was chosen), and its
// name as typed ("casewatch token add"); nullptr when nothing was left over.
const CLI::App* AppWithLeftovers(const CLI::App& app, std::string& name) {
  if (!app.remaining(false).empty()) return &app;
  for (const CLI::App* sub : app.get_subcommands()) {
    std::string sub_name = name + " " + sub->get_name();
    if (const CLI::App* found = AppWithLeftovers(*sub, sub_name)) {
      name = std::move(sub_name);
      return found;
    }
  }
  return nullptr;
}

// The flags `wanted` may have meant: long ones for "--x", short ones too for "-x" (one letter is
// near every other, so only a single dash makes them candidates).
std::vector<std::string> FlagNames(const CLI::App& app, std::string_view wanted) {
  std::vector<std::string> names;
  for (const CLI::Option* option : app.get_options()) {
    for (const std::string& l : option->get_lnames()) names.push_back("--" + l);
    if (wanted.starts_with("--")) continue;
    for (const std::string& s : option->get_snames()) names.push_back("-" + s);
  }
  return names;
}

// A message naming the first argument nobody asked for, an unknown command or flag, with the
// names it was probably meant to be; nullopt when every argument was taken.
std::optional<std::string> UnknownArgumentMessage(const CLI::App& root) {
  std::string name = "casewatch";
  const CLI::App* app = AppWithLeftovers(root, name);
  if (app == nullptr) return std::nullopt;
  const std::vector<std::string> leftovers = app->remaining(false);
  auto first = [&](bool flag) -> std::optional<std::string> {
    for (const std::string& arg : leftovers) {
      if (arg.starts_with("-") == flag) return flag ? arg.substr(0, arg.find('=')) : arg;
    }
    return std::nullopt;
  };
  // A command that needed a subcommand and got none: the word left over was meant to be one.
  std::vector<std::string> commands;
  for (const CLI::App* sub : app->get_subcommands([](const CLI::App*) { return true; })) {
    commands.push_back(sub->get_name());
  }
  if (auto word = first(false); word && !commands.empty() && app->get_subcommands().empty()) {
    return fmt::format("{}: unknown command \"{}\"{}\nRun `{} --help` for the commands.\n", name,
                       *word, DidYouMean(*word, commands), name);
  }
  // A mistyped flag's value is left over too: name the flag, not its value.
  if (auto flag = first(true)) {
    return fmt::format("{}: unknown flag {}{}\nRun `{} --help` for its flags.\n", name, *flag,
                       DidYouMean(*flag, FlagNames(*app, *flag)), name);
  }
  return fmt::format(
      "{}: unexpected argument \"{}\" (it takes only flags)\nRun `{} --help` for its flags.\n",
      name, leftovers.front(), name);
}

}  // namespace
}  // namespace casewatch::cli

// Exit status: the command's own (0, or 2 for input to change, 1 for a failed environment), 0
// for --help and --version, 2 for a command line CLI11 refuses.
int main(int argc, char** argv) {
  // Logs (the Kafka client's warnings, say) to stderr: stdout is the command's output, a report
  // that may be piped on.
  spdlog::set_default_logger(spdlog::stderr_logger_mt("casewatch"));
  CLI::App app{"casewatch: event-sourced oversight of probation case work"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show the help of every subcommand");
  app.set_version_flag("--version", "casewatch " CASEWATCH_VERSION, "Print the version and exit");
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
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    // CLI11 checks required flags before leftovers: a mistyped name is the likelier cause.
    if (auto unknown = casewatch::cli::UnknownArgumentMessage(app)) {
      std::fputs(unknown->c_str(), stderr);
      return 2;
    }
    app.exit(e);
    return 2;
  }
  return exit_code;
}
