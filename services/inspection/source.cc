#include "services/inspection/source.h"

#include <fmt/format.h>

#include <string>
#include <unordered_map>

#include "services/records/stored_history.h"
#include "services/ingest/event_log.h"

namespace casewatch::inspection {
namespace {

Instant InstantOf(const ingest::TimestampView& t) { return Instant{t.seconds, t.nanos}; }

// Counts one accepted event for data quality; obligation_missed events are the engine's own.
bool AddRecord(InspectionBuilder& builder, const ingest::EnvelopeView& event) {
  if (event.payload == events::v1::Envelope::kObligationMissedFieldNumber) return false;
  builder.AddRecord(event.case_id, InstantOf(event.occurred_at), InstantOf(event.recorded_at));
  return true;
}

}  // namespace

Result<Inspection> InspectEventFile(const std::string& path,
                                    std::optional<ingest::FileFormat> format,
                                    InspectionRequest request, Progress& progress) {
  request.source = fmt::format("event file {}", path == "-" ? "<stdin>" : path);
  InspectionBuilder builder(std::move(request));
  ingest::EventLog log;
  ingest::LoadHooks hooks;
  hooks.on_problem = [&](const ingest::Problem& problem) { builder.AddRejection(problem.reason); };
  hooks.on_accepted = [&](const ingest::EnvelopeView& event) { AddRecord(builder, event); };
  // In MiB, rounded up, the file's size once the loader knows it.
  hooks.on_progress = [&](uint64_t read, uint64_t size) {
    progress.Update(read >> 20, (size + (1 << 20) - 1) >> 20);
  };
  progress.Stage("reading events", 0, "MiB");
  CW_TRY(summary, ingest::LoadEventFile(path, format, log, hooks));
  builder.AddIntake(static_cast<int64_t>(summary.accepted),
                    static_cast<int64_t>(summary.duplicates));
  progress.Stage("sorting cases", 0, "");
  log.SealAll();

  progress.Stage("evaluating cases", log.case_count(), "cases");
  uint64_t done = 0;
  for (const CaseHistory& history : log.cases()) {
    builder.AddCase(history);
    progress.Update(++done);
  }
  const std::vector<std::string> drawn = builder.DrawSample();
  progress.Stage("judging the sample", drawn.size(), "cases");
  done = 0;
  for (const std::string& case_id : drawn) {
    builder.AddSampledCase(*log.FindCase(case_id));
    progress.Update(++done);
  }
  progress.Done();
  return builder.Finish();
}

Result<Inspection> InspectStores(std::span<const store::StoreReader* const> stores,
                                 InspectionRequest request, Progress& progress) {
  InspectionBuilder builder(std::move(request));
  // The cases the engine counts now: a close estimate of the cases stored, for the bar.
  uint64_t estimate = 0;
  for (const store::StoreReader* store : stores) {
    CW_TRY(store->ScanDeadLetters([&](uint64_t, const store::v1::DeadLetter& letter) {
      builder.AddRejection(letter.reason());
    }));
    CW_TRY(store->ScanScopes([&](const store::v1::ScopeCounts& counts) {
      estimate += static_cast<uint64_t>(counts.cases());
    }));
  }
  progress.Stage("evaluating cases", estimate, "cases");
  int64_t events = 0;
  uint64_t done = 0;
  std::unordered_map<std::string, const store::StoreReader*> holder;  // with several stores
  for (const store::StoreReader* store : stores) {
    CW_TRY(records::ForEachHistory(
        *store,
        [&](CaseHistory& history) -> Result<void> {
          builder.AddCase(history);
          if (stores.size() > 1) holder.emplace(history.case_id(), store);
          progress.Update(++done);
          return Ok();
        },
        [&](const ingest::EnvelopeView& event) {
          if (AddRecord(builder, event)) ++events;
        }));
  }
  builder.AddIntake(events, 0);
  const std::vector<std::string> drawn = builder.DrawSample();
  progress.Stage("judging the sample", drawn.size(), "cases");
  done = 0;
  for (const std::string& case_id : drawn) {
    const auto found = holder.find(case_id);
    const store::StoreReader& store = found == holder.end() ? *stores.front() : *found->second;
    CW_TRY(history, records::LoadHistory(store, case_id));
    history->Seal();
    builder.AddSampledCase(*history);
    progress.Update(++done);
  }
  progress.Done();
  Inspection inspection = builder.Finish();
  inspection.quality.duplicates_counted = false;
  return inspection;
}

}  // namespace casewatch::inspection
