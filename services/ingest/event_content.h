#pragma once
// What an accepted event is, once it passed validation: its content fingerprint (the identity
// that tells an identical duplicate from a conflicting one) and its compact form in a case's
// history. Shared by the file replay (EventLog) and the engine, so both judge and store an event
// the same way.

#include <cstdint>

#include "projections/case_history.h"
#include "services/ingest/envelope_view.h"

namespace casewatch::ingest {

// 128 bits over every field but recorded_at, whichever form (JSON or binary) the event came in.
struct ContentFingerprint {
  uint64_t high = 0;
  uint64_t low = 0;
  friend bool operator==(const ContentFingerprint&, const ContentFingerprint&) = default;
};
ContentFingerprint FingerprintOf(const EnvelopeView& valid);

// Appends a valid event to `history` as a CaseEvent; returns the reference of its stored id.
uint32_t AppendToHistory(const EnvelopeView& valid, CaseHistory& history);

}  // namespace casewatch::ingest
