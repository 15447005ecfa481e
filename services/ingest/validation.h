#pragma once
// The validation rules of docs/rules.md section 2 ("Validation") for one parsed Envelope. Pure: the
// receive time is a parameter, never read from a clock.

#include "base/result.h"
#include "casewatch/events/v1/events.pb.h"
#include "projections/calendar.h"
#include "services/ingest/envelope_view.h"

namespace casewatch::ingest {

struct ValidationOptions {
  // Live ingest (Kafka, HTTP) rejects derived events and events from the future; replay files
  // carry derived events the engine wrote itself.
  bool live = false;
  Instant received_at;  // live only: occurred_at may be at most 24 h after this

  static ValidationOptions Replay() { return ValidationOptions{}; }
  static ValidationOptions Live(Instant received_at) {
    return ValidationOptions{true, received_at};
  }
};

// Ok when `envelope` may be accepted; otherwise an InvalidArgument error whose message names the
// field and the problem in words a publisher can act on, e.g.
// `case_id "N13 42" has characters outside [A-Za-z0-9_-]`.
[[nodiscard]] Result<void> ValidateEnvelope(const EnvelopeView& envelope,
                                            const ValidationOptions& options);
[[nodiscard]] Result<void> ValidateEnvelope(const events::v1::Envelope& envelope,
                                            const ValidationOptions& options);

}  // namespace casewatch::ingest
