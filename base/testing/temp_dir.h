#pragma once
// TempDir: a fresh directory under the system's temp directory for one test, removed with
// everything in it when the TempDir goes. Tests only.

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace casewatch::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "casewatch_XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace casewatch::testing
