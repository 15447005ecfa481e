// memory_touch_floor MB [huge]: how long this machine takes only to touch MB megabytes of fresh
// memory (one write per 4 KiB page), from the heap or, with `huge`, from HugePageMemory (mappings
// advised for transparent huge pages). Any replay that holds that much state pays at least this
// much; on the project's Firecracker VMs the difference between the two is most of a 1M-event
// replay's time (docs/benchmarks.md).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory_resource>

#include "base/huge_page_memory.h"

int main(int argc, char** argv) {
  const size_t megabytes = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 150;
  const bool huge = argc > 2 && std::strcmp(argv[2], "huge") == 0;
  const size_t bytes = megabytes << 20;
  casewatch::HugePageMemory huge_pages;
  std::pmr::memory_resource* resource =
      huge ? static_cast<std::pmr::memory_resource*>(&huge_pages) : std::pmr::new_delete_resource();
  const auto start = std::chrono::steady_clock::now();
  auto* memory = static_cast<char*>(resource->allocate(bytes, 64));
  for (size_t i = 0; i < bytes; i += 4096) memory[i] = 1;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%zu MiB (%s) touched in %.3f s (%.0f MiB/s)\n", megabytes,
              huge ? "huge pages" : "heap", seconds, megabytes / seconds);
  const int status = memory[4096] == 1 ? 0 : 1;
  resource->deallocate(memory, bytes, 64);
  return status;
}
