#pragma once
// The engine's clock: the system's (wall), or a simulated one that starts at an instant and runs
// at a speed (0: frozen) — for demonstrations and tests that replay a past period.

#include <functional>
#include <string>

#include "base/result.h"
#include "projections/calendar.h"

namespace casewatch::daemon {

// The system clock as an Instant.
Instant WallClock();

// "wall", or "simulated" from `start` (RFC 3339) at `speed` simulated seconds per real second.
[[nodiscard]] Result<std::function<Instant()>> MakeClock(const std::string& kind,
                                                        const std::string& start, double speed);

}  // namespace casewatch::daemon
