// `casewatch simulate`: writes simulated case histories (see services/simulator/README.md).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "projections/calendar.h"
#include "services/cli/commands.h"
#include "services/simulator/calibration.h"
#include "services/simulator/event_writer.h"
#include "services/simulator/simulator.h"

namespace casewatch::cli {
namespace {

namespace sim = ::casewatch::simulator;

// The flags as parsed; rates are applied over the chosen profile only when given.
struct SimulateFlags {
  int64_t cases = 0;
  std::string start;
  int months = 0;
  uint64_t seed = 1;
  std::string format;
  std::string out = "-";
  std::string profile = "typical";
  bool quiet = false;
  bool low_and_medium_rosh_only = false;
  std::optional<double> late_rate, miss_rate, home_visit_rate, home_visit_initial_rate,
      oversight_rate, psr_quality_rate, oral_report_rate, victim_safety_rate, team_spread,
      absence_rate, unacceptable_rate, late_record_rate, duplicate_rate;
  std::vector<std::string> task_rates;  // TASK=LATE,MISS
};

std::string TaskNames() {
  std::vector<std::string_view> names;
  for (size_t i = 0; i < sim::kTaskCount; ++i) {
    names.push_back(sim::TaskName(static_cast<sim::Task>(i)));
  }
  return fmt::format("{}", fmt::join(names, ", "));
}

std::string ProfileHelp() {
  std::vector<std::string_view> calibrated;
  for (const sim::Calibration& calibration : sim::Calibrations()) {
    calibrated.push_back(calibration.profile);
  }
  return fmt::format(
      "Practice preset (default typical). good, typical and struggling are round guesses; {} are "
      "calibrated so that a 24-month run scores as the HM Inspectorate of Probation report of "
      "that name found (the figures: services/simulator/README.md). The rate flags below "
      "override single rates (on a calibrated preset --late-rate and --miss-rate only reach the "
      "tasks it gives no rates of their own; --task-rate reaches any)",
      fmt::join(calibrated, ", "));
}

std::optional<double> ParseRate(std::string_view text) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Applies one --task-rate TASK=LATE,MISS; the rates' range is checked with the whole profile.
Result<void> ApplyTaskRate(std::string_view flag, sim::PracticeProfile& profile) {
  const size_t equals = flag.find('=');
  const size_t comma = flag.find(',', equals == std::string_view::npos ? 0 : equals);
  if (equals == std::string_view::npos || comma == std::string_view::npos) {
    return InvalidArgument(
        fmt::format("--task-rate '{}': expected TASK=LATE,MISS, e.g. plan-review=0.2,0.1", flag));
  }
  const std::optional<sim::Task> task = sim::TaskByName(flag.substr(0, equals));
  if (!task) {
    return InvalidArgument(fmt::format("--task-rate '{}': unknown task '{}': expected one of {}",
                                       flag, flag.substr(0, equals), TaskNames()));
  }
  const std::optional<double> late = ParseRate(flag.substr(equals + 1, comma - equals - 1));
  const std::optional<double> miss = ParseRate(flag.substr(comma + 1));
  if (!late || !miss) {
    return InvalidArgument(
        fmt::format("--task-rate '{}': LATE and MISS must be numbers in [0, 1]", flag));
  }
  profile.SetTaskRates(*task, sim::TaskRates{*late, *miss});
  return Ok();
}

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Closes a FILE* it owns, never stdout.
struct FileCloser {
  void operator()(std::FILE* file) const {
    if (file != nullptr && file != stdout) std::fclose(file);
  }
};

Result<void> RunSimulate(const SimulateFlags& flags) {
  auto date = ParseDate(flags.start);
  if (!date) return InvalidArgument(fmt::format("--start: {}", date.error().message));
  auto profile = sim::ProfileByName(flags.profile);
  if (!profile) return InvalidArgument(fmt::format("--profile: {}", profile.error().message));
  sim::PracticeProfile& p = profile.value();
  auto apply = [](const std::optional<double>& flag, double& rate) {
    if (flag) rate = *flag;
  };
  apply(flags.late_rate, p.late_rate);
  apply(flags.miss_rate, p.miss_rate);
  apply(flags.home_visit_rate, p.home_visit_rate);
  if (flags.home_visit_initial_rate) p.home_visit_initial_rate = flags.home_visit_initial_rate;
  apply(flags.oversight_rate, p.oversight_rate);
  apply(flags.psr_quality_rate, p.psr_quality_rate);
  apply(flags.oral_report_rate, p.oral_report_rate);
  apply(flags.victim_safety_rate, p.victim_safety_rate);
  apply(flags.team_spread, p.team_spread);
  apply(flags.absence_rate, p.absence_rate);
  apply(flags.unacceptable_rate, p.unacceptable_rate);
  apply(flags.late_record_rate, p.late_record_rate);
  apply(flags.duplicate_rate, p.duplicate_rate);
  for (const std::string& task_rate : flags.task_rates) {
    CW_TRY(ApplyTaskRate(task_rate, p));
  }
  if (flags.low_and_medium_rosh_only) p.low_and_medium_rosh_only = true;

  sim::OutputFormat format = sim::OutputFormat::kNdjson;
  if (flags.format == "binary") {
    format = sim::OutputFormat::kBinary;
  } else if (flags.format.empty() && flags.out != "-" && !EndsWith(flags.out, ".ndjson") &&
             !EndsWith(flags.out, ".jsonl") && !EndsWith(flags.out, ".json")) {
    format = sim::OutputFormat::kBinary;
  }

  sim::SimulationOptions options;
  options.cases = flags.cases;
  options.start = date.value();
  options.months = flags.months;
  options.seed = flags.seed;
  options.profile = std::move(p);
  auto created = sim::Simulator::Create(std::move(options));
  if (!created) return created.error();
  const sim::Simulator& simulator = created.value();

  std::unique_ptr<std::FILE, FileCloser> file(
      flags.out == "-" ? stdout : std::fopen(flags.out.c_str(), "wb"));
  if (!file) return IoError(fmt::format("cannot open '{}' for writing", flags.out));
  auto writer = sim::MakeEventWriter(format, file.get(), simulator.organisation());
  auto run = simulator.Run(*writer);
  if (!run) return run.error();
  const sim::SimulationSummary& summary = run.value();
  CW_TRY(writer->Finish());
  if (file.get() != stdout && std::fclose(file.release()) != 0) {
    return IoError(fmt::format("cannot close '{}'", flags.out));
  }
  if (!flags.quiet) {
    fmt::print(stderr, "simulate: {} cases, {} events ({} duplicates), {} to {} \n", summary.cases,
               summary.events, summary.duplicates, FormatDate(simulator.options().start),
               FormatDate(simulator.end()));
  }
  return Ok();
}

void AddRate(CLI::App& command, const std::string& name, std::optional<double>& target,
             const std::string& help) {
  command
      .add_option_function<double>(
          name, [&target](const double& value) { target = value; }, help)
      ->check(CLI::Range(0.0, 1.0))
      ->type_name("RATE");
}

}  // namespace

void AddSimulateCommand(CLI::App& root, int& exit_code) {
  auto flags = std::make_shared<SimulateFlags>();
  CLI::App* command = root.add_subcommand(
      "simulate",
      "Generate realistic simulated case histories (events in arrival order). Deterministic: the "
      "same flags and seed give byte-identical output.");
  command->add_option("--cases", flags->cases, "Number of cases opened over the window")
      ->required()
      ->check(CLI::Range(int64_t{1}, int64_t{50'000'000}));
  command->add_option("--start", flags->start, "First day of the window, YYYY-MM-DD")
      ->required()
      ->type_name("DATE");
  command
      ->add_option("--months", flags->months,
                   "Length of the window in months; its end is 'now' (no event occurs or is "
                   "recorded later)")
      ->required()
      ->check(CLI::Range(1, 600));
  command->add_option("--seed", flags->seed, "Random seed (default 1)");
  command
      ->add_option("--format", flags->format,
                   "ndjson (protobuf JSON, one Envelope a line) or binary (length-delimited "
                   "Envelopes). Default: ndjson, or binary when --out names a file not ending "
                   "in .ndjson/.jsonl/.json")
      ->check(CLI::IsMember({"ndjson", "binary"}));
  command->add_option("--out", flags->out, "Output file, '-' for stdout (default)")
      ->type_name("FILE");
  command->add_option("--profile", flags->profile, ProfileHelp())
      ->check(CLI::IsMember(sim::ProfileNames()));
  AddRate(*command, "--late-rate", flags->late_rate, "Share of tasks done after their due date");
  AddRate(*command, "--miss-rate", flags->miss_rate, "Share of tasks never done");
  AddRate(*command, "--home-visit-rate", flags->home_visit_rate,
          "Share of due home visits (high RoSH / child protection) done on time");
  AddRate(*command, "--home-visit-initial-rate", flags->home_visit_initial_rate,
          "Share of first home visits of a high-RoSH / child protection period done on time "
          "(default: --home-visit-rate)");
  AddRate(*command, "--oversight-rate", flags->oversight_rate,
          "Share of 28-day management oversights recorded on time");
  AddRate(*command, "--psr-quality-rate", flags->psr_quality_rate,
          "Share of written pre-sentence reports covering RoSH and likelihood of reoffending");
  AddRate(*command, "--oral-report-rate", flags->oral_report_rate,
          "Share of pre-sentence reports given orally on the day (they cover RoSH and likelihood "
          "of reoffending less often)");
  AddRate(*command, "--victim-safety-rate", flags->victim_safety_rate,
          "Share of risk management plans addressing victim safety");
  AddRate(*command, "--team-spread", flags->team_spread,
          "How much teams differ: failure rates scaled by a factor in [1-x, 1+x] per team");
  AddRate(*command, "--absence-rate", flags->absence_rate, "Share of appointments missed");
  AddRate(*command, "--unacceptable-rate", flags->unacceptable_rate,
          "Share of missed appointments judged unacceptable");
  AddRate(*command, "--late-record-rate", flags->late_record_rate,
          "Share of events recorded 2-30 days after they occurred");
  AddRate(*command, "--duplicate-rate", flags->duplicate_rate,
          "Share of events re-sent as identical duplicates");
  command
      ->add_option("--task-rate", flags->task_rates,
                   fmt::format("One task's late and never-done shares in place of --late-rate "
                               "and --miss-rate; repeatable. TASK is one of {}",
                               TaskNames()))
      ->type_name("TASK=LATE,MISS");
  command->add_flag("--low-medium-rosh-only", flags->low_and_medium_rosh_only,
                    "No case is ever classified HIGH or VERY_HIGH (a community rehabilitation "
                    "company's caseload)");
  command->add_flag("--quiet", flags->quiet, "Do not print the summary line to stderr");
  command->callback([flags, &exit_code] {
    Result<void> result = RunSimulate(*flags);
    if (!result) {
      fmt::print(stderr, "simulate: {}\n", result.error().message);
      exit_code = ExitCodeOf(result.error());
      return;
    }
    exit_code = 0;
  });
}

}  // namespace casewatch::cli
