#pragma once
// DecodeEnvelope: the binary (protobuf wire format) Envelope decoded straight into an EnvelopeView,
// without building a protobuf message. It accepts exactly what protobuf's own parser accepts and
// yields the same field values (checked by a differential test): last value wins for repeated
// scalar fields, repeated sub-messages merge, a different oneof member replaces the payload,
// unknown fields (and known fields with the wrong wire type) are skipped, and proto3 strings must
// be valid UTF-8.

#include <string_view>

#include "base/result.h"
#include "services/ingest/envelope_view.h"

namespace casewatch::ingest {

// Decodes `bytes` into `view`, whose strings then point into `bytes`. The error message says the
// record is not a valid Envelope and, briefly, why.
[[nodiscard]] Result<void> DecodeEnvelope(std::string_view bytes, EnvelopeView& view);

}  // namespace casewatch::ingest
