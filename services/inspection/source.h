#pragma once
// Running an inspection over a history: an event file (loaded whole, validated and de-duplicated
// as `casewatch replay` loads it) or an engine's stores (read case by case; safe on secondaries
// while the engine writes). Both make the same two passes: every case, then the cases drawn.

#include <optional>
#include <span>
#include <string>

#include "base/result.h"
#include "services/ingest/event_file.h"
#include "services/inspection/inspection.h"
#include "services/inspection/progress.h"
#include "services/store/store.h"

namespace casewatch::inspection {

[[nodiscard]] Result<Inspection> InspectEventFile(const std::string& path,
                                                  std::optional<ingest::FileFormat> format,
                                                  InspectionRequest request, Progress& progress);

// `stores`: one engine's store, or the stores of its tasks (casewatchd --tasks: a store per
// partition, their cases disjoint), inspected as one store of all their cases.
[[nodiscard]] Result<Inspection> InspectStores(std::span<const store::StoreReader* const> stores,
                                               InspectionRequest request, Progress& progress);

}  // namespace casewatch::inspection
