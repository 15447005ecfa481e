#include "services/store/id_ledger.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/temp_dir.h"

namespace casewatch::store {
namespace {

IdClaim ClaimOf(int32_t partition, int64_t offset, uint64_t content) {
  return IdClaim{partition, offset, {content, ~content}};
}

TEST(IdLedger, AClaimRecordReadsBackAsItWasWrittenAndAnythingElseIsNamed) {
  const IdClaim claim = ClaimOf(11, (int64_t{1} << 40) + 7, 0x0123456789abcdefULL);
  const std::string value = EncodeIdClaim(claim);
  ASSERT_EQ(value.size(), 29u);
  auto decoded = DecodeIdClaim(value);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded.value(), claim);
  for (const std::string& bad : {std::string(), value.substr(0, 28), "\x02" + value.substr(1)}) {
    auto refused = DecodeIdClaim(bad);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("not an event id claim"), std::string::npos);
  }
}

TEST(IdLedger, TheFirstClaimOnAnIdHoldsAcrossBatchesWithinABatchAndAfterReopening) {
  TempDir dir;
  {
    auto ledger = IdLedger::Open(dir.path());
    ASSERT_TRUE(ledger) << ledger.error().message;
    auto none = ledger.value()->Offsets();
    ASSERT_TRUE(none);
    EXPECT_TRUE(none.value().empty());
    // Partition 0 of the ids topic: "a" twice in one batch, then "a" again and "b".
    const std::vector<IdLedger::Record> first = {{"a", ClaimOf(3, 10, 1)},
                                                 {"a", ClaimOf(5, 2, 2)}};
    auto kept = ledger.value()->Add(0, first, 2);
    ASSERT_TRUE(kept);
    EXPECT_EQ(kept.value(), (std::vector<bool>{true, false}));
    const std::vector<IdLedger::Record> second = {{"a", ClaimOf(4, 1, 3)}, {"b", ClaimOf(4, 2, 4)}};
    kept = ledger.value()->Add(0, second, 4);
    ASSERT_TRUE(kept);
    EXPECT_EQ(kept.value(), (std::vector<bool>{false, true}));
    ASSERT_TRUE(ledger.value()->Add(7, {}, 9));  // nothing but where a partition is read to
  }
  auto ledger = IdLedger::Open(dir.path());
  ASSERT_TRUE(ledger) << ledger.error().message;
  const std::vector<std::string_view> ids = {"a", "b", "c"};
  auto found = ledger.value()->Find(ids);
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_EQ(found.value().size(), 3u);
  EXPECT_EQ(found.value()[0], ClaimOf(3, 10, 1));
  EXPECT_EQ(found.value()[1], ClaimOf(4, 2, 4));
  EXPECT_FALSE(found.value()[2]);
  auto offsets = ledger.value()->Offsets();
  ASSERT_TRUE(offsets);
  EXPECT_EQ(offsets.value(), (std::map<int32_t, int64_t>{{0, 4}, {7, 9}}));
}

TEST(IdLedger, ALedgerInUseIsNotOpenedTwice) {
  TempDir dir;
  auto ledger = IdLedger::Open(dir.path());
  ASSERT_TRUE(ledger);
  auto second = IdLedger::Open(dir.path());
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("another casewatchd"), std::string::npos)
      << second.error().message;
}

}  // namespace
}  // namespace casewatch::store
