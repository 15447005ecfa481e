#include "services/ingest/json_envelope.h"

#include <cstring>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>
#include <google/protobuf/timestamp.pb.h>
#include <simdjson.h>

#include "projections/calendar.h"

namespace casewatch::ingest {
namespace {

namespace gpb = ::google::protobuf;
using simdjson::dom::element;
using simdjson::dom::element_type;

static_assert(JsonEnvelopeParser::kPadding >= simdjson::SIMDJSON_PADDING);

const char* TypeName(element_type type) {
  switch (type) {
    case element_type::ARRAY: return "an array";
    case element_type::OBJECT: return "an object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE: return "a number";
    case element_type::STRING: return "a string";
    case element_type::BOOL: return "a boolean";
    case element_type::NULL_VALUE: return "null";
  }
  return "a JSON value";
}

std::string PathOf(std::string_view parent, const gpb::FieldDescriptor* field) {
  return parent.empty() ? field->name() : fmt::format("{}.{}", parent, field->name());
}

// Keys a message accepts: each field's json_name (lowerCamelCase) and its original name.
class KeyTables {
 public:
  explicit KeyTables(const gpb::Descriptor* root) { Add(root); }

  const gpb::FieldDescriptor* Find(const gpb::Descriptor* type, std::string_view key) const {
    const auto table = tables_.find(type);
    if (table == tables_.end()) return nullptr;
    const auto field = table->second.find(key);
    return field == table->second.end() ? nullptr : field->second;
  }

 private:
  void Add(const gpb::Descriptor* type) {
    if (tables_.contains(type)) return;
    auto& table = tables_[type];
    for (int i = 0; i < type->field_count(); ++i) {
      const gpb::FieldDescriptor* field = type->field(i);
      table.emplace(field->json_name(), field);
      table.emplace(field->name(), field);
    }
    for (int i = 0; i < type->field_count(); ++i) {
      if (type->field(i)->message_type() != nullptr) Add(type->field(i)->message_type());
    }
  }

  // Keys are views of the descriptors' names, which live as long as the generated pool.
  std::unordered_map<const gpb::Descriptor*,
                     std::unordered_map<std::string_view, const gpb::FieldDescriptor*>>
      tables_;
};

bool IsTimestamp(const gpb::Descriptor* type) {
  return type == gpb::Timestamp::descriptor();
}

}  // namespace

struct JsonEnvelopeParser::Impl {
  simdjson::dom::parser parser;
  std::vector<char> padded;  // the line plus padding, for Parse()
  KeyTables keys{events::v1::Envelope::descriptor()};

  Result<void> ParseDocument(std::string_view text, events::v1::Envelope& out);
  Result<void> ReadObject(simdjson::dom::object object, gpb::Message& message,
                          std::string_view path);
  Result<void> ReadField(element value, gpb::Message& message, const gpb::FieldDescriptor* field,
                         std::string_view path);
};

Result<void> JsonEnvelopeParser::Impl::ParseDocument(std::string_view text,
                                                     events::v1::Envelope& out) {
  out.Clear();
  element root;
  const auto error =
      parser.parse(reinterpret_cast<const uint8_t*>(text.data()), text.size(), false).get(root);
  if (error) {
    return InvalidArgument(fmt::format("not valid JSON: {}", simdjson::error_message(error)));
  }
  simdjson::dom::object object;
  if (root.get_object().get(object)) {
    return InvalidArgument(fmt::format("expected a JSON object, got {}", TypeName(root.type())));
  }
  return ReadObject(object, out, "");
}

Result<void> JsonEnvelopeParser::Impl::ReadObject(simdjson::dom::object object,
                                                  gpb::Message& message, std::string_view path) {
  const gpb::Descriptor* type = message.GetDescriptor();
  uint64_t seen = 0;  // field numbers are below 64 in every message of the contract
  const gpb::FieldDescriptor* payload = nullptr;
  for (const auto [key, value] : object) {
    const gpb::FieldDescriptor* field = keys.Find(type, key);
    if (field == nullptr) {
      return InvalidArgument(path.empty()
                                 ? fmt::format("unknown key \"{}\"", key)
                                 : fmt::format("unknown key \"{}\" in {}", key, path));
    }
    const uint64_t bit = uint64_t{1} << (field->number() & 63);
    if (seen & bit) {
      return InvalidArgument(
          fmt::format("duplicate key: {} is given more than once", PathOf(path, field)));
    }
    seen |= bit;
    if (value.is_null()) continue;  // null means absent
    if (field->real_containing_oneof() != nullptr) {
      if (payload != nullptr) {
        return InvalidArgument(fmt::format("two payloads: {} and {}; an event has exactly one",
                                           payload->name(), field->name()));
      }
      payload = field;
    }
    CW_TRY(ReadField(value, message, field, path));
  }
  return Ok();
}

Result<void> JsonEnvelopeParser::Impl::ReadField(element value, gpb::Message& message,
                                                 const gpb::FieldDescriptor* field,
                                                 std::string_view parent) {
  const gpb::Reflection* reflection = message.GetReflection();
  auto wrong_type = [&](const char* expected) {
    return InvalidArgument(fmt::format("{} must be {}, got {}", PathOf(parent, field), expected,
                                       TypeName(value.type())));
  };
  switch (field->cpp_type()) {
    case gpb::FieldDescriptor::CPPTYPE_STRING: {
      std::string_view text;
      if (value.get_string().get(text)) return wrong_type("a string");
      reflection->SetString(&message, field, std::string(text));
      return Ok();
    }
    case gpb::FieldDescriptor::CPPTYPE_BOOL: {
      bool flag = false;
      if (value.get_bool().get(flag)) return wrong_type("true or false");
      reflection->SetBool(&message, field, flag);
      return Ok();
    }
    case gpb::FieldDescriptor::CPPTYPE_ENUM: {
      const gpb::EnumDescriptor* enum_type = field->enum_type();
      if (value.is_string()) {
        const std::string_view name = value.get_string().value_unsafe();
        const gpb::EnumValueDescriptor* known = enum_type->FindValueByName(std::string(name));
        if (known == nullptr) {
          return InvalidArgument(fmt::format("{}: \"{}\" is not a {} value", PathOf(parent, field),
                                             name, enum_type->name()));
        }
        reflection->SetEnumValue(&message, field, known->number());
        return Ok();
      }
      int64_t number = 0;
      if (value.get_int64().get(number)) {
        return wrong_type(fmt::format("a {} name or an integer", enum_type->name()).c_str());
      }
      if (number < std::numeric_limits<int32_t>::min() ||
          number > std::numeric_limits<int32_t>::max()) {
        return InvalidArgument(
            fmt::format("{}: enum value {} is out of range", PathOf(parent, field), number));
      }
      // Unknown numbers are kept (proto3 enums are open) and rejected by ValidateEnvelope.
      reflection->SetEnumValue(&message, field, static_cast<int>(number));
      return Ok();
    }
    case gpb::FieldDescriptor::CPPTYPE_MESSAGE: {
      if (IsTimestamp(field->message_type())) {
        std::string_view text;
        if (value.get_string().get(text)) return wrong_type("an RFC 3339 timestamp string");
        Result<Instant> instant = ParseInstant(text);
        if (!instant) {
          return InvalidArgument(
              fmt::format("{}: {}", PathOf(parent, field), instant.error().message));
        }
        auto* timestamp =
            static_cast<gpb::Timestamp*>(reflection->MutableMessage(&message, field));
        timestamp->set_seconds(instant.value().seconds);
        timestamp->set_nanos(instant.value().nanos);
        return Ok();
      }
      simdjson::dom::object object;
      if (value.get_object().get(object)) return wrong_type("an object");
      return ReadObject(object, *reflection->MutableMessage(&message, field),
                        PathOf(parent, field));
    }
    default:
      return InvalidArgument(fmt::format("{} has a type the contract does not use",
                                         PathOf(parent, field)));
  }
}

JsonEnvelopeParser::JsonEnvelopeParser() : impl_(std::make_unique<Impl>()) {}
JsonEnvelopeParser::~JsonEnvelopeParser() = default;

Result<void> JsonEnvelopeParser::Parse(std::string_view line, events::v1::Envelope& out) {
  auto& padded = impl_->padded;
  if (padded.size() < line.size() + kPadding) padded.resize(line.size() + kPadding);
  std::memcpy(padded.data(), line.data(), line.size());
  std::memset(padded.data() + line.size(), 0, kPadding);
  return impl_->ParseDocument(std::string_view(padded.data(), line.size()), out);
}

Result<void> JsonEnvelopeParser::ParsePadded(std::string_view line, events::v1::Envelope& out) {
  return impl_->ParseDocument(line, out);
}

}  // namespace casewatch::ingest
