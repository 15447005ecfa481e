#pragma once
// Tests and benchmarks only: a simulated service as the records a publisher would put on Kafka,
// and the report `casewatch replay` gives for the same events, to compare the engine against.
// Aborts with a message on failure (the inputs are generated, so a failure is a bug).

#include <string>
#include <vector>

#include "base/temp_dir.h"
#include "services/reports/store_report.h"
#include "services/store/store.h"

namespace casewatch::engine::testing {

struct SimulatedStream {
  std::string file_bytes;            // the length-delimited file form
  std::vector<std::string> records;  // binary Envelopes, in arrival order
  std::vector<std::string> keys;     // their case ids
  Instant end;                       // the simulation's "now"
};

SimulatedStream Simulate(int64_t cases, int months, uint64_t seed);

// Writes the stream's events straight into `store` (events, arrival order, id index), as a backfill
// would, starting at arrival sequence `*sequence` (advanced); no projections. Faster than
// Engine::Apply for a whole history, which re-projects each touched case per batch.
void ImportHistory(store::Store& store, const SimulatedStream& sim, uint64_t* sequence);

// The replay report of `file_bytes` for `request` at `as_of` (written to a file in `dir` and
// loaded the way `casewatch replay` loads it). An event the load refuses (a conflict, say) ends
// the test, unless `refused` is given: then its reason is added there and the replay goes on.
std::string Replay(const casewatch::TempDir& dir, const std::string& file_bytes,
                   const reports::StoreReportRequest& request, Instant as_of,
                   std::vector<std::string>* refused = nullptr);

}  // namespace casewatch::engine::testing
