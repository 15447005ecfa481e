// DecodeEnvelope against protobuf's own parser: for hand-made edge cases and many random
// mutations of valid records, both must accept or reject the same bytes, and where they accept,
// give the same view.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>

#include "services/ingest/envelope_view.h"
#include "services/ingest/internal/payload_schema.h"
#include "services/ingest/testing/oracles.h"
#include "services/ingest/wire_decoder.h"

namespace casewatch::ingest {
namespace {

namespace pb = ::casewatch::events::v1;

std::string Disagreement(const std::string& bytes) { return testing::WireDisagreement(bytes); }

std::vector<pb::Envelope> Samples() {
  std::vector<pb::Envelope> out;
  pb::Envelope base;
  base.set_event_id("e-000001");
  base.set_case_id("N13-00042");
  base.mutable_occurred_at()->set_seconds(1364895000);
  base.mutable_occurred_at()->set_nanos(123);
  base.mutable_recorded_at()->set_seconds(1364895600);
  base.set_source("delius");
  base.set_actor("om-117");
  {
    pb::Envelope e = base;
    auto* p = e.mutable_case_opened();
    p->set_case_type(pb::CASE_TYPE_LICENCE);
    p->set_region("North East");
    p->set_pdu("Sunderland");
    p->set_team("SUN-2");
    p->set_offender_manager("om-117");
    p->set_victim_contact_required(true);
    p->mutable_sentence_date()->set_seconds(1364000000);
    out.push_back(e);
  }
  {
    pb::Envelope e = base;
    e.mutable_breach_instigated()->set_kind(pb::BREACH_KIND_RECALL);
    e.mutable_breach_instigated()->set_reason(pb::BREACH_REASON_RISK_ESCALATION);
    out.push_back(e);
  }
  {
    pb::Envelope e = base;
    e.mutable_absence_judged()->set_appointment_id("a-17");
    e.mutable_absence_judged()->set_acceptable(true);
    out.push_back(e);
  }
  {
    pb::Envelope e = base;
    e.mutable_pre_sentence_report_completed()->set_report_type(pb::REPORT_TYPE_WRITTEN);
    e.mutable_pre_sentence_report_completed()->set_includes_lor(true);
    out.push_back(e);
  }
  {
    pb::Envelope e = base;
    e.mutable_significant_change_recorded()->set_risk_increased(true);
    e.mutable_significant_change_recorded()->set_description("moved in with a partner — £ é");
    out.push_back(e);
  }
  {
    pb::Envelope e = base;
    e.mutable_obligation_missed()->set_indicator("home_visit_repeat");
    e.mutable_obligation_missed()->mutable_due()->set_seconds(1365000000);
    out.push_back(e);
  }
  {
    pb::Envelope e = base;
    e.mutable_home_visit_completed();
    out.push_back(e);
  }
  return out;
}

std::string Hex(const std::string& bytes) {
  std::string out;
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

// Raw wire pieces for hand-made cases.
std::string Varint(uint64_t v) {
  std::string out;
  do {
    uint8_t byte = v & 0x7f;
    v >>= 7;
    if (v) byte |= 0x80;
    out += static_cast<char>(byte);
  } while (v);
  return out;
}
std::string Tag(uint32_t field, uint32_t wire) { return Varint(field << 3 | wire); }
std::string Len(uint32_t field, const std::string& bytes) {
  return Tag(field, 2) + Varint(bytes.size()) + bytes;
}

TEST(WireDecoder, AgreesWithProtobufOnValidRecords) {
  for (const pb::Envelope& e : Samples()) {
    EXPECT_EQ(Disagreement(e.SerializeAsString()), "") << e.ShortDebugString();
  }
}

TEST(WireDecoder, AgreesWithProtobufOnMergesRepeatsAndUnknownFields) {
  const std::string valid = Samples()[1].SerializeAsString();
  const std::string rosh = Len(17, Tag(1, 0) + Varint(3));
  const std::vector<std::string> cases = {
      valid + Len(1, "e-2"),                                    // last event_id wins
      valid + Len(3, Tag(2, 0) + Varint(7)),                    // occurred_at merges: nanos only
      valid + rosh,                                             // another oneof member replaces
      valid + Len(26, Tag(2, 0) + Varint(1)),                   // the same member merges
      valid + Tag(1, 0) + Varint(5),                            // event_id with the wrong wire type
      valid + Tag(99, 5) + "abcd",                              // unknown fixed32
      valid + Tag(98, 1) + "abcdefgh",                          // unknown fixed64
      valid + Tag(97, 3) + Tag(1, 0) + Varint(1) + Tag(97, 4),  // unknown group
      valid + Tag(97, 3) + Tag(1, 0) + Varint(1) + Tag(96, 4),  // mismatched end group
      valid + Tag(97, 4),                                       // stray end group
      valid + Tag(5, 6),                                        // wire type 6
      valid + std::string("\x00", 1),                           // tag 0
      Len(1, "e") + Len(2, "C") + Len(57, "x"),                 // unknown payload
      Len(1, "\xff\xfe") + rosh,                                // invalid UTF-8
      Len(2, "ok") + Len(22, Len(1, "\xc3\x28")),               // invalid UTF-8 in a payload
      Len(17, Tag(1, 0) + std::string(10, '\xff') + "\x01"),    // 11-byte varint
      Len(17, Tag(1, 0) + std::string(9, '\xff') + "\x01"),     // 10-byte varint, enum truncated
      Len(3, Tag(1, 0) + Varint(static_cast<uint64_t>(-5))),    // negative seconds
      Tag(1, 2) + Varint(100) + "short",                        // length past the end
      std::string("\x80\x80\x80\x80\x80\x01", 6),               // 6-byte tag
      "",                                                       // empty
      // Length prefixes as protobuf reads them: at most 5 bytes, below 2^31 - 16. The first is
      // what wire_decoder_fuzz found: a 6-byte (over-long) length of 0, which protobuf rejects.
      std::string("\x0a\x80\x80\x80\x80\x80\x00\x80\x80\x80\x80\x02\xaf\x30\x1a\x06\x08\x90\xf4\x8e"
                  "\x8f\x05\x62\x02\x08\x02",
                  26),
      Tag(1, 2) + std::string("\x80\x80\x80\x80\x80\x00", 6),    // 6-byte length
      Tag(1, 2) + std::string("\x80\x80\x80\x80\x08", 5),        // 5-byte length of 2^31
      Tag(1, 2) + std::string("\x81\x80\x80\x80\x07", 5) + "x",  // 5-byte, past the end
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(Disagreement(cases[i]), "") << "case " << i;
  }
}

TEST(WireDecoder, AgreesWithProtobufOnRandomMutations) {
  std::mt19937_64 rng(20131001);
  const auto samples = Samples();
  int accepted = 0;
  for (int round = 0; round < 30000; ++round) {
    std::string bytes = samples[rng() % samples.size()].SerializeAsString();
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < edits && !bytes.empty(); ++k) {
      const size_t at = rng() % bytes.size();
      switch (rng() % 5) {
        case 0:
          bytes[at] = static_cast<char>(rng());
          break;
        case 1:
          bytes[at] = static_cast<char>(bytes[at] ^ (1 << (rng() % 8)));
          break;
        case 2:
          bytes.erase(at, 1 + rng() % 3);
          break;
        case 3:
          bytes.insert(at, 1, static_cast<char>(rng()));
          break;
        case 4:
          bytes.resize(at);
          break;
      }
    }
    const std::string d = Disagreement(bytes);
    ASSERT_EQ(d, "") << "round " << round << ", bytes " << Hex(bytes);
    EnvelopeView v;
    if (DecodeEnvelope(bytes, v)) ++accepted;
  }
  EXPECT_GT(accepted, 1000);  // the mutations exercise the accepting paths too
}

TEST(PayloadSchema, SlotsFollowDeclarationOrder) {
  const auto& schema = internal::PayloadSchema::Get();
  const internal::PayloadInfo* opened = schema.Payload(pb::Envelope::kCaseOpened);
  ASSERT_NE(opened, nullptr);
  EXPECT_EQ(opened->name, "case_opened");
  EXPECT_EQ(opened->fields[1].role, internal::FieldRole::kEnum);
  EXPECT_EQ(opened->fields[5].role, internal::FieldRole::kText);
  EXPECT_EQ(opened->fields[5].slot, 3);  // offender_manager
  EXPECT_EQ(opened->fields[7].role, internal::FieldRole::kWhen);
  const internal::PayloadInfo* breach = schema.Payload(pb::Envelope::kBreachInstigated);
  EXPECT_EQ(breach->fields[2].slot, 1);  // reason is the second enum
  EXPECT_TRUE(breach->fields[2].enum_info->IsKnown(2));
  EXPECT_FALSE(breach->fields[2].enum_info->IsKnown(3));
  EXPECT_TRUE(schema.Payload(pb::Envelope::kAbsenceJudged)->fields[1].required_text);
  EXPECT_EQ(schema.Payload(57), nullptr);
}

}  // namespace
}  // namespace casewatch::ingest
