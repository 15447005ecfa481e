#include "services/store/store.h"

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace casewatch::store {
namespace {

// Column families, in the order of the handles.
enum Family : size_t {
  kMeta,         // projection instant, policy ("default")
  kEvents,       // case_id \0 occurred_at event_id -> Envelope bytes: case order
  kArrivals,     // sequence -> events key: arrival order
  kIds,          // event_id -> content fingerprint, sequence
  kDeadLetters,  // sequence -> DeadLetter
  kOffsets,      // topic \0 partition -> next offset
  kCases,        // case_id -> CaseProjection
  kScopes,       // ScopeKey -> ScopeCounts
  kOutbox,       // sequence -> OutboxRecord
  kDaily,        // day (days since the epoch, sign-flipped, big-endian) ScopeKey -> ScopeCounts
  kFamilyCount,
};
constexpr const char* kFamilyNames[kFamilyCount] = {"default",      "events",  "arrivals", "ids",
                                                    "dead_letters", "offsets", "cases",    "scopes",
                                                    "outbox",       "daily"};

constexpr std::string_view kProjectionInstantKey = "projection_as_of";
constexpr std::string_view kPolicyKey = "policy";
constexpr std::string_view kRebuildKey = "rebuild";
// "pending" NUL case_id: a case with stored events not yet projected.
constexpr std::string_view kPendingPrefix{"pending\0", 8};

Error FromStatus(const rocksdb::Status& status, std::string_view doing) {
  std::string message = fmt::format("store: {}: {}", doing, status.ToString());
  if (status.IsNotFound()) return NotFound(std::move(message));
  if (status.IsBusy() || status.IsTryAgain() || status.IsTimedOut()) {
    return Unavailable(std::move(message));
  }
  if (status.IsIOError() || status.IsCorruption()) return IoError(std::move(message));
  if (status.IsInvalidArgument()) return InvalidArgument(std::move(message));
  return Internal(std::move(message));
}

void AppendBigEndian(std::string& out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>(value >> (8 * i)));
}

uint64_t ReadBigEndian(std::string_view in, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value = value << 8 | static_cast<uint8_t>(in[i]);
  return value;
}

std::string SequenceKey(uint64_t sequence) {
  std::string key;
  AppendBigEndian(key, sequence, 8);
  return key;
}

// Case order is key order: case id (never contains \0), then the instant with its sign flipped so
// that negative seconds sort first, then nanos, then the event id byte-wise.
std::string EventKey(std::string_view case_id, Instant occurred_at, std::string_view event_id) {
  std::string key;
  key.reserve(case_id.size() + 13 + event_id.size());
  key.append(case_id);
  key.push_back('\0');
  AppendBigEndian(key, static_cast<uint64_t>(occurred_at.seconds) ^ (uint64_t{1} << 63), 8);
  AppendBigEndian(key, static_cast<uint32_t>(occurred_at.nanos), 4);
  key.append(event_id);
  return key;
}

std::string DayKey(Date day) {
  std::string key;
  AppendBigEndian(key, static_cast<uint32_t>(day.days) ^ (uint32_t{1} << 31), 4);
  return key;
}

Date DayOfKey(std::string_view key) {
  return Date{
      static_cast<int32_t>(static_cast<uint32_t>(ReadBigEndian(key, 4)) ^ (uint32_t{1} << 31))};
}

std::string_view CaseIdOfEventKey(std::string_view key) { return key.substr(0, key.find('\0')); }

std::string OffsetKey(std::string_view topic, int32_t partition) {
  std::string key(topic);
  key.push_back('\0');
  AppendBigEndian(key, static_cast<uint32_t>(partition), 4);
  return key;
}

std::string_view View(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

template <class Message>
std::string Serialize(const Message& message) {
  std::string bytes;
  message.SerializeToString(&bytes);
  return bytes;
}

}  // namespace

void AppendKeyPart(std::string& key, std::string_view part) {
  for (size_t at = 0;;) {
    const size_t nul = part.find('\0', at);
    key.append(part.substr(at, nul == std::string_view::npos ? std::string_view::npos : nul - at));
    if (nul == std::string_view::npos) break;
    key.push_back('\0');
    key.push_back('\xff');
    at = nul + 1;
  }
  key.push_back('\0');
}

std::string ScopeKey(std::string_view region, std::string_view pdu, std::string_view team,
                     std::string_view offender_manager) {
  std::string key;
  key.reserve(region.size() + pdu.size() + team.size() + offender_manager.size() + 4);
  for (std::string_view part : {region, pdu, team, offender_manager}) AppendKeyPart(key, part);
  return key;
}

// --- WriteBatch ---

struct WriteBatch::Impl {
  rocksdb::WriteBatch batch;
  const std::vector<rocksdb::ColumnFamilyHandle*>* families = nullptr;

  void Put(Family family, std::string_view key, std::string_view value) {
    // Only fails on sizes over 4 GiB, which the engine's batches never reach.
    batch.Put((*families)[family], rocksdb::Slice(key.data(), key.size()),
              rocksdb::Slice(value.data(), value.size()));
  }
};

WriteBatch::WriteBatch(const void* families) : impl_(std::make_unique<Impl>()) {
  impl_->families = static_cast<const std::vector<rocksdb::ColumnFamilyHandle*>*>(families);
}
WriteBatch::~WriteBatch() = default;
WriteBatch::WriteBatch(WriteBatch&&) noexcept = default;
WriteBatch& WriteBatch::operator=(WriteBatch&&) noexcept = default;

void WriteBatch::PutEvent(std::string_view case_id, Instant occurred_at, std::string_view event_id,
                          std::string_view envelope, const IdEntry& id) {
  std::string key = EventKey(case_id, occurred_at, event_id);
  impl_->Put(kArrivals, SequenceKey(id.sequence), key);
  impl_->Put(kEvents, key, envelope);
  std::string entry;
  AppendBigEndian(entry, id.content[0], 8);
  AppendBigEndian(entry, id.content[1], 8);
  AppendBigEndian(entry, id.sequence, 8);
  impl_->Put(kIds, event_id, entry);
}

void WriteBatch::PutDeadLetter(uint64_t sequence, const v1::DeadLetter& record) {
  impl_->Put(kDeadLetters, SequenceKey(sequence), Serialize(record));
}

void WriteBatch::PutOffset(std::string_view topic, int32_t partition, int64_t next_offset) {
  std::string value;
  AppendBigEndian(value, static_cast<uint64_t>(next_offset), 8);
  impl_->Put(kOffsets, OffsetKey(topic, partition), value);
}

void WriteBatch::PutCase(std::string_view case_id, const v1::CaseProjection& projection) {
  impl_->Put(kCases, case_id, Serialize(projection));
}

void WriteBatch::PutScope(const v1::ScopeCounts& counts) {
  impl_->Put(kScopes,
             ScopeKey(counts.region(), counts.pdu(), counts.team(), counts.offender_manager()),
             Serialize(counts));
}

void WriteBatch::PutDaily(Date day, const v1::ScopeCounts& counts) {
  impl_->Put(kDaily,
             DayKey(day) +
                 ScopeKey(counts.region(), counts.pdu(), counts.team(), counts.offender_manager()),
             Serialize(counts));
}

void WriteBatch::PutOutbox(uint64_t sequence, const v1::OutboxRecord& record) {
  impl_->Put(kOutbox, SequenceKey(sequence), Serialize(record));
}

void WriteBatch::DeleteOutbox(uint64_t sequence) {
  impl_->batch.Delete((*impl_->families)[kOutbox], SequenceKey(sequence));
}

void WriteBatch::PutProjectionInstant(Instant as_of) {
  std::string value;
  AppendBigEndian(value, static_cast<uint64_t>(as_of.seconds), 8);
  AppendBigEndian(value, static_cast<uint32_t>(as_of.nanos), 4);
  impl_->Put(kMeta, kProjectionInstantKey, value);
}

void WriteBatch::PutPolicy(std::string_view policy_json) {
  impl_->Put(kMeta, kPolicyKey, policy_json);
}

void WriteBatch::PutPendingCase(std::string_view case_id) {
  impl_->Put(kMeta, std::string(kPendingPrefix) + std::string(case_id), "");
}

void WriteBatch::DeletePendingCase(std::string_view case_id) {
  impl_->batch.Delete((*impl_->families)[kMeta], std::string(kPendingPrefix) + std::string(case_id));
}

void WriteBatch::PutRebuildMarker(const v1::RebuildMarker& marker) {
  impl_->Put(kMeta, kRebuildKey, Serialize(marker));
}

void WriteBatch::DeleteRebuildMarker() {
  impl_->batch.Delete((*impl_->families)[kMeta], std::string(kRebuildKey));
}

size_t WriteBatch::count() const { return impl_->batch.Count(); }
void WriteBatch::Clear() { impl_->batch.Clear(); }

// --- Store ---

struct Store::Impl {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> families;
  bool secondary = false;

  ~Impl() {
    // Column-family handles go before the database.
    for (rocksdb::ColumnFamilyHandle* family : families) {
      if (family != nullptr) db->DestroyColumnFamilyHandle(family);
    }
    families.clear();
    db.reset();
  }

  rocksdb::ColumnFamilyHandle* family(Family f) const { return families[f]; }

  // Visits [begin, end) of a family ("" end: to the last key); stops when `visit` returns false.
  // A `bulk` scan reads every record once: it leaves the block cache to the reads that repeat
  // (otherwise a full scan evicts them, and costs page faults while the cache fills).
  Result<void> Scan(Family f, std::string_view begin, std::string_view end,
                    const std::function<bool(std::string_view, std::string_view)>& visit,
                    bool bulk = false) const {
    if (family(f) == nullptr) return Ok();  // a secondary of an older store: none yet
    rocksdb::ReadOptions read;
    read.fill_cache = !bulk;
    rocksdb::Slice upper(end.data(), end.size());
    if (!end.empty()) read.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read, family(f)));
    for (it->Seek(rocksdb::Slice(begin.data(), begin.size())); it->Valid(); it->Next()) {
      if (!visit(View(it->key()), View(it->value()))) break;
    }
    if (!it->status().ok()) return FromStatus(it->status(), "reading");
    return Ok();
  }

  Result<std::optional<std::string>> Get(Family f, std::string_view key) const {
    if (family(f) == nullptr) return std::optional<std::string>();
    std::string value;
    const rocksdb::Status status =
        db->Get(rocksdb::ReadOptions(), family(f), rocksdb::Slice(key.data(), key.size()), &value);
    if (status.IsNotFound()) return std::optional<std::string>();
    if (!status.ok()) return FromStatus(status, "reading");
    return std::optional<std::string>(std::move(value));
  }

  // Deletes every key of a family: a range up to its last key, then that key.
  Result<void> Clear(Family f) {
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

  // The last key of a sequence-keyed family + 1, or 0 when it is empty.
  uint64_t NextSequence(Family f) const {
    if (family(f) == nullptr) return 0;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), family(f)));
    it->SeekToLast();
    if (!it->Valid() || it->key().size() != 8) return 0;
    return ReadBigEndian(View(it->key()), 8) + 1;
  }
};

namespace {

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

}  // namespace

Store::Store(std::unique_ptr<Impl> impl, std::filesystem::path directory)
    : impl_(std::move(impl)), directory_(std::move(directory)) {}
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
  CW_TRY(store->LoadSequences());
  if (!options.unfinished_rebuild_ok) {
    CW_TRY(store->RefuseUnfinishedRebuild());
  }
  return store;
}

Result<void> Store::RefuseUnfinishedRebuild() const {
  CW_TRY(marker, UnfinishedRebuild());
  if (marker) return UnfinishedRebuildError(directory_, *marker);
  return Ok();
}

Result<std::unique_ptr<Store>> Store::OpenSecondary(const std::filesystem::path& dir,
                                                    const std::filesystem::path& secondary_dir) {
  if (!std::filesystem::exists(dir / "CURRENT")) {
    return NotFound(fmt::format("store: no engine store in {}", dir.string()));
  }
  rocksdb::DBOptions db_options;
  db_options.max_open_files = -1;  // required of secondaries
  auto impl = std::make_unique<Impl>();
  impl->secondary = true;
  rocksdb::DB* db = nullptr;
  // A store written by an older casewatchd lacks the newer families: open those it has and
  // read the others as empty.
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
  std::unique_ptr<Store> store(new Store(std::move(impl), dir));
  CW_TRY(store->LoadSequences());
  CW_TRY(store->RefuseUnfinishedRebuild());
  return store;
}

Result<void> Store::LoadSequences() {
  next_event_sequence_ = impl_->NextSequence(kArrivals);
  next_dead_letter_sequence_ = impl_->NextSequence(kDeadLetters);
  next_outbox_sequence_ = impl_->NextSequence(kOutbox);
  return Ok();
}

WriteBatch Store::NewWriteBatch() const { return WriteBatch(&impl_->families); }

Result<void> Store::Write(WriteBatch& batch, bool sync) {
  rocksdb::WriteOptions options;
  options.sync = sync;
  const rocksdb::Status status = impl_->db->Write(options, &batch.impl_->batch);
  if (!status.ok()) return FromStatus(status, "writing");
  batch.Clear();
  return Ok();
}

Result<void> Store::CatchUp() {
  const rocksdb::Status status = impl_->db->TryCatchUpWithPrimary();
  if (!status.ok()) return FromStatus(status, "catching up with the engine");
  return LoadSequences();
}

Result<std::vector<std::optional<IdEntry>>> Store::FindIds(
    std::span<const std::string_view> event_ids) const {
  std::vector<rocksdb::Slice> keys;
  keys.reserve(event_ids.size());
  for (std::string_view id : event_ids) keys.emplace_back(id.data(), id.size());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  impl_->db->MultiGet(rocksdb::ReadOptions(), impl_->family(kIds), keys.size(), keys.data(),
                      values.data(), statuses.data());
  std::vector<std::optional<IdEntry>> found(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    if (!statuses[i].ok()) return FromStatus(statuses[i], "looking up event ids");
    const std::string_view v = View(values[i]);
    if (v.size() != 24) return IoError("store: a malformed event_id entry");
    found[i] = IdEntry{{ReadBigEndian(v, 8), ReadBigEndian(v.substr(8), 8)},
                       ReadBigEndian(v.substr(16), 8)};
  }
  return found;
}

Result<void> Store::ReadCase(std::string_view case_id, const EnvelopeVisitor& visit) const {
  std::string begin(case_id);
  begin.push_back('\0');
  std::string end(case_id);
  end.push_back('\1');
  return impl_->Scan(
      kEvents, begin, end,
      [&](std::string_view, std::string_view value) {
        visit(value);
        return true;
      },
      /*bulk=*/true);
}

Result<uint64_t> Store::ReadCasePage(std::string_view case_id, uint64_t skip, uint64_t limit,
                                     const EnvelopeVisitor& visit) const {
  std::string begin(case_id);
  begin.push_back('\0');
  std::string end(case_id);
  end.push_back('\1');
  uint64_t position = 0;
  CW_TRY(impl_->Scan(
      kEvents, begin, end,
      [&](std::string_view, std::string_view value) {
        if (position >= skip && position - skip < limit) visit(value);
        ++position;
        return true;
      },
      /*bulk=*/true));
  return position;
}

Result<void> Store::ScanCases(const std::function<void(std::string_view)>& visit_case,
                              const EnvelopeVisitor& visit) const {
  std::string current;
  bool first = true;
  return impl_->Scan(kEvents, "", "", [&](std::string_view key, std::string_view value) {
    const std::string_view case_id = CaseIdOfEventKey(key);
    if (first || case_id != current) {
      current.assign(case_id);
      first = false;
      visit_case(current);
    }
    visit(value);
    return true;
  });
}

Result<void> Store::ScanArrivals(
    uint64_t from_sequence, const std::function<bool(uint64_t, std::string_view)>& visit) const {
  Result<void> inner = Ok();
  CW_TRY(impl_->Scan(kArrivals, SequenceKey(from_sequence), "",
                     [&](std::string_view key, std::string_view event_key) {
                       auto envelope = impl_->Get(kEvents, event_key);
                       if (!envelope) {
                         inner = envelope.error();
                         return false;
                       }
                       if (!envelope.value()) return true;
                       return visit(ReadBigEndian(key, 8), *envelope.value());
                     }));
  return inner;
}

Result<std::optional<v1::CaseProjection>> Store::ReadProjection(std::string_view case_id) const {
  CW_TRY(bytes, impl_->Get(kCases, case_id));
  if (!bytes) return std::optional<v1::CaseProjection>();
  v1::CaseProjection projection;
  if (!projection.ParseFromString(*bytes)) return IoError("store: a malformed case projection");
  return std::optional<v1::CaseProjection>(std::move(projection));
}

namespace {

template <class Message, class Visit>
auto ParsingVisitor(Result<void>& failure, std::string_view what, Visit visit) {
  // One message for the whole scan: parsing into it again reuses its strings and fields.
  return [&failure, what, visit, message = std::make_shared<Message>()](std::string_view key,
                                                                        std::string_view value) {
    if (!message->ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      failure = IoError(fmt::format("store: a malformed {} record", what));
      return false;
    }
    return visit(key, *message);
  };
}

}  // namespace

Result<void> Store::ScanProjections(
    const std::function<void(std::string_view, const v1::CaseProjection&)>& visit) const {
  Result<void> failure = Ok();
  CW_TRY(impl_->Scan(kCases, "", "",
                     ParsingVisitor<v1::CaseProjection>(
                         failure, "case projection",
                         [&](std::string_view key, const v1::CaseProjection& projection) {
                           visit(key, projection);
                           return true;
                         }),
                     /*bulk=*/true));
  return failure;
}

Result<void> Store::ScanScopes(const std::function<void(const v1::ScopeCounts&)>& visit) const {
  Result<void> failure = Ok();
  CW_TRY(impl_->Scan(kScopes, "", "",
                     ParsingVisitor<v1::ScopeCounts>(
                         failure, "scope counts", [&](std::string_view, const v1::ScopeCounts& c) {
                           visit(c);
                           return true;
                         })));
  return failure;
}

Result<void> Store::ScanDaily(
    Date from, Date to, const std::function<void(Date, const v1::ScopeCounts&)>& visit) const {
  if (to < from) return Ok();
  Result<void> failure = Ok();
  CW_TRY(
      impl_->Scan(kDaily, DayKey(from), DayKey(to + 1),
                  ParsingVisitor<v1::ScopeCounts>(
                      failure, "daily counts", [&](std::string_view key, const v1::ScopeCounts& c) {
                        visit(DayOfKey(key), c);
                        return true;
                      })));
  return failure;
}

Result<void> Store::ScanDeadLetters(
    const std::function<void(uint64_t, const v1::DeadLetter&)>& visit) const {
  Result<void> failure = Ok();
  CW_TRY(impl_->Scan(
      kDeadLetters, "", "",
      ParsingVisitor<v1::DeadLetter>(failure, "dead letter",
                                     [&](std::string_view key, const v1::DeadLetter& record) {
                                       visit(ReadBigEndian(key, 8), record);
                                       return true;
                                     })));
  return failure;
}

Result<void> Store::ScanOutbox(
    uint64_t from_sequence,
    const std::function<bool(uint64_t, const v1::OutboxRecord&)>& visit) const {
  Result<void> failure = Ok();
  CW_TRY(
      impl_->Scan(kOutbox, SequenceKey(from_sequence), "",
                  ParsingVisitor<v1::OutboxRecord>(
                      failure, "outbox", [&](std::string_view key, const v1::OutboxRecord& record) {
                        return visit(ReadBigEndian(key, 8), record);
                      })));
  return failure;
}

Result<std::vector<OffsetEntry>> Store::Offsets(std::string_view topic) const {
  std::string begin(topic);
  begin.push_back('\0');
  std::string end(topic);
  end.push_back('\1');
  std::vector<OffsetEntry> offsets;
  CW_TRY(impl_->Scan(kOffsets, begin, end, [&](std::string_view key, std::string_view value) {
    offsets.push_back(OffsetEntry{static_cast<int32_t>(ReadBigEndian(key.substr(begin.size()), 4)),
                                  static_cast<int64_t>(ReadBigEndian(value, 8))});
    return true;
  }));
  return offsets;
}

Result<std::optional<Instant>> Store::ProjectionInstant() const {
  CW_TRY(bytes, impl_->Get(kMeta, kProjectionInstantKey));
  if (!bytes) return std::optional<Instant>();
  if (bytes->size() != 12) return IoError("store: a malformed projection instant");
  return std::optional<Instant>(Instant{static_cast<int64_t>(ReadBigEndian(*bytes, 8)),
                                        static_cast<int32_t>(ReadBigEndian(bytes->substr(8), 4))});
}

Result<std::optional<std::string>> Store::Policy() const { return impl_->Get(kMeta, kPolicyKey); }

Result<void> Store::ScanPendingCases(
    const std::function<void(std::string_view case_id)>& visit) const {
  std::string end(kPendingPrefix);
  end.back() = '\1';
  return impl_->Scan(kMeta, kPendingPrefix, end, [&](std::string_view key, std::string_view) {
    visit(key.substr(kPendingPrefix.size()));
    return true;
  });
}

Result<std::optional<v1::RebuildMarker>> Store::UnfinishedRebuild() const {
  CW_TRY(bytes, impl_->Get(kMeta, kRebuildKey));
  if (!bytes) return std::optional<v1::RebuildMarker>();
  v1::RebuildMarker marker;
  if (!marker.ParseFromString(*bytes)) return IoError("store: a malformed rebuild marker");
  return std::optional<v1::RebuildMarker>(std::move(marker));
}

namespace {

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

Error UnfinishedRebuildError(const std::filesystem::path& dir, const v1::RebuildMarker& marker) {
  std::string command = "casewatch rebuild --data " + ShellWord(dir.string());
  if (!marker.policy_path().empty()) command += " --policy " + ShellWord(marker.policy_path());
  return FailedPrecondition(fmt::format(
      "the store in {} is half-rebuilt: a `casewatch rebuild` started at {} did not finish, so "
      "its projections are incomplete and nothing can be reported from them; run `{}` to finish "
      "it",
      dir.string(), FormatInstant(Instant{marker.started_seconds(), 0}), command));
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

uint64_t Store::ApproximateSizeBytes() const {
  uint64_t total = 0;
  for (rocksdb::ColumnFamilyHandle* family : impl_->families) {
    if (family == nullptr) continue;
    uint64_t size = 0;
    impl_->db->GetIntProperty(family, "rocksdb.total-sst-files-size", &size);
    total += size;
    impl_->db->GetIntProperty(family, "rocksdb.cur-size-all-mem-tables", &size);
    total += size;
  }
  return total;
}

}  // namespace casewatch::store
