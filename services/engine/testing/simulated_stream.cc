#include "services/engine/testing/simulated_stream.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

#include "projections/report_json.h"
#include "services/ingest/event_content.h"
#include "services/ingest/event_file.h"
#include "services/ingest/wire_decoder.h"
#include "services/simulator/event_writer.h"
#include "services/simulator/simulator.h"

namespace casewatch::engine::testing {
namespace {

[[noreturn]] void Die(const std::string& message) {
  fmt::print(stderr, "simulated_stream: {}\n", message);
  std::abort();
}

class Collector : public simulator::EventSink {
 public:
  explicit Collector(const simulator::Organisation& org) : org_(org) {}
  Result<void> Write(const simulator::SimulatedEvent& event) override {
    const size_t at = stream.file_bytes.size();
    simulator::AppendDelimited(event, org_, stream.file_bytes);
    size_t i = at;  // skip the varint length prefix
    while (static_cast<uint8_t>(stream.file_bytes[i]) & 0x80) ++i;
    std::string record = stream.file_bytes.substr(i + 1);
    events::v1::Envelope envelope;
    if (!envelope.ParseFromString(record)) Die("the simulator wrote an unreadable record");
    stream.keys.push_back(envelope.case_id());
    stream.records.push_back(std::move(record));
    return Ok();
  }
  SimulatedStream stream;

 private:
  const simulator::Organisation& org_;
};

}  // namespace

SimulatedStream Simulate(int64_t cases, int months, uint64_t seed) {
  simulator::SimulationOptions options;
  options.cases = cases;
  options.start = ParseDate("2021-01-01").value();
  options.months = months;
  options.seed = seed;
  auto sim = simulator::Simulator::Create(options);
  if (!sim) Die(sim.error().message);
  Collector collector(sim.value().organisation());
  if (auto ran = sim.value().Run(collector); !ran) Die(ran.error().message);
  collector.stream.end = Instant{static_cast<int64_t>(sim.value().end().days) * 86400, 0};
  return std::move(collector.stream);
}

void ImportHistory(store::Store& store, const SimulatedStream& sim, uint64_t* sequence) {
  store::WriteBatch batch = store.NewWriteBatch();
  for (const std::string& record : sim.records) {
    ingest::EnvelopeView view;
    if (!ingest::DecodeEnvelope(record, view)) Die("the simulator wrote an undecodable record");
    const ingest::ContentFingerprint content = ingest::FingerprintOf(view);
    batch.PutEvent(view.case_id, Instant{view.occurred_at.seconds, view.occurred_at.nanos},
                   view.event_id, record, store::IdEntry{{content.high, content.low}, (*sequence)++});
    if (batch.count() >= 30000) {
      if (auto written = store.Write(batch, false); !written) Die(written.error().message);
    }
  }
  if (auto written = store.Write(batch, true); !written) Die(written.error().message);
}

std::string Replay(const casewatch::TempDir& dir, const std::string& file_bytes,
                   const reports::StoreReportRequest& request, Instant as_of,
                   std::vector<std::string>* refused) {
  const auto path = dir.path() / "replay-events.bin";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(file_bytes.data(), 1, file_bytes.size(), f);
  std::fclose(f);
  ingest::EventLog log;
  auto loaded = ingest::LoadEventFile(path.string(), ingest::FileFormat::kBinary, log,
                                      [refused](const ingest::Problem& p) {
                                        if (refused == nullptr) Die(p.reason);
                                        refused->push_back(p.reason);
                                      });
  if (!loaded) Die(loaded.error().message);
  log.SealAll();
  Evaluator evaluator(request.policy.value_or(Policy{}));
  ReportBuilder builder(evaluator.policy(), as_of,
                        MakePeriod(request.from, request.to, as_of).value(), request.scope);
  std::vector<CaseItemRow> rows;
  for (const CaseHistory& history : log.cases()) {
    const CaseEvaluation* evaluation = evaluator.Evaluate(history, as_of);
    if (evaluation == nullptr || !builder.Add(*evaluation)) continue;
    if (request.case_items) AppendCaseItems(*evaluation, rows);
  }
  SortCaseItems(rows);
  return RenderReportJson(builder.Finish(), request.case_items ? &rows : nullptr);
}

}  // namespace casewatch::engine::testing
