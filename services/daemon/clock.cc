#include "services/daemon/clock.h"

#include <chrono>

namespace casewatch::daemon {

Instant WallClock() { return InstantOf(std::chrono::system_clock::now()); }

Result<std::function<Instant()>> MakeClock(const std::string& kind, const std::string& start_text,
                                           double speed) {
  if (kind == "wall") return std::function<Instant()>(WallClock);
  auto start = ParseInstant(start_text);
  if (!start) {
    return InvalidArgument("--clock-start: " + start.error().message +
                           " (a simulated clock needs its start instant)");
  }
  if (speed < 0) return InvalidArgument("--clock-speed: must be 0 (frozen) or more");
  const auto began = std::chrono::steady_clock::now();
  const Instant origin = start.value();
  return std::function<Instant()>([origin, began, speed] {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count() * speed;
    const auto whole = static_cast<int64_t>(elapsed);
    const auto nanos =
        static_cast<int64_t>(origin.nanos) + static_cast<int64_t>((elapsed - whole) * 1e9);
    return Instant{origin.seconds + whole + nanos / 1000000000,
                   static_cast<int32_t>(nanos % 1000000000)};
  });
}

}  // namespace casewatch::daemon
