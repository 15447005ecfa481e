#pragma once
// Test oracles for the hand-written decoders, shared by the differential tests and the fuzzers:
// protobuf's own parsers say what the right answer is.

#include <string>
#include <string_view>

#include "services/ingest/json_envelope.h"

namespace casewatch::ingest::testing {

// Empty when DecodeEnvelope and protobuf's ParseFromString agree on `bytes` — both reject, or both
// accept with the same view; otherwise what differs.
std::string WireDisagreement(std::string_view bytes);

// Empty unless both our parser and protobuf's JsonStringToMessage accept `line` and give different
// messages (deliberate differences in what is accepted are listed in the folder's README).
std::string JsonDisagreement(JsonEnvelopeParser& parser, std::string_view line);

}  // namespace casewatch::ingest::testing
