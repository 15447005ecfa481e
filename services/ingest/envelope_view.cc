#include "services/ingest/envelope_view.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/unknown_field_set.h>

#include "services/ingest/internal/payload_schema.h"

namespace casewatch::ingest {
namespace {

namespace gpb = ::google::protobuf;
using internal::FieldRole;

TimestampView TimestampOf(const gpb::Timestamp& t) { return {true, t.seconds(), t.nanos()}; }

}  // namespace

void ViewOf(const events::v1::Envelope& e, EnvelopeView& view) {
  view = EnvelopeView{};
  view.event_id = e.event_id();
  view.case_id = e.case_id();
  if (e.has_occurred_at()) view.occurred_at = TimestampOf(e.occurred_at());
  if (e.has_recorded_at()) view.recorded_at = TimestampOf(e.recorded_at());
  view.source = e.source();
  view.actor = e.actor();

  const gpb::Reflection& reflection = *e.GetReflection();
  const int number = e.payload_case();
  if (number == events::v1::Envelope::PAYLOAD_NOT_SET) {
    const gpb::UnknownFieldSet& unknown = reflection.GetUnknownFields(e);
    if (unknown.field_count() > 0) view.unknown_field = unknown.field(0).number();
    return;
  }
  view.payload = number;
  const internal::PayloadInfo& info = *internal::PayloadSchema::Get().Payload(number);
  const gpb::Message& payload =
      reflection.GetMessage(e, e.GetDescriptor()->FindFieldByNumber(number));
  const gpb::Reflection& fields = *payload.GetReflection();
  const gpb::Descriptor& descriptor = *payload.GetDescriptor();
  for (int i = 0; i < descriptor.field_count(); ++i) {
    const gpb::FieldDescriptor* field = descriptor.field(i);
    const internal::FieldInfo& slot = *info.Field(static_cast<uint32_t>(field->number()));
    switch (slot.role) {
      case FieldRole::kEnum:
        view.enums[slot.slot] = fields.GetEnumValue(payload, field);
        break;
      case FieldRole::kFlag:
        view.flags[slot.slot] = fields.GetBool(payload, field);
        break;
      case FieldRole::kText: {
        std::string scratch;  // only used for non-string representations, which we do not have
        view.texts[slot.slot] = fields.GetStringReference(payload, field, &scratch);
        break;
      }
      case FieldRole::kWhen:
        if (fields.HasField(payload, field)) {
          view.when = TimestampOf(static_cast<const gpb::Timestamp&>(fields.GetMessage(payload, field)));
        }
        break;
      case FieldRole::kNone:
        break;
    }
  }
}

}  // namespace casewatch::ingest
