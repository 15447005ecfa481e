// ingest_bench: parse + validate + de-duplicate + append throughput of services/ingest, through
// LoadEventFile on a file in the page cache. Generates its own synthetic, realistic events.
// Targets (one thread): >= 800k events/s NDJSON, >= 3M events/s binary.

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <sys/resource.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "services/ingest/binary_envelope.h"
#include "services/ingest/event_file.h"

namespace casewatch::ingest {
namespace {

namespace pb = ::casewatch::events::v1;

constexpr int kEvents = 1'000'000;
constexpr int kCases = 20'000;

// A case's life in miniature: opened, then a mix of the common event types.
pb::Envelope SyntheticEvent(int i, std::mt19937& rng) {
  pb::Envelope e;
  const int case_number = i % kCases;
  const int step = i / kCases;
  e.set_event_id(fmt::format("delius-{:08d}", i));
  e.set_case_id(fmt::format("N13-{:05d}", case_number));
  e.mutable_occurred_at()->set_seconds(1364895000 + int64_t{step} * 86400 + case_number * 7);
  if (rng() % 4 == 0)
    e.mutable_recorded_at()->set_seconds(1364895000 + int64_t{step} * 86400 + 3600);
  e.set_source("delius");
  e.set_actor(fmt::format("om-{}", case_number % 500));
  if (step == 0) {
    auto* o = e.mutable_case_opened();
    o->set_case_type(static_cast<pb::CaseType>(1 + rng() % 3));
    o->set_region("North East");
    o->set_pdu("Sunderland");
    o->set_team(fmt::format("SUN-{}", case_number % 20));
    o->set_offender_manager(fmt::format("om-{}", case_number % 500));
    o->set_victim_contact_required(rng() % 5 == 0);
    return e;
  }
  switch (rng() % 10) {
    case 0:
    case 1:
    case 2:
      e.mutable_appointment_attended()->set_appointment_id(
          fmt::format("apt-{}-{}", case_number, step));
      break;
    case 3:
      e.mutable_appointment_missed()->set_appointment_id(
          fmt::format("apt-{}-{}", case_number, step));
      break;
    case 4:
      e.mutable_absence_judged()->set_appointment_id(
          fmt::format("apt-{}-{}", case_number, step - 1));
      e.mutable_absence_judged()->set_acceptable(rng() % 2 == 0);
      break;
    case 5:
      e.mutable_home_visit_completed();
      break;
    case 6:
      e.mutable_rosh_classified()->set_level(static_cast<pb::RoshLevel>(1 + rng() % 4));
      break;
    case 7:
      e.mutable_sentence_plan_completed()->set_kind(pb::PLAN_KIND_REVIEW);
      break;
    case 8:
      e.mutable_management_oversight_recorded();
      break;
    default:
      e.mutable_significant_change_recorded()->set_risk_increased(true);
      e.mutable_significant_change_recorded()->set_description("moved address");
      break;
  }
  return e;
}

struct Files {
  std::string ndjson_path;
  std::string binary_path;
};

const Files& SyntheticFiles() {
  static const Files files = [] {
    const auto dir = std::filesystem::temp_directory_path();
    Files f{(dir / fmt::format("ingest_bench_{}.ndjson", ::getpid())).string(),
            (dir / fmt::format("ingest_bench_{}.pb", ::getpid())).string()};
    std::ofstream ndjson(f.ndjson_path, std::ios::binary);
    std::ofstream binary(f.binary_path, std::ios::binary);
    std::mt19937 rng(7);
    google::protobuf::util::JsonPrintOptions options;
    std::string json, bytes;
    for (int i = 0; i < kEvents; ++i) {
      const pb::Envelope e = SyntheticEvent(i, rng);
      json.clear();
      (void)google::protobuf::util::MessageToJsonString(e, &json, options);
      ndjson << json << '\n';
      bytes.clear();
      AppendDelimited(e, bytes);
      binary << bytes;
    }
    std::atexit([] {
      std::filesystem::remove(SyntheticFiles().ndjson_path);
      std::filesystem::remove(SyntheticFiles().binary_path);
    });
    return f;
  }();
  return files;
}

void Load(benchmark::State& state, const std::string& path) {
  uint64_t index_bytes = 0;
  for (auto _ : state) {
    EventLog log;
    Result<LoadSummary> summary = LoadEventFile(path, log, nullptr);
    if (!summary || summary.value().accepted != static_cast<uint64_t>(kEvents)) {
      state.SkipWithError("load failed or not every event accepted");
      return;
    }
    index_bytes = log.index_memory_bytes();
    benchmark::DoNotOptimize(log);
  }
  state.SetItemsProcessed(state.iterations() * kEvents);
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(std::filesystem::file_size(path)));
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  state.counters["index_MB"] = static_cast<double>(index_bytes) / 1e6;
  state.counters["peak_rss_MB"] = static_cast<double>(usage.ru_maxrss) / 1e3;
}

void BM_LoadNdjson(benchmark::State& state) { Load(state, SyntheticFiles().ndjson_path); }
void BM_LoadBinary(benchmark::State& state) { Load(state, SyntheticFiles().binary_path); }

// Binary first: its peak RSS then excludes the NDJSON run.
BENCHMARK(BM_LoadBinary)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_LoadNdjson)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace
}  // namespace casewatch::ingest
