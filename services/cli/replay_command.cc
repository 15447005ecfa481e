// casewatch replay: an event file, a policy and T in; the report (docs/rules.md section 10) out.
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "base/partition_offsets.h"
#include "projections/report_json.h"
#include "projections/report_text.h"
#include "services/cli/commands.h"
#include "services/cli/report_flags.h"
#include "services/ingest/event_file.h"
#include "services/ingest/validation.h"
#include "services/ingest/wire_decoder.h"
#include "services/kafka/consumer.h"
#include "services/kafka/kafka_config.h"

namespace casewatch::cli {
namespace {

struct ReplayOptions {
  std::string events;
  std::string format = "auto";
  // Instead of a file: the events topic as the brokers hold it.
  std::string brokers;
  std::string topic = "case-events";
  std::string kafka_config;
  std::optional<std::string> offsets;  // "P:O,...": only the records below O of each named
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

// --offsets: "0:5459,1:4708" (a live answer's Casewatch-Offsets): partition -> first offset left
// out. Partitions not named contribute nothing.
Result<PartitionOffsets> ParseOffsets(const std::string& text) {
  auto bounds = ParsePartitionOffsets(text);
  if (!bounds) return InvalidArgument("--offsets: " + bounds.error().message);
  if (bounds.value().empty()) {
    return InvalidArgument("--offsets: no PARTITION:OFFSET given (e.g. 0:5459)");
  }
  return bounds;
}

// The events of options.topic as the brokers hold them (the log of record), in offset order
// within each partition; with --offsets, only the records below each named partition's offset.
// Each is validated as the engine validates what it consumes (derived events are the engine's
// own, not a publisher's), the record's timestamp standing for when the engine received it.
Result<ingest::LoadSummary> LoadTopic(const ReplayOptions& options, ingest::EventLog& log) {
  std::optional<std::map<int32_t, int64_t>> bounds;
  if (options.offsets) {
    CW_TRY(parsed, ParseOffsets(*options.offsets));
    bounds = std::move(parsed);
  }
  CW_TRY(properties, kafka::ReadPropertiesFile(options.kafka_config));
  kafka::KafkaConfig config{options.brokers, std::move(properties)};
  config.properties.push_back(kafka::Property{"enable.partition.eof", "true"});  // ReadToEnd's
  CW_TRY(consumer, kafka::Consumer::Open(config, options.topic));
  // Brokers that cannot be reached, or no such topic: said within seconds, not after the read's
  // own timeout.
  CW_TRY(partitions, consumer.Partitions(std::chrono::seconds(10)));
  for (const auto& [partition, bound] : bounds.value_or(std::map<int32_t, int64_t>{})) {
    if (std::find(partitions.begin(), partitions.end(), partition) == partitions.end()) {
      return InvalidArgument(fmt::format("--offsets: topic {} has no partition {} (it has {})",
                                         options.topic, partition, partitions.size()));
    }
  }
  ingest::LoadSummary summary;
  std::map<int32_t, uint16_t> sources;  // per partition, for conflict messages
  std::map<int32_t, int64_t> reached;   // per partition, the offset after the last record read
  std::map<int32_t, int64_t> earliest;  // per partition, the first record's offset
  CW_TRY(kafka::ReadToEnd(consumer, std::chrono::hours(1), [&](const kafka::Message& m) {
    earliest.try_emplace(m.partition, m.offset);
    reached[m.partition] = m.offset + 1;
    if (bounds) {
      const auto bound = bounds->find(m.partition);
      if (bound == bounds->end() || m.offset >= bound->second) return;
    }
    auto [source, added] = sources.try_emplace(m.partition, 0);
    if (added) {
      source->second = log.AddSource(fmt::format("{} partition {} offset", options.topic,
                                                 m.partition));
    }
    const auto reject = [&](const std::string& reason) {
      ++summary.rejected;
      fmt::print(stderr, "{} partition {} offset {}: {}\n", options.topic, m.partition,
                 m.offset, reason);
    };
    ingest::EnvelopeView view;
    Result<void> valid = ingest::DecodeEnvelope(m.value, view);
    if (valid) {
      const Instant received = m.timestamp_ms >= 0
                                   ? Instant{m.timestamp_ms / 1000, 0}
                                   : InstantOf(std::chrono::system_clock::now());
      valid = ingest::ValidateEnvelope(view, ingest::ValidationOptions::Live(received));
    }
    if (!valid) return reject(valid.error().message);
    auto accepted = log.Accept(view, ingest::Origin{source->second,
                                                    static_cast<uint64_t>(m.offset)});
    if (!accepted) return reject(accepted.error().message);
    if (accepted.value() == ingest::Acceptance::kDuplicate) {
      ++summary.duplicates;
    } else {
      ++summary.accepted;
    }
  }));
  // The events topic is kept for ever; records the brokers no longer hold make a shorter history.
  for (const auto& [partition, first] : earliest) {
    if (first == 0) continue;
    if (bounds) {
      const auto bound = bounds->find(partition);
      if (bound == bounds->end() || bound->second == 0) continue;  // none of its records wanted
      return FailedPrecondition(fmt::format(
          "--offsets: topic {} partition {} begins at offset {}: the records before it are not "
          "on the brokers any more (retention?), so what the answer reflects cannot be replayed",
          options.topic, partition, first));
    }
    fmt::print(stderr,
               "casewatch replay: warning: topic {} partition {} begins at offset {}: the records "
               "before it are not on the brokers any more (retention?) and not in this replay\n",
               options.topic, partition, first);
  }
  if (bounds) {
    for (const auto& [partition, bound] : *bounds) {
      if (reached[partition] < bound) {
        return FailedPrecondition(fmt::format(
            "--offsets: topic {} partition {} ends at offset {}, before {}: the brokers do not "
            "hold what was asked for (another cluster, or another topic?)",
            options.topic, partition, reached[partition], bound));
      }
    }
  }
  return summary;
}

int RunReplay(const ReplayOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  auto request = options.report.Resolve();
  if (!request) {
    fmt::print(stderr, "casewatch replay: {}\n", request.error().message);
    return 2;
  }

  ingest::EventLog log;
  const std::string path =
      options.brokers.empty() ? options.events : fmt::format("topic {}", options.topic);
  auto on_problem = [&](const ingest::Problem& problem) {
    fmt::print(stderr, "{}:{}: {}\n", path == "-" ? "<stdin>" : path, problem.line, problem.reason);
  };
  Result<ingest::LoadSummary> loaded =
      !options.brokers.empty() ? LoadTopic(options, log)
      : options.format == "auto"
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
  CLI::Option* events =
      cmd->add_option("--events", options->events,
                      "Event file: .ndjson/.jsonl is JSON lines, anything else the binary form "
                      "(length-delimited Envelopes); - reads stdin");
  cmd->add_option("--format", options->format, "Input format, overriding the file name")
      ->check(CLI::IsMember({"auto", "ndjson", "binary"}));
  CLI::Option* brokers =
      cmd->add_option("--brokers", options->brokers,
                      "Instead of a file, the events topic as these Kafka brokers hold it (the "
                      "log of record), e.g. 127.0.0.1:9092");
  events->excludes(brokers);
  cmd->add_option("--topic", options->topic, "With --brokers: the events topic (default "
                                             "case-events)")
      ->needs(brokers);
  cmd->add_option("--kafka-config", options->kafka_config,
                  "With --brokers: a properties file of librdkafka settings (security, ...)")
      ->needs(brokers);
  cmd->add_option("--offsets", options->offsets,
                  "With --brokers: only the records below these offsets, PARTITION:OFFSET,... "
                  "(a live answer's Casewatch-Offsets header: the records its counts reflect); "
                  "partitions not named contribute none")
      ->needs(brokers);
  AddReportFlags(*cmd, options->report);
  cmd->add_flag("--text", options->text, "Print a plain-text summary instead of the JSON");
  cmd->add_option("--json-out", options->json_out,
                  "Write the JSON report to this file (stdout then shows only --text, if given)");
  cmd->add_flag("--stats", options->stats,
                "Print timing, events/s and peak memory to stderr (for benchmarks)");
  cmd->callback([options, &exit_code] {
    if (options->events.empty() && options->brokers.empty()) {
      fmt::print(stderr, "casewatch replay: --events FILE or --brokers HOSTS is required\n");
      exit_code = 2;
      return;
    }
    exit_code = RunReplay(*options);
  });
}

}  // namespace casewatch::cli
