// `casewatch publish`: an event file onto a Kafka topic, as the contract says events travel
// (docs/rules.md section 2.1): value = the binary protobuf Envelope, key = its case_id.
//
// Lines that do not parse are reported (FILE:LINE: reason) and skipped; events that parse are
// published as they are, valid or not: rejecting them is the engine's job, and tests need to
// publish bad events. Binary records are published with their own bytes; JSON lines are converted
// to the binary form.
//
// By default records stream from the file as they are read (optionally at --rate). With --paced,
// the file is read whole and its records are published in order of recorded_at, each when a
// simulated clock (--clock-start, advancing --clock-speed simulated seconds per real second from
// when publish started: casewatchd's `--clock simulated`) reaches it, so that a recorded history
// arrives as it would have live, accelerated.
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "projections/calendar.h"
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
  bool paced = false;
  std::string clock_start;  // RFC 3339; with --paced
  double clock_speed = 1;   // simulated seconds per real second; with --paced
  bool clock_start_given = false;
  bool clock_speed_given = false;
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
  // `total`: what `done` counts towards (input bytes; events when paced); 0 when unknown.
  explicit Progress(uint64_t total)
      : tty_(isatty(fileno(stderr)) != 0),
        total_(total),
        started_(Clock::now()),
        next_(started_ + (tty_ ? kTtyEvery : kLogEvery)) {}

  // `clock`: when paced, the simulated clock's reading (then `done` counts events sent).
  void Update(const Tally& tally, uint64_t done, std::string_view clock = {}, bool force = false) {
    const auto now = Clock::now();
    if (!force && now < next_) return;
    next_ = now + (tty_ ? kTtyEvery : kLogEvery);
    const double seconds = std::chrono::duration<double>(now - started_).count();
    const double rate = seconds > 0 ? tally.delivered / seconds : 0;
    if (!tty_) {
      if (clock.empty()) {
        fmt::print(stderr,
                   "publish: {} delivered, {} queued, {} skipped, {:.1f} MB, {:.0f} events/s\n",
                   tally.delivered, tally.queued, tally.skipped, tally.bytes / 1e6, rate);
      } else {
        fmt::print(stderr, "publish: simulated {}, {} of {} events sent, {} delivered\n", clock,
                   done, total_, tally.delivered);
      }
      return;
    }
    std::string bar;
    if (total_ > 0) {
      constexpr int kWidth = 30;
      const double fraction = std::min(1.0, static_cast<double>(done) / total_);
      const int filled = static_cast<int>(fraction * kWidth);
      bar = fmt::format("[{}{}] {:3.0f}%  ", std::string(static_cast<size_t>(filled), '#'),
                        std::string(static_cast<size_t>(kWidth - filled), '-'), fraction * 100);
    }
    if (!clock.empty()) bar += fmt::format("simulated {}  ", clock);
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
  const uint64_t total_;
  const Clock::time_point started_;
  Clock::time_point next_;
  bool drawn_ = false;
};

uint64_t FileSize(const std::string& path) {
  struct stat info {};
  if (path == "-" || stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return 0;
  return static_cast<uint64_t>(info.st_size);
}

// The producer, once the brokers have answered for the topic (failing fast, naming the problem,
// rather than after the delivery timeout).
Result<kafka::Producer> OpenProducer(const PublishOptions& options) {
  CW_TRY(properties, kafka::ReadPropertiesFile(options.kafka_config));
  kafka::KafkaConfig config{options.brokers, std::move(properties)};
  // Before the caller's properties, so that a properties file may still override it.
  config.properties.insert(config.properties.begin(),
                           {"message.timeout.ms", std::to_string(options.timeout_seconds * 1000)});
  Result<kafka::Producer> producer = kafka::Producer::Open(config);
  if (!producer) return producer;
  const milliseconds timeout = std::chrono::seconds(options.timeout_seconds);
  CW_TRY(producer.value().Partitions(options.topic, std::min(timeout, milliseconds(10000))));
  return producer;
}

// Queues one record, serving delivery reports while the local queue is full.
Result<void> Send(kafka::Producer& producer, const std::string& topic, std::string_view key,
                  std::string_view value, Tally& tally) {
  const size_t size = value.size();
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
    Result<void> queued = producer.Produce(topic, key, value, on_delivery);
    if (queued) break;
    if (!IsRetryable(queued.error())) return queued.error();
    producer.Poll(milliseconds(10));  // the local queue is full: let deliveries drain it
  }
  ++tally.queued;
  if (tally.queued % 1024 == 0) producer.Poll(milliseconds(0));
  return Ok();
}

std::optional<ingest::FileFormat> FormatOption(const PublishOptions& options) {
  if (options.format == "auto") return std::nullopt;
  return options.format == "ndjson" ? ingest::FileFormat::kNdjson : ingest::FileFormat::kBinary;
}

// Streams the file's records to the topic as they are read, at options.rate when it is set.
Result<ingest::ReadSummary> PublishAsRead(
    kafka::Producer& producer, const PublishOptions& options, Tally& tally, Progress& progress,
    const std::function<void(const ingest::Problem&)>& on_problem) {
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
    CW_TRY(Send(producer, options.topic, record.view.case_id, bytes, tally));
    progress.Update(tally, record.end_offset);
    return Ok();
  };
  return ingest::ReadEventFile(options.file, FormatOption(options), on_record, on_problem);
}

// --- Paced publishing ---------------------------------------------------------------------------

// The simulated clock of a paced run: reads `start` at `origin` and advances `speed` simulated
// seconds per real second (the arithmetic of casewatchd's simulated clock).
class PacedClock {
 public:
  PacedClock(Instant start, double speed, Clock::time_point origin)
      : start_(start), speed_(speed), origin_(origin) {}

  // When the clock reaches `t`: `origin` for instants at or before the start.
  Clock::time_point When(const Instant& t) const {
    if (t <= start_) return origin_;
    const double simulated =
        static_cast<double>(t.seconds - start_.seconds) + (t.nanos - start_.nanos) * 1e-9;
    // Capped at a century, so that the conversion cannot overflow.
    const double real = std::min(simulated / speed_, 100 * 365.25 * 86400);
    return origin_ +
           std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(real));
  }

  Instant Read(Clock::time_point now) const {
    const double elapsed = std::chrono::duration<double>(now - origin_).count() * speed_;
    const auto whole = static_cast<int64_t>(elapsed);
    const auto nanos =
        static_cast<int64_t>(start_.nanos) + static_cast<int64_t>((elapsed - whole) * 1e9);
    return Instant{start_.seconds + whole + nanos / 1000000000,
                   static_cast<int32_t>(nanos % 1000000000)};
  }

  const Instant& start() const { return start_; }

 private:
  Instant start_;
  double speed_;
  Clock::time_point origin_;
};

// "2025-07-14 06:00" (UTC), for progress lines.
std::string ShortInstant(const Instant& t) {
  const int64_t second_of_day = ((t.seconds % 86400) + 86400) % 86400;
  return fmt::format("{} {:02}:{:02}", FormatDate(DateOf(t)), second_of_day / 3600,
                     second_of_day % 3600 / 60);
}

// "45 s", "12 min", "3.5 h", "4.2 days".
std::string ShortDuration(double seconds) {
  if (seconds < 120) return fmt::format("{:.0f} s", seconds);
  if (seconds < 2 * 3600) return fmt::format("{:.0f} min", seconds / 60);
  if (seconds < 2 * 86400) return fmt::format("{:.1f} h", seconds / 3600);
  return fmt::format("{:.1f} days", seconds / 86400);
}

// A file's records, held for pacing: keys and values in one arena, in order of when they are due.
struct PacedRecord {
  Instant due;  // recorded_at; occurred_at when it has none; the earliest instant when neither
  size_t offset = 0;  // of the key in the arena, followed by the value
  uint32_t key_size = 0;
  uint32_t value_size = 0;
};
struct PacedFile {
  std::string arena;
  std::vector<PacedRecord> records;
};

Result<PacedFile> ReadPaced(const PublishOptions& options,
                            const std::function<void(const ingest::Problem&)>& on_problem) {
  PacedFile file;
  events::v1::Envelope envelope;
  std::string value;
  auto on_record = [&](const ingest::FileRecord& record) -> Result<void> {
    std::string_view bytes = record.bytes;
    if (record.format == ingest::FileFormat::kNdjson) {
      ingest::ToEnvelope(record.view, envelope);
      value.clear();
      envelope.SerializeToString(&value);
      bytes = value;
    }
    const ingest::TimestampView& when =
        record.view.recorded_at.present ? record.view.recorded_at : record.view.occurred_at;
    PacedRecord paced{
        when.present ? Instant{when.seconds, when.nanos} : Instant{kMinTimestampSeconds, 0},
        file.arena.size(), static_cast<uint32_t>(record.view.case_id.size()),
        static_cast<uint32_t>(bytes.size())};
    file.arena.append(record.view.case_id);
    file.arena.append(bytes);
    file.records.push_back(paced);
    return Ok();
  };
  CW_TRY(ingest::ReadEventFile(options.file, FormatOption(options), on_record, on_problem));
  std::stable_sort(file.records.begin(), file.records.end(),
                   [](const PacedRecord& a, const PacedRecord& b) { return a.due < b.due; });
  return file;
}

// The signal that asked a paced run to stop, or 0.
volatile std::sig_atomic_t g_stop_signal = 0;
void OnStopSignal(int signal) { g_stop_signal = signal; }

// While it lives, SIGINT and SIGTERM ask the paced run to stop (after which the run flushes what
// it queued); a second one acts as usual, as the handler resets itself.
class StopOnSignals {
 public:
  StopOnSignals() {
    struct sigaction action {};
    action.sa_handler = OnStopSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND | SA_RESTART;
    sigaction(SIGINT, &action, &previous_int_);
    sigaction(SIGTERM, &action, &previous_term_);
  }
  ~StopOnSignals() {
    sigaction(SIGINT, &previous_int_, nullptr);
    sigaction(SIGTERM, &previous_term_, nullptr);
  }
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;

  static int received() { return g_stop_signal; }

 private:
  struct sigaction previous_int_ {};
  struct sigaction previous_term_ {};
};

// Sends `file`'s records each when `clock` reaches it, until all are sent or a signal stops the
// run; `sent` counts the records queued.
Result<void> SendPaced(kafka::Producer& producer, const PublishOptions& options,
                       const PacedFile& file, const PacedClock& clock, Tally& tally,
                       Progress& progress, size_t& sent) {
  const std::vector<PacedRecord>& records = file.records;
  auto progress_at = [&](Clock::time_point now) {
    progress.Update(tally, sent, ShortInstant(clock.Read(now)));
  };
  while (sent < records.size() && StopOnSignals::received() == 0) {
    const auto now = Clock::now();
    for (; sent < records.size() && StopOnSignals::received() == 0; ++sent) {
      const PacedRecord& r = records[sent];
      if (clock.When(r.due) > now) break;
      const std::string_view key(file.arena.data() + r.offset, r.key_size);
      const std::string_view value(file.arena.data() + r.offset + r.key_size, r.value_size);
      CW_TRY(Send(producer, options.topic, key, value, tally));
      if (sent % 1024 == 0) progress_at(Clock::now());
    }
    if (sent == records.size()) break;
    // Serve deliveries until the next record is due, waking at least every 100 ms to notice a
    // signal and redraw the progress.
    const auto wait = clock.When(records[sent].due) - Clock::now();
    producer.Poll(
        std::clamp(std::chrono::ceil<milliseconds>(wait), milliseconds(0), milliseconds(100)));
    progress_at(Clock::now());
  }
  return Ok();
}

// The pacing flags checked together, naming the one at fault; the clock's start when paced.
Result<std::optional<Instant>> CheckPacing(const PublishOptions& options) {
  if (!options.paced) {
    if (options.clock_start_given || options.clock_speed_given) {
      return InvalidArgument(
          fmt::format("{} needs --paced (publishing in simulated time)",
                      options.clock_start_given ? "--clock-start" : "--clock-speed"));
    }
    return std::optional<Instant>{};
  }
  if (!options.clock_start_given) {
    return InvalidArgument(
        "--paced needs --clock-start: the simulated instant at which publishing starts "
        "(RFC 3339, e.g. 2025-07-01T00:00:00Z)");
  }
  Result<Instant> start = ParseInstant(options.clock_start);
  if (!start) return InvalidArgument("--clock-start: " + start.error().message);
  if (!(options.clock_speed > 0)) {
    return InvalidArgument(
        fmt::format("--clock-speed: must be more than 0 simulated seconds per real second, "
                    "not {}",
                    options.clock_speed));
  }
  if (options.rate > 0) return InvalidArgument("--rate cannot be combined with --paced");
  return std::optional<Instant>{start.value()};
}

const char* SignalName(int signal) { return signal == SIGINT ? "SIGINT" : "SIGTERM"; }

int RunPublish(const PublishOptions& options) {
  const auto started = Clock::now();  // a paced run's clock starts here
  Result<std::optional<Instant>> pacing = CheckPacing(options);
  if (!pacing) {
    fmt::print(stderr, "casewatch publish: {}\n", pacing.error().message);
    return 2;
  }
  std::optional<StopOnSignals> stop_on_signals;
  if (pacing.value()) stop_on_signals.emplace();
  Result<kafka::Producer> opened = OpenProducer(options);
  if (!opened) {
    fmt::print(stderr, "casewatch publish: {}\n", opened.error().message);
    return 2;
  }
  kafka::Producer& producer = opened.value();

  const std::string shown_path = options.file == "-" ? "<stdin>" : options.file;
  Tally tally;
  auto on_problem = [&](const ingest::Problem& problem) {
    ++tally.skipped;
    fmt::print(stderr, "{}:{}: {}\n", shown_path, problem.line, problem.reason);
  };
  Result<void> read = Ok();
  std::optional<Progress> progress;
  std::string stopped;  // how a paced run ended early, for the summary
  if (!pacing.value()) {
    progress.emplace(FileSize(options.file));
    Result<ingest::ReadSummary> summary =
        PublishAsRead(producer, options, tally, *progress, on_problem);
    if (!summary) read = summary.error();
  } else if (Result<PacedFile> file = ReadPaced(options, on_problem); !file) {
    read = file.error();
  } else {
    const PacedClock clock(*pacing.value(), options.clock_speed, started);
    const std::vector<PacedRecord>& records = file.value().records;
    const auto backlog = static_cast<size_t>(
        std::partition_point(records.begin(), records.end(),
                             [&](const PacedRecord& r) { return r.due <= clock.start(); }) -
        records.begin());
    if (!records.empty()) {
      const double span =
          std::chrono::duration<double>(clock.When(records.back().due) - started).count();
      fmt::print(stderr,
                 "publish: paced from {} at {}x: {} events recorded by then sent at once, {} more "
                 "as the clock reaches them (the last at {}, in {})\n",
                 FormatInstant(clock.start()), options.clock_speed, backlog,
                 records.size() - backlog,
                 FormatInstant(std::max(records.back().due, clock.start())),
                 ShortDuration(std::max(0.0, span)));
    }
    progress.emplace(records.size());
    size_t sent = 0;
    read = SendPaced(producer, options, file.value(), clock, tally, *progress, sent);
    if (const int signal = StopOnSignals::received(); signal != 0 && sent < records.size()) {
      stopped = fmt::format("stopped by {} at simulated {}: {} of {} events not sent",
                            SignalName(signal), ShortInstant(clock.Read(Clock::now())),
                            records.size() - sent, records.size());
    }
  }
  const auto timeout = std::chrono::seconds(options.timeout_seconds);
  Result<void> flushed = producer.Flush(timeout);
  progress->Finish();
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  fmt::print(stderr,
             "publish: {} published to {}, {} skipped, {} bytes, {:.2f} s, {:.0f} events/s{}\n",
             tally.delivered, options.topic, tally.skipped, tally.bytes, seconds,
             seconds > 0 ? tally.delivered / seconds : 0,
             tally.failed > 0 ? fmt::format("; {} failed", tally.failed) : "");
  if (!stopped.empty()) fmt::print(stderr, "publish: {}\n", stopped);
  if (!read) fmt::print(stderr, "casewatch publish: {}\n", read.error().message);
  if (tally.first_failure) {
    fmt::print(stderr, "casewatch publish: delivery failed: {}\n", tally.first_failure->message);
  }
  if (!flushed) {
    fmt::print(stderr, "casewatch publish: {}\n", flushed.error().message);
  }
  const bool ok = read && flushed && tally.failed == 0;
  if (!stopped.empty()) return ok ? 0 : 1;  // asked to stop: not an error
  if (tally.delivered == 0) {
    if (read && tally.queued == 0) fmt::print(stderr, "casewatch publish: nothing to publish\n");
    return 2;
  }
  return ok ? 0 : 1;
}

}  // namespace

void AddPublishCommand(CLI::App& root, int& exit_code) {
  auto options = std::make_shared<PublishOptions>();
  CLI::App* cmd = root.add_subcommand(
      "publish",
      "Publish an event file to a Kafka topic as binary protobuf Envelopes keyed by case_id. "
      "Lines that do not parse are reported on stderr (FILE:LINE: reason) and skipped; events "
      "that parse are published as they are, valid or not. With --paced, events are published "
      "in order of recorded_at, each when a simulated clock reaches it. Exit code 0 when every "
      "record was delivered (or a paced run was stopped by SIGINT/SIGTERM and what it sent was "
      "delivered), 1 when some failed, 2 when nothing was published.");
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
  cmd->add_flag(
      "--paced", options->paced,
      "Publish in simulated time: read the whole file, then send each event when the "
      "clock (--clock-start, advancing --clock-speed) reaches its recorded_at "
      "(occurred_at when it has none), in that order; events recorded before the start "
      "go at once. Runs until all are sent or SIGINT/SIGTERM (then flushes what it sent)");
  cmd->add_option("--clock-start", options->clock_start,
                  "With --paced: the simulated instant publishing starts at (RFC 3339), as "
                  "casewatchd's --clock-start");
  cmd->add_option("--clock-speed", options->clock_speed,
                  "With --paced: simulated seconds per real second (default 1), as casewatchd's "
                  "--clock-speed; e.g. 43200 is a simulated day every 2 s");
  cmd->add_option("file", options->file,
                  "Event file: .ndjson/.jsonl is JSON lines, anything else the binary form "
                  "(length-delimited Envelopes); - reads stdin")
      ->required();
  cmd->callback([options, cmd, &exit_code] {
    options->clock_start_given = cmd->count("--clock-start") > 0;
    options->clock_speed_given = cmd->count("--clock-speed") > 0;
    exit_code = RunPublish(*options);
  });
}

}  // namespace casewatch::cli
