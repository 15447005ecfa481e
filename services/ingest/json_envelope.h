#pragma once
// NDJSON → EnvelopeView (or Envelope), following protobuf's JSON mapping as docs/rules.md section 2
// fixes it: lowerCamelCase and original field names, `null` = absent, enums by name or number, RFC
// 3339 timestamps. Stricter than protobuf in a few places (duplicate keys); see README.md.

#include <memory>
#include <string_view>

#include "base/result.h"
#include "casewatch/events/v1/events.pb.h"
#include "services/ingest/envelope_view.h"

namespace casewatch::ingest {

// Parses JSON lines with simdjson. Owns reusable parse buffers, so keep one per thread and reuse
// it; not thread-safe.
class JsonEnvelopeParser {
 public:
  JsonEnvelopeParser();
  ~JsonEnvelopeParser();
  JsonEnvelopeParser(const JsonEnvelopeParser&) = delete;
  JsonEnvelopeParser& operator=(const JsonEnvelopeParser&) = delete;

  // Parses one JSON object (one line, without its line end) into `out`, which is cleared first
  // and whose strings then point into this parser's buffers: valid until the next call. Only the
  // JSON mapping is checked here; ValidateEnvelope applies the contract's rules.
  [[nodiscard]] Result<void> Parse(std::string_view line, EnvelopeView& out);

  // As Parse, for text already followed by at least kPadding readable bytes (any content):
  // skips the copy into the parser's own padded buffer.
  static constexpr size_t kPadding = 64;
  [[nodiscard]] Result<void> ParsePadded(std::string_view line, EnvelopeView& out);

  // As Parse, into a protobuf message (which owns its strings).
  [[nodiscard]] Result<void> Parse(std::string_view line, events::v1::Envelope& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace casewatch::ingest
