#pragma once
// Case histories read back from the store: each stored Envelope decoded and appended exactly as
// on arrival (ingest::AppendToHistory). A stored event that does not decode means the store is
// damaged: an I/O error.

#include <functional>
#include <memory>
#include <string_view>

#include "base/result.h"
#include "projections/case_history.h"
#include "services/ingest/envelope_view.h"
#include "services/store/store.h"

namespace casewatch::records {

// One case's history (empty when the case has no events), unsealed.
[[nodiscard]] Result<std::unique_ptr<CaseHistory>> LoadHistory(const store::StoreReader& store,
                                                               std::string_view case_id);

// Every stored case's history, case by case, sealed, to `visit`. Stops at the first error, the
// store's or the visitor's, and returns it. `on_event`, when given, sees each stored event as it
// is read (before its case's visit), for what a history does not keep (recorded_at).
[[nodiscard]] Result<void> ForEachHistory(
    const store::StoreReader& store, const std::function<Result<void>(CaseHistory&)>& visit,
    const std::function<void(const ingest::EnvelopeView&)>& on_event = nullptr);

}  // namespace casewatch::records
