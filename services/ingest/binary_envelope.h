#pragma once
// The binary forms of an Envelope: one message (a Kafka value) and protobuf's delimited stream
// (varint length, then the message; the binary file form of shared/spec/events.md).

#include <string>
#include <string_view>

#include "base/result.h"
#include "casewatch/events/v1/events.pb.h"

namespace casewatch::ingest {

// The reason given for bytes that do not parse as an Envelope.
inline constexpr std::string_view kNotAnEnvelope =
    "the bytes are not a valid Envelope (bad protobuf wire format or invalid UTF-8 in a string "
    "field)";

// Parses one serialized Envelope into `out` (cleared first). Fails when the bytes are not a valid
// Envelope (bad wire format, invalid UTF-8 in a string field). Unknown fields are kept, so that
// ValidateEnvelope can name an unknown payload. Protobuf's own logging is silenced meanwhile: the
// caller reports the problem.
[[nodiscard]] Result<void> ParseEnvelopeBinary(std::string_view bytes, events::v1::Envelope& out);

// Appends `envelope` to `out` in the delimited form (varint length prefix, then the message).
void AppendDelimited(const events::v1::Envelope& envelope, std::string& out);

}  // namespace casewatch::ingest
