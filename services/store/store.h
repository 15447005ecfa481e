#pragma once
// Store: the engine's durable state in one RocksDB database. It is the history (Kafka's retention
// is not): every accepted event, readable per case in case order and globally in arrival order,
// the event_id index, dead letters, consumed offsets, the projections (per-case items and
// per-allocation counts, and each day's, for trends) and an outbox of records to publish. Every
// change goes through one WriteBatch, so the offsets consumed and the state they produced are
// written atomically.
//
// StoreReader is the read-only view (what a secondary is, and what reports are given); Store is
// the writer, which can also be read. Keys and values are encoded in format.h; every opener
// checks the store's format version and refuses a half-rebuilt store.
//
// Thread safety: a store may be read from any thread; writes come from one thread (the engine's).
// One process opens a directory read-write; others may open it as a secondary (read-only,
// following the primary) at the same time.

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "casewatch/store/v1/records.pb.h"
#include "projections/calendar.h"
#include "services/store/format.h"

namespace casewatch::store {

using format::AppendKeyPart;
using format::IdEntry;
using format::ScopeKey;

struct StoreOptions {
  // RocksDB's memory: block cache, indexes and filters, and memtables (at most half of it).
  size_t memory_bytes = size_t{256} << 20;
  size_t write_buffer_bytes = size_t{32} << 20;  // per column family
  // Open a store whose rebuild did not finish, or of an older format (only `casewatch rebuild`,
  // which finishes the one and upgrades the other); every other opener is refused such a store
  // (FailedPrecondition naming the command).
  bool for_rebuild = false;
};

struct OffsetEntry {
  int32_t partition = 0;
  int64_t next_offset = 0;
};

// Changes to apply atomically with Store::Write; made by Store::NewWriteBatch, used with that
// store only. Not thread-safe.
class WriteBatch {
 public:
  ~WriteBatch();
  WriteBatch(WriteBatch&&) noexcept;
  WriteBatch& operator=(WriteBatch&&) noexcept;

  // An accepted event: in case order, in arrival order (`sequence`), and in the id index.
  void PutEvent(std::string_view case_id, Instant occurred_at, std::string_view event_id,
                std::string_view envelope, const IdEntry& id);
  struct NewEvent {
    std::string_view case_id;
    Instant occurred_at;
    std::string_view event_id;
    std::string_view envelope;
    IdEntry id;
  };
  // Many accepted events, as PutEvent each, but each index written in its own key order: RocksDB
  // inserts a run of ascending keys into a memtable far faster than scattered ones (a bulk
  // catch-up's writes are mostly these).
  void PutEvents(std::span<const NewEvent> events);
  void PutDeadLetter(uint64_t sequence, const v1::DeadLetter& record);
  void PutOffset(std::string_view topic, int32_t partition, int64_t next_offset);
  void PutCase(std::string_view case_id, const v1::CaseProjection& projection);
  void PutScope(const v1::ScopeCounts& counts);  // keyed by its allocation
  // The counts of one allocation as they stood at the start of `day` (the trend).
  void PutDaily(Date day, const v1::ScopeCounts& counts);
  void PutOutbox(uint64_t sequence, const v1::OutboxRecord& record);
  void DeleteOutbox(uint64_t sequence);
  void PutProjectionInstant(Instant as_of);
  void PutPolicy(std::string_view policy_json);
  // A case whose stored events are not all in its projection yet (a large case whose turn has
  // not come: engine.h), and the end of that.
  void PutPendingCase(std::string_view case_id);
  void DeletePendingCase(std::string_view case_id);
  // While a rebuild's marker is stored, the projections are incomplete (see RebuildMarker).
  void PutRebuildMarker(const v1::RebuildMarker& marker);
  void DeleteRebuildMarker();
  void PutFormatVersion();  // format::kFormatVersion

  size_t count() const;
  void Clear();

 private:
  friend class Store;
  friend struct WriteBatchInternal;
  explicit WriteBatch(const void* families);  // the store's column-family handles
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The read-only view of a store. Everything here is safe from any thread.
class StoreReader {
 public:
  // Opens the store in `dir` as a secondary: read-only, its own files in `secondary_dir`, seeing
  // the primary's writes up to the moment of opening (CatchUp for more). Refuses a store of
  // another format version or whose rebuild did not finish (FailedPrecondition naming the command
  // that puts it right), and a directory with no store (NotFound).
  [[nodiscard]] static Result<std::unique_ptr<StoreReader>> OpenSecondary(
      const std::filesystem::path& dir, const std::filesystem::path& secondary_dir);
  virtual ~StoreReader();
  StoreReader(const StoreReader&) = delete;
  StoreReader& operator=(const StoreReader&) = delete;

  [[nodiscard]] Result<void> CatchUp();  // secondaries only

  // The id entries of `event_ids`, in the same order (nullopt: never accepted).
  [[nodiscard]] Result<std::vector<std::optional<IdEntry>>> FindIds(
      std::span<const std::string_view> event_ids) const;
  // Every event id the store holds (its id index), in key order.
  [[nodiscard]] Result<void> ScanIds(const std::function<void(std::string_view)>& visit) const;

  using EnvelopeVisitor = std::function<void(std::string_view envelope)>;
  // One case's events in case order.
  [[nodiscard]] Result<void> ReadCase(std::string_view case_id, const EnvelopeVisitor& visit) const;
  // One case's events [skip, skip + limit) in case order; the number of events it has in all.
  [[nodiscard]] Result<uint64_t> ReadCasePage(std::string_view case_id, uint64_t skip,
                                              uint64_t limit, const EnvelopeVisitor& visit) const;
  // Every event, case by case (case ids byte-wise), each case in case order. `visit_case` is
  // called with each case id before its events.
  [[nodiscard]] Result<void> ScanCases(const std::function<void(std::string_view)>& visit_case,
                                       const EnvelopeVisitor& visit) const;
  // Every event in arrival order, starting at `from_sequence`.
  [[nodiscard]] Result<void> ScanArrivals(
      uint64_t from_sequence,
      const std::function<bool(uint64_t sequence, std::string_view envelope)>& visit) const;

  // Projections are checked as they are read: an item whose indicator or status code this build
  // does not know is DataLoss, never a different indicator.
  [[nodiscard]] Result<std::optional<v1::CaseProjection>> ReadProjection(
      std::string_view case_id) const;
  [[nodiscard]] Result<void> ScanProjections(
      const std::function<void(std::string_view case_id, const v1::CaseProjection&)>& visit) const;
  // The id of every case with a projection, in key order; no projection is read.
  [[nodiscard]] Result<void> ScanProjectedCaseIds(
      const std::function<void(std::string_view case_id)>& visit) const;
  // The same, parsed by `workers` threads (1 to 8) while this one reads: each projection goes to
  // one worker, which calls visit(worker, case_id, projection), each worker's in key order; calls
  // with different workers run at once. For scans whose work is per case (reports).
  [[nodiscard]] Result<void> ScanProjectionsParallel(
      int workers,
      const std::function<void(int worker, std::string_view case_id, const v1::CaseProjection&)>&
          visit) const;
  [[nodiscard]] Result<void> ScanScopes(
      const std::function<void(const v1::ScopeCounts&)>& visit) const;
  // The daily counts of the days in [from, to], day by day, each day's allocations by ScopeKey.
  [[nodiscard]] Result<void> ScanDaily(
      Date from, Date to, const std::function<void(Date, const v1::ScopeCounts&)>& visit) const;
  // The last day before `day` with daily counts; nullopt when there is none.
  [[nodiscard]] Result<std::optional<Date>> LastDailyBefore(Date day) const;
  [[nodiscard]] Result<void> ScanDeadLetters(
      const std::function<void(uint64_t sequence, const v1::DeadLetter&)>& visit) const;
  // Outbox records from `from_sequence` on, in order, until `visit` returns false.
  [[nodiscard]] Result<void> ScanOutbox(
      uint64_t from_sequence,
      const std::function<bool(uint64_t sequence, const v1::OutboxRecord&)>& visit) const;

  [[nodiscard]] Result<std::vector<OffsetEntry>> Offsets(std::string_view topic) const;
  // The instant the stored projections are evaluated at; nullopt before the first.
  [[nodiscard]] Result<std::optional<Instant>> ProjectionInstant() const;
  [[nodiscard]] Result<std::optional<std::string>> Policy() const;
  // Every case marked pending (WriteBatch::PutPendingCase).
  [[nodiscard]] Result<void> ScanPendingCases(
      const std::function<void(std::string_view case_id)>& visit) const;
  // The marker of a rebuild that has not finished (interrupted, or running now); nullopt if none.
  [[nodiscard]] Result<std::optional<v1::RebuildMarker>> UnfinishedRebuild() const;
  // The format version the store was written in (format::kFormatVersion unless opened for a
  // rebuild that upgrades it).
  uint32_t format_version() const { return format_version_; }

  // The directory the store was opened in.
  const std::filesystem::path& directory() const { return directory_; }
  // Approximate bytes on disk and in memtables, for logs and benchmarks.
  uint64_t ApproximateSizeBytes() const;

  struct Impl;  // internal/store_impl.h

 protected:
  StoreReader(std::unique_ptr<Impl> impl, std::filesystem::path directory);
  // Refuses a store this build cannot serve from: another format, or a rebuild not finished.
  [[nodiscard]] Result<void> CheckServable(bool for_rebuild);

  std::unique_ptr<Impl> impl_;
  std::filesystem::path directory_;
  uint32_t format_version_ = format::kFormatVersion;
};

// The store's writer (the engine's, or a rebuild's): a StoreReader that can also write.
class Store final : public StoreReader {
 public:
  // Opens the store in `dir` read-write, creating it when the directory holds none. Refuses a
  // store of another format version, or whose rebuild did not finish, unless options.for_rebuild
  // (FailedPrecondition naming the command).
  [[nodiscard]] static Result<std::unique_ptr<Store>> Open(const std::filesystem::path& dir,
                                                           StoreOptions options = {});
  ~Store() override;

  WriteBatch NewWriteBatch() const;
  // `sync`: the write is on disk (WAL fsync'd) when this returns. Clears the batch on success.
  [[nodiscard]] Result<void> Write(WriteBatch& batch, bool sync);

  // A new store (nothing stored yet) taking over the outbox numbering of the store it replaces,
  // whose last published record was `sequence`: stores `placeholder` there (synced), and the
  // next outbox record is numbered after it. FailedPrecondition when the store is not new.
  [[nodiscard]] Result<void> TakeOverOutbox(uint64_t sequence,
                                            const v1::OutboxRecord& placeholder);

  // Any store taking over the outbox numbering of the engine that published last (an engine of
  // a group coming to lead): deletes every outbox record it holds, stores `placeholder` at
  // `sequence` and `after` in order behind it, in one synced write.
  [[nodiscard]] Result<void> ReplaceOutbox(uint64_t sequence, const v1::OutboxRecord& placeholder,
                                           std::span<const v1::OutboxRecord> after);

  // The next unused sequence numbers (one past the last stored), read from the store when asked.
  // A store stays open while engines come and go on it (a group's task that leaves this process
  // and comes back): each engine numbers on from what the one before it wrote, never over it.
  uint64_t next_event_sequence() const;
  uint64_t next_dead_letter_sequence() const;
  uint64_t next_outbox_sequence() const;

  // The first step of a rebuild: stores `marker` (synced), then deletes every projection (cases,
  // scopes, daily counts, projection instant; the daily counts were made under the old policy).
  // The rebuild's last write deletes the marker (WriteBatch::DeleteRebuildMarker) and stores the
  // current format version (WriteBatch::PutFormatVersion): a store of an older format is
  // upgraded by a rebuild.
  [[nodiscard]] Result<void> BeginRebuild(const v1::RebuildMarker& marker);

  // What opening had to do that a reader of the logs must know (a damaged write-ahead log
  // recovered by dropping the batches after the damage): the opener logs these loudly.
  const std::vector<std::string>& recovery_warnings() const { return recovery_warnings_; }

 private:
  Store(std::unique_ptr<Impl> impl, std::filesystem::path directory);

  std::vector<std::string> recovery_warnings_;
};

// The refusal of a store whose rebuild did not finish: what happened and the command (with the
// marker's policy file) that finishes it.
Error UnfinishedRebuildError(const std::filesystem::path& dir, const v1::RebuildMarker& marker);

// The refusal of a store written in another format version: what it is and the command that
// upgrades it.
Error OtherFormatError(const std::filesystem::path& dir, uint32_t version);

}  // namespace casewatch::store
