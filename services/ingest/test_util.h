#pragma once
// Test-only helpers for ingest tests: sample events and temporary files.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "casewatch/events/v1/events.pb.h"
#include "services/ingest/event_file.h"

namespace casewatch::ingest::testing {

namespace pb = ::casewatch::events::v1;

// A valid rosh_classified event.
inline pb::Envelope RoshEvent(std::string event_id, std::string case_id = "N13-00042",
                              int64_t seconds = 1364895000) {
  pb::Envelope e;
  e.set_event_id(std::move(event_id));
  e.set_case_id(std::move(case_id));
  e.mutable_occurred_at()->set_seconds(seconds);
  e.mutable_rosh_classified()->set_level(pb::ROSH_LEVEL_HIGH);
  return e;
}

// A file under the test temp dir, deleted at destruction. Named by process and counter: ctest
// runs each test in its own process, several at once, all in the same temp dir.
class TempFile {
 public:
  TempFile(std::string_view name, std::string_view contents)
      : path_(std::filesystem::path(::testing::TempDir()) /
              (std::to_string(getpid()) + "-" + std::to_string(counter_++) + "-" +
               std::string(name))) {
    std::ofstream out(path_, std::ios::binary);
    out << contents;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

struct Loaded {
  LoadSummary summary;
  std::vector<Problem> problems;
};

inline Loaded LoadOrDie(const std::string& path, EventLog& log) {
  Loaded loaded;
  Result<LoadSummary> summary =
      LoadEventFile(path, log, [&](const Problem& p) { loaded.problems.push_back(p); });
  EXPECT_TRUE(summary.has_value()) << (summary ? "" : summary.error().message);
  if (summary) loaded.summary = summary.value();
  return loaded;
}

}  // namespace casewatch::ingest::testing
