#include "services/ingest/testing/oracles.h"

#include <fmt/format.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include "services/ingest/envelope_view.h"
#include "services/ingest/wire_decoder.h"

namespace casewatch::ingest::testing {
namespace {

namespace pb = ::casewatch::events::v1;

std::string Describe(const EnvelopeView& v) {
  auto ts = [](const TimestampView& t) {
    return t.present ? fmt::format("{}.{}", t.seconds, t.nanos) : std::string("-");
  };
  return fmt::format(
      "id={} case={} occ={} rec={} src={} actor={} payload={} enums={},{} "
      "flags={},{} texts={}|{}|{}|{} when={} unknown={}",
      v.event_id, v.case_id, ts(v.occurred_at), ts(v.recorded_at), v.source, v.actor, v.payload,
      v.enums[0], v.enums[1], v.flags[0], v.flags[1], v.texts[0], v.texts[1], v.texts[2],
      v.texts[3], ts(v.when), v.payload == 0 ? v.unknown_field : 0);
}

}  // namespace

std::string WireDisagreement(std::string_view bytes) {
  const google::protobuf::LogSilencer silence;
  pb::Envelope parsed;
  const bool protobuf_ok = parsed.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  EnvelopeView decoded;
  const bool ours_ok = DecodeEnvelope(bytes, decoded).has_value();
  if (protobuf_ok != ours_ok) {
    return fmt::format("protobuf {} but DecodeEnvelope {}", protobuf_ok ? "accepts" : "rejects",
                       ours_ok ? "accepts" : "rejects");
  }
  if (!ours_ok) return "";
  EnvelopeView expected;
  ViewOf(parsed, expected);
  const std::string a = Describe(expected), b = Describe(decoded);
  return a == b ? "" : "protobuf: " + a + "\nours:     " + b;
}

std::string JsonDisagreement(JsonEnvelopeParser& parser, std::string_view line) {
  pb::Envelope ours;
  if (!parser.Parse(line, ours)) return "";
  const google::protobuf::LogSilencer silence;
  pb::Envelope theirs;
  if (!google::protobuf::util::JsonStringToMessage(std::string(line), &theirs).ok()) return "";
  if (google::protobuf::util::MessageDifferencer::Equals(ours, theirs)) return "";
  return "ours:   " + ours.ShortDebugString() + "\ntheirs: " + theirs.ShortDebugString();
}

}  // namespace casewatch::ingest::testing
