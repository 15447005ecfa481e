#include "services/ingest/event_log.h"

#include <array>
#include <cstring>

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>

#include "services/ingest/internal/flat_index.h"
#include "services/ingest/internal/hash.h"

namespace casewatch::ingest {
namespace {

namespace pb = ::casewatch::events::v1;
namespace gpb = ::google::protobuf;
using internal::Fingerprint;

constexpr uint64_t kIdSeed = 0x452821e638d01377ull;
constexpr uint64_t kMaxPosition = (uint64_t{1} << 48) - 1;

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

const gpb::FieldDescriptor* PayloadField(int number) {
  static const auto fields = [] {
    std::array<const gpb::FieldDescriptor*, 64> table{};
    const gpb::Descriptor* envelope = pb::Envelope::descriptor();
    for (int i = 0; i < envelope->field_count(); ++i) {
      const gpb::FieldDescriptor* field = envelope->field(i);
      if (field->real_containing_oneof() != nullptr) table[field->number()] = field;
    }
    return table;
  }();
  return fields[number];
}

const gpb::Message& PayloadOf(const pb::Envelope& e) {
  return e.GetReflection()->GetMessage(e, PayloadField(e.payload_case()));
}

EventType EventTypeOf(pb::Envelope::PayloadCase payload) {
  if (payload == pb::Envelope::kObligationMissed) return EventType::kObligationMissed;
  return static_cast<EventType>(payload - pb::Envelope::kCaseOpened);
}
static_assert(pb::Envelope::kFurtherOffenceRecorded - pb::Envelope::kCaseOpened ==
              static_cast<int>(EventType::kFurtherOffenceRecorded));

Instant InstantOf(const gpb::Timestamp& t) { return Instant{t.seconds(), t.nanos()}; }

template <class Message>
Allocation AllocationOf(const Message& m) {
  return Allocation{m.region(), m.pdu(), m.team(), m.offender_manager()};
}

// Appends a valid envelope to `history` as a CaseEvent.
void Append(const pb::Envelope& e, CaseHistory& history) {
  CaseEvent event;
  event.occurred_at = InstantOf(e.occurred_at());
  event.event_id = e.event_id();
  event.type = EventTypeOf(e.payload_case());
  switch (e.payload_case()) {
    case pb::Envelope::kCaseOpened: {
      const auto& p = e.case_opened();
      event.code = static_cast<uint8_t>(p.case_type());
      Opening opening{static_cast<uint8_t>(p.case_type()), p.victim_contact_required(),
                      p.has_sentence_date() ? InstantOf(p.sentence_date()) : event.occurred_at};
      history.AddCaseOpened(std::move(event), AllocationOf(p), opening);
      return;
    }
    case pb::Envelope::kCaseAllocated:
      history.AddCaseAllocated(std::move(event), AllocationOf(e.case_allocated()));
      return;
    case pb::Envelope::kAppointmentAttended:
      history.AddAppointmentEvent(std::move(event), e.appointment_attended().appointment_id());
      return;
    case pb::Envelope::kAppointmentMissed:
      history.AddAppointmentEvent(std::move(event), e.appointment_missed().appointment_id());
      return;
    case pb::Envelope::kAbsenceJudged:
      event.flag = e.absence_judged().acceptable();
      history.AddAppointmentEvent(std::move(event), e.absence_judged().appointment_id());
      return;
    case pb::Envelope::kCaseClosed:
      event.code = static_cast<uint8_t>(e.case_closed().reason());
      break;
    case pb::Envelope::kPreSentenceReportCompleted:
      event.code = static_cast<uint8_t>(e.pre_sentence_report_completed().report_type());
      event.flag = e.pre_sentence_report_completed().includes_rosh();
      event.flag2 = e.pre_sentence_report_completed().includes_lor();
      break;
    case pb::Envelope::kAssessmentCompleted:
      event.code = static_cast<uint8_t>(e.assessment_completed().kind());
      break;
    case pb::Envelope::kRoshScreeningCompleted:
      event.flag = e.rosh_screening_completed().full_analysis_required();
      break;
    case pb::Envelope::kRoshClassified:
      event.code = static_cast<uint8_t>(e.rosh_classified().level());
      break;
    case pb::Envelope::kSentencePlanCompleted:
      event.code = static_cast<uint8_t>(e.sentence_plan_completed().kind());
      break;
    case pb::Envelope::kRiskManagementPlanCompleted:
      event.code = static_cast<uint8_t>(e.risk_management_plan_completed().kind());
      event.flag = e.risk_management_plan_completed().addresses_victim_safety();
      break;
    case pb::Envelope::kRegistrationAdded:
      event.code = static_cast<uint8_t>(e.registration_added().type());
      break;
    case pb::Envelope::kRegistrationRemoved:
      event.code = static_cast<uint8_t>(e.registration_removed().type());
      break;
    case pb::Envelope::kBreachInstigated:
      event.code = static_cast<uint8_t>(e.breach_instigated().kind());
      break;
    case pb::Envelope::kSignificantChangeRecorded:
      event.flag = e.significant_change_recorded().risk_increased();
      break;
    case pb::Envelope::kSafeguardingCheckCompleted:
      event.code = static_cast<uint8_t>(e.safeguarding_check_completed().kind());
      break;
    case pb::Envelope::kFurtherOffenceRecorded:
      event.code = static_cast<uint8_t>(e.further_offence_recorded().kind());
      break;
    case pb::Envelope::kRoshFullAnalysisCompleted:
    case pb::Envelope::kWarningIssued:
    case pb::Envelope::kHomeVisitCompleted:
    case pb::Envelope::kManagementOversightRecorded:
    case pb::Envelope::kVictimContactOffered:
    case pb::Envelope::kObligationMissed:
    case pb::Envelope::PAYLOAD_NOT_SET:
      break;
  }
  history.Add(std::move(event));
}

void AppendField(std::string& out, std::string_view bytes) {
  const auto size = static_cast<uint32_t>(bytes.size());
  out.append(reinterpret_cast<const char*>(&size), sizeof size);
  out.append(bytes);
}

}  // namespace

struct EventLog::Impl {
  internal::FlatIndex id_index;
  std::deque<IdRecord> ids;
  IdArena id_arena;
  internal::FlatIndex case_index;  // case_id → index into cases_
  std::vector<std::string> sources{""};
  std::string canonical;  // scratch for Fingerprint()

  // The canonical content of an event: every field but recorded_at, length-prefixed so that
  // field boundaries cannot shift; the payload as its (deterministic) binary encoding.
  Fingerprint FingerprintOf(const pb::Envelope& e) {
    canonical.clear();
    AppendField(canonical, e.event_id());
    AppendField(canonical, e.case_id());
    const int64_t seconds = e.occurred_at().seconds();
    const int32_t nanos = e.occurred_at().nanos();
    const int32_t payload_case = e.payload_case();
    canonical.append(reinterpret_cast<const char*>(&seconds), sizeof seconds);
    canonical.append(reinterpret_cast<const char*>(&nanos), sizeof nanos);
    AppendField(canonical, e.source());
    AppendField(canonical, e.actor());
    canonical.append(reinterpret_cast<const char*>(&payload_case), sizeof payload_case);
    const gpb::Message& payload = PayloadOf(e);
    const size_t size = payload.ByteSizeLong();
    const size_t at = canonical.size();
    canonical.resize(at + size);
    payload.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(canonical.data() + at));
    return internal::Fingerprint128(canonical);
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
  Impl& impl = *impl_;
  const std::string& id = valid.event_id();
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

  const std::string& case_id = valid.case_id();
  const auto next_case = static_cast<uint32_t>(cases_.size());
  const auto found_case =
      impl.case_index.FindOrInsert(internal::Hash64(case_id, kIdSeed), next_case,
                                   [&](uint32_t index) { return cases_[index].case_id() == case_id; });
  if (!found_case) cases_.emplace_back(case_id);
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
