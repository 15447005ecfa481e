#include "projections/case_history.h"

#include <algorithm>

namespace casewatch {

void CaseHistory::Reserve(size_t events) {
  events_.reserve(events);
  text_.reserve(events * 24);
}

uint32_t CaseHistory::AddText(std::string_view text) {
  const auto ref = static_cast<uint32_t>(text_.size());
  const auto size = static_cast<uint32_t>(text.size());
  text_.append(reinterpret_cast<const char*>(&size), sizeof size);
  text_.append(text);
  return ref;
}

uint32_t CaseHistory::Append(CaseEvent event, std::string_view event_id) {
  event.id = AddText(event_id);
  events_.push_back(event);
  sealed_ = false;
  return event.id;
}

uint32_t CaseHistory::AddCaseOpened(CaseEvent event, std::string_view event_id,
                                    Allocation allocation, Opening opening) {
  event.type = EventType::kCaseOpened;
  event.detail = static_cast<uint32_t>(allocations_.size());
  allocations_.push_back(std::move(allocation));
  openings_.resize(allocations_.size());
  openings_.back() = opening;
  return Append(event, event_id);
}

uint32_t CaseHistory::AddCaseAllocated(CaseEvent event, std::string_view event_id,
                                       Allocation allocation) {
  event.type = EventType::kCaseAllocated;
  event.detail = static_cast<uint32_t>(allocations_.size());
  allocations_.push_back(std::move(allocation));
  openings_.resize(allocations_.size());
  return Append(event, event_id);
}

uint32_t CaseHistory::AddAppointmentEvent(CaseEvent event, std::string_view event_id,
                                          std::string_view appointment_id) {
  event.detail = AddText(appointment_id);
  return Append(event, event_id);
}

uint32_t CaseHistory::Add(CaseEvent event, std::string_view event_id) {
  event.detail = 0;
  return Append(event, event_id);
}

void CaseHistory::Seal() {
  if (sealed_) return;
  auto less = [this](const CaseEvent& a, const CaseEvent& b) { return CaseOrderLess(a, b); };
  // Feeds mostly arrive in order: checking is much cheaper than sorting.
  if (!std::is_sorted(events_.begin(), events_.end(), less)) {
    std::sort(events_.begin(), events_.end(), less);
  }
  sealed_ = true;
}

}  // namespace casewatch
