// libFuzzer target: any bytes as one NDJSON line. Where both our parser and protobuf's
// JsonStringToMessage accept it, they must give the same message; whatever we accept must go
// through validation and the event log without a crash or a sanitizer report.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "services/ingest/event_log.h"
#include "services/ingest/json_envelope.h"
#include "services/ingest/testing/oracles.h"
#include "services/ingest/validation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace casewatch::ingest;
  static JsonEnvelopeParser parser;
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  if (const std::string d = testing::JsonDisagreement(parser, line); !d.empty()) {
    std::fprintf(stderr, "%s\n", d.c_str());
    __builtin_trap();
  }
  EnvelopeView view;
  if (!parser.Parse(line, view)) return 0;
  if (!ValidateEnvelope(view, ValidationOptions::Replay())) return 0;
  EventLog log;
  if (log.Accept(view).value() != Acceptance::kAccepted) __builtin_trap();
  log.SealAll();
  return 0;
}
