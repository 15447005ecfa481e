#include "services/records/stored_history.h"

#include <fmt/format.h>

#include "services/ingest/event_content.h"
#include "services/ingest/wire_decoder.h"

namespace casewatch::records {
namespace {

Result<void> Append(std::string_view envelope, CaseHistory& history,
                    const std::function<void(const ingest::EnvelopeView&)>& on_event = nullptr) {
  ingest::EnvelopeView view;
  if (!ingest::DecodeEnvelope(envelope, view)) {
    return IoError(
        fmt::format("store: a stored event of case {} does not decode", history.case_id()));
  }
  ingest::AppendToHistory(view, history);
  if (on_event) on_event(view);
  return Ok();
}

}  // namespace

Result<std::unique_ptr<CaseHistory>> LoadHistory(const store::StoreReader& store,
                                                 std::string_view case_id) {
  auto history = std::make_unique<CaseHistory>(std::string(case_id));
  Result<void> failure = Ok();
  CW_TRY(store.ReadCase(case_id, [&](std::string_view envelope) {
    if (failure) failure = Append(envelope, *history);
  }));
  CW_TRY(failure);
  return history;
}

Result<void> ForEachHistory(const store::StoreReader& store,
                            const std::function<Result<void>(CaseHistory&)>& visit,
                            const std::function<void(const ingest::EnvelopeView&)>& on_event) {
  std::unique_ptr<CaseHistory> history;
  Result<void> failure = Ok();
  auto finish_case = [&] {
    if (!history || !failure) return;
    history->Seal();
    failure = visit(*history);
  };
  CW_TRY(store.ScanCases(
      [&](std::string_view case_id) {
        finish_case();
        history = std::make_unique<CaseHistory>(std::string(case_id));
      },
      [&](std::string_view envelope) {
        if (failure) failure = Append(envelope, *history, on_event);
      }));
  finish_case();
  return failure;
}

}  // namespace casewatch::records
