// casewatch report --data DIR: the report (docs/rules.md section 10) from an engine's store, in
// exactly the replay format; also while the engine runs (the store is opened as a secondary).
// DIR may hold the stores of tasks (casewatchd --tasks): the report is then theirs together.
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "base/temp_dir.h"
#include "services/cli/commands.h"
#include "services/cli/report_flags.h"
#include "services/reports/store_report.h"

namespace casewatch::cli {
namespace {

struct ReportOptions {
  std::string data;
  ReportFlags report;
};

int RunReport(ReportOptions options) {
  auto fail = [](const std::string& message) {
    fmt::print(stderr, "casewatch report: {}\n", message);
    return 2;
  };
  TempDir scratch;  // the secondary's own files, removed afterwards
  auto opened = OpenStoresForReport(options.data, scratch, options.report);
  if (!opened) return fail(opened.error().message);
  std::vector<const store::StoreReader*> stores;
  for (const auto& store : opened.value()) stores.push_back(store.get());
  auto request = options.report.Resolve();
  if (!request) return fail(request.error().message);
  const ReportRequest& r = request.value();
  reports::StoreReportRequest query;
  query.as_of = r.as_of;
  query.from = r.period.from;
  query.to = r.period.to;
  query.scope = r.scope;
  query.case_items = r.case_items;
  query.min_cases = r.min_cases;
  if (!options.report.policy_file.empty()) query.policy = r.policy;
  auto report = reports::ReportFromStores(stores, query);
  if (!report) return fail(report.error().message);
  if (report.value().cases == 0) {  // none now or then: a typo, or a unit of no case
    if (auto known = reports::CheckScopeInStores(stores, r.scope); !known) {
      return fail(known.error().message);
    }
  }
  std::fwrite(report.value().json.data(), 1, report.value().json.size(), stdout);
  std::fflush(stdout);
  static constexpr const char* kSources[] = {
      "per-allocation counts", "stored projections",
      "the instants in the stored projections (an earlier instant)",
      "re-evaluation of the stored events"};
  static_assert(std::size(kSources) ==
                static_cast<size_t>(reports::ReportSource::kReEvaluation) + 1);
  fmt::print(stderr, "casewatch report: as of {} from {}\n", FormatInstant(report.value().as_of),
             kSources[static_cast<int>(report.value().source)]);
  return 0;
}

}  // namespace

void AddReportCommand(CLI::App& root, int& exit_code) {
  auto options = std::make_shared<ReportOptions>();
  CLI::App* cmd = root.add_subcommand(
      "report",
      "Print the oversight report (docs/rules.md section 10) from an engine's store, in the "
      "replay format; works while the engine runs. Without --as-of: as of the engine's clock at "
      "its last write, from its stored projections; with --as-of (or --policy): re-evaluated from "
      "the stored events.");
  cmd->add_option("--data", options->data, "The engine's store directory")->required();
  AddReportFlags(*cmd, options->report);
  // --as-of is optional here: the engine's projection instant by default.
  for (CLI::Option* option : cmd->get_options()) {
    if (option->check_lname("as-of")) option->required(false);
  }
  cmd->callback([options, &exit_code] { exit_code = RunReport(*options); });
}

}  // namespace casewatch::cli
