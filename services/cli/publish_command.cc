// `casewatch publish`: an event file onto a Kafka topic, as the contract says events travel
// (shared/spec/events.md): value = the binary protobuf Envelope, key = its case_id.
//
// Lines that do not parse are reported (FILE:LINE: reason) and skipped; events that parse are
// published as they are, valid or not: rejecting them is the engine's job, and tests need to
// publish bad events. Binary records are published with their own bytes; JSON lines are converted
// to the binary form.
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "services/cli/commands.h"
#include "services/ingest/envelope_view.h"
#include "services/ingest/event_file.h"
#include "services/kafka/kafka_config.h"
#include "services/kafka/producer.h"

namespace casewatch::cli {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct PublishOptions {
  std::string brokers;
  std::string topic = "case-events";
  double rate = 0;  // events per second; 0 = as fast as possible
  std::string format = "auto";
  std::string kafka_config;
  int timeout_seconds = 30;
  std::string file;
};

// Counters shared with the delivery callbacks, which run on this thread inside Poll and Flush.
struct Tally {
  uint64_t queued = 0;
  uint64_t delivered = 0;
  uint64_t failed = 0;
  uint64_t skipped = 0;
  uint64_t bytes = 0;  // value bytes delivered
  std::optional<Error> first_failure;
};

// Progress on stderr: a bar redrawn in place when stderr is a terminal, else a line every few
// seconds (for logs).
class Progress {
 public:
  explicit Progress(uint64_t total_bytes)
      : tty_(isatty(fileno(stderr)) != 0),
        total_bytes_(total_bytes),
        started_(Clock::now()),
        next_(started_ + (tty_ ? kTtyEvery : kLogEvery)) {}

  void Update(const Tally& tally, uint64_t input_offset, bool force = false) {
    const auto now = Clock::now();
    if (!force && now < next_) return;
    next_ = now + (tty_ ? kTtyEvery : kLogEvery);
    const double seconds = std::chrono::duration<double>(now - started_).count();
    const double rate = seconds > 0 ? tally.delivered / seconds : 0;
    if (!tty_) {
      fmt::print(stderr,
                 "publish: {} delivered, {} queued, {} skipped, {:.1f} MB, {:.0f} events/s\n",
                 tally.delivered, tally.queued, tally.skipped, tally.bytes / 1e6, rate);
      return;
    }
    std::string bar;
    if (total_bytes_ > 0) {
      constexpr int kWidth = 30;
      const double done = std::min(1.0, static_cast<double>(input_offset) / total_bytes_);
      const int filled = static_cast<int>(done * kWidth);
      bar = fmt::format("[{}{}] {:3.0f}%  ", std::string(static_cast<size_t>(filled), '#'),
                        std::string(static_cast<size_t>(kWidth - filled), '-'), done * 100);
    }
    fmt::print(stderr, "\r{}{} events  {:.1f} MB  {:.0f} events/s\033[K", bar, tally.delivered,
               tally.bytes / 1e6, rate);
    drawn_ = true;
  }

  // Clears the bar before the summary line.
  void Finish() {
    if (tty_ && drawn_) fmt::print(stderr, "\r\033[K");
  }

 private:
  static constexpr auto kTtyEvery = milliseconds(100);
  static constexpr auto kLogEvery = std::chrono::seconds(5);
  const bool tty_;
  const uint64_t total_bytes_;  // 0 when unknown (stdin, a pipe)
  const Clock::time_point started_;
  Clock::time_point next_;
  bool drawn_ = false;
};

uint64_t FileSize(const std::string& path) {
  struct stat info {};
  if (path == "-" || stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return 0;
  return static_cast<uint64_t>(info.st_size);
}

Result<std::vector<kafka::Property>> ReadProperties(const std::string& path) {
  if (path.empty()) return std::vector<kafka::Property>{};
  std::ifstream in(path);
  if (!in) return IoError(fmt::format("cannot read Kafka properties file \"{}\"", path));
  std::stringstream text;
  text << in.rdbuf();
  return kafka::ParseProperties(text.str(), path);
}

int RunPublish(const PublishOptions& options) {
  const auto started = Clock::now();
  const auto timeout = std::chrono::seconds(options.timeout_seconds);
  Result<std::vector<kafka::Property>> properties = ReadProperties(options.kafka_config);
  if (!properties) {
    fmt::print(stderr, "casewatch publish: {}\n", properties.error().message);
    return 2;
  }
  kafka::KafkaConfig config{options.brokers, std::move(properties).value()};
  // Before the caller's properties, so that a properties file may still override it.
  config.properties.insert(config.properties.begin(),
                           {"message.timeout.ms", std::to_string(options.timeout_seconds * 1000)});
  Result<kafka::Producer> opened = kafka::Producer::Open(config);
  if (!opened) {
    fmt::print(stderr, "casewatch publish: {}\n", opened.error().message);
    return 2;
  }
  kafka::Producer& producer = opened.value();
  // Fail fast, naming the problem, rather than after the delivery timeout.
  if (Result<std::vector<int32_t>> partitions =
          producer.Partitions(options.topic, std::min<milliseconds>(timeout, milliseconds(10000)));
      !partitions) {
    fmt::print(stderr, "casewatch publish: {}\n", partitions.error().message);
    return 2;
  }

  const std::string shown_path = options.file == "-" ? "<stdin>" : options.file;
  Tally tally;
  Progress progress(FileSize(options.file));
  events::v1::Envelope envelope;
  std::string value;
  std::optional<Clock::time_point> paced_from;  // when the first record was read
  auto on_record = [&](const ingest::FileRecord& record) -> Result<void> {
    // JSON lines become the binary form; binary records keep their own bytes (unknown fields
    // included).
    std::string_view bytes = record.bytes;
    if (record.format == ingest::FileFormat::kNdjson) {
      ingest::ToEnvelope(record.view, envelope);
      value.clear();
      envelope.SerializeToString(&value);
      bytes = value;
    }
    if (options.rate > 0) {
      if (!paced_from) paced_from = Clock::now();
      const auto due =
          *paced_from + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(tally.queued / options.rate));
      for (auto now = Clock::now(); now < due; now = Clock::now()) {
        producer.Poll(
            std::min(std::chrono::duration_cast<milliseconds>(due - now) + milliseconds(1),
                     milliseconds(50)));
        progress.Update(tally, record.end_offset);
      }
    }
    const size_t size = bytes.size();
    auto on_delivery = [&tally, size](Result<void> delivered) {
      if (delivered) {
        ++tally.delivered;
        tally.bytes += size;
      } else {
        ++tally.failed;
        if (!tally.first_failure) tally.first_failure = delivered.error();
      }
    };
    for (;;) {
      Result<void> queued =
          producer.Produce(options.topic, record.view.case_id, bytes, on_delivery);
      if (queued) break;
      if (!IsRetryable(queued.error())) return queued.error();
      producer.Poll(milliseconds(10));  // the local queue is full: let deliveries drain it
    }
    ++tally.queued;
    if (tally.queued % 1024 == 0) producer.Poll(milliseconds(0));
    progress.Update(tally, record.end_offset);
    return Ok();
  };
  auto on_problem = [&](const ingest::Problem& problem) {
    ++tally.skipped;
    fmt::print(stderr, "{}:{}: {}\n", shown_path, problem.line, problem.reason);
  };
  std::optional<ingest::FileFormat> format;
  if (options.format != "auto") {
    format = options.format == "ndjson" ? ingest::FileFormat::kNdjson : ingest::FileFormat::kBinary;
  }
  Result<ingest::ReadSummary> read =
      ingest::ReadEventFile(options.file, format, on_record, on_problem);
  Result<void> flushed = producer.Flush(timeout);
  progress.Finish();
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  fmt::print(stderr,
             "publish: {} published to {}, {} skipped, {} bytes, {:.2f} s, {:.0f} events/s{}\n",
             tally.delivered, options.topic, tally.skipped, tally.bytes, seconds,
             seconds > 0 ? tally.delivered / seconds : 0,
             tally.failed > 0 ? fmt::format("; {} failed", tally.failed) : "");
  if (!read) fmt::print(stderr, "casewatch publish: {}\n", read.error().message);
  if (tally.first_failure) {
    fmt::print(stderr, "casewatch publish: delivery failed: {}\n", tally.first_failure->message);
  }
  if (!flushed) {
    fmt::print(stderr, "casewatch publish: {}\n", flushed.error().message);
  }
  if (tally.delivered == 0) {
    if (read && tally.queued == 0) fmt::print(stderr, "casewatch publish: nothing to publish\n");
    return 2;
  }
  return read && flushed && tally.failed == 0 ? 0 : 1;
}

}  // namespace

void AddPublishCommand(CLI::App& root, int& exit_code) {
  auto options = std::make_shared<PublishOptions>();
  CLI::App* cmd = root.add_subcommand(
      "publish",
      "Publish an event file to a Kafka topic as binary protobuf Envelopes keyed by case_id. "
      "Lines that do not parse are reported on stderr (FILE:LINE: reason) and skipped; events "
      "that parse are published as they are, valid or not. Exit code 0 when every record was "
      "delivered, 1 when some failed, 2 when nothing was published.");
  cmd->add_option("--brokers", options->brokers, "Kafka bootstrap servers, e.g. 127.0.0.1:9092")
      ->required();
  cmd->add_option("--topic", options->topic, "Topic (default case-events)");
  cmd->add_option("--rate", options->rate, "Events per second; 0 = as fast as possible (default)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--format", options->format,
                  "Input format: auto (from the name: .ndjson/.jsonl is JSON lines, else binary; "
                  "stdin is sniffed), ndjson or binary")
      ->check(CLI::IsMember({"auto", "ndjson", "binary"}));
  cmd->add_option("--kafka-config", options->kafka_config,
                  "librdkafka properties file (key=value lines: TLS, SASL, ...)");
  cmd->add_option("--timeout", options->timeout_seconds,
                  "Seconds to wait for the brokers and for each record's delivery (default 30)")
      ->check(CLI::Range(1, 3600));
  cmd->add_option("file", options->file,
                  "Event file: .ndjson/.jsonl is JSON lines, anything else the binary form "
                  "(length-delimited Envelopes); - reads stdin")
      ->required();
  cmd->callback([options, &exit_code] { exit_code = RunPublish(*options); });
}

}  // namespace casewatch::cli
