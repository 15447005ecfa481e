#pragma once
// `casewatch simulate`'s engine: generates realistic case histories for a whole organisation and
// hands the events to a sink in arrival order (non-decreasing recorded_at), as a live feed would
// deliver them. Deterministic: the same options give the same events, byte for byte.

#include <cstdint>

#include "base/result.h"
#include "projections/calendar.h"
#include "services/simulator/organisation.h"
#include "services/simulator/practice_profile.h"
#include "services/simulator/simulated_event.h"

namespace casewatch::simulator {

struct SimulationOptions {
  int64_t cases = 100;  // cases opened over the window, in opening-date order
  Date start;           // the window's first day
  int months = 12;      // the window's length; its end is "now"
  uint64_t seed = 1;
  PracticeProfile profile;
};

// Receives generated events, in arrival order. Not owned by the simulator.
class EventSink {
 public:
  virtual ~EventSink() = default;
  [[nodiscard]] virtual Result<void> Write(const SimulatedEvent& event) = 0;
};

struct SimulationSummary {
  int64_t cases = 0;
  int64_t events = 0;  // written, duplicates included
  int64_t duplicates = 0;
  int64_t peak_pending = 0;  // most events held at once while merging into arrival order
};

// A configured run. Owns the organisation; Run may be called more than once (each call repeats
// the same output). Single-threaded. Memory is bounded by the events of the cases open at once,
// not by the total.
class Simulator {
 public:
  [[nodiscard]] static Result<Simulator> Create(SimulationOptions options);

  const Organisation& organisation() const { return organisation_; }
  const SimulationOptions& options() const { return options_; }
  // The window end ("now"): start + months, at 00:00 UTC.
  Date end() const { return end_; }

  [[nodiscard]] Result<SimulationSummary> Run(EventSink& sink) const;

 private:
  Simulator(SimulationOptions options, Organisation organisation, Date end)
      : options_(std::move(options)), organisation_(std::move(organisation)), end_(end) {}

  SimulationOptions options_;
  Organisation organisation_;
  Date end_;
};

}  // namespace casewatch::simulator
