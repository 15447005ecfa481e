#include "services/ingest/validation.h"

#include <fmt/format.h>

#include <array>
#include <string>
#include <string_view>

#include "services/ingest/internal/payload_schema.h"

namespace casewatch::ingest {
namespace {

namespace pb = ::casewatch::events::v1;

constexpr size_t kMaxEventIdBytes = 128;
constexpr size_t kMaxCaseIdBytes = 64;
constexpr int64_t kMaxFutureSeconds = 24 * 60 * 60;
constexpr size_t kMaxNameBytes = 200;

// Quotes `text` for a message, escaping bytes that would not print and shortening long values.
std::string Quoted(std::string_view text) {
  constexpr size_t kMaxShown = 80;
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > kMaxShown) out += "...";
  out += '"';
  return out;
}

// [A-Za-z0-9_-], as a table: this runs for every byte of every case id.
constexpr std::array<bool, 256> kCaseIdChars = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) {
    table[c] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
  }
  return table;
}();

bool IsCaseIdChar(char c) { return kCaseIdChars[static_cast<unsigned char>(c)]; }

// A name of the organisation (region, delivery unit, team, practitioner): at most 200 bytes of
// UTF-8 (the decoders check the encoding) with no control character (U+0000-U+001F,
// U+007F-U+009F). A name is shown, filtered on and counted by: a NUL or line break in one could
// make two allocations look alike, or hide in a spreadsheet or a log line.
Result<void> CheckName(std::string_view name, std::string_view payload, std::string_view field) {
  if (name.size() > kMaxNameBytes) {
    return InvalidArgument(fmt::format("{}.{} is {} bytes long; at most {} are allowed", payload,
                                       field, name.size(), kMaxNameBytes));
  }
  for (size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    const bool c0 = c < 0x20 || c == 0x7f;
    const bool c1 = c == 0xc2 && i + 1 < name.size() &&
                    static_cast<unsigned char>(name[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(name[i + 1]) <= 0x9f;
    if (c0 || c1) {
      return InvalidArgument(fmt::format(
          "{}.{} {} has a control character (U+{:04X}); names may not contain any", payload,
          field, Quoted(name), c1 ? static_cast<unsigned char>(name[i + 1]) : c));
    }
  }
  return Ok();
}

Result<void> CheckTimestamp(const TimestampView& t, std::string_view path) {
  const Instant instant{t.seconds, t.nanos};
  if (IsValidInstant(instant)) return Ok();
  if (t.nanos < 0 || t.nanos > 999'999'999) {
    return InvalidArgument(fmt::format("{} has nanos {}, outside [0, 999999999]", path, t.nanos));
  }
  return InvalidArgument(fmt::format(
      "{} has seconds {}, outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59Z", path, t.seconds));
}

// Payload fields: every enum is required (neither 0, UNSPECIFIED, nor a number the schema lacks),
// appointment ids must not be empty, and a timestamp must be in range.
Result<void> CheckPayload(const EnvelopeView& e, const ValidationOptions& options) {
  const internal::PayloadInfo* payload =
      internal::PayloadSchema::Get().Payload(static_cast<uint32_t>(e.payload));
  if (payload == nullptr) {
    // A newer publisher's payload arrives over binary as an unknown field where the oneof would be.
    if (e.unknown_field != 0) {
      return InvalidArgument(fmt::format("unknown payload (field {})", e.unknown_field));
    }
    return InvalidArgument("payload is missing");
  }
  if (options.live && payload->number == pb::Envelope::kObligationMissed) {
    return InvalidArgument(
        "obligation_missed is a derived event written by the engine; publishers may not send it");
  }
  for (int number = 1; number <= payload->max_field; ++number) {
    const internal::FieldInfo& field = payload->fields[static_cast<size_t>(number)];
    switch (field.role) {
      case internal::FieldRole::kEnum: {
        const int32_t value = e.enums[field.slot];
        if (value == 0) {
          return InvalidArgument(fmt::format("{}.{} is {}", payload->name, field.name,
                                             field.enum_info->unspecified_name));
        }
        if (!field.enum_info->IsKnown(value)) {
          return InvalidArgument(fmt::format("{}.{}: enum value {} is not a known {}",
                                             payload->name, field.name, value,
                                             field.enum_info->type_name));
        }
        break;
      }
      case internal::FieldRole::kText:
        if (field.required_text && e.texts[field.slot].empty()) {
          return InvalidArgument(fmt::format("{}.{} is empty", payload->name, field.name));
        }
        if (field.allocation_name) {
          CW_TRY(CheckName(e.texts[field.slot], payload->name, field.name));
        }
        break;
      case internal::FieldRole::kWhen:
        if (e.when.present) {
          CW_TRY(CheckTimestamp(e.when, fmt::format("{}.{}", payload->name, field.name)));
        }
        break;
      case internal::FieldRole::kFlag:
      case internal::FieldRole::kNone:
        break;
    }
  }
  return Ok();
}

}  // namespace

Result<void> ValidateEnvelope(const pb::Envelope& envelope, const ValidationOptions& options) {
  EnvelopeView view;
  ViewOf(envelope, view);
  return ValidateEnvelope(view, options);
}

Result<void> ValidateEnvelope(const EnvelopeView& e, const ValidationOptions& options) {
  if (e.event_id.empty()) return InvalidArgument("event_id is missing");
  if (e.event_id.size() > kMaxEventIdBytes) {
    return InvalidArgument(fmt::format("event_id is {} bytes long; at most {} are allowed",
                                       e.event_id.size(), kMaxEventIdBytes));
  }
  if (e.case_id.empty()) return InvalidArgument("case_id is missing");
  if (e.case_id.size() > kMaxCaseIdBytes) {
    return InvalidArgument(fmt::format("case_id is {} bytes long; at most {} are allowed",
                                       e.case_id.size(), kMaxCaseIdBytes));
  }
  for (char c : e.case_id) {
    if (!IsCaseIdChar(c)) {
      return InvalidArgument(
          fmt::format("case_id {} has characters outside [A-Za-z0-9_-]", Quoted(e.case_id)));
    }
  }
  if (!e.occurred_at.present) return InvalidArgument("occurred_at is missing");
  CW_TRY(CheckTimestamp(e.occurred_at, "occurred_at"));
  if (e.recorded_at.present) {
    CW_TRY(CheckTimestamp(e.recorded_at, "recorded_at"));
  }
  if (options.live) {
    const Instant occurred{e.occurred_at.seconds, e.occurred_at.nanos};
    const Instant limit{options.received_at.seconds + kMaxFutureSeconds, options.received_at.nanos};
    if (occurred > limit) {
      return InvalidArgument(
          fmt::format("occurred_at {} is more than 24 hours after the receive time {}",
                      FormatInstant(occurred), FormatInstant(options.received_at)));
    }
  }
  return CheckPayload(e, options);
}

}  // namespace casewatch::ingest
