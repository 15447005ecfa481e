#include "services/store/id_ledger.h"

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <unordered_set>

#include "services/store/internal/store_impl.h"

namespace casewatch::store {
namespace {

constexpr char kClaimVersion = 1;
constexpr size_t kClaimSize = 1 + 4 + 8 + 16;
constexpr char kClaimPrefix = 'c';   // 'c' id: the first claim on the id
constexpr char kOffsetPrefix = 'o';  // 'o' partition (4 bytes, big-endian): next offset to read

template <typename T>
void PutBigEndian(std::string& out, T value) {
  for (int shift = static_cast<int>(sizeof(T) * 8) - 8; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>(static_cast<uint64_t>(value) >> shift));
  }
}

template <typename T>
T GetBigEndian(std::string_view& in) {
  uint64_t value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) value = (value << 8) | static_cast<uint8_t>(in[i]);
  in.remove_prefix(sizeof(T));
  return static_cast<T>(value);
}

std::string ClaimKey(std::string_view id) {
  std::string key(1, kClaimPrefix);
  key.append(id);
  return key;
}

std::string OffsetKey(int32_t partition) {
  std::string key(1, kOffsetPrefix);
  PutBigEndian(key, static_cast<uint32_t>(partition));
  return key;
}

}  // namespace

std::string EncodeIdClaim(const IdClaim& claim) {
  std::string out(1, kClaimVersion);
  out.reserve(kClaimSize);
  PutBigEndian(out, static_cast<uint32_t>(claim.partition));
  PutBigEndian(out, static_cast<uint64_t>(claim.offset));
  PutBigEndian(out, claim.content[0]);
  PutBigEndian(out, claim.content[1]);
  return out;
}

Result<IdClaim> DecodeIdClaim(std::string_view value) {
  if (value.size() != kClaimSize || value[0] != kClaimVersion) {
    return InvalidArgument(fmt::format(
        "not an event id claim: {} bytes{}, where a claim is {} bytes starting with version {}",
        value.size(), value.empty() ? "" : fmt::format(" starting with {}", int{value[0]}),
        kClaimSize, int{kClaimVersion}));
  }
  value.remove_prefix(1);
  IdClaim claim;
  claim.partition = static_cast<int32_t>(GetBigEndian<uint32_t>(value));
  claim.offset = static_cast<int64_t>(GetBigEndian<uint64_t>(value));
  claim.content[0] = GetBigEndian<uint64_t>(value);
  claim.content[1] = GetBigEndian<uint64_t>(value);
  return claim;
}

struct IdLedger::Impl {
  std::unique_ptr<rocksdb::DB> db;
};

IdLedger::IdLedger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
IdLedger::~IdLedger() = default;

Result<std::unique_ptr<IdLedger>> IdLedger::Open(const std::filesystem::path& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.max_background_jobs = 2;
  options.compression = rocksdb::kLZ4Compression;
  options.level_compaction_dynamic_level_bytes = true;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));  // most ids asked are new
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::DB* db = nullptr;
  rocksdb::Status status = rocksdb::DB::Open(options, dir.string(), &db);
  if (!status.ok()) {
    std::string doing = fmt::format("opening the event id ledger {}", dir.string());
    if (status.IsIOError() && status.ToString().find("lock") != std::string::npos) {
      doing += " (is another casewatchd using this directory?)";
    }
    return FromStatus(status, doing);
  }
  auto impl = std::make_unique<Impl>();
  impl->db.reset(db);
  return std::unique_ptr<IdLedger>(new IdLedger(std::move(impl)));
}

Result<std::map<int32_t, int64_t>> IdLedger::Offsets() const {
  std::map<int32_t, int64_t> offsets;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions()));
  const std::string first(1, kOffsetPrefix);
  for (it->Seek(first); it->Valid() && it->key().starts_with(first); it->Next()) {
    std::string_view key = View(it->key());
    std::string_view value = View(it->value());
    key.remove_prefix(1);
    if (key.size() != 4 || value.size() != 8) {
      return DataLoss(fmt::format("the event id ledger holds an offset it cannot read ({} and {} "
                                  "bytes); delete its directory, and it is read again from the "
                                  "ids topic",
                                  key.size(), value.size()));
    }
    const auto partition = static_cast<int32_t>(GetBigEndian<uint32_t>(key));
    offsets[partition] = static_cast<int64_t>(GetBigEndian<uint64_t>(value));
  }
  if (!it->status().ok()) return FromStatus(it->status(), "reading the event id ledger's offsets");
  return offsets;
}

Result<std::vector<bool>> IdLedger::Add(int32_t partition, std::span<const Record> records,
                                        int64_t next_offset) {
  std::vector<std::string_view> ids;
  ids.reserve(records.size());
  for (const Record& r : records) ids.push_back(r.id);
  CW_TRY(held, Find(ids));
  rocksdb::WriteBatch batch;
  std::unordered_set<std::string_view> claimed;  // in this batch
  std::vector<bool> first(records.size(), false);
  for (size_t k = 0; k < records.size(); ++k) {
    if (held[k] || !claimed.insert(records[k].id).second) continue;
    batch.Put(ClaimKey(records[k].id), EncodeIdClaim(records[k].claim));
    first[k] = true;
  }
  std::string offset;
  PutBigEndian(offset, static_cast<uint64_t>(next_offset));
  batch.Put(OffsetKey(partition), offset);
  WithoutPerfCounters();
  rocksdb::Status status = impl_->db->Write(rocksdb::WriteOptions(), &batch);
  if (!status.ok()) return FromStatus(status, "writing to the event id ledger");
  return first;
}

Result<std::vector<std::optional<IdClaim>>> IdLedger::Find(
    std::span<const std::string_view> ids) const {
  std::vector<std::string> keys;
  keys.reserve(ids.size());
  for (std::string_view id : ids) keys.push_back(ClaimKey(id));
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  WithoutPerfCounters();
  impl_->db->MultiGet(rocksdb::ReadOptions(), impl_->db->DefaultColumnFamily(), keys.size(),
                      slices.data(), values.data(), statuses.data());
  std::vector<std::optional<IdClaim>> found(ids.size());
  for (size_t k = 0; k < ids.size(); ++k) {
    if (statuses[k].IsNotFound()) continue;
    if (!statuses[k].ok()) return FromStatus(statuses[k], "reading the event id ledger");
    auto claim = DecodeIdClaim(View(values[k]));
    if (!claim) {
      return DataLoss(fmt::format("the event id ledger's claim on \"{}\" cannot be read ({}); "
                                  "delete its directory, and it is read again from the ids topic",
                                  ids[k], claim.error().message));
    }
    found[k] = claim.value();
  }
  return found;
}

}  // namespace casewatch::store
