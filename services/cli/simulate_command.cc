// `casewatch simulate`: writes simulated case histories (see services/simulator/README.md).
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "projections/calendar.h"
#include "services/cli/commands.h"
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
  std::optional<double> late_rate, miss_rate, home_visit_rate, oversight_rate, psr_quality_rate,
      victim_safety_rate, team_spread, absence_rate, unacceptable_rate, late_record_rate,
      duplicate_rate;
};

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
  apply(flags.oversight_rate, p.oversight_rate);
  apply(flags.psr_quality_rate, p.psr_quality_rate);
  apply(flags.victim_safety_rate, p.victim_safety_rate);
  apply(flags.team_spread, p.team_spread);
  apply(flags.absence_rate, p.absence_rate);
  apply(flags.unacceptable_rate, p.unacceptable_rate);
  apply(flags.late_record_rate, p.late_record_rate);
  apply(flags.duplicate_rate, p.duplicate_rate);

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
  command
      ->add_option("--profile", flags->profile,
                   "Practice preset: good, typical (default) or struggling; the rate flags "
                   "below override single rates")
      ->check(CLI::IsMember({"good", "typical", "struggling"}));
  AddRate(*command, "--late-rate", flags->late_rate, "Share of tasks done after their due date");
  AddRate(*command, "--miss-rate", flags->miss_rate, "Share of tasks never done");
  AddRate(*command, "--home-visit-rate", flags->home_visit_rate,
          "Share of due home visits (high RoSH / child protection) done on time");
  AddRate(*command, "--oversight-rate", flags->oversight_rate,
          "Share of 28-day management oversights recorded on time");
  AddRate(*command, "--psr-quality-rate", flags->psr_quality_rate,
          "Share of written pre-sentence reports covering RoSH and likelihood of reoffending");
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
  command->add_flag("--quiet", flags->quiet, "Do not print the summary line to stderr");
  command->callback([flags, &exit_code] {
    Result<void> result = RunSimulate(*flags);
    if (!result) {
      fmt::print(stderr, "simulate: {}\n", result.error().message);
      exit_code = result.error().kind == ErrorKind::kInvalidArgument ? 2 : 1;
      return;
    }
    exit_code = 0;
  });
}

}  // namespace casewatch::cli
