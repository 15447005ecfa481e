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
          view.when =
              TimestampOf(static_cast<const gpb::Timestamp&>(fields.GetMessage(payload, field)));
        }
        break;
      case FieldRole::kNone:
        break;
    }
  }
}

void ToEnvelope(const EnvelopeView& view, events::v1::Envelope& e) {
  e.Clear();
  e.set_event_id(std::string(view.event_id));
  e.set_case_id(std::string(view.case_id));
  auto set_time = [](const TimestampView& t, gpb::Timestamp* out) {
    out->set_seconds(t.seconds);
    out->set_nanos(t.nanos);
  };
  if (view.occurred_at.present) set_time(view.occurred_at, e.mutable_occurred_at());
  if (view.recorded_at.present) set_time(view.recorded_at, e.mutable_recorded_at());
  e.set_source(std::string(view.source));
  e.set_actor(std::string(view.actor));
  const internal::PayloadInfo* info =
      internal::PayloadSchema::Get().Payload(static_cast<uint32_t>(view.payload));
  if (info == nullptr) return;
  const gpb::Reflection& reflection = *e.GetReflection();
  gpb::Message& payload =
      *reflection.MutableMessage(&e, e.GetDescriptor()->FindFieldByNumber(view.payload));
  const gpb::Reflection& fields = *payload.GetReflection();
  const gpb::Descriptor& descriptor = *payload.GetDescriptor();
  for (int i = 0; i < descriptor.field_count(); ++i) {
    const gpb::FieldDescriptor* field = descriptor.field(i);
    const internal::FieldInfo& slot = *info->Field(static_cast<uint32_t>(field->number()));
    switch (slot.role) {
      case FieldRole::kEnum:
        fields.SetEnumValue(&payload, field, view.enums[slot.slot]);
        break;
      case FieldRole::kFlag:
        fields.SetBool(&payload, field, view.flags[slot.slot]);
        break;
      case FieldRole::kText:
        fields.SetString(&payload, field, std::string(view.texts[slot.slot]));
        break;
      case FieldRole::kWhen:
        if (view.when.present) {
          set_time(view.when, static_cast<gpb::Timestamp*>(fields.MutableMessage(&payload, field)));
        }
        break;
      case FieldRole::kNone:
        break;
    }
  }
}

}  // namespace casewatch::ingest
