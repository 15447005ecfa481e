#pragma once
// Writing the binary file form of docs/rules.md section 2: protobuf's delimited stream (varint
// length, then the message). Reading it is DecodeEnvelope's job (wire_decoder.h).

#include <string>
#include <string_view>

#include "casewatch/events/v1/events.pb.h"

namespace casewatch::ingest {

// Appends `envelope` to `out` in the delimited form (varint length prefix, then the message).
void AppendDelimited(const events::v1::Envelope& envelope, std::string& out);
// The same for an Envelope already serialized (a record as read from Kafka), as it is.
void AppendDelimited(std::string_view envelope, std::string& out);

}  // namespace casewatch::ingest
