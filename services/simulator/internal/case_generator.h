#pragma once
// Internal to the simulator: generates the history of one case. See README.md for the model.

#include <cstdint>
#include <vector>

#include "projections/calendar.h"
#include "services/simulator/organisation.h"
#include "services/simulator/practice_profile.h"
#include "services/simulator/simulated_event.h"

namespace casewatch::simulator::internal {

// The simulation window: every event occurs in [begin, end) and is recorded by `end` ("now").
struct SimulationWindow {
  Date begin;
  Date end;
};

// Events of a case can occur this many days before its opening (pre-sentence reports), which
// bounds how far back in arrival order a newly generated case can reach.
inline constexpr int kMaxLeadDays = 35;

// Generates case histories one at a time. Holds references to the organisation and profile,
// which must outlive it, and reusable scratch buffers; not thread-safe.
class CaseGenerator {
 public:
  CaseGenerator(const Organisation& org, const PracticeProfile& profile, SimulationWindow window,
                uint64_t seed);

  // Replaces `out` with the events of case `case_number` (opening on `open_day`, a working day in
  // the window) and their re-sent duplicates, sorted by arrival: (recorded, sequence, duplicate).
  // The same arguments always give the same events.
  void Generate(uint32_t case_number, Date open_day, std::vector<SimulatedEvent>& out);

 private:
  const Organisation& org_;
  const PracticeProfile& profile_;
  SimulationWindow window_;
  uint64_t seed_;
};

// The working day `n` >= 0 working days after `day` (no holidays).
Date AddWorkingDays(Date day, int n);
// `day` if a working day, else the next Monday.
Date NextWorkingDay(Date day);
// `day` if a working day, else the previous Friday.
Date PreviousWorkingDay(Date day);
// Calendar months later, the day clamped to the month's length.
Date AddMonths(Date day, int months);

}  // namespace casewatch::simulator::internal
