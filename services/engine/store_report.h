#pragma once
// The report of indicators.md section 6 from an engine's store, in exactly the replay format.
// As of the store's projection instant it is read from the stored projections (the
// per-allocation counts when no period or case items are asked for, so it costs one scan of a few
// thousand records); for any other `as_of`, or under another policy, every case is re-evaluated
// from the stored events. Reads only; safe on a secondary store while the engine writes.

#include <optional>
#include <string>

#include "base/result.h"
#include "projections/scores.h"
#include "services/store/store.h"

namespace casewatch::engine {

struct StoreReportRequest {
  std::optional<Instant> as_of;  // nullopt: the store's projection instant
  std::optional<Date> from;
  std::optional<Date> to;
  Scope scope;
  bool case_items = false;
  std::optional<Policy> policy;  // nullopt: the policy the engine runs with
};

enum class ReportSource { kScopeCounts, kStoredProjections, kReEvaluation };

struct StoreReport {
  std::string json;
  ReportSource source = ReportSource::kReEvaluation;
  Instant as_of;
};

[[nodiscard]] Result<StoreReport> ReportFromStore(const store::Store& store,
                                                  const StoreReportRequest& request);

}  // namespace casewatch::engine
