#pragma once
// How far a long pass has got, on a terminal: a bar redrawn in place (at most ten times a
// second), or for logs one line per tenth. A pass is a series of stages, each with a total (0:
// not known, then only the count is shown). Single-threaded.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace casewatch::inspection {

class Progress {
 public:
  enum class Mode { kNone, kBar, kLines };

  explicit Progress(Mode mode, std::FILE* out = stderr) : mode_(mode), out_(out) {}
  ~Progress() { Done(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void Stage(std::string_view name, uint64_t total, std::string_view unit);
  void Update(uint64_t done);
  // The same, with the stage's total learned on the way (0: still not known).
  void Update(uint64_t done, uint64_t total) {
    if (total > 0) total_ = total;
    Update(done);
  }
  // Ends the stage (the bar's line is finished with 100% and a newline).
  void Done();

 private:
  void Draw(bool final);

  Mode mode_;
  std::FILE* out_;
  std::string stage_;
  std::string unit_;
  uint64_t total_ = 0;
  uint64_t done_ = 0;
  int tenths_shown_ = -1;
  bool open_ = false;
  std::chrono::steady_clock::time_point started_{};
  std::chrono::steady_clock::time_point drawn_{};
};

}  // namespace casewatch::inspection
