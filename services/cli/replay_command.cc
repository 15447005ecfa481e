// casewatch replay: an event file, a policy and T in; the report (docs/rules.md section 10) out.
#include <fmt/format.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

#include "projections/report_json.h"
#include "projections/report_text.h"
#include "services/cli/commands.h"
#include "services/cli/report_flags.h"
#include "services/ingest/event_file.h"

namespace casewatch::cli {
namespace {

struct ReplayOptions {
  std::string events;
  std::string format = "auto";
  bool stats = false;
  bool text = false;
  std::string json_out;
  ReportFlags report;
};

long PeakRssKib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

int RunReplay(const ReplayOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  auto request = options.report.Resolve();
  if (!request) {
    fmt::print(stderr, "casewatch replay: {}\n", request.error().message);
    return 2;
  }

  ingest::EventLog log;
  const std::string& path = options.events;
  auto on_problem = [&](const ingest::Problem& problem) {
    fmt::print(stderr, "{}:{}: {}\n", path == "-" ? "<stdin>" : path, problem.line, problem.reason);
  };
  Result<ingest::LoadSummary> loaded =
      options.format == "auto"
          ? ingest::LoadEventFile(path, log, on_problem)
          : ingest::LoadEventFile(path,
                                  options.format == "ndjson" ? ingest::FileFormat::kNdjson
                                                             : ingest::FileFormat::kBinary,
                                  log, on_problem);
  if (!loaded) {
    fmt::print(stderr, "casewatch replay: {}\n", loaded.error().message);
    return 2;
  }
  const auto read_done = std::chrono::steady_clock::now();
  log.SealAll();

  const ReportRequest& r = request.value();
  Evaluator evaluator(r.policy);
  ReportBuilder builder(evaluator.policy(), r.as_of, r.period, r.scope, r.min_cases);
  std::vector<CaseItemRow> rows;
  KnownAllocations known;  // for a scope that matches no case: what it may have meant
  for (const CaseHistory& history : log.cases()) {
    const CaseEvaluation* evaluation = evaluator.Evaluate(history, r.as_of);
    if (evaluation == nullptr) continue;
    if (!r.scope.empty()) known.Add(evaluation->allocation);
    if (!builder.Add(*evaluation)) continue;
    if (r.case_items) AppendCaseItems(*evaluation, rows);
  }
  if (r.case_items) SortCaseItems(rows);
  const Report report = builder.Finish();
  const ingest::LoadSummary& s = loaded.value();
  auto summary = [&] {
    fmt::print(stderr,
               "casewatch replay: {} events accepted, {} duplicates ignored, {} rejected; {} "
               "cases\n",
               s.accepted, s.duplicates, s.rejected, log.case_count());
  };
  if (s.accepted == 0) {
    summary();
    fmt::print(stderr, "casewatch replay: nothing could be evaluated: {} holds no valid event\n",
               path == "-" ? "<stdin>" : path);
    return 2;
  }
  if (report.cases == 0) {
    if (auto checked = CheckScopeIsKnown(r.scope, known.list()); !checked) {
      fmt::print(stderr, "casewatch replay: {}\n", checked.error().message);
      return 2;
    }
  }
  const std::string json = RenderReportJson(report, r.case_items ? &rows : nullptr);
  if (!options.json_out.empty()) {
    if (auto written = WriteFile(options.json_out, json); !written) {
      fmt::print(stderr, "casewatch replay: {}\n", written.error().message);
      return 2;
    }
  }
  const std::string shown = options.text               ? RenderReportText(report)
                            : options.json_out.empty() ? json
                                                       : "";
  std::fwrite(shown.data(), 1, shown.size(), stdout);
  std::fflush(stdout);

  summary();
  if (options.stats) {
    const auto done = std::chrono::steady_clock::now();
    const double total = std::chrono::duration<double>(done - started).count();
    const double read = std::chrono::duration<double>(read_done - started).count();
    const uint64_t records = s.accepted + s.duplicates + s.rejected;
    fmt::print(stderr,
               "stats: records={} seconds={:.3f} (read {:.3f}, evaluate {:.3f}) "
               "events_per_second={:.0f} peak_rss_mib={:.1f}\n",
               records, total, read, total - read, records / total, PeakRssKib() / 1024.0);
  }
  return 0;
}

}  // namespace

void AddReplayCommand(CLI::App& root, int& exit_code) {
  auto options = std::make_shared<ReplayOptions>();
  CLI::App* cmd = root.add_subcommand(
      "replay",
      "Replay an event file and print the oversight report (docs/rules.md section 10) as JSON on "
      "stdout. Bad lines are reported on stderr with their line number and skipped.");
  cmd->add_option("--events", options->events,
                  "Event file: .ndjson/.jsonl is JSON lines, anything else the binary form "
                  "(length-delimited Envelopes); - reads stdin")
      ->required();
  cmd->add_option("--format", options->format, "Input format, overriding the file name")
      ->check(CLI::IsMember({"auto", "ndjson", "binary"}));
  AddReportFlags(*cmd, options->report);
  cmd->add_flag("--text", options->text, "Print a plain-text summary instead of the JSON");
  cmd->add_option("--json-out", options->json_out,
                  "Write the JSON report to this file (stdout then shows only --text, if given)");
  cmd->add_flag("--stats", options->stats,
                "Print timing, events/s and peak memory to stderr (for benchmarks)");
  cmd->callback([options, &exit_code] { exit_code = RunReplay(*options); });
}

}  // namespace casewatch::cli
