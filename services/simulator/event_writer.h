#pragma once
// Writers that turn simulated events into the contract's file forms: newline-delimited JSON (the
// canonical protobuf JSON mapping, written by hand for speed) or length-delimited binary
// Envelopes. Each writer borrows a FILE* (not owned, not closed) and buffers; call Finish before
// closing the file. Single-threaded.

#include <cstdio>
#include <memory>
#include <string>

#include "services/simulator/simulator.h"

namespace casewatch::simulator {

enum class OutputFormat { kNdjson, kBinary };

class EventWriter : public EventSink {
 public:
  // Flushes what is buffered; the writer must not be used after.
  [[nodiscard]] virtual Result<void> Finish() = 0;
};

std::unique_ptr<EventWriter> MakeEventWriter(OutputFormat format, std::FILE* file,
                                             const Organisation& org);

// The NDJSON line of an event, without the newline: byte-identical to protobuf's
// MessageToJsonString(ToEnvelope(event, org)) with default options.
void AppendJson(const SimulatedEvent& event, const Organisation& org, std::string& out);

// The binary form of an event: its length as a varint, then the Envelope's bytes, byte-identical
// to protobuf's SerializeDelimitedTo(ToEnvelope(event, org)). The overload with scratch buffers
// reuses them between calls.
void AppendDelimited(const SimulatedEvent& event, const Organisation& org, std::string& out);
void AppendDelimited(const SimulatedEvent& event, const Organisation& org, std::string& out,
                     std::string (&scratch)[2]);

}  // namespace casewatch::simulator
