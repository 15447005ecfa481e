// The on-disk format, byte for byte: if one of these fails, stored data would be misread. Change
// the format only with a new kFormatVersion (format.h).
#include "services/store/format.h"

#include <gtest/gtest.h>

#include <string>

namespace casewatch::store::format {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

TEST(Format, SequenceKeysAreEightBytesBigEndian) {
  EXPECT_EQ(SequenceKey(0x0102030405060708), Bytes({1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(SequenceOfKey(Bytes({0, 0, 0, 0, 0, 0, 1, 0})), 256u);
  EXPECT_LT(SequenceKey(255), SequenceKey(256));
}

TEST(Format, EventKeysAreCaseThenInstantWithItsSignFlippedThenEventId) {
  EXPECT_EQ(EventKey("C1", Instant{1, 2}, "e"),
            std::string("C1") + Bytes({0, 0x80, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2}) + "e");
  EXPECT_LT(EventKey("C1", Instant{-1, 0}, "z"), EventKey("C1", Instant{0, 0}, "a"));
  EXPECT_LT(EventKey("C1", Instant{5, 0}, "a"), EventKey("C1", Instant{5, 0}, "b"));
  EXPECT_EQ(CaseIdOfEventKey(EventKey("C-9", Instant{7, 0}, "x")), "C-9");
  EXPECT_EQ(CaseEventsBegin("C1"), std::string("C1") + Bytes({0}));
  EXPECT_EQ(CaseEventsEnd("C1"), std::string("C1") + Bytes({1}));
}

TEST(Format, OffsetKeysAreTopicNulPartition) {
  EXPECT_EQ(OffsetKey("t", 3), std::string("t") + Bytes({0, 0, 0, 0, 3}));
  EXPECT_EQ(PartitionOfOffsetKey("t", OffsetKey("t", 70000)), 70000);
  EXPECT_EQ(EncodeOffset(258), Bytes({0, 0, 0, 0, 0, 0, 1, 2}));
  EXPECT_EQ(DecodeOffset(Bytes({0, 0, 0, 0, 0, 0, 1, 2})).value(), 258);
  EXPECT_FALSE(DecodeOffset("short"));
}

TEST(Format, DayKeysAreDaysWithTheirSignFlipped) {
  EXPECT_EQ(DayKey(Date{1}), Bytes({0x80, 0, 0, 1}));
  EXPECT_EQ(DayKey(Date{-1}), Bytes({0x7f, 0xff, 0xff, 0xff}));
  EXPECT_EQ(DayOfKey(DayKey(Date{-3})).days, -3);
  EXPECT_LT(DayKey(Date{-1}), DayKey(Date{0}));
}

TEST(Format, ScopeKeysAreEscapedParts) {
  EXPECT_EQ(ScopeKey("NE", "Sun", "", "om"), std::string("NE") + Bytes({0}) + "Sun" +
                                                  Bytes({0, 0}) + "om" + Bytes({0}));
  EXPECT_EQ(ScopeKey(std::string("a\0b", 3), "", "", ""),
            std::string("a") + Bytes({0, 0xff}) + "b" + Bytes({0, 0, 0, 0}));
}

TEST(Format, IdEntriesAreTwentyFourBytes) {
  const IdEntry entry{{1, 2}, 3};
  EXPECT_EQ(EncodeIdEntry(entry), Bytes({0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0,
                                         0, 0, 0, 3}));
  const auto decoded = DecodeIdEntry(EncodeIdEntry(entry));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded.value().content, entry.content);
  EXPECT_EQ(decoded.value().sequence, 3u);
  EXPECT_EQ(DecodeIdEntry("x").error().kind, ErrorKind::kDataLoss);
}

TEST(Format, InstantsAndTheVersionAreBigEndian) {
  EXPECT_EQ(EncodeInstant(Instant{-1, 5}), Bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                                  0, 0, 0, 5}));
  const auto instant = DecodeInstant(EncodeInstant(Instant{1700000000, 123}));
  ASSERT_TRUE(instant);
  EXPECT_EQ(instant.value(), (Instant{1700000000, 123}));
  EXPECT_EQ(EncodeFormatVersion(2), Bytes({0, 0, 0, 2}));
  EXPECT_EQ(DecodeFormatVersion(Bytes({0, 0, 0, 2})).value(), 2u);
  EXPECT_EQ(kPendingPrefix, std::string_view("pending\0", 8));
  EXPECT_EQ(PendingKey("C1"), std::string("pending") + Bytes({0}) + "C1");
}

TEST(Format, EnumCodesAreStableAndUnknownOnesAreNotGuessed) {
  // The static_asserts in format.h pin every code; here a round trip and the unknown ones.
  for (int i = 0; i < kIndicatorCount; ++i) {
    const auto indicator = static_cast<Indicator>(i);
    EXPECT_EQ(IndicatorOfCode(StoredCode(indicator)), indicator);
  }
  EXPECT_EQ(StoredCode(Indicator::kHomeVisitRepeat), 14u);
  EXPECT_EQ(IndicatorOfCode(19), std::nullopt);
  EXPECT_EQ(StatusOfCode(4), ItemStatus::kPending);
  EXPECT_EQ(StatusOfCode(5), std::nullopt);
}

}  // namespace
}  // namespace casewatch::store::format
