// engine_bench: the engine's figures for docs/benchmarks.md (issue 3). Not a test: it prints.
//   engine_bench ingest  [--cases N --months M --partitions P]  Kafka -> store, durable writes
//   engine_bench latency [--rate R --seconds S]                 publish->visible, p50/p99
//   engine_bench rebuild [--cases N --months M]                  projections from the store
//   engine_bench scale   [--cases N --months M --keep DIR]       RSS with the whole history stored
//   engine_bench catchup [--cases N --months M --history FILE --live --batch N]
//                                                                 backlog into an empty store
// Kafka is librdkafka's mock cluster over TCP in this process; the store a real RocksDB directory.
#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "base/temp_dir.h"
#include "casewatch/events/v1/events.pb.h"
#include "services/daemon/engine_loop.h"
#include "services/daemon/testing/kafka_harness.h"
#include "services/engine/testing/simulated_stream.h"
#include "services/ingest/event_content.h"
#include "services/ingest/wire_decoder.h"
#include "services/kafka/mock_cluster.h"
#include "services/kafka/producer.h"
#include "services/simulator/event_writer.h"
#include "services/simulator/simulator.h"
#include "tests/support/process.h"

namespace casewatch::engine {
namespace {

namespace kt = daemon::testing;
using daemon::RunnerOptions;

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

double PeakRssMib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

// User and system time of every thread of this process so far (the machine may be shared).
double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Benchmarks stop at the first failure: `value` or throw.
template <class T>
T OrThrow(Result<T> result) {
  if (!result) throw std::runtime_error(result.error().message);
  return std::move(result).value();
}
void OrThrow(Result<void> result) {
  if (!result) throw std::runtime_error(result.error().message);
}

// The engine with a frozen clock, as a benchmark runs it (default batches).
struct EngineRun : kt::EngineThread {
  EngineRun(store::Store& store, const std::string& brokers, Instant frozen,
            std::function<void(std::span<const int64_t>)> on_applied = {})
      : kt::EngineThread(store, Options(brokers, frozen, std::move(on_applied))) {}
  EngineRun(store::Store& store, const kt::TestBroker& broker, Instant frozen,
            std::function<void(std::span<const int64_t>)> on_applied = {})
      : kt::EngineThread(store, Options(broker, frozen, std::move(on_applied))) {}
  // With a clock of the caller's (one that follows the data, as it does live).
  EngineRun(store::Store& store, const kt::TestBroker& broker, std::function<Instant()> clock,
            std::function<void(std::span<const int64_t>)> on_applied)
      : kt::EngineThread(store, WithClock(Options(broker, Instant{0, 0}, std::move(on_applied)),
                                          std::move(clock))) {}
  static RunnerOptions WithClock(RunnerOptions options, std::function<Instant()> clock) {
    options.clock = std::move(clock);
    return options;
  }
  static RunnerOptions Options(const std::string& brokers, Instant frozen,
                               std::function<void(std::span<const int64_t>)> on_applied) {
    RunnerOptions options = kt::FrozenClockOptions(brokers, frozen);
    options.on_applied = std::move(on_applied);
    return options;
  }
  static RunnerOptions Options(const kt::TestBroker& broker, Instant frozen,
                               std::function<void(std::span<const int64_t>)> on_applied) {
    RunnerOptions options = Options(broker.bootstrap_servers(), frozen, std::move(on_applied));
    broker.Configure(options);
    return options;
  }
  void WaitFor(uint64_t records) {
    if (!kt::EngineThread::WaitFor(records, 3600)) throw std::runtime_error("stalled");
  }
  void Stop() { OrThrow(Result<void>(kt::EngineThread::Stop())); }
};

// Which broker a run used, for its line.
std::string BrokerName(const kt::TestBroker& broker) {
  return broker.real() ? "a real Apache Kafka cluster (3 brokers, replication 3)"
                       : "librdkafka's mock cluster";
}

// ingest and latency run against the mock, or the real cluster named by CASEWATCH_KAFKA_CLUSTER
// (kt::TestBroker).
void Ingest(int64_t cases, int months, int partitions) {
  casewatch::TempDir dir;
  const testing::SimulatedStream sim = testing::Simulate(cases, months, 1);
  auto broker = OrThrow(kt::TestBroker::Start(partitions));
  const auto publish_started = Clock::now();
  OrThrow(kt::Publish(broker.bootstrap_servers(), sim, 0, sim.records.size(),
                      broker.topics().events));
  const double publish_seconds = Seconds(publish_started);
  auto store = store::Store::Open(dir.path() / "store");
  if (!store) throw std::runtime_error(store.error().message);
  const auto started = Clock::now();
  EngineRun run(*store.value(), broker, sim.end);
  run.WaitFor(sim.records.size());
  const double seconds = Seconds(started);
  run.Stop();
  fmt::print(
      "ingest: {} events ({} cases, {} months) from {} partitions of {} in {:.2f} s = {:.0f} "
      "events/s (durable: every batch's write fsync'd); published first at {:.0f} events/s "
      "(acks=all); peak RSS {:.0f} MiB\n",
      sim.records.size(), cases, months, partitions, BrokerName(broker), seconds,
      sim.records.size() / seconds, sim.records.size() / publish_seconds, PeakRssMib());
}

void Latency(int rate, int seconds) {
  casewatch::TempDir dir;
  // Enough events for the whole run, published at `rate` per second.
  const int64_t cases = std::max<int64_t>(200, static_cast<int64_t>(rate) * seconds / 45);
  const testing::SimulatedStream sim = testing::Simulate(cases, 24, 2);
  const size_t total = std::min(sim.records.size(), static_cast<size_t>(rate) * seconds);
  auto broker = OrThrow(kt::TestBroker::Start(8));
  // The publisher stands in for the probation systems, which run elsewhere: it should cost this
  // machine little. librdkafka 2.0.2's idempotent producer spins its broker threads while its 5
  // requests in flight are unanswered (more than a core here, with the brokers slowed by sharing
  // two cores), so this one is not idempotent; the engine ignores a duplicate by its event_id.
  // One request in flight per broker: a broker reads a connection's next request only once it
  // has answered the last (with acks=all, once two replicas have the records), so requests sent
  // behind it only queue there, small. Held back, the records go out together in the next one:
  // p99 0.2-0.8 s on a warm real cluster at 10k/s instead of 2-4 s with 100 in flight.
  auto producer = kafka::Producer::Open(kafka::KafkaConfig{
      broker.bootstrap_servers(),
      {{"linger.ms", "5"}, {"enable.idempotence", "false"}, {"max.in.flight", "1"}}});
  if (!producer) throw std::runtime_error(producer.error().message);
  auto store = store::Store::Open(dir.path() / "store");
  if (!store) throw std::runtime_error(store.error().message);
  std::vector<int64_t> latencies;
  latencies.reserve(total);
  // The engine's clock follows the data, as it does live: the latest occurred_at published so
  // far. (A clock frozen at the history's end would find every obligation missed until its
  // fulfilment arrived: an alert for about one event in three, far more than any service has.)
  std::vector<int64_t> occurred(total);
  for (size_t i = 0; i < total; ++i) {
    ingest::EnvelopeView view;
    if (ingest::DecodeEnvelope(sim.records[i], view)) occurred[i] = view.occurred_at.seconds;
  }
  std::atomic<int64_t> clock_seconds{occurred.empty() ? 0 : occurred[0]};
  EngineRun run(*store.value(), broker, [&] { return Instant{clock_seconds.load(), 0}; },
                [&](std::span<const int64_t> timestamps) {
                  const int64_t now = NowMs();
                  for (int64_t t : timestamps) {
                    if (t > 0) latencies.push_back(now - t);
                  }
                });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // assigned and fetching
  const auto started = Clock::now();
  for (size_t sent = 0; sent < total;) {
    // Paced in 1 ms steps.
    const auto due = static_cast<size_t>(Seconds(started) * rate);
    const size_t until = std::min(total, due);
    if (until > sent) {
      int64_t latest = clock_seconds.load();
      for (size_t i = sent; i < until; ++i) latest = std::max(latest, occurred[i]);
      clock_seconds.store(latest);
      OrThrow(kt::Produce(producer.value(), sim, sent, until, broker.topics().events));
      sent = until;
    }
    producer.value().Poll(std::chrono::milliseconds(0));
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  (void)producer.value().Flush(std::chrono::seconds(30));
  run.WaitFor(total);
  run.Stop();
  std::sort(latencies.begin(), latencies.end());
  auto at = [&](double q) {
    return latencies.empty() ? -1 : latencies[static_cast<size_t>(q * (latencies.size() - 1))];
  };
  fmt::print(
      "latency: {} events at {}/s over {} s through {}; publish -> durably applied (visible to "
      "reports): p50 {} ms, p90 {} ms, p99 {} ms, max {} ms\n",
      latencies.size(), rate, seconds, BrokerName(broker), at(0.5), at(0.9), at(0.99), at(1.0));
}

// Loads the store through Engine::Apply (no Kafka, unsynced bulk writes), then measures. The
// clock follows the data (each batch at its latest occurred_at), as it does when events arrive
// live; a clock frozen at the end would see every obligation as missed until its fulfilment
// arrived, and raise alerts for all of them.
std::unique_ptr<Engine> Load(store::Store& store, const testing::SimulatedStream& sim, bool sync) {
  EngineOptions options;
  options.sync_writes = sync;
  auto engine = Engine::Create(store, options);
  if (!engine) throw std::runtime_error(engine.error().message);
  std::vector<InputRecord> batch;
  for (size_t at = 0; at < sim.records.size(); at += 5000) {
    batch.clear();
    Instant latest{0, 0};
    for (size_t i = at; i < std::min(sim.records.size(), at + 5000); ++i) {
      batch.push_back(InputRecord{0, static_cast<int64_t>(i), sim.keys[i], sim.records[i]});
      ingest::EnvelopeView view;
      if (ingest::DecodeEnvelope(sim.records[i], view)) {
        latest = std::max(latest, Instant{view.occurred_at.seconds, view.occurred_at.nanos});
      }
    }
    if (auto applied = engine.value()->Apply(batch, latest); !applied) {
      throw std::runtime_error(applied.error().message);
    }
  }
  if (auto advanced = engine.value()->AdvanceTo(sim.end); !advanced) {
    throw std::runtime_error(advanced.error().message);
  }
  return std::move(engine).value();
}

void Rebuild(int64_t cases, int months) {
  casewatch::TempDir dir;
  const testing::SimulatedStream sim = testing::Simulate(cases, months, 3);
  auto store = store::Store::Open(dir.path() / "store");
  if (!store) throw std::runtime_error(store.error().message);
  Load(*store.value(), sim, false).reset();
  uint64_t events = 0;
  const auto started = Clock::now();
  auto rebuilt = Engine::Rebuild(*store.value(), EngineOptions{}, RebuildRequest{sim.end, "", sim.end},
                                 [&](uint64_t e) { events = e; });
  if (!rebuilt) throw std::runtime_error(rebuilt.error().message);
  const double seconds = Seconds(started);
  fmt::print("rebuild: {} events, {} cases in {:.2f} s = {:.0f} events/s\n", events,
             rebuilt.value().cases_evaluated, seconds, events / seconds);
}

testing::SimulatedStream Slice(int64_t cases, int months, int64_t slice) {
  testing::SimulatedStream sim = testing::Simulate(cases, months, 100 + slice);
  // Distinct case and event ids per slice.
  for (size_t i = 0; i < sim.records.size(); ++i) {
    events::v1::Envelope e;
    e.ParseFromString(sim.records[i]);
    e.set_case_id(fmt::format("S{}-{}", slice, e.case_id()));
    e.set_event_id(fmt::format("S{}-{}", slice, e.event_id()));
    sim.keys[i] = e.case_id();
    sim.records[i] = e.SerializeAsString();
  }
  return sim;
}

// Stores `cases` cases' history (loaded through Engine::Apply in this process), then runs
// casewatchd on that store while it consumes one more slice from Kafka, and reports casewatchd's
// peak RSS: the engine's memory with the whole history stored.
void Scale(int64_t cases, int months, const std::string& keep) {
  casewatch::TempDir dir;
  const auto data = keep.empty() ? dir.path() / "store" : std::filesystem::path(keep);
  const auto started = Clock::now();
  uint64_t stored = 0;
  Instant end;
  const int64_t slice_cases = 25000;
  {
    auto store = store::Store::Open(data);
    if (!store) throw std::runtime_error(store.error().message);
    // The history is imported as a backfill would be: events written straight into the store
    // (with their id entries), then every projection rebuilt once. (Engine::Apply on the same
    // events in bulk rewrites each touched case's projection per batch: right live, slow here.)
    for (int64_t first = 0; first < cases; first += slice_cases) {
      const testing::SimulatedStream sim =
          Slice(std::min(slice_cases, cases - first), months, first / slice_cases);
      testing::ImportHistory(*store.value(), sim, &stored);
      end = sim.end;
      fmt::print("scale: {} events stored, {:.0f} s\n", stored, Seconds(started));
      std::fflush(stdout);
    }
    const auto rebuild_started = Clock::now();
    auto rebuilt =
        Engine::Rebuild(*store.value(), EngineOptions{}, RebuildRequest{end, "", end}, [](uint64_t) {});
    if (!rebuilt) throw std::runtime_error(rebuilt.error().message);
    fmt::print("scale: rebuilt {} cases' projections in {:.0f} s ({:.0f} events/s)\n",
               rebuilt.value().cases_evaluated, Seconds(rebuild_started),
               stored / Seconds(rebuild_started));
    fmt::print("scale: store {:.1f} GiB\n",
               store.value()->ApproximateSizeBytes() / double(1 << 30));
  }
  auto cluster = OrThrow(kt::StartCluster(8));
  const testing::SimulatedStream extra = Slice(2000, months, 999);
  OrThrow(kt::Publish(cluster.bootstrap_servers(), extra, 0, extra.records.size()));
  const auto engine_started = Clock::now();
  casewatch::testing::ChildProcess engine(
      {CASEWATCHD_BIN, "--no-http", "--brokers", cluster.bootstrap_servers(), "--data",
       data.string(), "--clock", "simulated", "--clock-start", FormatInstant(end), "--clock-speed",
       "0"},
      (dir.path() / "engine.log").string());
  while (kt::ConsumedOffsets(data, dir.path()) < extra.records.size()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    if (Seconds(engine_started) > 600) throw std::runtime_error("casewatchd did not catch up");
  }
  engine.Signal(SIGTERM);
  const int status = engine.Wait(60);
  rusage children{};
  getrusage(RUSAGE_CHILDREN, &children);
  fmt::print(
      "scale: {} cases, {} events stored (+{} consumed live in {:.1f} s incl. start-up); "
      "casewatchd exit {}, peak RSS {:.0f} MiB\n",
      cases + 2000, stored, extra.records.size(), Seconds(engine_started), status,
      children.ru_maxrss / 1024.0);
}

// One case's events beyond anything real: opened, then `events` appointments, every other one
// missed and never judged (each an obligation that falls due and is missed), an hour apart.
std::vector<std::string> HugeCase(int64_t events, Instant start) {
  std::vector<std::string> records;
  events::v1::Envelope opened;
  opened.set_event_id("huge-open");
  opened.set_case_id("HUGE-1");
  opened.mutable_occurred_at()->set_seconds(start.seconds);
  auto* o = opened.mutable_case_opened();
  o->set_case_type(events::v1::CASE_TYPE_COMMUNITY_ORDER);
  o->set_region("North East");
  o->set_pdu("Sunderland");
  o->set_team("SUN-2");
  o->set_offender_manager("om-huge");
  records.push_back(opened.SerializeAsString());
  for (int64_t i = 0; i < events; ++i) {
    events::v1::Envelope e;
    e.set_event_id(fmt::format("huge-{}", i));
    e.set_case_id("HUGE-1");
    e.mutable_occurred_at()->set_seconds(start.seconds + 3600 + i * 60);
    if (i % 2 == 0) {
      e.mutable_appointment_missed()->set_appointment_id(fmt::format("a-{}", i));
    } else {
      e.mutable_appointment_attended()->set_appointment_id(fmt::format("a-{}", i));
    }
    records.push_back(e.SerializeAsString());
  }
  return records;
}

// Everyone else's events with and without one huge case receiving events in every batch: what a
// single case costs the rest (each batch durable, the clock following the data).
void HugeCaseRun(int64_t cases, int months, int64_t huge_events) {
  const testing::SimulatedStream sim = testing::Simulate(cases, months, 4);
  const std::vector<std::string> huge =
      HugeCase(huge_events, Instant{ParseInstant("2021-01-01T00:00:00Z").value().seconds, 0});
  const size_t batches = 200;
  const size_t normal_per_batch = (sim.records.size() + batches - 1) / batches;
  const size_t huge_per_batch = (huge.size() + batches - 1) / batches;
  for (bool with_huge : {false, true}) {
    casewatch::TempDir dir;
    auto store = OrThrow(store::Store::Open(dir.path() / "store"));
    auto engine = OrThrow(Engine::Create(*store, EngineOptions{}));
    std::vector<double> batch_ms;
    std::vector<InputRecord> batch;
    int64_t offset = 0;
    const auto started = Clock::now();
    for (size_t b = 0; b < batches; ++b) {
      batch.clear();
      Instant latest{0, 0};
      for (size_t i = b * normal_per_batch; i < std::min(sim.records.size(), (b + 1) * normal_per_batch);
           ++i) {
        batch.push_back(InputRecord{0, offset++, sim.keys[i], sim.records[i]});
        ingest::EnvelopeView view;
        if (ingest::DecodeEnvelope(sim.records[i], view)) {
          latest = std::max(latest, Instant{view.occurred_at.seconds, view.occurred_at.nanos});
        }
      }
      if (with_huge) {
        for (size_t i = b * huge_per_batch; i < std::min(huge.size(), (b + 1) * huge_per_batch); ++i) {
          batch.push_back(InputRecord{1, offset++, "HUGE-1", huge[i]});
        }
      }
      const auto batch_started = Clock::now();
      OrThrow(engine->Apply(batch, latest));
      batch_ms.push_back(Seconds(batch_started) * 1000);
    }
    const double seconds = Seconds(started);
    std::sort(batch_ms.begin(), batch_ms.end());
    fmt::print(
        "huge-case: {} events of {} cases{} in {} durable batches: {:.2f} s ({:.0f} of the others' "
        "events/s); per batch p50 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms\n",
        sim.records.size(), cases,
        with_huge ? fmt::format(" + one case of {} events", huge.size()) : std::string(), batches,
        seconds, sim.records.size() / seconds, batch_ms[batch_ms.size() / 2],
        batch_ms[batch_ms.size() * 99 / 100], batch_ms.back());
    std::fflush(stdout);
  }
}

simulator::SimulationOptions HistoryOptions(int64_t cases, int months) {
  simulator::SimulationOptions options;
  options.cases = cases;
  options.start = ParseDate("2021-01-01").value();
  options.months = months;
  options.seed = 1;
  return options;
}

// Writes the simulator's history to `path` as length-delimited Envelopes, streamed (the
// simulator's memory is bounded by the cases open at once).
void WriteHistory(const simulator::Simulator& sim, const std::filesystem::path& path) {
  struct FileSink : simulator::EventSink {
    FileSink(const simulator::Organisation& organisation, std::FILE* out)
        : org(organisation), file(out) {}
    ~FileSink() override { Flush(); }
    Result<void> Write(const simulator::SimulatedEvent& event) override {
      simulator::AppendDelimited(event, org, buffer, scratch);
      if (buffer.size() >= (size_t{8} << 20)) Flush();
      return Ok();
    }
    void Flush() {
      if (std::fwrite(buffer.data(), 1, buffer.size(), file) != buffer.size()) {
        throw std::runtime_error("cannot write the history file");
      }
      buffer.clear();
    }
    const simulator::Organisation& org;
    std::FILE* file;
    std::string buffer;
    std::string scratch[2];
  };
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) throw std::runtime_error("cannot create " + path.string());
  {
    FileSink sink(sim.organisation(), file);
    if (auto ran = sim.Run(sink); !ran) throw std::runtime_error(ran.error().message);
  }
  std::fclose(file);
}

// Reads a length-delimited history file in batches of up to `max` records, as a consumer polls.
class HistoryReader {
 public:
  explicit HistoryReader(const std::filesystem::path& path)
      : file_(std::fopen(path.c_str(), "rb")) {
    if (file_ == nullptr) throw std::runtime_error("cannot open " + path.string());
  }
  ~HistoryReader() { std::fclose(file_); }

  // The next batch (views valid until the next call); empty at the end.
  const std::vector<InputRecord>& Next(size_t max) {
    buffer_.erase(0, used_);
    used_ = 0;
    spans_.clear();
    while (spans_.size() < max) {
      size_t length = 0;
      size_t at = used_;
      int shift = 0;
      bool complete = false;
      while (at < buffer_.size() && shift < 64) {
        const auto byte = static_cast<uint8_t>(buffer_[at++]);
        length |= static_cast<size_t>(byte & 0x7f) << shift;
        shift += 7;
        if ((byte & 0x80) == 0) {
          complete = at + length <= buffer_.size();
          break;
        }
      }
      if (!complete) {
        if (!Refill()) break;
        continue;
      }
      spans_.emplace_back(at, length);
      used_ = at + length;
    }
    records_.clear();
    for (const auto& [at, length] : spans_) {
      records_.push_back(
          InputRecord{0, offset_++, {}, std::string_view(buffer_).substr(at, length), "bench"});
    }
    return records_;
  }

 private:
  bool Refill() {
    char chunk[1 << 16];
    const size_t read = std::fread(chunk, 1, sizeof chunk, file_);
    buffer_.append(chunk, read);
    return read > 0;
  }

  std::FILE* file_;
  std::string buffer_;
  size_t used_ = 0;
  int64_t offset_ = 0;
  std::vector<std::pair<size_t, size_t>> spans_;
  std::vector<InputRecord> records_;
};

// A backlog (a history published at once) consumed into an empty store in batches of
// `batch_size` records (5000 by default, as casewatchd polls when live) with durable writes and
// the clock past every event, as an engine started on an empty store, or far behind, meets it:
// stored first and each case projected once (ApplyDeferred, ProjectPending), or with `live`
// batch by batch (Apply; slow: use a small history).
void CatchUp(int64_t cases, int months, std::filesystem::path history, bool live,
             size_t batch_size) {
  casewatch::TempDir dir;
  const bool reuse = !history.empty() && std::filesystem::exists(history);
  if (history.empty()) history = dir.path() / "history.bin";
  const auto sim = OrThrow(simulator::Simulator::Create(HistoryOptions(cases, months)));
  const Instant now{static_cast<int64_t>(sim.end().days) * 86400, 0};  // past every event
  if (!reuse) {
    const auto generating = Clock::now();
    WriteHistory(sim, history);
    fmt::print("catchup: history of {} cases, {} months written to {} in {:.0f} s ({:.0f} MiB)\n",
               cases, months, history.string(), Seconds(generating),
               std::filesystem::file_size(history) / double(1 << 20));
    std::fflush(stdout);
  }
  auto store = OrThrow(store::Store::Open(dir.path() / "store"));
  auto engine = OrThrow(Engine::Create(*store, EngineOptions{}));
  HistoryReader reader(history);
  uint64_t records = 0;
  const double cpu_before = CpuSeconds();
  const auto started = Clock::now();
  for (;;) {
    const std::vector<InputRecord>& batch = reader.Next(batch_size);
    if (batch.empty()) break;
    records += batch.size();
    OrThrow(live ? engine->Apply(batch, now) : engine->ApplyDeferred(batch, now));
  }
  const double storing = Seconds(started);
  const auto projecting_started = Clock::now();
  int writes = 0;
  for (uint64_t left = 1; left > 0; ++writes) left = OrThrow(engine->ProjectPending(now));
  const double projecting = Seconds(projecting_started);
  const double seconds = Seconds(started);
  const EngineCounters& c = engine->counters();
  fmt::print(
      "catchup ({}): {} records ({} accepted, {} duplicates, {} rejected) of {} cases, {} months, "
      "into an empty store, durable batches of {}: {:.1f} s = {:.0f} records/s; {} {:.1f} s "
      "({:.0f} records/s), then {} writes projecting {:.1f} s; {} case evaluations, {} "
      "obligation_missed; store {:.2f} GiB; peak RSS {:.0f} MiB; CPU (all threads) {:.1f} s\n",
      live ? "live, Apply" : "stored first, ApplyDeferred + ProjectPending", records, c.accepted,
      c.duplicates, c.rejected, cases, months, batch_size, seconds, records / seconds,
      live ? "applying" : "storing", storing, records / storing, writes, projecting,
      c.cases_evaluated, c.missed_obligations, store->ApproximateSizeBytes() / double(1 << 30),
      PeakRssMib(), CpuSeconds() - cpu_before);
}

}  // namespace
}  // namespace casewatch::engine

int main(int argc, char** argv) {
  CLI::App app{"engine_bench: the engine's benchmark figures"};
  app.require_subcommand(1);
  int64_t cases = 10000;
  int months = 24;
  int partitions = 8;
  int rate = 10000;
  int seconds = 20;
  auto* ingest = app.add_subcommand("ingest", "Kafka -> store throughput");
  auto* latency = app.add_subcommand("latency", "publish -> visible latency under load");
  auto* rebuild = app.add_subcommand("rebuild", "rebuild throughput");
  auto* scale = app.add_subcommand("scale", "RSS with a large stored history");
  auto* huge = app.add_subcommand("huge-case", "what one case of very many events costs the rest");
  int64_t huge_events = 200000;
  auto* catchup = app.add_subcommand("catchup", "a backlog consumed into an empty store");
  std::string history;
  bool live = false;
  catchup->add_option("--cases", cases)->capture_default_str();
  catchup->add_option("--months", months)->capture_default_str();
  catchup->add_option("--history", history,
                      "History file: made if missing, else reused (same --cases and --months)");
  catchup->add_flag("--live", live, "Apply batch by batch instead (slow: a small history)");
  size_t batch_size = 5000;
  catchup->add_option("--batch", batch_size, "Records per durable write")
      ->check(CLI::Range(size_t{1}, size_t{1000000}))
      ->capture_default_str();
  huge->add_option("--cases", cases)->capture_default_str();
  huge->add_option("--months", months)->capture_default_str();
  huge->add_option("--huge-events", huge_events)->capture_default_str();
  for (auto* cmd : {ingest, rebuild, scale}) {
    cmd->add_option("--cases", cases)->capture_default_str();
    cmd->add_option("--months", months)->capture_default_str();
  }
  ingest->add_option("--partitions", partitions)->capture_default_str();
  latency->add_option("--rate", rate)->capture_default_str();
  latency->add_option("--seconds", seconds)->capture_default_str();
  std::string keep;
  scale->add_option("--keep", keep,
                    "Build the store in this (new) directory and keep it, e.g. for http_bench");
  CLI11_PARSE(app, argc, argv);
  try {
    using namespace casewatch::engine;
    if (*ingest) Ingest(cases, months, partitions);
    if (*latency) Latency(rate, seconds);
    if (*rebuild) Rebuild(cases, months);
    if (*scale) Scale(cases, months, keep);
    if (*huge) HugeCaseRun(cases, months, huge_events);
    if (*catchup) CatchUp(cases, months, history, live, batch_size);
  } catch (const std::exception& e) {
    fmt::print(stderr, "engine_bench: {}\n", e.what());
    return 1;
  }
  return 0;
}
