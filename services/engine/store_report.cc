#include "services/engine/store_report.h"

#include <fmt/format.h>

#include "projections/report_json.h"
#include "services/engine/case_projection.h"
#include "services/engine/stored_history.h"

namespace casewatch::engine {
namespace {

Result<Policy> StorePolicy(const store::Store& store) {
  CW_TRY(text, store.Policy());
  if (!text || text->empty()) return Policy{};
  auto policy = ParsePolicy(*text);
  if (!policy) return IoError("store: its policy does not parse: " + policy.error().message);
  return policy;
}

Result<void> ReEvaluate(const store::Store& store, Evaluator& evaluator, Instant as_of,
                        ReportBuilder& builder, std::vector<CaseItemRow>* rows) {
  return ForEachHistory(store, [&](CaseHistory& history) -> Result<void> {
    const CaseEvaluation* evaluation = evaluator.Evaluate(history, as_of);
    if (evaluation != nullptr && builder.Add(*evaluation) && rows != nullptr) {
      AppendCaseItems(*evaluation, *rows);
    }
    return Ok();
  });
}

}  // namespace

Result<StoreReport> ReportFromStore(const store::Store& store, const StoreReportRequest& request) {
  CW_TRY(projected, store.ProjectionInstant());
  // The stored projections answer for their own instant under the engine's policy.
  const bool stored_view =
      (!request.as_of || (projected && *request.as_of == *projected)) && !request.policy;
  if (!request.as_of && !projected) {
    return NotFound("the engine has not projected anything in this store yet; give --as-of");
  }
  StoreReport result;
  result.as_of = request.as_of ? *request.as_of : *projected;
  Policy policy;
  if (request.policy) {
    policy = *request.policy;
  } else {
    CW_TRY(stored_policy, StorePolicy(store));
    policy = std::move(stored_policy);
  }
  CW_TRY(period, MakePeriod(request.from, request.to, result.as_of));
  ReportBuilder builder(policy, result.as_of, period, request.scope);
  std::vector<CaseItemRow> rows;
  std::vector<CaseItemRow>* wanted_rows = request.case_items ? &rows : nullptr;

  if (stored_view && !request.from && !request.to && !request.case_items) {
    result.source = ReportSource::kScopeCounts;
    CW_TRY(store.ScanScopes([&](const store::v1::ScopeCounts& counts) {
      const Allocation allocation{counts.region(), counts.pdu(), counts.team(),
                                  counts.offender_manager()};
      if (request.scope.Matches(allocation)) builder.AddTotals(counts.cases(), TotalsOf(counts));
    }));
  } else if (stored_view) {
    result.source = ReportSource::kStoredProjections;
    CW_TRY(store.ScanProjections(
        [&](std::string_view case_id, const store::v1::CaseProjection& projection) {
          if (!projection.counted() || !builder.Add(EvaluationOf(projection))) return;
          if (wanted_rows != nullptr) AppendCaseItems(case_id, projection, *wanted_rows);
        }));
  } else {
    result.source = ReportSource::kReEvaluation;
    Evaluator evaluator(policy);
    CW_TRY(ReEvaluate(store, evaluator, result.as_of, builder, wanted_rows));
  }
  if (wanted_rows != nullptr) SortCaseItems(rows);
  result.json = RenderReportJson(builder.Finish(), wanted_rows);
  return result;
}

}  // namespace casewatch::engine
