#include "tests/include_rules/include_rules.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

namespace casewatch::include_rules {
namespace {

namespace fs = std::filesystem;

// Header prefix -> the library's name in a README.
const std::vector<std::pair<std::string, std::string>> kLibraries = {
    {"rocksdb/", "RocksDB"},         {"librdkafka/", "librdkafka"},
    {"boost/beast", "Boost.Beast"},  {"boost/asio", "Boost.Asio"},
    {"simdjson", "simdjson"},        {"google/protobuf/", "protobuf"},
    {"spdlog/", "spdlog"},           {"fmt/", "fmt"},
    {"CLI/", "CLI11"},               {"openssl/", "OpenSSL"},
    {"gtest/", "GoogleTest"},        {"gmock/", "GoogleTest"},
    {"benchmark/", "Google Benchmark"},
};

struct Rule {
  std::string folder;  // relative, with a trailing '/'
  std::string readme;
  std::set<std::string> code;
  std::set<std::string> tests;  // in addition
};

std::string Read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The backticked entries of the paragraph that starts with `label` (nullopt without one).
std::optional<std::set<std::string>> Entries(const std::string& readme, const std::string& label) {
  size_t at = readme.find("\n" + label);
  if (readme.starts_with(label)) at = 0;
  if (at == std::string::npos) return std::nullopt;
  size_t end = readme.find("\n\n", at + 1);
  const std::string paragraph = readme.substr(at, end == std::string::npos ? end : end - at);
  std::set<std::string> entries;
  static const std::regex kTick("`([^`]+)`");
  for (std::sregex_iterator it(paragraph.begin(), paragraph.end(), kTick), last; it != last; ++it) {
    entries.insert((*it)[1]);
  }
  return entries;
}

bool IsTestFile(const std::string& relative) {
  const std::string name = fs::path(relative).filename().string();
  return name.ends_with("_test.cc") || name.starts_with("test_util") ||
         relative.find("/testing/") != std::string::npos;
}

}  // namespace

std::vector<Violation> Check(const fs::path& root) {
  std::vector<Rule> rules;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const std::string relative = fs::relative(entry.path(), root).generic_string();
    if (relative.starts_with("build") || relative.find("node_modules") != std::string::npos ||
        relative.starts_with(".")) {
      continue;
    }
    if (entry.path().filename() != "README.md") continue;
    const std::string readme = Read(entry.path());
    auto code = Entries(readme, "May include:");
    if (!code) continue;
    Rule rule;
    rule.folder = fs::relative(entry.path().parent_path(), root).generic_string() + "/";
    rule.readme = relative;
    rule.code = *code;
    rule.tests = Entries(readme, "Tests may also include:").value_or(std::set<std::string>{});
    rules.push_back(std::move(rule));
  }
  // The deepest folder with a rule governs a file.
  std::sort(rules.begin(), rules.end(),
            [](const Rule& a, const Rule& b) { return a.folder.size() > b.folder.size(); });

  std::vector<Violation> violations;
  static const std::regex kQuoted(R"re(^\s*#\s*include\s+"([^"]+)")re");
  static const std::regex kAngled(R"re(^\s*#\s*include\s+<([^>]+)>)re");
  for (const Rule& rule : rules) {
    for (const auto& entry : fs::recursive_directory_iterator(root / rule.folder)) {
      const std::string ext = entry.path().extension().string();
      if (ext != ".h" && ext != ".cc") continue;
      const std::string relative = fs::relative(entry.path(), root).generic_string();
      if (relative.find("node_modules") != std::string::npos) continue;
      const auto governing = std::find_if(rules.begin(), rules.end(), [&](const Rule& r) {
        return relative.starts_with(r.folder);
      });
      if (&*governing != &rule) continue;  // a subfolder with its own rule
      const bool test = IsTestFile(relative);
      std::istringstream lines(Read(entry.path()));
      std::string line;
      for (int number = 1; std::getline(lines, line); ++number) {
        std::smatch match;
        const auto allows = [&](const std::string& needed) {
          const auto in = [&](const std::set<std::string>& entries) {
            return std::any_of(entries.begin(), entries.end(), [&](const std::string& e) {
              return e == needed || (e.ends_with('/') && needed.starts_with(e));
            });
          };
          return in(rule.code) || (test && in(rule.tests));
        };
        if (std::regex_search(line, match, kQuoted)) {
          const std::string include = match[1];
          if (include.starts_with(rule.folder)) continue;
          if (include.starts_with("casewatch/") && include.ends_with(".pb.h")) {
            if (allows("proto/")) continue;
          } else if (allows(include)) {
            continue;
          } else if (test && (include.starts_with("tests/") || include.starts_with("base/"))) {
            continue;  // test support
          }
        } else if (std::regex_search(line, match, kAngled)) {
          const std::string include = match[1];
          std::string library;
          for (const auto& [prefix, name] : kLibraries) {
            if (include.starts_with(prefix)) library = name;
          }
          if (library.empty() || allows(library)) continue;
        } else {
          continue;
        }
        violations.push_back(Violation{relative, number, match[1], rule.readme});
      }
    }
  }
  return violations;
}

std::string Describe(const Violation& v) {
  return v.file + ":" + std::to_string(v.line) + ": includes " + v.include +
         ", which " + v.rule + " does not allow";
}

}  // namespace casewatch::include_rules
