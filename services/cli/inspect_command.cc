// casewatch inspect: an inspection of a history (an event file or an engine's store) as of a date,
// as an HTML report, JSON and CSV (services/inspection/README.md).
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <tuple>
#include <vector>

#include "base/temp_dir.h"
#include "services/cli/commands.h"
#include "services/cli/report_flags.h"
#include "services/reports/store_report.h"
#include "services/inspection/report_csv.h"
#include "services/inspection/report_html.h"
#include "services/inspection/report_json.h"
#include "services/inspection/source.h"

namespace casewatch::cli {
namespace {

namespace insp = ::casewatch::inspection;

struct InspectOptions {
  std::string events;
  std::string data;
  std::string format = "auto";
  ReportFlags report;
  std::string compare_as_of;
  std::string compare_policy;
  int sample = 0;
  uint64_t seed = 1;
  std::string sample_from;
  std::string sample_to;
  int sample_min_days = 270;
  int late_record_days = 5;
  int months = 12;
  std::string html, json, csv;
  std::string cases_html;  // the sampled cases' records; by default beside --html
  std::string progress = "auto";
};

// The request from the flags; `as_of` is already resolved (the store's instant by default).
Result<insp::InspectionRequest> RequestOf(const InspectOptions& o) {
  CW_TRY(r, o.report.Resolve());
  insp::InspectionRequest request;
  request.as_of = r.as_of;
  request.period = r.period;
  request.scope = r.scope;
  request.policy = r.policy;
  request.min_cases = r.min_cases;
  if (!o.compare_as_of.empty()) {
    auto earlier = ParseAsOfFlag(o.compare_as_of);
    if (!earlier) return InvalidArgument("--compare-as-of: " + earlier.error().message);
    if (!(earlier.value() < request.as_of)) {
      return InvalidArgument(
          fmt::format("--compare-as-of: the previous inspection ({}) must be before --as-of ({})",
                      o.compare_as_of, FormatInstant(request.as_of)));
    }
    request.compare_as_of = earlier.value();
  }
  if (!o.compare_policy.empty()) {
    CW_TRY(policy, ReadPolicyFile(o.compare_policy));
    request.compare_policy = std::move(policy);
  }
  insp::SampleCriteria& sample = request.sample;
  sample.size = o.sample;
  sample.seed = o.seed;
  sample.min_supervised_days = o.sample_min_days;
  // By default, cases that started in the six months before they could have been supervised for
  // the minimum time by the as-of date.
  sample.started_to = DateOf(request.as_of) + -o.sample_min_days;
  sample.started_from = sample.started_to + -182;
  for (const auto& [flag, text, date] :
       {std::tuple{"--sample-from", &o.sample_from, &sample.started_from},
        std::tuple{"--sample-to", &o.sample_to, &sample.started_to}}) {
    if (text->empty()) continue;
    auto parsed = ParseDateFlag(*text);
    if (!parsed) return InvalidArgument(fmt::format("{}: {}", flag, parsed.error().message));
    *date = parsed.value();
  }
  if (sample.started_from > sample.started_to) {
    return InvalidArgument(fmt::format("--sample-from {} is after --sample-to {}",
                                       FormatDate(sample.started_from),
                                       FormatDate(sample.started_to)));
  }
  request.late_record_days = o.late_record_days;
  request.months = o.months;
  return request;
}

insp::Progress::Mode ProgressMode(const std::string& flag) {
  if (flag == "bar") return insp::Progress::Mode::kBar;
  if (flag == "lines") return insp::Progress::Mode::kLines;
  if (flag == "none") return insp::Progress::Mode::kNone;
  return isatty(fileno(stderr)) ? insp::Progress::Mode::kBar : insp::Progress::Mode::kNone;
}

Result<insp::Inspection> Run(InspectOptions o, insp::Progress& progress) {
  if (o.data.empty()) {
    CW_TRY(request, RequestOf(o));
    std::optional<ingest::FileFormat> format;
    if (o.format != "auto") {
      format = o.format == "ndjson" ? ingest::FileFormat::kNdjson : ingest::FileFormat::kBinary;
    }
    return insp::InspectEventFile(o.events, format, std::move(request), progress);
  }
  TempDir scratch;  // the secondaries' own files, removed afterwards
  CW_TRY(stores, OpenStoresForReport(o.data, scratch, o.report));
  std::vector<const store::StoreReader*> readers;
  for (const auto& store : stores) readers.push_back(store.get());
  CW_TRY(request, RequestOf(o));
  if (o.report.policy_file.empty()) {
    CW_TRY(policy, reports::StoresPolicy(readers));
    request.policy = std::move(policy);
  }
  request.source = readers.size() == 1
                       ? fmt::format("engine store {}", o.data)
                       : fmt::format("engine stores {} ({} tasks, a store per partition)", o.data,
                                     readers.size());
  return insp::InspectStores(readers, std::move(request), progress);
}

// Writes one output; "-" is stdout.
Result<void> Emit(const std::string& path, const std::string& contents) {
  if (path != "-") return WriteFile(path, contents);
  std::fwrite(contents.data(), 1, contents.size(), stdout);
  std::fflush(stdout);
  return Ok();
}

// Where the sampled cases' records go: --cases-html, or beside a report written to a file
// (report.html → report-cases.html); empty when they stay in the report (written to stdout).
std::string CasesFileOf(const InspectOptions& o) {
  if (!o.cases_html.empty() || o.html.empty() || o.html == "-") return o.cases_html;
  const std::filesystem::path html(o.html);
  std::filesystem::path cases = html;
  cases.replace_filename(html.stem().string() + "-cases" +
                         (html.has_extension() ? html.extension().string() : ".html"));
  return cases.string();
}

// `to` as seen from the directory of `from`, for a link between the two files.
std::string RelativeLink(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::path from_dir = fs::absolute(from, error).parent_path().lexically_normal();
  const fs::path target = fs::absolute(to, error).lexically_normal();
  const fs::path relative = target.lexically_relative(from_dir);
  return relative.empty() ? target.string() : relative.generic_string();
}

int RunInspect(InspectOptions o) {
  auto fail = [](const std::string& message) {
    fmt::print(stderr, "casewatch inspect: {}\n", message);
    return 2;
  };
  if (o.events.empty() == o.data.empty()) return fail("give exactly one of --events and --data");
  if (!o.events.empty() && o.report.as_of.empty()) return fail("--as-of is required with --events");
  const int to_stdout = (o.html == "-") + (o.json == "-") + (o.csv == "-");
  if (to_stdout > 1) return fail("only one of --html, --json and --csv can be - (stdout)");
  if (o.html.empty() && o.json.empty() && o.csv.empty()) o.json = "-";
  if (!o.cases_html.empty() && (o.html.empty() || o.html == "-" || o.cases_html == "-")) {
    return fail("--cases-html FILE goes with --html FILE (the two files link to each other)");
  }
  if (!o.cases_html.empty() && std::filesystem::path(o.cases_html).lexically_normal() ==
                                   std::filesystem::path(o.html).lexically_normal()) {
    return fail("--cases-html must be another file than --html");
  }

  insp::Progress progress(ProgressMode(o.progress));
  auto inspection = Run(o, progress);
  if (!inspection) return fail(inspection.error().message);
  const insp::Inspection& in = inspection.value();
  if (in.report.cases == 0) {
    if (auto known = CheckScopeIsKnown(in.request.scope, in.known_allocations); !known) {
      return fail(known.error().message);
    }
  }
  // With a sample, its records go to a file of their own, linked both ways with the report.
  const std::string cases_file = in.sample.empty() ? "" : CasesFileOf(o);
  const std::pair<const std::string*, std::function<std::string()>> outputs[] = {
      {&o.html,
       [&] {
         return insp::RenderInspectionHtml(
             in, cases_file.empty() ? "" : RelativeLink(o.html, cases_file));
       }},
      {&cases_file,
       [&] { return insp::RenderInspectionCasesHtml(in, RelativeLink(cases_file, o.html)); }},
      {&o.json, [&] { return insp::RenderInspectionJson(in); }},
      {&o.csv, [&] { return insp::RenderInspectionCsv(in); }}};
  for (const auto& [path, render] : outputs) {
    if (path->empty()) continue;
    if (auto written = Emit(*path, render()); !written) return fail(written.error().message);
  }
  fmt::print(stderr,
             "casewatch inspect: as of {}, {} cases in scope, {} sampled; {} events accepted, {} "
             "rejected\n",
             FormatInstant(in.report.as_of), in.report.cases, in.sample.size(), in.quality.accepted,
             in.quality.rejected);
  if (!cases_file.empty()) {
    fmt::print(stderr, "casewatch inspect: the sampled cases' records are in {}\n", cases_file);
  }
  return 0;
}

}  // namespace

void AddInspectCommand(CLI::App& root, int& exit_code) {
  auto o = std::make_shared<InspectOptions>();
  CLI::App* cmd = root.add_subcommand(
      "inspect",
      "Inspect a history as of a date, as an inspectorate would: the proportion of work done well "
      "enough per outcome and indicator, by unit and month, an optional case sample with each "
      "case judged, progress since an earlier date or the effect of another policy, and data "
      "quality. Writes an HTML report, JSON and/or CSV (JSON on stdout when none is given).");
  cmd->add_option("--events", o->events,
                  "Event file, as for replay (.ndjson/.jsonl is JSON lines, else binary; - reads "
                  "stdin)");
  cmd->add_option("--data", o->data,
                  "An engine's store directory instead of an event file (read as a secondary, "
                  "safe while the engine runs)");
  cmd->add_option("--format", o->format, "Event file format, overriding the file name")
      ->check(CLI::IsMember({"auto", "ndjson", "binary"}));
  AddReportFlags(*cmd, o->report);
  // --as-of is optional with --data (the engine's projection instant); case items are always in
  // the sample and nowhere else.
  for (CLI::Option* option : cmd->get_options()) {
    if (option->check_lname("as-of")) option->required(false);
  }
  cmd->remove_option(cmd->get_option("--case-items"));
  cmd->add_option("--compare-as-of", o->compare_as_of,
                  "A previous inspection's as-of instant (a timestamp, or a date meaning the end "
                  "of that day): progress since then, indicator by indicator (same scope and "
                  "policy; the period moved back by the same days)");
  cmd->add_option("--compare-policy", o->compare_policy,
                  "Another policy file: what the figures would be under it (same history and "
                  "date), and which cases' judgements change");
  cmd->add_option("--sample", o->sample, "Draw a case sample of this many cases (0: none)")
      ->check(CLI::Range(0, 100000));
  cmd->add_option("--seed", o->seed, "The sample's seed (default 1): the same seed, the same draw");
  cmd->add_option("--sample-from", o->sample_from,
                  "Sampled cases started on or after this date, YYYY-MM-DD or a timestamp's UTC "
                  "date (default: six months before --sample-to)");
  cmd->add_option("--sample-to", o->sample_to,
                  "Sampled cases started on or before this date, YYYY-MM-DD or a timestamp's UTC "
                  "date (default: --sample-min-days before the as-of date)");
  cmd->add_option("--sample-min-days", o->sample_min_days,
                  "Sampled cases were supervised at least this many days by the as-of date "
                  "(default 270, about nine months)")
      ->check(CLI::Range(0, 36500));
  cmd->add_option("--late-record-days", o->late_record_days,
                  "Data quality: a record is late when recorded more than this many days after "
                  "it occurred (default 5)")
      ->check(CLI::Range(0, 3650));
  cmd->add_option("--months", o->months, "Months in the trend charts (default 12)")
      ->check(CLI::Range(1, 120));
  cmd->add_option("--html", o->html, "Write the HTML report here (- for stdout)");
  cmd->add_option("--cases-html", o->cases_html,
                  "Write the sampled cases' records (each case's events and items) here, linked "
                  "with the report (default: beside --html, report.html → report-cases.html; "
                  "with --html - they stay in the report)");
  cmd->add_option("--json", o->json, "Write the JSON form here (- for stdout)");
  cmd->add_option("--csv", o->csv, "Write the CSV form here (- for stdout)");
  cmd->add_option("--progress", o->progress,
                  "Progress on stderr: a bar, one line per tenth, none, or auto (a bar on a "
                  "terminal, else none)")
      ->check(CLI::IsMember({"auto", "bar", "lines", "none"}));
  cmd->callback([o, &exit_code] { exit_code = RunInspect(*o); });
}

}  // namespace casewatch::cli
