#include "services/inspection/progress.h"

#include <fmt/format.h>

#include <algorithm>

namespace casewatch::inspection {

void Progress::Stage(std::string_view name, uint64_t total, std::string_view unit) {
  Done();
  stage_ = std::string(name);
  unit_ = std::string(unit);
  total_ = total;
  done_ = 0;
  tenths_shown_ = -1;
  open_ = true;
  started_ = std::chrono::steady_clock::now();
  drawn_ = started_;
  if (mode_ == Mode::kBar) Draw(false);
}

void Progress::Update(uint64_t done) {
  if (!open_ || mode_ == Mode::kNone) return;
  done_ = done;
  const auto now = std::chrono::steady_clock::now();
  if (mode_ == Mode::kLines) {
    // A line per tenth, at most one every two seconds: a log, not a flood.
    if (total_ > 0 && now - drawn_ >= std::chrono::seconds(2) &&
        static_cast<int>(std::min<uint64_t>(done_ * 10 / total_, 10)) > tenths_shown_) {
      Draw(false);
    }
    return;
  }
  if (now - drawn_ >= std::chrono::milliseconds(100)) Draw(false);
}

void Progress::Done() {
  if (!open_) return;
  // An estimated total may be passed (the store's count is of the cases counted at its clock).
  if (total_ > 0) total_ = done_ = std::max(done_, total_);
  Draw(true);
  open_ = false;
}

void Progress::Draw(bool final) {
  if (mode_ == Mode::kNone) return;
  drawn_ = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(drawn_ - started_).count();
  const double fraction =
      total_ > 0 ? std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_)) : 0.0;
  std::string count = total_ > 0      ? fmt::format("{} of {} {}", done_, total_, unit_)
                      : unit_.empty() ? std::string()
                                      : fmt::format("{} {}", done_, unit_);
  if (mode_ == Mode::kLines) {
    tenths_shown_ = static_cast<int>(fraction * 10);
    if (final) {
      fmt::print(out_, "inspect: {} done{}{} in {:.1f} s\n", stage_, count.empty() ? "" : ", ",
                 count, seconds);
    } else {
      fmt::print(out_, "inspect: {} {:3.0f}% ({}, {:.1f} s)\n", stage_, fraction * 100, count,
                 seconds);
    }
    std::fflush(out_);
    return;
  }
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(fraction * kWidth);
  const std::string bar = total_ > 0 ? std::string(filled, '#') + std::string(kWidth - filled, '-')
                                     : std::string(kWidth, '.');
  fmt::print(out_, "\r{:<22} [{}] {:3.0f}%  {}  {:.1f} s\x1b[K{}", stage_, bar, fraction * 100,
             count, seconds, final ? "\n" : "");
  std::fflush(out_);
}

}  // namespace casewatch::inspection
