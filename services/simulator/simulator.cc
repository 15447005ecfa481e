#include "services/simulator/simulator.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "services/simulator/internal/case_generator.h"
#include "services/simulator/random.h"

namespace casewatch::simulator {
namespace {

// One generated case waiting to be written: its events in arrival order and a cursor.
struct PendingCase {
  std::vector<SimulatedEvent> events;
  size_t next = 0;
};

// A case's next event, keyed for the merge: (recorded, case, sequence, duplicate) is a total
// order, so the output does not depend on heap internals.
struct HeapEntry {
  int64_t recorded;
  uint32_t case_number;
  uint32_t slot;
  uint16_t sequence;
  uint8_t duplicate;
};

struct EntryLater {
  bool operator()(const HeapEntry& a, const HeapEntry& b) const {
    if (a.recorded != b.recorded) return a.recorded > b.recorded;
    if (a.case_number != b.case_number) return a.case_number > b.case_number;
    if (a.sequence != b.sequence) return a.sequence > b.sequence;
    return a.duplicate > b.duplicate;
  }
};

HeapEntry EntryFor(const SimulatedEvent& event, uint32_t slot) {
  return HeapEntry{event.recorded_seconds, event.case_number, slot, event.sequence,
                   static_cast<uint8_t>((event.flags & kFlagDuplicate) ? 1 : 0)};
}

}  // namespace

Result<Simulator> Simulator::Create(SimulationOptions options) {
  if (options.cases < 1 || options.cases > 50'000'000) {
    return InvalidArgument(fmt::format("cases must be in [1, 50000000], got {}", options.cases));
  }
  if (options.months < 1 || options.months > 600) {
    return InvalidArgument(fmt::format("months must be in [1, 600], got {}", options.months));
  }
  if (options.start.days < DateFromCivil({1900, 1, 1}).days ||
      options.start.days > DateFromCivil({2500, 1, 1}).days) {
    return InvalidArgument(
        fmt::format("start must be between 1900 and 2500, got {}", FormatDate(options.start)));
  }
  CW_TRY(ValidateProfile(options.profile));
  Organisation organisation =
      BuildOrganisation(options.cases, options.months, options.seed, options.profile.team_spread);
  const Date end = internal::AddMonths(options.start, options.months);
  return Simulator(std::move(options), std::move(organisation), end);
}

Result<SimulationSummary> Simulator::Run(EventSink& sink) const {
  const internal::SimulationWindow window{options_.start, end_};
  internal::CaseGenerator generator(organisation_, options_.profile, window, options_.seed);
  uint64_t state = options_.seed ^ 0x73746172745f6461ULL;
  Random random(SplitMix64(state));

  std::vector<PendingCase> slots;
  std::vector<uint32_t> free_slots;
  std::vector<HeapEntry> heap;
  SimulationSummary summary;
  int64_t pending = 0;

  auto write_until = [&](int64_t limit) -> Result<void> {
    while (!heap.empty() && heap.front().recorded < limit) {
      std::pop_heap(heap.begin(), heap.end(), EntryLater{});
      const HeapEntry entry = heap.back();
      heap.pop_back();
      PendingCase& pending_case = slots[entry.slot];
      const SimulatedEvent& event = pending_case.events[pending_case.next++];
      CW_TRY(sink.Write(event));
      ++summary.events;
      --pending;
      if (event.flags & kFlagDuplicate) ++summary.duplicates;
      if (pending_case.next < pending_case.events.size()) {
        heap.push_back(EntryFor(pending_case.events[pending_case.next], entry.slot));
        std::push_heap(heap.begin(), heap.end(), EntryLater{});
      } else {
        std::vector<SimulatedEvent>().swap(pending_case.events);
        free_slots.push_back(entry.slot);
      }
    }
    return Ok();
  };

  // Cases open in date order, spread evenly over the window (one stratified draw each), so a
  // new case can only add events recorded after (its opening - kMaxLeadDays).
  const int32_t span = end_ - options_.start;
  std::vector<SimulatedEvent> scratch;
  for (int64_t i = 0; i < options_.cases; ++i) {
    const double position =
        (static_cast<double>(i) + random.Uniform()) / static_cast<double>(options_.cases);
    Date open_day = internal::NextWorkingDay(
        options_.start + static_cast<int32_t>(position * static_cast<double>(span)));
    if (open_day >= end_) open_day = internal::PreviousWorkingDay(end_ + -1);
    CW_TRY(write_until((static_cast<int64_t>(open_day.days) - internal::kMaxLeadDays) * 86400));

    generator.Generate(static_cast<uint32_t>(i + 1), open_day, scratch);
    if (scratch.empty()) continue;
    uint32_t slot;
    if (!free_slots.empty()) {
      slot = free_slots.back();
      free_slots.pop_back();
    } else {
      slot = static_cast<uint32_t>(slots.size());
      slots.emplace_back();
    }
    slots[slot].events.assign(scratch.begin(), scratch.end());
    slots[slot].next = 0;
    pending += static_cast<int64_t>(scratch.size());
    summary.peak_pending = std::max(summary.peak_pending, pending);
    heap.push_back(EntryFor(slots[slot].events.front(), slot));
    std::push_heap(heap.begin(), heap.end(), EntryLater{});
  }
  summary.cases = options_.cases;
  CW_TRY(write_until(INT64_MAX));
  return summary;
}

}  // namespace casewatch::simulator
