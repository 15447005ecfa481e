#include "services/store/store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "base/temp_dir.h"

namespace casewatch::store {
namespace {

using casewatch::TempDir;

std::unique_ptr<Store> OpenOrDie(const std::filesystem::path& dir) {
  auto store = Store::Open(dir);
  EXPECT_TRUE(store) << store.error().message;
  return std::move(store).value();
}

void PutEvent(WriteBatch& batch, std::string_view case_id, Instant at, std::string_view id,
              uint64_t sequence) {
  batch.PutEvent(case_id, at, id, std::string("bytes of ") + std::string(id),
                 IdEntry{{sequence * 7, sequence * 11}, sequence});
}

std::vector<std::string> CaseEnvelopes(const StoreReader& store, std::string_view case_id) {
  std::vector<std::string> seen;
  EXPECT_TRUE(store.ReadCase(case_id, [&](std::string_view e) { seen.emplace_back(e); }));
  return seen;
}

TEST(Store, EventsComeBackInCaseOrderWhateverTheirArrivalOrder) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  WriteBatch batch = store->NewWriteBatch();
  PutEvent(batch, "C1", Instant{200, 0}, "e-b", 0);
  PutEvent(batch, "C1", Instant{-5, 0}, "e-z", 1);   // before 1970 sorts first
  PutEvent(batch, "C1", Instant{200, 0}, "e-a", 2);  // same instant: id order
  PutEvent(batch, "C1", Instant{200, 1}, "e-0", 3);  // one nanosecond later
  PutEvent(batch, "C10", Instant{1, 0}, "e-other", 4);
  PutEvent(batch, "C", Instant{1, 0}, "e-prefix", 5);
  ASSERT_TRUE(store->Write(batch, true));

  EXPECT_EQ(
      CaseEnvelopes(*store, "C1"),
      (std::vector<std::string>{"bytes of e-z", "bytes of e-a", "bytes of e-b", "bytes of e-0"}));
  EXPECT_EQ(CaseEnvelopes(*store, "C"), (std::vector<std::string>{"bytes of e-prefix"}));
  EXPECT_TRUE(CaseEnvelopes(*store, "C2").empty());

  std::vector<std::string> cases;
  std::vector<std::string> all;
  ASSERT_TRUE(store->ScanCases([&](std::string_view c) { cases.emplace_back(c); },
                               [&](std::string_view e) { all.emplace_back(e); }));
  EXPECT_EQ(cases, (std::vector<std::string>{"C", "C1", "C10"}));
  EXPECT_EQ(all.size(), 6u);

  std::vector<uint64_t> sequences;
  std::vector<std::string> arrivals;
  ASSERT_TRUE(store->ScanArrivals(2, [&](uint64_t s, std::string_view e) {
    sequences.push_back(s);
    arrivals.emplace_back(e);
    return true;
  }));
  EXPECT_EQ(sequences, (std::vector<uint64_t>{2, 3, 4, 5}));
  EXPECT_EQ(arrivals.front(), "bytes of e-a");
}

TEST(Store, EventsPutTogetherAreStoredAsIfPutOneByOne) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  const std::vector<std::string> bytes = {"bytes of e-b", "bytes of e-z", "bytes of e-a"};
  const std::vector<WriteBatch::NewEvent> events = {
      {"C1", Instant{200, 0}, "e-b", bytes[0], IdEntry{{1, 2}, 0}},
      {"C2", Instant{-5, 0}, "e-z", bytes[1], IdEntry{{3, 4}, 1}},
      {"C1", Instant{100, 0}, "e-a", bytes[2], IdEntry{{5, 6}, 2}},
  };
  WriteBatch batch = store->NewWriteBatch();
  batch.PutEvents(events);
  ASSERT_TRUE(store->Write(batch, true));

  EXPECT_EQ(CaseEnvelopes(*store, "C1"),
            (std::vector<std::string>{"bytes of e-a", "bytes of e-b"}));
  EXPECT_EQ(CaseEnvelopes(*store, "C2"), (std::vector<std::string>{"bytes of e-z"}));
  std::vector<std::string> arrivals;
  ASSERT_TRUE(store->ScanArrivals(0, [&](uint64_t, std::string_view e) {
    arrivals.emplace_back(e);
    return true;
  }));
  EXPECT_EQ(arrivals, bytes);  // in arrival order
  const std::vector<std::string_view> ids = {"e-a", "e-b", "e-z", "e-none"};
  auto found = store->FindIds(ids);
  ASSERT_TRUE(found);
  ASSERT_TRUE(found.value()[0] && found.value()[1] && found.value()[2]);
  EXPECT_EQ(found.value()[0]->sequence, 2u);
  EXPECT_EQ(found.value()[0]->content[1], 6u);
  EXPECT_EQ(found.value()[1]->sequence, 0u);
  EXPECT_EQ(found.value()[2]->sequence, 1u);
  EXPECT_FALSE(found.value()[3]);
}

TEST(Store, IdsOffsetsAndSequencesSurviveReopening) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    EXPECT_EQ(store->next_event_sequence(), 0u);
    WriteBatch batch = store->NewWriteBatch();
    PutEvent(batch, "C1", Instant{1, 0}, "e-1", 0);
    PutEvent(batch, "C1", Instant{2, 0}, "e-2", 1);
    batch.PutOffset("case-events", 0, 17);
    batch.PutOffset("case-events", 3, 5);
    batch.PutOffset("other", 0, 99);
    v1::DeadLetter letter;
    letter.set_reason("bad");
    batch.PutDeadLetter(0, letter);
    batch.PutProjectionInstant(Instant{1700000000, 5});
    ASSERT_TRUE(store->Write(batch, true));
    // Read when asked, not as of opening: what the next writer numbers on from.
    EXPECT_EQ(store->next_event_sequence(), 2u);
    EXPECT_EQ(store->next_dead_letter_sequence(), 1u);
  }
  auto store = OpenOrDie(dir.path());
  EXPECT_EQ(store->next_event_sequence(), 2u);
  EXPECT_EQ(store->next_dead_letter_sequence(), 1u);
  EXPECT_EQ(store->next_outbox_sequence(), 0u);

  const std::vector<std::string_view> ids = {"e-2", "e-none", "e-1"};
  auto found = store->FindIds(ids);
  ASSERT_TRUE(found);
  ASSERT_EQ(found.value().size(), 3u);
  ASSERT_TRUE(found.value()[0]);
  EXPECT_EQ(found.value()[0]->sequence, 1u);
  EXPECT_EQ(found.value()[0]->content[0], 7u);
  EXPECT_EQ(found.value()[0]->content[1], 11u);
  EXPECT_FALSE(found.value()[1]);
  ASSERT_TRUE(found.value()[2]);
  EXPECT_EQ(found.value()[2]->sequence, 0u);

  auto offsets = store->Offsets("case-events");
  ASSERT_TRUE(offsets);
  ASSERT_EQ(offsets.value().size(), 2u);
  EXPECT_EQ(offsets.value()[0].partition, 0);
  EXPECT_EQ(offsets.value()[0].next_offset, 17);
  EXPECT_EQ(offsets.value()[1].partition, 3);
  EXPECT_EQ(offsets.value()[1].next_offset, 5);

  auto instant = store->ProjectionInstant();
  ASSERT_TRUE(instant && instant.value());
  EXPECT_EQ(*instant.value(), (Instant{1700000000, 5}));
}

TEST(Store, AnUnwrittenBatchLeavesNothing) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    WriteBatch batch = store->NewWriteBatch();
    PutEvent(batch, "C1", Instant{1, 0}, "e-1", 0);
    batch.PutOffset("case-events", 0, 1);
    // destroyed without Write: a crash before the commit
  }
  auto store = OpenOrDie(dir.path());
  EXPECT_TRUE(CaseEnvelopes(*store, "C1").empty());
  auto offsets = store->Offsets("case-events");
  ASSERT_TRUE(offsets);
  EXPECT_TRUE(offsets.value().empty());
}

TEST(Store, ProjectionsAndOutboxRoundTripAndClearKeepsEvents) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  WriteBatch batch = store->NewWriteBatch();
  PutEvent(batch, "C1", Instant{1, 0}, "e-1", 0);
  v1::CaseProjection projection;
  projection.set_counted(true);
  projection.set_region("North East");
  projection.add_items()->set_fulfilled_by("e-1");
  batch.PutCase("C1", projection);
  v1::ScopeCounts counts;
  counts.set_region("North East");
  counts.set_cases(1);
  batch.PutScope(counts);
  v1::OutboxRecord record;
  record.set_topic("case-alerts");
  batch.PutOutbox(0, record);
  batch.PutOutbox(1, record);
  ASSERT_TRUE(store->Write(batch, true));

  auto read = store->ReadProjection("C1");
  ASSERT_TRUE(read && read.value());
  EXPECT_EQ(read.value()->region(), "North East");
  EXPECT_EQ(read.value()->items(0).fulfilled_by(), "e-1");
  int scopes = 0;
  ASSERT_TRUE(store->ScanScopes([&](const v1::ScopeCounts& c) { scopes += c.cases(); }));
  EXPECT_EQ(scopes, 1);

  batch.DeleteOutbox(0);
  ASSERT_TRUE(store->Write(batch, true));
  std::vector<uint64_t> outbox;
  ASSERT_TRUE(store->ScanOutbox(0, [&](uint64_t s, const v1::OutboxRecord& r) {
    EXPECT_EQ(r.topic(), "case-alerts");
    outbox.push_back(s);
    return true;
  }));
  EXPECT_EQ(outbox, std::vector<uint64_t>{1});

  ASSERT_TRUE(store->BeginRebuild(v1::RebuildMarker()));
  read = store->ReadProjection("C1");
  ASSERT_TRUE(read);
  EXPECT_FALSE(read.value());
  scopes = 0;
  ASSERT_TRUE(store->ScanScopes([&](const v1::ScopeCounts&) { ++scopes; }));
  EXPECT_EQ(scopes, 0);
  EXPECT_EQ(CaseEnvelopes(*store, "C1").size(), 1u);
}

// The store's files as a crash would leave them: copied while it is open, the WAL unflushed.
std::filesystem::path CrashImage(const std::filesystem::path& dir, const std::filesystem::path& to) {
  std::filesystem::copy(dir, to, std::filesystem::copy_options::recursive);
  std::filesystem::remove(to / "LOCK");
  std::filesystem::path wal;
  for (const auto& entry : std::filesystem::directory_iterator(to)) {
    if (entry.path().extension() == ".log" &&
        (wal.empty() || entry.file_size() > std::filesystem::file_size(wal))) {
      wal = entry.path();
    }
  }
  return wal;
}

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(Store, ADamagedWriteAheadLogIsRecoveredToTheLastIntactWriteAndSaysSoLoudly) {
  TempDir dir;
  auto store = OpenOrDie(dir.path() / "live");
  for (uint64_t i = 0; i < 3; ++i) {
    WriteBatch batch = store->NewWriteBatch();
    PutEvent(batch, "C1", Instant{static_cast<int64_t>(i), 0}, fmt::format("e-{}", i), i);
    ASSERT_TRUE(store->Write(batch, true));
  }
  EXPECT_TRUE(store->recovery_warnings().empty());

  // A torn last record (the end of the log cut off): normal after a crash, nothing to say.
  {
    const auto wal = CrashImage(dir.path() / "live", dir.path() / "torn");
    ASSERT_FALSE(wal.empty());
    std::filesystem::resize_file(wal, std::filesystem::file_size(wal) - 3);
    auto torn = OpenOrDie(dir.path() / "torn");
    EXPECT_TRUE(torn->recovery_warnings().empty());
    EXPECT_EQ(CaseEnvelopes(*torn, "C1").size(), 2u);
  }
  // Damage in the middle: the batches after it are dropped, and the store says so.
  const auto wal = CrashImage(dir.path() / "live", dir.path() / "damaged");
  std::string bytes = ReadAll(wal);
  const size_t middle = bytes.find("bytes of e-1");
  ASSERT_NE(middle, std::string::npos);
  bytes[middle] ^= 0x55;
  std::ofstream(wal, std::ios::binary | std::ios::trunc) << bytes;
  auto damaged = OpenOrDie(dir.path() / "damaged");
  ASSERT_EQ(damaged->recovery_warnings().size(), 1u);
  const std::string& warning = damaged->recovery_warnings()[0];
  EXPECT_NE(warning.find("WRITE-AHEAD LOG"), std::string::npos) << warning;
  EXPECT_NE(warning.find("consumed again from Kafka"), std::string::npos) << warning;
  EXPECT_NE(warning.find("retention"), std::string::npos) << warning;
  EXPECT_EQ(warning.find('"'), std::string::npos) << "JSON logs take it as it is";
  EXPECT_EQ(CaseEnvelopes(*damaged, "C1"), std::vector<std::string>{"bytes of e-0"});
}

TEST(ScopeKey, DifferentAllocationsNeverShareAKey) {
  // Joined with bare NULs these two were one key: their cases were counted together.
  const std::string nul("\0", 1);
  EXPECT_NE(ScopeKey("North East", "Sunderland" + nul + "ZZ", "Q", ""),
            ScopeKey("North East", "Sunderland", "ZZ" + nul + "Q", ""));
  EXPECT_NE(ScopeKey("A" + nul, "", "", ""), ScopeKey("A", nul, "", ""));
  EXPECT_NE(ScopeKey("A", "", "", ""), ScopeKey("A" + nul, "", "", ""));
  // Names without NUL keep the key they always had, and order is by region, then PDU, ...
  EXPECT_EQ(ScopeKey("NE", "Sun", "T", "om"), std::string("NE\0Sun\0T\0om\0", 12));
  EXPECT_LT(ScopeKey("A", "Z", "", ""), ScopeKey("A" + nul, "", "", ""));
  EXPECT_LT(ScopeKey("A", "B", "", ""), ScopeKey("AB", "", "", ""));
  EXPECT_LT(ScopeKey("A", "", "", ""), ScopeKey("A", "B", "", ""));
}

TEST(Store, ASecondaryReadsWhileThePrimaryWrites) {
  TempDir dir;
  TempDir secondary_dir;
  auto primary = OpenOrDie(dir.path());
  WriteBatch batch = primary->NewWriteBatch();
  PutEvent(batch, "C1", Instant{1, 0}, "e-1", 0);
  ASSERT_TRUE(primary->Write(batch, true));

  auto secondary = StoreReader::OpenSecondary(dir.path(), secondary_dir.path());
  ASSERT_TRUE(secondary) << secondary.error().message;
  EXPECT_EQ(CaseEnvelopes(*secondary.value(), "C1").size(), 1u);

  PutEvent(batch, "C1", Instant{2, 0}, "e-2", 1);
  ASSERT_TRUE(primary->Write(batch, true));
  ASSERT_TRUE(secondary.value()->CatchUp());
  EXPECT_EQ(CaseEnvelopes(*secondary.value(), "C1").size(), 2u);
  uint64_t arrivals = 0;
  ASSERT_TRUE(secondary.value()->ScanArrivals(0, [&](uint64_t, std::string_view) {
    ++arrivals;
    return true;
  }));
  EXPECT_EQ(arrivals, 2u);
}

// Sets (or, with nullopt, removes) the stored format version with RocksDB itself, as a store
// written by another version would have it.
void SetStoredVersion(const std::filesystem::path& dir, std::optional<uint32_t> version) {
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const char* name : format::kFamilyNames) families.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), dir.string(), families, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  const std::string key(format::kFormatVersionKey);
  if (version) {
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[format::kMeta], key,
                        format::EncodeFormatVersion(*version))
                    .ok());
  } else {
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), handles[format::kMeta], key).ok());
  }
  for (auto* handle : handles) db->DestroyColumnFamilyHandle(handle);
}

TEST(Store, AStoreOfAnotherFormatIsRefusedByEveryOpenerNamingWhatToDo) {
  TempDir dir;
  TempDir scratch;
  {
    auto store = OpenOrDie(dir.path());
    EXPECT_EQ(store->format_version(), format::kFormatVersion);
    WriteBatch batch = store->NewWriteBatch();
    PutEvent(batch, "C1", Instant{1, 0}, "e-1", 0);
    batch.PutPolicy("");
    ASSERT_TRUE(store->Write(batch, true));
  }
  // Written before stores carried a version: the upgrade is a rebuild.
  SetStoredVersion(dir.path(), std::nullopt);
  auto old = Store::Open(dir.path());
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error().kind, ErrorKind::kFailedPrecondition);
  EXPECT_NE(old.error().message.find("older format (1;"), std::string::npos) << old.error().message;
  EXPECT_NE(old.error().message.find("casewatch rebuild --data " + dir.path().string()),
            std::string::npos)
      << old.error().message;
  auto old_secondary = StoreReader::OpenSecondary(dir.path(), scratch.path() / "a");
  ASSERT_FALSE(old_secondary);
  EXPECT_EQ(old_secondary.error().message, old.error().message);
  StoreOptions for_rebuild;
  for_rebuild.for_rebuild = true;
  auto upgrading = Store::Open(dir.path(), for_rebuild);
  ASSERT_TRUE(upgrading) << upgrading.error().message;
  EXPECT_EQ(upgrading.value()->format_version(), 1u);
  upgrading.value().reset();

  // Written by a newer version: refused, even for a rebuild, and no rebuild is suggested.
  SetStoredVersion(dir.path(), format::kFormatVersion + 1);
  for (const StoreOptions& options : {StoreOptions{}, for_rebuild}) {
    auto newer = Store::Open(dir.path(), options);
    ASSERT_FALSE(newer);
    EXPECT_NE(newer.error().message.find("newer casewatch"), std::string::npos)
        << newer.error().message;
    EXPECT_EQ(newer.error().message.find("rebuild"), std::string::npos);
  }
}

TEST(Store, AProjectionWithAnIndicatorCodeThisVersionDoesNotKnowIsDataLossNotAnotherIndicator) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  v1::CaseProjection projection;
  projection.set_counted(true);
  v1::StoredItem* item = projection.add_items();
  item->set_indicator(format::StoredCode(Indicator::kRmpVictimSafety) + 1);  // a shifted table
  item->set_status(format::StoredCode(ItemStatus::kMet));
  WriteBatch batch = store->NewWriteBatch();
  batch.PutCase("C1", projection);
  ASSERT_TRUE(store->Write(batch, true));
  auto read = store->ReadProjection("C1");
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().kind, ErrorKind::kDataLoss);
  EXPECT_NE(read.error().message.find("indicator code 19"), std::string::npos)
      << read.error().message;
  auto scanned = store->ScanProjections([](std::string_view, const v1::CaseProjection&) {
    ADD_FAILURE() << "a projection with an unknown code was handed over";
  });
  ASSERT_FALSE(scanned);
  EXPECT_EQ(scanned.error().kind, ErrorKind::kDataLoss);
  v1::ScopeCounts counts;
  for (int i = 0; i <= kIndicatorCount; ++i) counts.add_indicators();
  batch.PutScope(counts);
  ASSERT_TRUE(store->Write(batch, true));
  EXPECT_FALSE(store->ScanScopes([](const v1::ScopeCounts&) {}));
}

TEST(Store, ASecondOpenerIsToldTheDirectoryIsInUse) {
  TempDir dir;
  auto primary = OpenOrDie(dir.path());
  auto second = Store::Open(dir.path());
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("another casewatchd"), std::string::npos)
      << second.error().message;
}

TEST(Store, OpeningNoStoreAsSecondaryIsNotFound) {
  TempDir dir;
  TempDir secondary_dir;
  auto secondary = StoreReader::OpenSecondary(dir.path() / "nothing", secondary_dir.path());
  ASSERT_FALSE(secondary);
  EXPECT_EQ(secondary.error().kind, ErrorKind::kNotFound);
}

}  // namespace
}  // namespace casewatch::store

namespace casewatch::store {
namespace {

v1::ScopeCounts Counts(std::string region, int64_t cases) {
  v1::ScopeCounts counts;
  counts.set_region(std::move(region));
  counts.set_cases(cases);
  return counts;
}

TEST(Store, DailyCountsComeBackByDayThenAllocationWithinTheRange) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  WriteBatch batch = store->NewWriteBatch();
  batch.PutDaily(Date{-3}, Counts("B", 1));  // before 1970 sorts first
  batch.PutDaily(Date{20454}, Counts("B", 2));
  batch.PutDaily(Date{20454}, Counts("A", 3));
  batch.PutDaily(Date{20455}, Counts("A", 4));
  batch.PutDaily(Date{20456}, Counts("A", 5));
  ASSERT_TRUE(store->Write(batch, true));
  std::vector<std::pair<int32_t, int64_t>> seen;
  ASSERT_TRUE(store->ScanDaily(Date{-10}, Date{20455}, [&](Date day, const v1::ScopeCounts& c) {
    seen.emplace_back(day.days, c.cases());
  }));
  EXPECT_EQ(seen, (std::vector<std::pair<int32_t, int64_t>>{{-3, 1}, {20454, 3}, {20454, 2},
                                                            {20455, 4}}));
  // The last day with counts before a day: what a day without a write carries forward.
  const auto last_before = [&](int32_t day) {
    auto found = store->LastDailyBefore(Date{day});
    EXPECT_TRUE(found) << found.error().message;
    return found.value() ? found.value()->days : std::numeric_limits<int32_t>::min();
  };
  EXPECT_EQ(last_before(20455), 20454);
  EXPECT_EQ(last_before(20456), 20455);
  EXPECT_EQ(last_before(30000), 20456);
  EXPECT_EQ(last_before(20454), -3);
  EXPECT_EQ(last_before(-3), std::numeric_limits<int32_t>::min());
  ASSERT_TRUE(store->BeginRebuild(v1::RebuildMarker()));
  seen.clear();
  ASSERT_TRUE(store->ScanDaily(Date{-10}, Date{30000}, [&](Date day, const v1::ScopeCounts& c) {
    seen.emplace_back(day.days, c.cases());
  }));
  EXPECT_TRUE(seen.empty()) << "a rebuild starts the trend again";
}

}  // namespace
}  // namespace casewatch::store
