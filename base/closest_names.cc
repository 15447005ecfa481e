#include "base/closest_names.h"

#include <algorithm>
#include <utility>

namespace casewatch {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string LowerCase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

}  // namespace

size_t EditDistance(std::string_view a, std::string_view b) {
  const std::string x = LowerCase(a);
  const std::string y = LowerCase(b);
  // Three rows of the optimal-string-alignment table.
  std::vector<size_t> before(y.size() + 1), previous(y.size() + 1), current(y.size() + 1);
  for (size_t j = 0; j <= y.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= x.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= y.size(); ++j) {
      const size_t substitution = previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
      if (i > 1 && j > 1 && x[i - 1] == y[j - 2] && x[i - 2] == y[j - 1]) {
        current[j] = std::min(current[j], before[j - 2] + 1);
      }
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[y.size()];
}

std::vector<std::string> ClosestNames(std::string_view wanted,
                                      const std::vector<std::string>& known, size_t limit) {
  const std::string lowered = LowerCase(wanted);
  const size_t plausible = std::max<size_t>(2, wanted.size() / 3);
  std::vector<std::pair<size_t, size_t>> near;  // (distance, index in known)
  for (size_t i = 0; i < known.size(); ++i) {
    size_t distance = EditDistance(wanted, known[i]);
    const std::string other = LowerCase(known[i]);
    if (!lowered.empty() && (other.find(lowered) != std::string::npos ||
                             lowered.find(other) != std::string::npos)) {
      distance = std::min(distance, plausible);
    }
    if (distance <= plausible) near.emplace_back(distance, i);
  }
  std::stable_sort(near.begin(), near.end(),
                   [](const auto& l, const auto& r) { return l.first < r.first; });
  std::vector<std::string> names;
  for (const auto& [distance, index] : near) {
    if (names.size() == limit) break;
    if (std::find(names.begin(), names.end(), known[index]) == names.end()) {
      names.push_back(known[index]);
    }
  }
  return names;
}

std::string DidYouMean(std::string_view wanted, const std::vector<std::string>& known) {
  const std::vector<std::string> names = ClosestNames(wanted, known);
  if (names.empty()) return "";
  std::string text = ", did you mean ";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text += i + 1 == names.size() ? " or " : ", ";
    text += "\"" + names[i] + "\"";
  }
  return text + "?";
}

}  // namespace casewatch
