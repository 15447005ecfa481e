#pragma once
// CaseHistory: everything accepted for one case, in case order once Seal()ed. Owns its events and
// the text they refer to (event ids and appointment ids in one byte store, so that an event is a
// fixed 32 bytes), in memory from the resource it is given (the default: the heap). Not
// thread-safe; build it on one thread, then share it read-only.

#include <cstring>
#include <memory_resource>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "projections/case_event.h"

namespace casewatch {

// Who supervises a case: the scope keys of docs/rules.md section 9. An empty field means "not
// given" in a case_allocated event.
struct Allocation {
  std::string region;
  std::string pdu;
  std::string team;
  std::string offender_manager;

  friend bool operator==(const Allocation&, const Allocation&) = default;

  // A case_allocated event after the opening: its non-empty fields replace these (a field cannot
  // be cleared).
  void Overlay(const Allocation& later) {
    if (!later.region.empty()) region = later.region;
    if (!later.pdu.empty()) pdu = later.pdu;
    if (!later.team.empty()) team = later.team;
    if (!later.offender_manager.empty()) offender_manager = later.offender_manager;
  }
};

// The details of a case_opened event beyond its allocation (its case type is the event's code).
struct Opening {
  bool victim_contact_required = false;
  Instant sentence_date;  // defaults to the event's occurred_at
};

class CaseHistory {
 public:
  explicit CaseHistory(std::string case_id,
                       std::pmr::memory_resource* memory = std::pmr::get_default_resource())
      : case_id_(std::move(case_id)), events_(memory), text_(memory) {}

  // Reserves room for this many events (a case's first event is a good moment: a supervision
  // period typically has tens to hundreds of them, and growing from one wastes time).
  void Reserve(size_t events);

 private:
  uint32_t AddText(std::string_view text);
  uint32_t Append(CaseEvent event, std::string_view event_id);

 public:
  const std::string& case_id() const { return case_id_; }

  // Appenders: each adds one event with its id, filling in `id` and `detail`, and returns the
  // reference of the stored id (see text()). Events may arrive in any order.
  uint32_t AddCaseOpened(CaseEvent event, std::string_view event_id, Allocation allocation,
                         Opening opening);
  uint32_t AddCaseAllocated(CaseEvent event, std::string_view event_id, Allocation allocation);
  // appointment_attended, appointment_missed, absence_judged
  uint32_t AddAppointmentEvent(CaseEvent event, std::string_view event_id,
                               std::string_view appointment_id);
  uint32_t Add(CaseEvent event, std::string_view event_id);  // every other type

  // Sorts into case order. Must be called after the last Add and before reading events().
  void Seal();
  bool sealed() const { return sealed_; }

  std::span<const CaseEvent> events() const { return events_; }
  std::string_view event_id(const CaseEvent& e) const { return text(e.id); }
  const Allocation& allocation_of(const CaseEvent& e) const { return allocations_[e.detail]; }
  const Opening& opening_of(const CaseEvent& e) const { return openings_[e.detail]; }
  std::string_view appointment_of(const CaseEvent& e) const { return text(e.detail); }
  // Stored text by reference.
  std::string_view text(uint32_t ref) const {
    uint32_t size;
    std::memcpy(&size, text_.data() + ref, sizeof size);
    return std::string_view(text_.data() + ref + sizeof size, size);
  }

  // Case order: (occurred_at, event_id byte-wise).
  bool CaseOrderLess(const CaseEvent& a, const CaseEvent& b) const {
    if (a.occurred_at != b.occurred_at) return a.occurred_at < b.occurred_at;
    return event_id(a) < event_id(b);
  }

 private:
  std::string case_id_;
  std::pmr::vector<CaseEvent> events_;
  std::vector<Allocation> allocations_;  // indexed by detail of opened/allocated events
  std::vector<Opening> openings_;        // indexed by detail of case_opened events
  std::pmr::string text_;                // [uint32 size][bytes], referred to by offset
  bool sealed_ = true;
};

}  // namespace casewatch
