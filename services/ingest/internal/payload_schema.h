#pragma once
// PayloadSchema: where each payload message keeps its fields, derived once from the protobuf
// descriptors of events.proto (so there is no second, hand-kept copy of the schema). Read-only
// after construction; safe to share across threads.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace casewatch::ingest::internal {

enum class FieldRole : uint8_t { kNone, kEnum, kFlag, kText, kWhen };

struct EnumInfo {
  std::string type_name;         // e.g. "RoshLevel"
  std::string unspecified_name;  // e.g. "ROSH_LEVEL_UNSPECIFIED"
  uint64_t valid_mask = 0;       // bit n set when n is a declared value (numbers 0-63)
  std::vector<std::pair<std::string, int32_t>> values;  // name -> number

  // The number of a value name, or -1.
  int32_t NumberOf(std::string_view name) const {
    for (const auto& [value_name, number] : values) {
      if (value_name == name) return number;
    }
    return -1;
  }

  bool IsKnown(int32_t value) const {
    return value >= 0 && value < 64 && (valid_mask >> value & 1) != 0;
  }
};

struct FieldInfo {
  FieldRole role = FieldRole::kNone;
  uint8_t slot = 0;
  std::string name;  // e.g. "level"
  const EnumInfo* enum_info = nullptr;
  bool required_text = false;  // appointment_id
  std::string json_name;       // lowerCamelCase, e.g. "appointmentId"
  bool allocation_name = false;  // region, pdu, team, offender_manager: a name (CheckName)
};

struct PayloadInfo {
  int number = 0;                     // the oneof field number in Envelope
  std::string name;                   // the oneof field name, e.g. "rosh_classified"
  std::string json_name;              // e.g. "roshClassified"
  uint8_t event_type = 0;             // casewatch::EventType
  std::array<FieldInfo, 8> fields{};  // by field number; index 0 unused
  int max_field = 0;

  const FieldInfo* Field(uint32_t field) const {
    return field >= 1 && field <= static_cast<uint32_t>(max_field) ? &fields[field] : nullptr;
  }
};

class PayloadSchema {
 public:
  static const PayloadSchema& Get() {
    static const PayloadSchema schema;
    return schema;
  }

  // The payload with this oneof field number, or nullptr.
  const PayloadInfo* Payload(uint32_t number) const {
    return number < by_number_.size() ? by_number_[number] : nullptr;
  }
  const std::vector<PayloadInfo>& payloads() const { return payloads_; }

 private:
  PayloadSchema();

  std::vector<PayloadInfo> payloads_;
  std::vector<EnumInfo> enums_;
  std::array<const PayloadInfo*, 64> by_number_{};
};

}  // namespace casewatch::ingest::internal
