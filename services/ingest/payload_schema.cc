#include "services/ingest/internal/payload_schema.h"

#include <google/protobuf/descriptor.h>

#include <stdexcept>

#include "casewatch/events/v1/events.pb.h"
#include "projections/case_event.h"

namespace casewatch::ingest::internal {
namespace {

namespace gpb = ::google::protobuf;
namespace pb = ::casewatch::events::v1;

uint8_t EventTypeOfPayload(int number) {
  if (number == pb::Envelope::kObligationMissed) {
    return static_cast<uint8_t>(EventType::kObligationMissed);
  }
  return static_cast<uint8_t>(number - pb::Envelope::kCaseOpened);
}
static_assert(pb::Envelope::kFurtherOffenceRecorded - pb::Envelope::kCaseOpened ==
              static_cast<int>(EventType::kFurtherOffenceRecorded));

// Startup configuration errors: the schema changed in a way this code does not handle.
[[noreturn]] void Unsupported(const std::string& what) {
  throw std::logic_error("events.proto: " + what + " is not supported by the ingest schema");
}

}  // namespace

PayloadSchema::PayloadSchema() {
  const gpb::Descriptor* envelope = pb::Envelope::descriptor();
  const gpb::OneofDescriptor* oneof = envelope->FindOneofByName("payload");
  enums_.reserve(32);  // pointers into it are handed out below
  payloads_.reserve(static_cast<size_t>(oneof->field_count()));
  auto enum_info = [&](const gpb::EnumDescriptor* e) -> const EnumInfo* {
    for (const EnumInfo& known : enums_) {
      if (known.type_name == e->name()) return &known;
    }
    EnumInfo info{e->name(), e->FindValueByNumber(0)->name(), 0};
    for (int i = 0; i < e->value_count(); ++i) {
      const int n = e->value(i)->number();
      if (n < 0 || n >= 64) Unsupported("enum value " + e->value(i)->name());
      info.valid_mask |= uint64_t{1} << n;
      info.values.emplace_back(e->value(i)->name(), n);
    }
    if (enums_.size() == enums_.capacity()) Unsupported("more than 32 enums");
    enums_.push_back(std::move(info));
    return &enums_.back();
  };
  for (int i = 0; i < oneof->field_count(); ++i) {
    const gpb::FieldDescriptor* field = oneof->field(i);
    PayloadInfo payload;
    payload.number = field->number();
    payload.name = field->name();
    payload.json_name = field->json_name();
    payload.event_type = EventTypeOfPayload(field->number());
    const gpb::Descriptor* message = field->message_type();
    uint8_t enums = 0, flags = 0, texts = 0, whens = 0;
    for (int f = 0; f < message->field_count(); ++f) {
      const gpb::FieldDescriptor* member = message->field(f);
      if (member->number() >= static_cast<int>(payload.fields.size()) || member->is_repeated()) {
        Unsupported(payload.name + "." + member->name());
      }
      FieldInfo& info = payload.fields[static_cast<size_t>(member->number())];
      info.name = member->name();
      switch (member->type()) {
        case gpb::FieldDescriptor::TYPE_ENUM:
          if (enums == 2) Unsupported(payload.name + " with three enums");
          info =
              FieldInfo{FieldRole::kEnum, enums++, member->name(), enum_info(member->enum_type())};
          break;
        case gpb::FieldDescriptor::TYPE_BOOL:
          if (flags == 2) Unsupported(payload.name + " with three bools");
          info = FieldInfo{FieldRole::kFlag, flags++, member->name()};
          break;
        case gpb::FieldDescriptor::TYPE_STRING:
          if (texts == 4) Unsupported(payload.name + " with five strings");
          info = FieldInfo{FieldRole::kText, texts++, member->name(), nullptr,
                           member->name() == "appointment_id"};
          break;
        case gpb::FieldDescriptor::TYPE_MESSAGE:
          if (member->message_type()->full_name() != "google.protobuf.Timestamp" || whens == 1) {
            Unsupported(payload.name + "." + member->name());
          }
          info = FieldInfo{FieldRole::kWhen, whens++, member->name()};
          break;
        default:
          Unsupported(payload.name + "." + member->name());
      }
      info.json_name = member->json_name();
      info.allocation_name = info.role == FieldRole::kText &&
                             (info.name == "region" || info.name == "pdu" ||
                              info.name == "team" || info.name == "offender_manager");
      payload.max_field = std::max(payload.max_field, member->number());
    }
    payloads_.push_back(std::move(payload));
  }
  for (const PayloadInfo& payload : payloads_) {
    if (payload.number >= static_cast<int>(by_number_.size())) Unsupported(payload.name);
    by_number_[static_cast<size_t>(payload.number)] = &payload;
  }
}

}  // namespace casewatch::ingest::internal
