#include "services/ingest/event_log.h"

#include <array>
#include <cstring>

#include <fmt/format.h>

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

// One accepted event_id: 32 bytes. `id` points at a length byte followed by the id's bytes in
// the id arena (event ids are at most 128 bytes).
struct IdRecord {
  Fingerprint content;
  const char* id;
  uint64_t origin;  // source << 48 | position

  std::string_view event_id() const {
    return std::string_view(id + 1, static_cast<unsigned char>(id[0]));
  }
};
static_assert(sizeof(IdRecord) == 32);

// Stable storage for id bytes: fixed blocks, never moved.
class IdArena {
 public:
  const char* Add(std::string_view id) {
    const size_t need = id.size() + 1;
    if (blocks_.empty() || used_ + need > kBlockBytes) {
      blocks_.push_back(std::make_unique<char[]>(kBlockBytes));
      used_ = 0;
    }
    char* out = blocks_.back().get() + used_;
    out[0] = static_cast<char>(static_cast<unsigned char>(id.size()));
    std::memcpy(out + 1, id.data(), id.size());
    used_ += need;
    return out;
  }
  size_t memory_bytes() const { return blocks_.size() * kBlockBytes; }

 private:
  static constexpr size_t kBlockBytes = size_t{1} << 20;
  std::vector<std::unique_ptr<char[]>> blocks_;
  size_t used_ = 0;
};

// Appends a valid event to `history` as a CaseEvent. The payload's slots map onto CaseEvent's
// fields directly: its first enum is `code`, its bools `flag` and `flag2` (see case_event.h).
void Append(const EnvelopeView& e, CaseHistory& history) {
  const internal::PayloadInfo& payload =
      *internal::PayloadSchema::Get().Payload(static_cast<uint32_t>(e.payload));
  CaseEvent event;
  event.occurred_at = Instant{e.occurred_at.seconds, e.occurred_at.nanos};
  event.event_id = std::string(e.event_id);
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
      Opening opening{event.code, event.flag,
                      e.when.present ? Instant{e.when.seconds, e.when.nanos} : event.occurred_at};
      history.AddCaseOpened(std::move(event), allocation(), opening);
      return;
    }
    case EventType::kCaseAllocated:
      history.AddCaseAllocated(std::move(event), allocation());
      return;
    case EventType::kAppointmentAttended:
    case EventType::kAppointmentMissed:
    case EventType::kAbsenceJudged:
      history.AddAppointmentEvent(std::move(event), std::string(e.texts[0]));
      return;
    default:
      history.Add(std::move(event));
  }
}


}  // namespace

struct EventLog::Impl {
  internal::FlatIndex id_index;
  std::deque<IdRecord> ids;
  IdArena id_arena;
  internal::FlatIndex case_index;  // case_id → index into cases_
  std::vector<std::string> sources{""};

  // The canonical content of an event: every field but recorded_at, whichever form (JSON or
  // binary) it arrived in.
  static Fingerprint FingerprintOf(const EnvelopeView& e) {
    internal::FingerprintBuilder f;
    f.Add(e.event_id);
    f.Add(e.case_id);
    f.Add(static_cast<uint64_t>(e.occurred_at.seconds),
          static_cast<uint64_t>(static_cast<uint32_t>(e.occurred_at.nanos)) << 32 |
              static_cast<uint32_t>(e.payload));
    f.Add(e.source);
    f.Add(e.actor);
    f.Add(static_cast<uint64_t>(static_cast<uint32_t>(e.enums[0])) << 32 |
              static_cast<uint32_t>(e.enums[1]),
          uint64_t{e.flags[0]} | uint64_t{e.flags[1]} << 1 | uint64_t{e.when.present} << 2);
    for (std::string_view text : e.texts) f.Add(text);
    f.Add(static_cast<uint64_t>(e.when.seconds), static_cast<uint32_t>(e.when.nanos));
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
        return impl.ids[index].event_id() == id;
      });
  if (existing) {
    const IdRecord& first = impl.ids[*existing];
    if (first.content == content) {
      ++duplicates_;
      return Acceptance::kDuplicate;
    }
    return Conflict(fmt::format(
        "event_id \"{}\" was already accepted with different content (first copy: {})", id,
        impl.Describe(first.origin)));
  }
  impl.ids.push_back(IdRecord{content, impl.id_arena.Add(id),
                              (uint64_t{origin.source} << 48) |
                                  std::min(origin.position, kMaxPosition)});

  const std::string_view case_id = valid.case_id;
  const auto next_case = static_cast<uint32_t>(cases_.size());
  const auto found_case =
      impl.case_index.FindOrInsert(internal::Hash64(case_id, kIdSeed), next_case,
                                   [&](uint32_t index) { return cases_[index].case_id() == case_id; });
  if (!found_case) {
    cases_.emplace_back(std::string(case_id)).Reserve(kInitialCaseEvents);
  }
  Append(valid, cases_[found_case.value_or(next_case)]);
  ++accepted_;
  return Acceptance::kAccepted;
}

const CaseHistory* EventLog::FindCase(std::string_view case_id) const {
  const auto index = impl_->case_index.Find(
      internal::Hash64(case_id, kIdSeed),
      [&](uint32_t i) { return cases_[i].case_id() == case_id; });
  return index ? &cases_[*index] : nullptr;
}

void EventLog::SealAll() {
  for (CaseHistory& history : cases_) history.Seal();
}

std::vector<CaseHistory> EventLog::TakeCases() {
  impl_->case_index = internal::FlatIndex();
  std::vector<CaseHistory> taken = std::move(cases_);
  cases_.clear();
  return taken;
}

size_t EventLog::index_memory_bytes() const {
  return impl_->id_index.memory_bytes() + impl_->case_index.memory_bytes() +
         impl_->ids.size() * sizeof(IdRecord) + impl_->id_arena.memory_bytes();
}

}  // namespace casewatch::ingest
