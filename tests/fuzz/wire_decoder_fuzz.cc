// libFuzzer target: any bytes as one binary Envelope. DecodeEnvelope must agree with protobuf's
// parser (accept or reject, and the same values), and whatever it accepts must go through
// validation and the event log without a crash or a sanitizer report.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "services/ingest/event_log.h"
#include "services/ingest/testing/oracles.h"
#include "services/ingest/validation.h"
#include "services/ingest/wire_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace casewatch::ingest;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (const std::string d = testing::WireDisagreement(bytes); !d.empty()) {
    std::fprintf(stderr, "%s\n", d.c_str());
    __builtin_trap();
  }
  EnvelopeView view;
  if (!DecodeEnvelope(bytes, view)) return 0;
  if (!ValidateEnvelope(view, ValidationOptions::Replay())) return 0;
  EventLog log;
  if (log.Accept(view).value() != Acceptance::kAccepted) __builtin_trap();
  if (log.Accept(view).value() != Acceptance::kDuplicate) __builtin_trap();  // same content again
  log.SealAll();
  return 0;
}
