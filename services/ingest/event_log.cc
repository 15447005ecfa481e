#include "services/ingest/event_log.h"

#include <fmt/format.h>

#include <cstring>
#include <iterator>

#include "base/huge_page_memory.h"
#include "services/ingest/internal/flat_index.h"
#include "services/ingest/internal/hash.h"
#include "services/ingest/internal/payload_schema.h"

namespace casewatch::ingest {
namespace {

namespace pb = ::casewatch::events::v1;
using internal::Fingerprint;

constexpr uint64_t kIdSeed = 0x452821e638d01377ull;
constexpr uint64_t kMaxPosition = (uint64_t{1} << 48) - 1;
constexpr size_t kInitialCaseEvents = 32;

// One accepted event_id: 32 bytes. The id's bytes are those stored in its case's history.
struct IdRecord {
  Fingerprint content;
  uint32_t case_index;
  uint32_t id_ref;  // CaseHistory::text reference
  uint64_t origin;  // source << 48 | position
};
static_assert(sizeof(IdRecord) == 32);

// Appends a valid event to `history` as a CaseEvent, returning its id's text reference. The
// payload's slots map onto CaseEvent's fields directly: its first enum is `code`, its bools `flag`
// and `flag2` (see case_event.h).
uint32_t Append(const EnvelopeView& e, CaseHistory& history) {
  const internal::PayloadInfo& payload =
      *internal::PayloadSchema::Get().Payload(static_cast<uint32_t>(e.payload));
  CaseEvent event;
  event.occurred_at = Instant{e.occurred_at.seconds, e.occurred_at.nanos};
  event.type = static_cast<EventType>(payload.event_type);
  event.code = static_cast<uint8_t>(e.enums[0]);
  event.flag = e.flags[0];
  event.flag2 = e.flags[1];
  auto allocation = [&] {
    return Allocation{std::string(e.texts[0]), std::string(e.texts[1]), std::string(e.texts[2]),
                      std::string(e.texts[3])};
  };
  switch (event.type) {
    case EventType::kCaseOpened: {
      Opening opening{event.flag,
                      e.when.present ? Instant{e.when.seconds, e.when.nanos} : event.occurred_at};
      return history.AddCaseOpened(event, e.event_id, allocation(), opening);
    }
    case EventType::kCaseAllocated:
      return history.AddCaseAllocated(event, e.event_id, allocation());
    case EventType::kAppointmentAttended:
    case EventType::kAppointmentMissed:
    case EventType::kAbsenceJudged:
      return history.AddAppointmentEvent(event, e.event_id, e.texts[0]);
    default:
      return history.Add(event, e.event_id);
  }
}

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

  // The canonical content of an event: every field but recorded_at, whichever form (JSON or
  // binary) it arrived in. Empty optional strings and an absent `when` are left out, their
  // absence recorded in a presence mask, so that an event costs only what it carries.
  static Fingerprint FingerprintOf(const EnvelopeView& e) {
    const std::string_view optional[] = {e.source,   e.actor,    e.texts[0],
                                         e.texts[1], e.texts[2], e.texts[3]};
    uint64_t present = uint64_t{e.when.present} << 6;
    for (size_t i = 0; i < std::size(optional); ++i) present |= uint64_t{!optional[i].empty()} << i;
    internal::FingerprintBuilder f;
    f.Add(e.event_id);
    f.Add(e.case_id);
    f.Add(static_cast<uint64_t>(e.occurred_at.seconds),
          static_cast<uint64_t>(static_cast<uint32_t>(e.occurred_at.nanos)) << 32 |
              static_cast<uint32_t>(e.payload));
    f.Add(static_cast<uint64_t>(static_cast<uint32_t>(e.enums[0])) << 32 |
              static_cast<uint32_t>(e.enums[1]),
          present << 8 | uint64_t{e.flags[0]} | uint64_t{e.flags[1]} << 1);
    for (std::string_view text : optional) {
      if (!text.empty()) f.Add(text);
    }
    if (e.when.present) {
      f.Add(static_cast<uint64_t>(e.when.seconds), static_cast<uint32_t>(e.when.nanos));
    }
    return f.Finish();
  }

  std::string Describe(uint64_t origin) const {
    const size_t source = origin >> 48;
    const uint64_t position = origin & kMaxPosition;
    const std::string& name = source < sources.size() ? sources[source] : sources[0];
    if (name.empty()) return "origin unknown";
    if (position == 0) return name;
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
  const Fingerprint content = impl.FingerprintOf(valid);
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
  const uint32_t id_ref = Append(valid, impl.cases[case_index]);
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
