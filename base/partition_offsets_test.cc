#include "base/partition_offsets.h"

#include <gtest/gtest.h>

namespace casewatch {
namespace {

TEST(PartitionOffsets, FormatAndParseAreInverses) {
  const PartitionOffsets offsets{{0, 5459}, {1, 0}, {11, 4708}};
  EXPECT_EQ(FormatPartitionOffsets(offsets), "0:5459,1:0,11:4708");
  auto parsed = ParsePartitionOffsets("0:5459,1:0,11:4708");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed.value(), offsets);
  EXPECT_EQ(FormatPartitionOffsets({}), "");
  EXPECT_TRUE(ParsePartitionOffsets("").value().empty());
}

TEST(PartitionOffsets, AnItemThatIsNotPartitionColonOffsetIsNamed) {
  for (const char* bad : {"0:5459,x:1", "0:-1", "0", "0:5,0:6", "0:5,,1:2", "0:1e3"}) {
    auto parsed = ParsePartitionOffsets(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_NE(parsed.error().message.find("is not PARTITION:OFFSET"), std::string::npos) << bad;
  }
  EXPECT_NE(ParsePartitionOffsets("0:1,x:2").error().message.find("\"x:2\""), std::string::npos);
}

}  // namespace
}  // namespace casewatch
