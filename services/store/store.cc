// Opening a store (format and state checks, recovery), writing to it, and beginning a rebuild.
// Reads are in store_read.cc, the write batch in write_batch.cc, encodings in format.cc.
#include "services/store/store.h"

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_buffer_manager.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "services/store/internal/store_impl.h"

namespace casewatch::store {
namespace {

using namespace format;

std::vector<rocksdb::ColumnFamilyDescriptor> Descriptors(const StoreOptions& options,
                                                         std::shared_ptr<rocksdb::Cache> cache) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = std::move(cache);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  rocksdb::ColumnFamilyOptions family;
  family.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  family.write_buffer_size = options.write_buffer_bytes;
  family.compression = rocksdb::kLZ4Compression;
  family.level_compaction_dynamic_level_bytes = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const char* name : kFamilyNames) descriptors.emplace_back(name, family);
  // Point lookups that mostly miss (new event ids): bloom filters answer them.
  descriptors[kIds].options.optimize_filters_for_hits = false;
  return descriptors;
}

// A word as a POSIX shell reads it: as is when plain, else in single quotes.
std::string ShellWord(std::string_view word) {
  const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("_-./:=@,+%", c) != nullptr;
  });
  if (plain) return std::string(word);
  std::string quoted = "'";
  for (char c : word) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

}  // namespace

Error FromStatus(const rocksdb::Status& status, std::string_view doing) {
  std::string message = fmt::format("store: {}: {}", doing, status.ToString());
  if (status.IsNotFound()) return NotFound(std::move(message));
  if (status.IsBusy() || status.IsTryAgain() || status.IsTimedOut()) {
    return Unavailable(std::move(message));
  }
  if (status.IsCorruption()) return DataLoss(std::move(message));
  if (status.IsIOError()) return IoError(std::move(message));
  if (status.IsInvalidArgument()) return InvalidArgument(std::move(message));
  return Internal(std::move(message));
}

StoreReader::Impl::~Impl() {
  // Column-family handles go before the database.
  for (rocksdb::ColumnFamilyHandle* handle : families) {
    if (handle != nullptr) db->DestroyColumnFamilyHandle(handle);
  }
  families.clear();
  db.reset();
}

Result<void> StoreReader::Impl::Clear(Family f) {
  std::string last;
  {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), family(f)));
    it->SeekToLast();
    if (!it->status().ok()) return FromStatus(it->status(), "clearing projections");
    if (!it->Valid()) return Ok();
    last = it->key().ToString();
  }
  rocksdb::Status status = db->DeleteRange(rocksdb::WriteOptions(), family(f), "", last);
  if (status.ok()) status = db->Delete(rocksdb::WriteOptions(), family(f), last);
  if (!status.ok()) return FromStatus(status, "clearing projections");
  return Ok();
}

Error UnfinishedRebuildError(const std::filesystem::path& dir, const v1::RebuildMarker& marker) {
  std::string command = "casewatch rebuild --data " + ShellWord(dir.string());
  if (!marker.policy_path().empty()) command += " --policy " + ShellWord(marker.policy_path());
  return FailedPrecondition(fmt::format(
      "the store in {} is half-rebuilt: a `casewatch rebuild` started at {} did not finish, so "
      "its projections are incomplete and nothing can be reported from them; run `{}` to finish "
      "it",
      dir.string(), FormatInstant(Instant{marker.started_seconds(), 0}), command));
}

Error OtherFormatError(const std::filesystem::path& dir, uint32_t version) {
  if (version > kFormatVersion) {
    return FailedPrecondition(fmt::format(
        "the store in {} was written by a newer casewatch (store format {}; this one reads format "
        "{}): use that version or a later one",
        dir.string(), version, kFormatVersion));
  }
  return FailedPrecondition(fmt::format(
      "the store in {} was written in an older format ({}; this version reads {}); stop the "
      "engine and run `casewatch rebuild --data {} --policy FILE` (with the engine's policy file, "
      "if it has one) to upgrade it: the events are kept, everything derived is written again",
      dir.string(), version, kFormatVersion, ShellWord(dir.string())));
}

StoreReader::StoreReader(std::unique_ptr<Impl> impl, std::filesystem::path directory)
    : impl_(std::move(impl)), directory_(std::move(directory)) {}
StoreReader::~StoreReader() = default;

Result<void> StoreReader::CheckServable(bool for_rebuild) {
  CW_TRY(stored, impl_->Get(kMeta, kFormatVersionKey));
  if (stored) {
    CW_TRY(version, DecodeFormatVersion(*stored));
    format_version_ = version;
  } else if (impl_->Empty(kMeta) && impl_->Empty(kEvents)) {
    format_version_ = kFormatVersion;  // a new store (its writer records the version)
  } else {
    format_version_ = 1;  // written before stores carried their version
  }
  const bool upgradable = for_rebuild && format_version_ < kFormatVersion;
  if (format_version_ != kFormatVersion && !upgradable) {
    return OtherFormatError(directory_, format_version_);
  }
  if (!for_rebuild) {
    CW_TRY(marker, UnfinishedRebuild());
    if (marker) return UnfinishedRebuildError(directory_, *marker);
  }
  return Ok();
}

Store::Store(std::unique_ptr<Impl> impl, std::filesystem::path directory)
    : StoreReader(std::move(impl), std::move(directory)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::Open(const std::filesystem::path& dir, StoreOptions options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.bytes_per_sync = 1 << 20;
  // One memory budget: memtables are charged to the block cache, so blocks, indexes, filters and
  // unflushed writes together stay within options.memory_bytes.
  auto cache = rocksdb::NewLRUCache(options.memory_bytes);
  db_options.write_buffer_manager =
      std::make_shared<rocksdb::WriteBufferManager>(options.memory_bytes / 2, cache);
  // A write-ahead log whose last record is incomplete (a crash mid-write) is normal: that batch
  // was never acknowledged. Damage before the end is not: recovering past it means dropping every
  // later batch, which the engine then consumes again from Kafka -- only possible while Kafka
  // still holds them. So the first attempt refuses such damage, and the second, which accepts
  // it, says so loudly.
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  auto impl = std::make_unique<Impl>();
  rocksdb::DB* db = nullptr;
  std::vector<std::string> warnings;
  rocksdb::Status status = rocksdb::DB::Open(db_options, dir.string(),
                                             Descriptors(options, cache), &impl->families, &db);
  if (status.IsCorruption()) {
    std::string reason = status.ToString();
    std::replace_if(reason.begin(), reason.end(), [](char c) { return c == '"' || c == '\\'; }, '\'');
    warnings.push_back(fmt::format(
        "THE STORE'S WRITE-AHEAD LOG IN {} IS DAMAGED ({}). Recovering to the last intact write: "
        "the batches written after the damage are dropped from the store and will be consumed "
        "again from Kafka, starting at the offsets stored with the last intact batch. That is "
        "only complete if Kafka still holds those records (check the topic's retention against "
        "the time since the damage); records Kafka no longer has are lost to the store",
        dir.string(), reason));
    db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
    impl->families.clear();
    status = rocksdb::DB::Open(db_options, dir.string(), Descriptors(options, cache),
                               &impl->families, &db);
  }
  if (!status.ok()) {
    std::string doing = fmt::format("opening {}", dir.string());
    if (status.IsIOError() && status.ToString().find("lock") != std::string::npos) {
      doing += " (is another casewatchd or rebuild using this directory?)";
    }
    return FromStatus(status, doing);
  }
  impl->db.reset(db);
  std::unique_ptr<Store> store(new Store(std::move(impl), dir));
  store->recovery_warnings_ = std::move(warnings);
  CW_TRY(store->CheckServable(options.for_rebuild));
  if (store->impl_->Empty(kMeta) && store->impl_->Empty(kEvents)) {
    WriteBatch batch = store->NewWriteBatch();  // a new store: its format from the start
    batch.PutFormatVersion();
    CW_TRY(store->Write(batch, true));
  }
  return store;
}

Result<std::unique_ptr<StoreReader>> StoreReader::OpenSecondary(
    const std::filesystem::path& dir, const std::filesystem::path& secondary_dir) {
  if (!std::filesystem::exists(dir / "CURRENT")) {
    return NotFound(fmt::format("store: no engine store in {}", dir.string()));
  }
  rocksdb::DBOptions db_options;
  db_options.max_open_files = -1;  // required of secondaries
  auto impl = std::make_unique<Impl>();
  impl->secondary = true;
  rocksdb::DB* db = nullptr;
  // Open the families the store has and read the others as empty.
  std::vector<std::string> existing;
  rocksdb::Status status = rocksdb::DB::ListColumnFamilies(db_options, dir.string(), &existing);
  if (!status.ok()) return FromStatus(status, fmt::format("opening {}", dir.string()));
  std::vector<rocksdb::ColumnFamilyDescriptor> present;
  std::vector<size_t> positions;
  const auto all = Descriptors(StoreOptions{}, rocksdb::NewLRUCache(64 << 20));
  for (size_t f = 0; f < all.size(); ++f) {
    if (std::find(existing.begin(), existing.end(), all[f].name) == existing.end()) continue;
    present.push_back(all[f]);
    positions.push_back(f);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  status = rocksdb::DB::OpenAsSecondary(db_options, dir.string(), secondary_dir.string(), present,
                                        &handles, &db);
  if (!status.ok()) return FromStatus(status, fmt::format("opening {}", dir.string()));
  impl->families.assign(kFamilyCount, nullptr);
  for (size_t i = 0; i < handles.size(); ++i) impl->families[positions[i]] = handles[i];
  impl->db.reset(db);
  std::unique_ptr<StoreReader> store(new StoreReader(std::move(impl), dir));
  CW_TRY(store->CheckServable(/*for_rebuild=*/false));
  return store;
}

uint64_t Store::next_event_sequence() const { return impl_->NextSequence(kArrivals); }
uint64_t Store::next_dead_letter_sequence() const { return impl_->NextSequence(kDeadLetters); }
uint64_t Store::next_outbox_sequence() const { return impl_->NextSequence(kOutbox); }

WriteBatch Store::NewWriteBatch() const { return WriteBatch(&impl_->families); }

Result<void> Store::Write(WriteBatch& batch, bool sync) {
  WithoutPerfCounters();
  rocksdb::WriteOptions options;
  options.sync = sync;
  const rocksdb::Status status = impl_->db->Write(options, WriteBatchInternal::Batch(batch));
  if (!status.ok()) return FromStatus(status, "writing");
  batch.Clear();
  return Ok();
}

Result<void> Store::TakeOverOutbox(uint64_t sequence, const v1::OutboxRecord& placeholder) {
  if (next_event_sequence() != 0 || next_outbox_sequence() != 0 ||
      next_dead_letter_sequence() != 0) {
    return FailedPrecondition(fmt::format(
        "the store in {} is not new: it cannot take over another store's outbox", directory_.string()));
  }
  return ReplaceOutbox(sequence, placeholder, {});
}

Result<void> Store::ReplaceOutbox(uint64_t sequence, const v1::OutboxRecord& placeholder,
                                  std::span<const v1::OutboxRecord> after) {
  WriteBatch batch = NewWriteBatch();
  CW_TRY(ScanOutbox(0, [&](uint64_t held, const v1::OutboxRecord&) {
    batch.DeleteOutbox(held);
    return true;
  }));
  batch.PutOutbox(sequence, placeholder);
  for (size_t i = 0; i < after.size(); ++i) batch.PutOutbox(sequence + 1 + i, after[i]);
  CW_TRY(Write(batch, true));
  return Ok();
}

Result<void> Store::BeginRebuild(const v1::RebuildMarker& marker) {
  // The marker is on disk before anything is cleared: from here until the rebuild's last write
  // deletes it, every opener knows the projections are incomplete.
  WriteBatch batch = NewWriteBatch();
  batch.PutRebuildMarker(marker);
  CW_TRY(Write(batch, /*sync=*/true));
  for (Family f : {kCases, kScopes, kDaily}) {
    CW_TRY(impl_->Clear(f));
  }
  const rocksdb::Status status = impl_->db->Delete(rocksdb::WriteOptions(), impl_->family(kMeta),
                                                   std::string(kProjectionInstantKey));
  if (!status.ok()) return FromStatus(status, "clearing projections");
  return Ok();
}

}  // namespace casewatch::store
