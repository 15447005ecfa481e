// StoreReader: every read of the store, decoded by format.h and checked on the way in.
#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "services/store/format.h"
#include "services/store/internal/store_impl.h"
#include "services/store/store.h"

namespace casewatch::store {
namespace {

using namespace format;

// The codes inside a projection: one this build does not know is damage (or a newer format),
// never a different indicator.
Result<void> CheckCodes(const v1::CaseProjection& projection, std::string_view case_id) {
  for (const v1::StoredItem& item : projection.items()) {
    if (!IndicatorOfCode(item.indicator()) || !StatusOfCode(item.status())) {
      return DataLoss(fmt::format(
          "store: the projection of case {} holds an item with indicator code {} and status code "
          "{}, which this version does not know; rebuild the projections (`casewatch rebuild`)",
          case_id, item.indicator(), item.status()));
    }
  }
  return Ok();
}

Result<void> CheckCodes(const v1::ScopeCounts& counts) {
  if (counts.indicators_size() > kIndicatorCount) {
    return DataLoss(fmt::format(
        "store: counts of {} indicators, this version knows {}; rebuild the projections "
        "(`casewatch rebuild`)",
        counts.indicators_size(), kIndicatorCount));
  }
  return Ok();
}

template <class Message, class Visit>
auto ParsingVisitor(Result<void>& failure, std::string_view what, Visit visit) {
  // One message for the whole scan: parsing into it again reuses its strings and fields.
  return [&failure, what, visit, message = std::make_shared<Message>()](std::string_view key,
                                                                        std::string_view value) {
    if (!message->ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      failure = DataLoss(fmt::format("store: a malformed {} record", what));
      return false;
    }
    return visit(key, *message);
  };
}

}  // namespace

Result<void> StoreReader::Impl::Scan(
    Family f, std::string_view begin, std::string_view end,
    const std::function<bool(std::string_view, std::string_view)>& visit, bool bulk) const {
  if (family(f) == nullptr) return Ok();
  WithoutPerfCounters();
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

Result<std::optional<std::string>> StoreReader::Impl::Get(Family f, std::string_view key) const {
  if (family(f) == nullptr) return std::optional<std::string>();
  WithoutPerfCounters();
  std::string value;
  const rocksdb::Status status =
      db->Get(rocksdb::ReadOptions(), family(f), rocksdb::Slice(key.data(), key.size()), &value);
  if (status.IsNotFound()) return std::optional<std::string>();
  if (!status.ok()) return FromStatus(status, "reading");
  return std::optional<std::string>(std::move(value));
}

uint64_t StoreReader::Impl::NextSequence(Family f) const {
  if (family(f) == nullptr) return 0;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), family(f)));
  it->SeekToLast();
  if (!it->Valid() || it->key().size() != 8) return 0;
  return SequenceOfKey(View(it->key())) + 1;
}

bool StoreReader::Impl::Empty(Family f) const {
  if (family(f) == nullptr) return true;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), family(f)));
  it->SeekToFirst();
  return !it->Valid();
}

Result<void> StoreReader::CatchUp() {
  const rocksdb::Status status = impl_->db->TryCatchUpWithPrimary();
  if (!status.ok()) return FromStatus(status, "catching up with the engine");
  return Ok();
}

Result<std::vector<std::optional<IdEntry>>> StoreReader::FindIds(
    std::span<const std::string_view> event_ids) const {
  std::vector<rocksdb::Slice> keys;
  keys.reserve(event_ids.size());
  for (std::string_view id : event_ids) keys.emplace_back(id.data(), id.size());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  WithoutPerfCounters();
  impl_->db->MultiGet(rocksdb::ReadOptions(), impl_->family(kIds), keys.size(), keys.data(),
                      values.data(), statuses.data());
  std::vector<std::optional<IdEntry>> found(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    if (!statuses[i].ok()) return FromStatus(statuses[i], "looking up event ids");
    CW_TRY(entry, DecodeIdEntry(View(values[i])));
    found[i] = entry;
  }
  return found;
}

Result<void> StoreReader::ReadCase(std::string_view case_id, const EnvelopeVisitor& visit) const {
  return impl_->Scan(
      kEvents, CaseEventsBegin(case_id), CaseEventsEnd(case_id),
      [&](std::string_view, std::string_view value) {
        visit(value);
        return true;
      },
      /*bulk=*/true);
}

Result<uint64_t> StoreReader::ReadCasePage(std::string_view case_id, uint64_t skip, uint64_t limit,
                                           const EnvelopeVisitor& visit) const {
  uint64_t position = 0;
  CW_TRY(impl_->Scan(
      kEvents, CaseEventsBegin(case_id), CaseEventsEnd(case_id),
      [&](std::string_view, std::string_view value) {
        if (position >= skip && position - skip < limit) visit(value);
        ++position;
        return true;
      },
      /*bulk=*/true));
  return position;
}

Result<void> StoreReader::ScanCases(const std::function<void(std::string_view)>& visit_case,
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

Result<void> StoreReader::ScanArrivals(
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
                       return visit(SequenceOfKey(key), *envelope.value());
                     }));
  return inner;
}

Result<std::optional<v1::CaseProjection>> StoreReader::ReadProjection(
    std::string_view case_id) const {
  CW_TRY(bytes, impl_->Get(kCases, case_id));
  if (!bytes) return std::optional<v1::CaseProjection>();
  v1::CaseProjection projection;
  if (!projection.ParseFromString(*bytes)) {
    return DataLoss(fmt::format("store: the projection of case {} is malformed", case_id));
  }
  CW_TRY(CheckCodes(projection, case_id));
  return std::optional<v1::CaseProjection>(std::move(projection));
}

Result<void> StoreReader::ScanProjectedCaseIds(
    const std::function<void(std::string_view)>& visit) const {
  return impl_->Scan(
      kCases, "", "",
      [&](std::string_view key, std::string_view) {
        visit(key);
        return true;
      },
      /*bulk=*/true);
}

Result<void> StoreReader::ScanProjections(
    const std::function<void(std::string_view, const v1::CaseProjection&)>& visit) const {
  Result<void> failure = Ok();
  CW_TRY(impl_->Scan(kCases, "", "",
                     ParsingVisitor<v1::CaseProjection>(
                         failure, "case projection",
                         [&](std::string_view key, const v1::CaseProjection& projection) {
                           if (auto checked = CheckCodes(projection, key); !checked) {
                             failure = checked.error();
                             return false;
                           }
                           visit(key, projection);
                           return true;
                         }),
                     /*bulk=*/true));
  return failure;
}

Result<void> StoreReader::ScanProjectionsParallel(
    int workers,
    const std::function<void(int, std::string_view, const v1::CaseProjection&)>& visit) const {
  workers = std::clamp(workers, 1, 8);
  // Batches of raw records, read here in key order and dealt to the workers in turn; at most
  // kInFlight batches wait, so memory stays bounded whatever the store's size.
  constexpr size_t kBatchRecords = 512;
  constexpr size_t kInFlight = 16;
  using Batch = std::vector<std::pair<std::string, std::string>>;
  struct Worker {
    std::deque<Batch> queue;
    std::condition_variable ready;
  };
  std::mutex mutex;
  std::condition_variable room;
  std::vector<Worker> queues(static_cast<size_t>(workers));
  size_t waiting = 0;
  bool done = false;
  Result<void> failure = Ok();  // the first worker's failure; guarded by mutex
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      Worker& mine = queues[static_cast<size_t>(w)];
      v1::CaseProjection projection;
      for (;;) {
        Batch batch;
        {
          std::unique_lock lock(mutex);
          mine.ready.wait(lock, [&] { return !mine.queue.empty() || done; });
          if (mine.queue.empty()) return;
          batch = std::move(mine.queue.front());
          mine.queue.pop_front();
          --waiting;
          room.notify_one();
          if (!failure) continue;  // drain after a failure
        }
        for (const auto& [key, value] : batch) {
          Result<void> checked = Ok();
          if (!projection.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
            checked = DataLoss("store: a malformed case projection record");
          } else {
            checked = CheckCodes(projection, key);
          }
          if (!checked) {
            std::lock_guard lock(mutex);
            if (failure) failure = checked.error();
            break;
          }
          visit(w, key, projection);
        }
      }
    });
  }
  Batch batch;
  size_t next = 0;
  const auto deal = [&] {
    std::unique_lock lock(mutex);
    room.wait(lock, [&] { return waiting < kInFlight; });
    queues[next].queue.push_back(std::move(batch));
    queues[next].ready.notify_one();
    ++waiting;
    next = (next + 1) % queues.size();
    batch = Batch();
    return static_cast<bool>(failure);
  };
  auto scanned = impl_->Scan(
      kCases, "", "",
      [&](std::string_view key, std::string_view value) {
        batch.emplace_back(std::string(key), std::string(value));
        return batch.size() < kBatchRecords || deal();
      },
      /*bulk=*/true);
  if (!batch.empty()) deal();
  {
    std::lock_guard lock(mutex);
    done = true;
    for (Worker& w : queues) w.ready.notify_all();
  }
  for (std::thread& t : threads) t.join();
  CW_TRY(scanned);
  return failure;
}

Result<void> StoreReader::ScanScopes(const std::function<void(const v1::ScopeCounts&)>& visit) const {
  Result<void> failure = Ok();
  CW_TRY(impl_->Scan(kScopes, "", "",
                     ParsingVisitor<v1::ScopeCounts>(
                         failure, "scope counts", [&](std::string_view, const v1::ScopeCounts& c) {
                           if (auto checked = CheckCodes(c); !checked) {
                             failure = checked.error();
                             return false;
                           }
                           visit(c);
                           return true;
                         })));
  return failure;
}

Result<void> StoreReader::ScanDaily(
    Date from, Date to, const std::function<void(Date, const v1::ScopeCounts&)>& visit) const {
  if (to < from) return Ok();
  Result<void> failure = Ok();
  CW_TRY(
      impl_->Scan(kDaily, DayKey(from), DayKey(to + 1),
                  ParsingVisitor<v1::ScopeCounts>(
                      failure, "daily counts", [&](std::string_view key, const v1::ScopeCounts& c) {
                        if (auto checked = CheckCodes(c); !checked) {
                          failure = checked.error();
                          return false;
                        }
                        visit(DayOfKey(key), c);
                        return true;
                      })));
  return failure;
}

Result<void> StoreReader::ScanIds(const std::function<void(std::string_view)>& visit) const {
  return impl_->Scan(
      kIds, "", "",
      [&](std::string_view key, std::string_view) {
        visit(key);
        return true;
      },
      /*bulk=*/true);
}

Result<std::optional<Date>> StoreReader::LastDailyBefore(Date day) const {
  if (impl_->family(kDaily) == nullptr) return std::optional<Date>();
  WithoutPerfCounters();
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->family(kDaily)));
  // Every key of `day` is longer than its DayKey, so sorts after it: the last key at or before
  // the DayKey is of an earlier day.
  const std::string key = DayKey(day);
  it->SeekForPrev(rocksdb::Slice(key));
  if (!it->status().ok()) return FromStatus(it->status(), "reading");
  if (!it->Valid()) return std::optional<Date>();
  return std::optional<Date>(DayOfKey(View(it->key())));
}

Result<void> StoreReader::ScanDeadLetters(
    const std::function<void(uint64_t, const v1::DeadLetter&)>& visit) const {
  Result<void> failure = Ok();
  CW_TRY(impl_->Scan(
      kDeadLetters, "", "",
      ParsingVisitor<v1::DeadLetter>(failure, "dead letter",
                                     [&](std::string_view key, const v1::DeadLetter& record) {
                                       visit(SequenceOfKey(key), record);
                                       return true;
                                     })));
  return failure;
}

Result<void> StoreReader::ScanOutbox(
    uint64_t from_sequence,
    const std::function<bool(uint64_t, const v1::OutboxRecord&)>& visit) const {
  Result<void> failure = Ok();
  CW_TRY(
      impl_->Scan(kOutbox, SequenceKey(from_sequence), "",
                  ParsingVisitor<v1::OutboxRecord>(
                      failure, "outbox", [&](std::string_view key, const v1::OutboxRecord& record) {
                        return visit(SequenceOfKey(key), record);
                      })));
  return failure;
}

Result<std::vector<OffsetEntry>> StoreReader::Offsets(std::string_view topic) const {
  std::vector<OffsetEntry> offsets;
  Result<void> failure = Ok();
  CW_TRY(impl_->Scan(kOffsets, OffsetKeysBegin(topic), OffsetKeysEnd(topic),
                     [&](std::string_view key, std::string_view value) {
                       auto next = DecodeOffset(value);
                       if (!next) {
                         failure = next.error();
                         return false;
                       }
                       offsets.push_back(OffsetEntry{PartitionOfOffsetKey(topic, key), next.value()});
                       return true;
                     }));
  CW_TRY(failure);
  return offsets;
}

Result<std::optional<Instant>> StoreReader::ProjectionInstant() const {
  CW_TRY(bytes, impl_->Get(kMeta, kProjectionInstantKey));
  if (!bytes) return std::optional<Instant>();
  CW_TRY(instant, DecodeInstant(*bytes));
  return std::optional<Instant>(instant);
}

Result<std::optional<std::string>> StoreReader::Policy() const {
  return impl_->Get(kMeta, kPolicyKey);
}

Result<void> StoreReader::ScanPendingCases(
    const std::function<void(std::string_view case_id)>& visit) const {
  std::string end(kPendingPrefix);
  end.back() = '\1';
  return impl_->Scan(kMeta, kPendingPrefix, end, [&](std::string_view key, std::string_view) {
    visit(CaseIdOfPendingKey(key));
    return true;
  });
}

Result<std::optional<v1::RebuildMarker>> StoreReader::UnfinishedRebuild() const {
  CW_TRY(bytes, impl_->Get(kMeta, kRebuildKey));
  if (!bytes) return std::optional<v1::RebuildMarker>();
  v1::RebuildMarker marker;
  if (!marker.ParseFromString(*bytes)) return DataLoss("store: a malformed rebuild marker");
  return std::optional<v1::RebuildMarker>(std::move(marker));
}

uint64_t StoreReader::ApproximateSizeBytes() const {
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
