#pragma once
// The include rules: each folder's README says what its code may include, in a line
//   May include: `base/`, `services/store/`, `fmt`, ...
// (folders end with '/'; library names as in kLibraries below) and, for its tests (`*_test.cc`,
// `test_util.h`, anything under `testing/`), a line
//   Tests may also include: `GoogleTest`, ...
// A folder may always include its own files; `proto/` allows the generated `casewatch/...pb.h`.
// Standard, POSIX and unlisted third-party headers are not restricted. A folder whose README has
// no "May include:" line (tests/, bench/, the dashboard) is not checked.

#include <filesystem>
#include <string>
#include <vector>

namespace casewatch::include_rules {

struct Violation {
  std::string file;  // relative to the root
  int line = 0;
  std::string include;
  std::string rule;  // the folder's README
};

// Every include under `root` that its folder's README does not allow.
std::vector<Violation> Check(const std::filesystem::path& root);

std::string Describe(const Violation& v);

}  // namespace casewatch::include_rules
