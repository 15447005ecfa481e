#include "services/ingest/json_envelope.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <cstring>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include "projections/calendar.h"
#include "services/ingest/internal/payload_schema.h"

namespace casewatch::ingest {
namespace {

using internal::FieldRole;
using simdjson::dom::element;
using simdjson::dom::element_type;

static_assert(JsonEnvelopeParser::kPadding >= simdjson::SIMDJSON_PADDING);

const char* TypeName(element_type type) {
  switch (type) {
    case element_type::ARRAY:
      return "an array";
    case element_type::OBJECT:
      return "an object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "a number";
    case element_type::STRING:
      return "a string";
    case element_type::BOOL:
      return "a boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "a JSON value";
}

Error WrongType(std::string_view path, std::string_view expected, element value) {
  return InvalidArgument(
      fmt::format("{} must be {}, got {}", path, expected, TypeName(value.type())));
}

// Envelope fields other than the payload, by their field number.
enum class TopField : int { kEventId = 1, kCaseId, kOccurredAt, kRecordedAt, kSource, kActor };

struct TopKey {
  int number;  // Envelope field number: a TopField or a payload's oneof number
  std::string_view name;
  const internal::PayloadInfo* payload = nullptr;
};

// The keys the JSON mapping accepts (lowerCamelCase and original names), from the schema.
class KeyTables {
 public:
  KeyTables() {
    static constexpr std::pair<std::string_view, std::string_view> kTop[] = {
        {"event_id", "eventId"},       {"case_id", "caseId"}, {"occurred_at", "occurredAt"},
        {"recorded_at", "recordedAt"}, {"source", "source"},  {"actor", "actor"}};
    for (int i = 0; i < 6; ++i) {
      const TopKey key{i + 1, kTop[i].first};
      top_.emplace(kTop[i].first, key);
      top_.emplace(kTop[i].second, key);
    }
    for (const internal::PayloadInfo& payload : internal::PayloadSchema::Get().payloads()) {
      const TopKey key{payload.number, payload.name, &payload};
      top_.emplace(payload.name, key);
      top_.emplace(payload.json_name, key);
      auto& fields = payload_fields_[payload.number];
      for (int n = 1; n <= payload.max_field; ++n) {
        const internal::FieldInfo& field = payload.fields[static_cast<size_t>(n)];
        if (field.role == FieldRole::kNone) continue;
        fields.emplace(field.name, n);
        fields.emplace(field.json_name, n);
      }
    }
  }

  const TopKey* Top(std::string_view key) const {
    const auto it = top_.find(key);
    return it == top_.end() ? nullptr : &it->second;
  }
  // The field number of a payload's key, or 0.
  int PayloadField(int payload, std::string_view key) const {
    const auto& fields = payload_fields_.at(payload);
    const auto it = fields.find(key);
    return it == fields.end() ? 0 : it->second;
  }

 private:
  // Keys view the schema's strings or literals, which outlive the tables.
  std::unordered_map<std::string_view, TopKey> top_;
  std::unordered_map<int, std::unordered_map<std::string_view, int>> payload_fields_;
};

Result<void> ReadTimestamp(element value, std::string_view path, TimestampView& out) {
  std::string_view text;
  if (value.get_string().get(text)) return WrongType(path, "an RFC 3339 timestamp string", value);
  Result<Instant> instant = ParseInstant(text);
  if (!instant) return InvalidArgument(fmt::format("{}: {}", path, instant.error().message));
  out = TimestampView{true, instant.value().seconds, instant.value().nanos};
  return Ok();
}

}  // namespace

struct JsonEnvelopeParser::Impl {
  simdjson::dom::parser parser;
  std::vector<char> padded;  // the line plus padding, for Parse()
  KeyTables keys;

  Result<void> ParseDocument(std::string_view text, EnvelopeView& out);
  Result<void> ReadPayload(simdjson::dom::object object, const internal::PayloadInfo& payload,
                           EnvelopeView& out);
};

Result<void> JsonEnvelopeParser::Impl::ParseDocument(std::string_view json, EnvelopeView& out) {
  out = EnvelopeView{};
  element root;
  const auto error =
      parser.parse(reinterpret_cast<const uint8_t*>(json.data()), json.size(), false).get(root);
  if (error) {
    return InvalidArgument(fmt::format("not valid JSON: {}", simdjson::error_message(error)));
  }
  simdjson::dom::object object;
  if (root.get_object().get(object)) {
    return InvalidArgument(fmt::format("expected a JSON object, got {}", TypeName(root.type())));
  }
  uint64_t seen = 0;  // by field number; every Envelope field number is below 64
  const internal::PayloadInfo* payload = nullptr;
  for (const auto [key, value] : object) {
    const TopKey* field = keys.Top(key);
    if (field == nullptr) return InvalidArgument(fmt::format("unknown key \"{}\"", key));
    const uint64_t bit = uint64_t{1} << field->number;
    if (seen & bit) {
      return InvalidArgument(fmt::format("duplicate key: {} is given more than once", field->name));
    }
    seen |= bit;
    if (value.is_null()) continue;  // null means absent
    if (field->payload != nullptr) {
      if (payload != nullptr) {
        return InvalidArgument(fmt::format("two payloads: {} and {}; an event has exactly one",
                                           payload->name, field->payload->name));
      }
      payload = field->payload;
      simdjson::dom::object fields;
      if (value.get_object().get(fields)) return WrongType(payload->name, "an object", value);
      out.payload = payload->number;
      CW_TRY(ReadPayload(fields, *payload, out));
      continue;
    }
    switch (static_cast<TopField>(field->number)) {
      case TopField::kOccurredAt: {
        CW_TRY(ReadTimestamp(value, field->name, out.occurred_at));
        continue;
      }
      case TopField::kRecordedAt: {
        CW_TRY(ReadTimestamp(value, field->name, out.recorded_at));
        continue;
      }
      case TopField::kEventId:
      case TopField::kCaseId:
      case TopField::kSource:
      case TopField::kActor:
        break;
    }
    std::string_view text;
    if (value.get_string().get(text)) return WrongType(field->name, "a string", value);
    switch (static_cast<TopField>(field->number)) {
      case TopField::kEventId:
        out.event_id = text;
        break;
      case TopField::kCaseId:
        out.case_id = text;
        break;
      case TopField::kSource:
        out.source = text;
        break;
      default:
        out.actor = text;
        break;
    }
  }
  return Ok();
}

Result<void> JsonEnvelopeParser::Impl::ReadPayload(simdjson::dom::object object,
                                                   const internal::PayloadInfo& payload,
                                                   EnvelopeView& out) {
  uint64_t seen = 0;
  for (const auto [key, value] : object) {
    const int number = keys.PayloadField(payload.number, key);
    if (number == 0) {
      return InvalidArgument(fmt::format("unknown key \"{}\" in {}", key, payload.name));
    }
    const internal::FieldInfo& field = payload.fields[static_cast<size_t>(number)];
    const std::string path = fmt::format("{}.{}", payload.name, field.name);
    const uint64_t bit = uint64_t{1} << number;
    if (seen & bit) {
      return InvalidArgument(fmt::format("duplicate key: {} is given more than once", path));
    }
    seen |= bit;
    if (value.is_null()) continue;
    switch (field.role) {
      case FieldRole::kText: {
        std::string_view text;
        if (value.get_string().get(text)) return WrongType(path, "a string", value);
        out.texts[field.slot] = text;
        break;
      }
      case FieldRole::kFlag: {
        bool flag = false;
        if (value.get_bool().get(flag)) return WrongType(path, "true or false", value);
        out.flags[field.slot] = flag;
        break;
      }
      case FieldRole::kEnum: {
        const internal::EnumInfo& info = *field.enum_info;
        if (value.is_string()) {
          const std::string_view name = value.get_string().value_unsafe();
          const int32_t known = info.NumberOf(name);
          if (known < 0) {
            return InvalidArgument(
                fmt::format("{}: \"{}\" is not a {} value", path, name, info.type_name));
          }
          out.enums[field.slot] = known;
          break;
        }
        int64_t n = 0;
        if (value.get_int64().get(n)) {
          return WrongType(path, fmt::format("a {} name or an integer", info.type_name), value);
        }
        if (n < std::numeric_limits<int32_t>::min() || n > std::numeric_limits<int32_t>::max()) {
          return InvalidArgument(fmt::format("{}: enum value {} is out of range", path, n));
        }
        // Unknown numbers are kept (proto3 enums are open) and rejected by ValidateEnvelope.
        out.enums[field.slot] = static_cast<int32_t>(n);
        break;
      }
      case FieldRole::kWhen: {
        CW_TRY(ReadTimestamp(value, path, out.when));
        break;
      }
      case FieldRole::kNone:
        break;
    }
  }
  return Ok();
}

JsonEnvelopeParser::JsonEnvelopeParser() : impl_(std::make_unique<Impl>()) {}
JsonEnvelopeParser::~JsonEnvelopeParser() = default;

Result<void> JsonEnvelopeParser::Parse(std::string_view line, EnvelopeView& out) {
  auto& padded = impl_->padded;
  if (padded.size() < line.size() + kPadding) padded.resize(line.size() + kPadding);
  std::memcpy(padded.data(), line.data(), line.size());
  std::memset(padded.data() + line.size(), 0, kPadding);
  return impl_->ParseDocument(std::string_view(padded.data(), line.size()), out);
}

Result<void> JsonEnvelopeParser::ParsePadded(std::string_view line, EnvelopeView& out) {
  return impl_->ParseDocument(line, out);
}

Result<void> JsonEnvelopeParser::Parse(std::string_view line, events::v1::Envelope& out) {
  EnvelopeView view;
  CW_TRY(Parse(line, view));
  ToEnvelope(view, out);
  return Ok();
}

}  // namespace casewatch::ingest
