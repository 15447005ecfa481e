#include "services/ingest/event_log.h"

#include <fmt/format.h>

#include <cstring>
#include <iterator>

#include "base/huge_page_memory.h"
#include "services/ingest/event_content.h"
#include "services/ingest/internal/flat_index.h"
#include "services/ingest/internal/hash.h"

namespace casewatch::ingest {
namespace {

namespace pb = ::casewatch::events::v1;

constexpr uint64_t kIdSeed = 0x452821e638d01377ull;
constexpr uint64_t kMaxPosition = (uint64_t{1} << 48) - 1;
constexpr size_t kInitialCaseEvents = 32;

// One accepted event_id: 32 bytes. The id's bytes are those stored in its case's history.
struct IdRecord {
  ContentFingerprint content;
  uint32_t case_index;
  uint32_t id_ref;  // CaseHistory::text reference
  uint64_t origin;  // source << 48 | position
};
static_assert(sizeof(IdRecord) == 32);

}  // namespace

struct EventLog::Impl {
  // Everything below lives in `memory`, so it is declared first and destroyed last. Histories
  // grow by doubling; the pool hands the blocks they outgrow to the next history that grows.
  HugePageMemory memory;
  std::pmr::unsynchronized_pool_resource pool{
      std::pmr::pool_options{.largest_required_pool_block = HugePageMemory::kOwnMappingBytes},
      &memory};
  std::pmr::memory_resource* const bulk =
      kBulkMemoryFromHeap ? std::pmr::new_delete_resource() : &memory;
  std::pmr::memory_resource* const growing =
      kBulkMemoryFromHeap ? std::pmr::new_delete_resource() : &pool;

  internal::FlatIndex id_index{bulk};
  std::pmr::vector<IdRecord> ids{bulk};
  internal::FlatIndex case_index{growing};  // case_id → index into cases
  std::pmr::vector<CaseHistory> cases{growing};
  std::vector<std::string> sources{""};

  std::string Describe(uint64_t origin) const {
    const size_t source = origin >> 48;
    const uint64_t position = origin & kMaxPosition;
    const std::string& name = source < sources.size() ? sources[source] : sources[0];
    if (name.empty()) return "origin unknown";
    return fmt::format("{} {}", name, position);
  }
};

EventLog::EventLog() : impl_(std::make_unique<Impl>()) {}
EventLog::~EventLog() = default;
EventLog::EventLog(EventLog&&) noexcept = default;
EventLog& EventLog::operator=(EventLog&&) noexcept = default;

uint16_t EventLog::AddSource(std::string description) {
  if (impl_->sources.size() > 0xFFFF) return 0;
  impl_->sources.push_back(std::move(description));
  return static_cast<uint16_t>(impl_->sources.size() - 1);
}

Result<Acceptance> EventLog::Accept(const pb::Envelope& valid, Origin origin) {
  EnvelopeView view;
  ViewOf(valid, view);
  return Accept(view, origin);
}

Result<Acceptance> EventLog::Accept(const EnvelopeView& valid, Origin origin) {
  Impl& impl = *impl_;
  const std::string_view id = valid.event_id;
  const ContentFingerprint content = FingerprintOf(valid);
  const auto next = static_cast<uint32_t>(impl.ids.size());
  const auto existing =
      impl.id_index.FindOrInsert(internal::Hash64(id, kIdSeed), next, [&](uint32_t index) {
        const IdRecord& r = impl.ids[index];
        return impl.cases[r.case_index].text(r.id_ref) == id;
      });
  if (existing) {
    const IdRecord& first = impl.ids[*existing];
    if (first.content == content) {
      ++duplicates_;
      return Acceptance::kDuplicate;
    }
    return Conflict(
        fmt::format("event_id \"{}\" was already accepted with different content (first copy: {})",
                    id, impl.Describe(first.origin)));
  }
  const std::string_view case_id = valid.case_id;
  const auto next_case = static_cast<uint32_t>(impl.cases.size());
  const auto found_case = impl.case_index.FindOrInsert(
      internal::Hash64(case_id, kIdSeed), next_case,
      [&](uint32_t index) { return impl.cases[index].case_id() == case_id; });
  if (!found_case) {
    impl.cases.emplace_back(std::string(case_id), impl.growing).Reserve(kInitialCaseEvents);
  }
  const uint32_t case_index = found_case.value_or(next_case);
  const uint32_t id_ref = AppendToHistory(valid, impl.cases[case_index]);
  impl.ids.push_back(
      IdRecord{content, case_index, id_ref,
               (uint64_t{origin.source} << 48) | std::min(origin.position, kMaxPosition)});
  ++accepted_;
  return Acceptance::kAccepted;
}

size_t EventLog::case_count() const { return impl_->cases.size(); }
std::span<const CaseHistory> EventLog::cases() const { return impl_->cases; }
std::span<CaseHistory> EventLog::mutable_cases() { return impl_->cases; }

void EventLog::Reserve(size_t events) {
  impl_->id_index.Reserve(events);
  impl_->ids.reserve(events);
}

const CaseHistory* EventLog::FindCase(std::string_view case_id) const {
  const auto index = impl_->case_index.Find(internal::Hash64(case_id, kIdSeed), [&](uint32_t i) {
    return impl_->cases[i].case_id() == case_id;
  });
  return index ? &impl_->cases[*index] : nullptr;
}

void EventLog::SealAll() {
  for (CaseHistory& history : impl_->cases) history.Seal();
}

size_t EventLog::index_memory_bytes() const {
  return impl_->id_index.memory_bytes() + impl_->case_index.memory_bytes() +
         impl_->ids.size() * sizeof(IdRecord);
}

}  // namespace casewatch::ingest
