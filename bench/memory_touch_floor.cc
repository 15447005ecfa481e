// memory_touch_floor MB: how long this machine takes only to touch MB megabytes of fresh memory
// (one write per 4 KiB page). Any replay that holds that much state pays at least this much; on
// the project's Firecracker VMs it is a large share of a 1M-event replay (docs/benchmarks.md).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>

int main(int argc, char** argv) {
  const size_t megabytes = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 150;
  const size_t bytes = megabytes << 20;
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<char[]> memory(new char[bytes]);
  for (size_t i = 0; i < bytes; i += 4096) memory[i] = 1;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%zu MiB touched in %.3f s (%.0f MiB/s)\n", megabytes, seconds, megabytes / seconds);
  return memory[4096] == 1 ? 0 : 1;
}
