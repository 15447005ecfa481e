#include "projections/case_history.h"

#include <algorithm>

namespace casewatch {

void CaseHistory::Reserve(size_t events) {
  events_.reserve(events);
  appointment_ids_.reserve(events / 2);
}

void CaseHistory::AddCaseOpened(CaseEvent event, Allocation allocation, Opening opening) {
  event.type = EventType::kCaseOpened;
  event.detail = static_cast<uint32_t>(allocations_.size());
  allocations_.push_back(std::move(allocation));
  openings_.resize(allocations_.size());
  openings_.back() = opening;
  events_.push_back(std::move(event));
  sealed_ = false;
}

void CaseHistory::AddCaseAllocated(CaseEvent event, Allocation allocation) {
  event.type = EventType::kCaseAllocated;
  event.detail = static_cast<uint32_t>(allocations_.size());
  allocations_.push_back(std::move(allocation));
  openings_.resize(allocations_.size());
  events_.push_back(std::move(event));
  sealed_ = false;
}

void CaseHistory::AddAppointmentEvent(CaseEvent event, std::string appointment_id) {
  event.detail = static_cast<uint32_t>(appointment_ids_.size());
  appointment_ids_.push_back(std::move(appointment_id));
  events_.push_back(std::move(event));
  sealed_ = false;
}

void CaseHistory::Add(CaseEvent event) {
  event.detail = 0;
  events_.push_back(std::move(event));
  sealed_ = false;
}

void CaseHistory::Seal() {
  if (sealed_) return;
  // Feeds mostly arrive in order: checking is much cheaper than sorting.
  if (!std::is_sorted(events_.begin(), events_.end(), CaseOrderLess)) {
    std::sort(events_.begin(), events_.end(), CaseOrderLess);
  }
  sealed_ = true;
}

}  // namespace casewatch
