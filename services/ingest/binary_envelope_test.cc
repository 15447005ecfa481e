#include "services/ingest/binary_envelope.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/delimited_message_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "services/ingest/test_util.h"
#include "services/ingest/wire_decoder.h"

namespace casewatch::ingest {
namespace {

namespace pb = ::casewatch::events::v1;
using testing::RoshEvent;

TEST(DecodeEnvelope, SerializedEnvelopeRoundTrips) {
  pb::Envelope e = RoshEvent("e-1");
  e.set_source("delius");
  const std::string bytes = e.SerializeAsString();
  EnvelopeView view;
  ASSERT_TRUE(DecodeEnvelope(bytes, view).has_value());
  pb::Envelope back;
  ToEnvelope(view, back);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(e, back));
}

TEST(DecodeEnvelope, InvalidUtf8InAStringIsRejected) {
  pb::Envelope e = RoshEvent("e-1");
  std::string bytes = e.SerializeAsString();
  bytes[2] = '\xff';  // inside event_id
  EnvelopeView view;
  Result<void> result = DecodeEnvelope(bytes, view);
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().message.find("not a valid Envelope"), std::string::npos);
}

TEST(AppendDelimited, MatchesProtobufsDelimitedFormat) {
  std::string ours;
  std::string from_bytes;  // the same envelopes, serialized first
  std::string theirs;
  {
    google::protobuf::io::StringOutputStream stream(&theirs);
    for (int i = 0; i < 3; ++i) {
      const pb::Envelope e = RoshEvent("e-" + std::to_string(i));
      AppendDelimited(e, ours);
      AppendDelimited(e.SerializeAsString(), from_bytes);
      ASSERT_TRUE(google::protobuf::util::SerializeDelimitedToZeroCopyStream(e, &stream));
    }
  }
  EXPECT_EQ(ours, theirs);
  EXPECT_EQ(from_bytes, theirs);
}

}  // namespace
}  // namespace casewatch::ingest
