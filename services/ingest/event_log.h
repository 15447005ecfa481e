#pragma once
// EventLog: every accepted event, grouped by case, plus the event_id index that makes ingest
// idempotent (docs/rules.md section 2, "A second valid event with an event_id already applied").
// Owns one CaseHistory per case_id, in order of each case's first accepted event. Keeps only a
// 128-bit fingerprint of each event's content, not a copy, and finds ids in the histories rather
// than keeping its own copy of them. Holds all of it in huge-page-backed memory of its own
// (base/huge_page_memory.h). Not thread-safe: fill it on one thread, then share it read-only.
// A moved-from EventLog may only be destroyed or assigned to.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "casewatch/events/v1/events.pb.h"
#include "projections/case_history.h"
#include "services/ingest/envelope_view.h"

namespace casewatch::ingest {

// Where an event came from, for conflict messages: a source from EventLog::AddSource (e.g.
// "events.ndjson line") and a position in it (e.g. 12; a Kafka offset may be 0). Source 0 is
// "unknown".
struct Origin {
  uint16_t source = 0;
  uint64_t position = 0;
};

enum class Acceptance {
  kAccepted,   // new event_id: appended to its case's history
  kDuplicate,  // event_id seen before with identical content (recorded_at aside): ignored
};

class EventLog {
 public:
  EventLog();
  ~EventLog();
  EventLog(EventLog&&) noexcept;
  EventLog& operator=(EventLog&&) noexcept;

  // Registers a description of where events come from; returns its id for Origin. At most
  // 65535 sources.
  uint16_t AddSource(std::string description);

  // Takes one event that passed ValidateEnvelope. A conflict (same event_id as an accepted
  // event, different content) is an Error of kind kConflict naming the id and the first copy's
  // origin; the log is unchanged then.
  [[nodiscard]] Result<Acceptance> Accept(const EnvelopeView& valid, Origin origin = {});
  [[nodiscard]] Result<Acceptance> Accept(const events::v1::Envelope& valid, Origin origin = {});

  // Makes room for about this many events up front (e.g. estimated from a file's size), so the
  // id index need not grow while loading.
  void Reserve(size_t events);

  uint64_t accepted() const { return accepted_; }
  uint64_t duplicates() const { return duplicates_; }
  size_t case_count() const;

  // Case histories in order of first acceptance. Unsealed until SealAll().
  std::span<const CaseHistory> cases() const;
  std::span<CaseHistory> mutable_cases();
  const CaseHistory* FindCase(std::string_view case_id) const;

  // Sorts every history into case order. Further Accepts are allowed; seal again after them.
  void SealAll();

  // Bytes held by the id index and its side tables (not the histories); for benchmarks.
  size_t index_memory_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;  // with the histories, which must go before their memory
  uint64_t accepted_ = 0;
  uint64_t duplicates_ = 0;
};

}  // namespace casewatch::ingest
