#pragma once
// TempDir: a fresh directory under the system's temp directory (a test's files, a secondary
// store's scratch space), removed with everything in it when the TempDir goes. path() is empty
// when no directory could be made.

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace casewatch {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "casewatch_XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace casewatch
