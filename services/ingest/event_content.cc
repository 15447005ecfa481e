#include "services/ingest/event_content.h"

#include <iterator>
#include <string>

#include "services/ingest/internal/hash.h"
#include "services/ingest/internal/payload_schema.h"

namespace casewatch::ingest {

// The canonical content of an event: every field but recorded_at, whichever form (JSON or
// binary) it arrived in. Empty optional strings and an absent `when` are left out, their
// absence recorded in a presence mask, so that an event costs only what it carries.
ContentFingerprint FingerprintOf(const EnvelopeView& e) {
  const std::string_view optional[] = {e.source,   e.actor,    e.texts[0],
                                       e.texts[1], e.texts[2], e.texts[3]};
  uint64_t present = uint64_t{e.when.present} << 6;
  for (size_t i = 0; i < std::size(optional); ++i) present |= uint64_t{!optional[i].empty()} << i;
  internal::FingerprintBuilder f;
  f.Add(e.event_id);
  f.Add(e.case_id);
  f.Add(static_cast<uint64_t>(e.occurred_at.seconds),
        static_cast<uint64_t>(static_cast<uint32_t>(e.occurred_at.nanos)) << 32 |
            static_cast<uint32_t>(e.payload));
  f.Add(static_cast<uint64_t>(static_cast<uint32_t>(e.enums[0])) << 32 |
            static_cast<uint32_t>(e.enums[1]),
        present << 8 | uint64_t{e.flags[0]} | uint64_t{e.flags[1]} << 1);
  for (std::string_view text : optional) {
    if (!text.empty()) f.Add(text);
  }
  if (e.when.present) {
    f.Add(static_cast<uint64_t>(e.when.seconds), static_cast<uint32_t>(e.when.nanos));
  }
  const internal::Fingerprint fingerprint = f.Finish();
  return ContentFingerprint{fingerprint.high, fingerprint.low};
}

// The payload's slots map onto CaseEvent's fields directly: its first enum is `code`, its bools
// `flag` and `flag2` (see case_event.h).
uint32_t AppendToHistory(const EnvelopeView& e, CaseHistory& history) {
  const internal::PayloadInfo& payload =
      *internal::PayloadSchema::Get().Payload(static_cast<uint32_t>(e.payload));
  CaseEvent event;
  event.occurred_at = Instant{e.occurred_at.seconds, e.occurred_at.nanos};
  event.type = static_cast<EventType>(payload.event_type);
  event.code = static_cast<uint8_t>(e.enums[0]);
  event.flag = e.flags[0];
  event.flag2 = e.flags[1];
  auto allocation = [&] {
    return Allocation{std::string(e.texts[0]), std::string(e.texts[1]), std::string(e.texts[2]),
                      std::string(e.texts[3])};
  };
  switch (event.type) {
    case EventType::kCaseOpened: {
      Opening opening{event.flag,
                      e.when.present ? Instant{e.when.seconds, e.when.nanos} : event.occurred_at};
      return history.AddCaseOpened(event, e.event_id, allocation(), opening);
    }
    case EventType::kCaseAllocated:
      return history.AddCaseAllocated(event, e.event_id, allocation());
    case EventType::kAppointmentAttended:
    case EventType::kAppointmentMissed:
    case EventType::kAbsenceJudged:
      return history.AddAppointmentEvent(event, e.event_id, e.texts[0]);
    default:
      return history.Add(event, e.event_id);
  }
}

}  // namespace casewatch::ingest
