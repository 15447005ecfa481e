#pragma once
// EnvelopeView: one Envelope as the ingest path reads it, without owning anything. Both input
// forms arrive here: the binary form straight from its bytes (DecodeEnvelope, no protobuf message
// built), and a parsed protobuf message through ViewOf. Validation, de-duplication and conversion
// to a CaseEvent all read views, so every path applies the same rules.
//
// A payload's fields sit in role slots, in the order the payload message declares them: its enum
// fields in `enums`, bool fields in `flags`, string fields in `texts`, and its one Timestamp
// field (case_opened.sentence_date, obligation_missed.due) in `when`. PayloadSchema says which
// slot holds which field.

#include <array>
#include <cstdint>
#include <string_view>

#include "casewatch/events/v1/events.pb.h"

namespace casewatch::ingest {

struct TimestampView {
  bool present = false;
  int64_t seconds = 0;
  int32_t nanos = 0;
};

struct EnvelopeView {
  std::string_view event_id;
  std::string_view case_id;
  TimestampView occurred_at;
  TimestampView recorded_at;
  std::string_view source;
  std::string_view actor;

  int payload = 0;        // the oneof field number; 0 when no known payload is set
  int unknown_field = 0;  // the first top-level field number the schema does not know, if any
  std::array<int32_t, 2> enums{};
  std::array<bool, 2> flags{};
  std::array<std::string_view, 4> texts{};
  TimestampView when;

  void ClearPayload() {
    enums = {};
    flags = {};
    texts = {};
    when = {};
  }
};

// The view of a parsed message; valid while `envelope` lives and is unchanged.
void ViewOf(const events::v1::Envelope& envelope, EnvelopeView& view);

// The message a view describes (`envelope` is cleared first). Unknown fields are not carried.
void ToEnvelope(const EnvelopeView& view, events::v1::Envelope& envelope);

}  // namespace casewatch::ingest
