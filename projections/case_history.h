#pragma once
// CaseHistory: everything accepted for one case, in case order once Seal()ed. Owns its events and
// the text they refer to. Not thread-safe; build it on one thread, then share it read-only.

#include <string>
#include <string_view>
#include <vector>

#include "projections/case_event.h"

namespace casewatch {

// Who supervises a case: the scope keys of indicators.md section 5. An empty field means "not
// given" in a case_allocated event.
struct Allocation {
  std::string region;
  std::string pdu;
  std::string team;
  std::string offender_manager;

  friend bool operator==(const Allocation&, const Allocation&) = default;
};

// The details of a case_opened event beyond its allocation.
struct Opening {
  uint8_t case_type = 0;
  bool victim_contact_required = false;
  Instant sentence_date;  // defaults to the event's occurred_at
};

class CaseHistory {
 public:
  explicit CaseHistory(std::string case_id) : case_id_(std::move(case_id)) {}

  // Reserves room for this many events (a case's first event is a good moment: a supervision
  // period typically has tens to hundreds of them, and growing from one wastes time).
  void Reserve(size_t events);

  const std::string& case_id() const { return case_id_; }

  // Appenders: each adds one event, filling in `detail`. Events may arrive in any order.
  void AddCaseOpened(CaseEvent event, Allocation allocation, Opening opening);
  void AddCaseAllocated(CaseEvent event, Allocation allocation);
  void AddAppointmentEvent(CaseEvent event, std::string appointment_id);  // attended/missed/judged
  void Add(CaseEvent event);                                              // every other type

  // Sorts into case order. Must be called after the last Add and before reading events().
  void Seal();
  bool sealed() const { return sealed_; }

  const std::vector<CaseEvent>& events() const { return events_; }
  const Allocation& allocation_of(const CaseEvent& e) const { return allocations_[e.detail]; }
  const Opening& opening_of(const CaseEvent& e) const { return openings_[e.detail]; }
  std::string_view appointment_of(const CaseEvent& e) const { return appointment_ids_[e.detail]; }

 private:
  std::string case_id_;
  std::vector<CaseEvent> events_;
  std::vector<Allocation> allocations_;  // indexed by detail of opened/allocated events
  std::vector<Opening> openings_;        // indexed by detail of case_opened events
  std::vector<std::string> appointment_ids_;
  bool sealed_ = true;
};

}  // namespace casewatch
