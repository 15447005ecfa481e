#pragma once
// Files served as they are: the dashboard (services/http/dashboard/) and the OpenAPI document,
// embedded into the binary at build time (embed_assets.cmake), so casewatchd needs no files
// beside it.

#include <string_view>

namespace casewatch::http {

struct Asset {
  std::string_view path;  // "/index.html"
  std::string_view content_type;
  std::string_view body;
};

// The asset at `path`, or nullptr.
const Asset* FindAsset(std::string_view path);

}  // namespace casewatch::http
