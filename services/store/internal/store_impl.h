#pragma once
// What the store's .cc files share: the open database and its column-family handles, scans and
// point reads over a family, and the conversion of RocksDB's Status at the boundary. Internal to
// services/store.

#include <rocksdb/db.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/slice.h>
#include <rocksdb/write_batch.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "services/store/format.h"
#include "services/store/store.h"

namespace casewatch::store {

// RocksDB's status as an Error: not found, busy (retryable), I/O, corruption (data loss), ...
Error FromStatus(const rocksdb::Status& status, std::string_view doing);

// The RocksDB batch inside a WriteBatch (LevelDB's WriteBatchInternal).
struct WriteBatchInternal {
  static rocksdb::WriteBatch* Batch(WriteBatch& batch);
};

inline std::string_view View(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

// RocksDB counts every key comparison into a thread-local perf context unless the thread says
// not to: 15% of a catch-up's storing. Called before each read or write (the level is per thread).
inline void WithoutPerfCounters() { rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable); }

struct StoreReader::Impl {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> families;  // by format::Family; nullptr: absent
  bool secondary = false;

  ~Impl();

  rocksdb::ColumnFamilyHandle* family(format::Family f) const { return families[f]; }

  // Visits [begin, end) of a family ("" end: to the last key); stops when `visit` returns false.
  // A `bulk` scan reads every record once: it leaves the block cache to the reads that repeat
  // (otherwise a full scan evicts them, and costs page faults while the cache fills).
  Result<void> Scan(format::Family f, std::string_view begin, std::string_view end,
                    const std::function<bool(std::string_view, std::string_view)>& visit,
                    bool bulk = false) const;
  Result<std::optional<std::string>> Get(format::Family f, std::string_view key) const;
  // Deletes every key of a family: a range up to its last key, then that key.
  Result<void> Clear(format::Family f);
  // The last key of a sequence-keyed family + 1, or 0 when it is empty.
  uint64_t NextSequence(format::Family f) const;
  // Whether the family holds no key.
  bool Empty(format::Family f) const;
};

}  // namespace casewatch::store
