#pragma once
// The store's on-disk format: every key and every value that is not a protobuf message, and the
// stored codes of the enums inside the messages (store/v1/records.proto). DO NOT CHANGE THESE
// ENCODINGS OR CODES: they are embedded in the data of every store. A change that cannot read
// what is stored gets a new kFormatVersion, and a store of an older version is refused by every
// opener with a message naming the command that upgrades it (`casewatch rebuild`, which rewrites
// everything that is derived; the events themselves are kept as they arrived).
//
// Pure functions; each has a test with literal bytes in format_test.cc.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "projections/calendar.h"
#include "projections/case_event.h"
#include "projections/indicators.h"

namespace casewatch::store::format {

// 1: stores written before the format had a version (no `format_version` key).
// 2: the version key; scope keys escape NUL (AppendKeyPart); rebuild markers; pending cases.
// 3: a case's projection holds its RoSH level and registrations (the caseload view's order).
inline constexpr uint32_t kFormatVersion = 3;

// CaseProjection.rosh_level is RoshLevel's code; CaseProjection.registrations these bits.
static_assert(static_cast<int>(RoshLevel::kUnspecified) == 0 &&
              static_cast<int>(RoshLevel::kLow) == 1 && static_cast<int>(RoshLevel::kMedium) == 2 &&
              static_cast<int>(RoshLevel::kHigh) == 3 && static_cast<int>(RoshLevel::kVeryHigh) == 4);
inline constexpr uint32_t kRegistrationMappa = 1;
inline constexpr uint32_t kRegistrationChildProtection = 2;
inline constexpr uint32_t kRegistrationDomesticAbuse = 4;
constexpr uint32_t RegistrationBit(RegistrationType type) {
  switch (type) {
    case RegistrationType::kMappa: return kRegistrationMappa;
    case RegistrationType::kChildProtection: return kRegistrationChildProtection;
    case RegistrationType::kDomesticAbuse: return kRegistrationDomesticAbuse;
    case RegistrationType::kUnspecified: break;
  }
  return 0;
}

// --- Column families, in the order of the store's handles ---
enum Family : size_t {
  kMeta,         // "default": the meta keys below
  kEvents,       // EventKey -> the Envelope as received (binary)
  kArrivals,     // SequenceKey -> EventKey: arrival order
  kIds,          // event_id -> IdEntry: idempotency
  kDeadLetters,  // SequenceKey -> v1::DeadLetter
  kOffsets,      // OffsetKey -> next offset (8 bytes, big-endian)
  kCases,        // case_id -> v1::CaseProjection
  kScopes,       // ScopeKey -> v1::ScopeCounts
  kOutbox,       // SequenceKey -> v1::OutboxRecord
  kDaily,        // DayKey + ScopeKey -> v1::ScopeCounts
  kFamilyCount,
};
inline constexpr std::array<const char*, kFamilyCount> kFamilyNames = {
    "default", "events", "arrivals", "ids", "dead_letters", "offsets", "cases", "scopes",
    "outbox", "daily"};

// --- Meta keys (the default family) ---
inline constexpr std::string_view kFormatVersionKey = "format_version";  // 4 bytes, big-endian
inline constexpr std::string_view kProjectionInstantKey = "projection_as_of";  // InstantValue
inline constexpr std::string_view kPolicyKey = "policy";     // the policy file's text
inline constexpr std::string_view kRebuildKey = "rebuild";   // v1::RebuildMarker
// "pending" NUL case_id -> "": a case whose stored events are not all in its projection yet.
inline constexpr std::string_view kPendingPrefix{"pending\0", 8};

std::string PendingKey(std::string_view case_id);
std::string_view CaseIdOfPendingKey(std::string_view key);

// --- Keys ---

// 8 bytes big-endian: key order is sequence order.
std::string SequenceKey(uint64_t sequence);
uint64_t SequenceOfKey(std::string_view key);

// Case order is key order: the case id (never contains NUL: validation allows [A-Za-z0-9_-]), NUL,
// occurred_at's seconds with the sign bit flipped (negative instants first) and nanos, both
// big-endian, then the event id byte-wise (ties at one instant).
std::string EventKey(std::string_view case_id, Instant occurred_at, std::string_view event_id);
std::string_view CaseIdOfEventKey(std::string_view key);
// The range [begin, end) of one case's event keys.
std::string CaseEventsBegin(std::string_view case_id);
std::string CaseEventsEnd(std::string_view case_id);

// The topic, NUL, the partition (4 bytes big-endian).
std::string OffsetKey(std::string_view topic, int32_t partition);
std::string OffsetKeysBegin(std::string_view topic);
std::string OffsetKeysEnd(std::string_view topic);
int32_t PartitionOfOffsetKey(std::string_view topic, std::string_view key);

// Days since 1970-01-01 with the sign bit flipped, 4 bytes big-endian: day order is key order.
std::string DayKey(Date day);
Date DayOfKey(std::string_view key);

// Appends one part of a composite key so that different lists of parts never give the same key
// and the key order is the parts' byte-wise order: a NUL byte in the part is written NUL 0xFF,
// and the part ends with a lone NUL. A part without NUL is itself followed by one NUL.
void AppendKeyPart(std::string& key, std::string_view part);

// An allocation's key: its four names as key parts. Two different allocations never share one.
std::string ScopeKey(std::string_view region, std::string_view pdu, std::string_view team,
                     std::string_view offender_manager);

// --- Values ---

struct IdEntry {
  std::array<uint64_t, 2> content{};  // the event's content fingerprint
  uint64_t sequence = 0;              // its arrival sequence number
};
// 24 bytes: the fingerprint's two halves and the sequence, each 8 bytes big-endian.
std::string EncodeIdEntry(const IdEntry& entry);
[[nodiscard]] Result<IdEntry> DecodeIdEntry(std::string_view value);

std::string EncodeOffset(int64_t next_offset);  // 8 bytes big-endian
[[nodiscard]] Result<int64_t> DecodeOffset(std::string_view value);

// 12 bytes: seconds (8, big-endian, two's complement) and nanos (4).
std::string EncodeInstant(Instant instant);
[[nodiscard]] Result<Instant> DecodeInstant(std::string_view value);

std::string EncodeFormatVersion(uint32_t version);
[[nodiscard]] Result<uint32_t> DecodeFormatVersion(std::string_view value);

// --- Enum codes inside records (StoredItem.indicator, StoredItem.status, the position of an
// indicator's counts in ScopeCounts.indicators): the enums' values, pinned below ---
inline constexpr uint32_t StoredCode(Indicator indicator) {
  return static_cast<uint32_t>(indicator);
}
inline constexpr uint32_t StoredCode(ItemStatus status) { return static_cast<uint32_t>(status); }
// nullopt: a code this build does not know (a newer store, or damage).
std::optional<Indicator> IndicatorOfCode(uint32_t code);
std::optional<ItemStatus> StatusOfCode(uint32_t code);

// DO NOT CHANGE: the codes stored for each indicator and status. A new indicator takes the next
// code (19); reordering the report's table must not renumber these.
static_assert(StoredCode(Indicator::kPsrQuality) == 0);
static_assert(StoredCode(Indicator::kPromptStart) == 1);
static_assert(StoredCode(Indicator::kInitialSentencePlan) == 2);
static_assert(StoredCode(Indicator::kSentencePlanReview) == 3);
static_assert(StoredCode(Indicator::kAbsenceJudged) == 4);
static_assert(StoredCode(Indicator::kEnforcement) == 5);
static_assert(StoredCode(Indicator::kInitialAssessment) == 6);
static_assert(StoredCode(Indicator::kAssessmentReview) == 7);
static_assert(StoredCode(Indicator::kRoshScreening) == 8);
static_assert(StoredCode(Indicator::kRoshFullAnalysis) == 9);
static_assert(StoredCode(Indicator::kRmpInitial) == 10);
static_assert(StoredCode(Indicator::kRmpReview) == 11);
static_assert(StoredCode(Indicator::kRiskResponse) == 12);
static_assert(StoredCode(Indicator::kHomeVisitInitial) == 13);
static_assert(StoredCode(Indicator::kHomeVisitRepeat) == 14);
static_assert(StoredCode(Indicator::kManagementOversight) == 15);
static_assert(StoredCode(Indicator::kSafeguardingChecks) == 16);
static_assert(StoredCode(Indicator::kVictimContact) == 17);
static_assert(StoredCode(Indicator::kRmpVictimSafety) == 18);
static_assert(kIndicatorCount == 19, "a new indicator: give it code 19 above and a test");
static_assert(StoredCode(ItemStatus::kMet) == 0);
static_assert(StoredCode(ItemStatus::kLate) == 1);
static_assert(StoredCode(ItemStatus::kMissed) == 2);
static_assert(StoredCode(ItemStatus::kCancelled) == 3);
static_assert(StoredCode(ItemStatus::kPending) == 4);

}  // namespace casewatch::store::format
