// WriteBatch: the changes of one atomic store write, each encoded by format.h.
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <vector>

#include "services/store/format.h"
#include "services/store/internal/store_impl.h"
#include "services/store/store.h"

namespace casewatch::store {
namespace {

using namespace format;

template <class Message>
std::string Serialize(const Message& message) {
  std::string bytes;
  message.SerializeToString(&bytes);
  return bytes;
}

}  // namespace

struct WriteBatch::Impl {
  rocksdb::WriteBatch batch;
  const std::vector<rocksdb::ColumnFamilyHandle*>* families = nullptr;

  void Put(Family family, std::string_view key, std::string_view value) {
    // Only fails on sizes over 4 GiB, which the engine's batches never reach.
    batch.Put((*families)[family], rocksdb::Slice(key.data(), key.size()),
              rocksdb::Slice(value.data(), value.size()));
  }
  void Delete(Family family, std::string_view key) {
    batch.Delete((*families)[family], rocksdb::Slice(key.data(), key.size()));
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
  const std::string key = EventKey(case_id, occurred_at, event_id);
  impl_->Put(kArrivals, SequenceKey(id.sequence), key);
  impl_->Put(kEvents, key, envelope);
  impl_->Put(kIds, event_id, EncodeIdEntry(id));
}

void WriteBatch::PutEvents(std::span<const NewEvent> events) {
  std::vector<std::string> keys;
  keys.reserve(events.size());
  for (const NewEvent& e : events) {
    keys.push_back(EventKey(e.case_id, e.occurred_at, e.event_id));
    impl_->Put(kArrivals, SequenceKey(e.id.sequence), keys.back());  // ascending already
  }
  std::vector<uint32_t> order(events.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return keys[a] < keys[b]; });
  for (uint32_t i : order) impl_->Put(kEvents, keys[i], events[i].envelope);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return events[a].event_id < events[b].event_id; });
  for (uint32_t i : order) impl_->Put(kIds, events[i].event_id, EncodeIdEntry(events[i].id));
}

void WriteBatch::PutDeadLetter(uint64_t sequence, const v1::DeadLetter& record) {
  impl_->Put(kDeadLetters, SequenceKey(sequence), Serialize(record));
}

void WriteBatch::PutOffset(std::string_view topic, int32_t partition, int64_t next_offset) {
  impl_->Put(kOffsets, OffsetKey(topic, partition), EncodeOffset(next_offset));
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

void WriteBatch::DeleteOutbox(uint64_t sequence) { impl_->Delete(kOutbox, SequenceKey(sequence)); }

void WriteBatch::PutProjectionInstant(Instant as_of) {
  impl_->Put(kMeta, kProjectionInstantKey, EncodeInstant(as_of));
}

void WriteBatch::PutPolicy(std::string_view policy_json) {
  impl_->Put(kMeta, kPolicyKey, policy_json);
}

void WriteBatch::PutPendingCase(std::string_view case_id) {
  impl_->Put(kMeta, PendingKey(case_id), "");
}

void WriteBatch::DeletePendingCase(std::string_view case_id) {
  impl_->Delete(kMeta, PendingKey(case_id));
}

void WriteBatch::PutRebuildMarker(const v1::RebuildMarker& marker) {
  impl_->Put(kMeta, kRebuildKey, Serialize(marker));
}

void WriteBatch::DeleteRebuildMarker() { impl_->Delete(kMeta, kRebuildKey); }

void WriteBatch::PutFormatVersion() {
  impl_->Put(kMeta, kFormatVersionKey, EncodeFormatVersion(kFormatVersion));
}

size_t WriteBatch::count() const { return impl_->batch.Count(); }
void WriteBatch::Clear() { impl_->batch.Clear(); }

rocksdb::WriteBatch* WriteBatchInternal::Batch(WriteBatch& batch) { return &batch.impl_->batch; }

}  // namespace casewatch::store
