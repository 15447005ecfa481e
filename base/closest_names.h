#pragma once
// ClosestNames: the known names a mistyped one was probably meant to be ("did you mean"), for
// error messages about scopes, flags and policy keys. Compared case-insensitively (ASCII) by edit
// distance, an adjacent swap counting as one edit.

#include <string>
#include <string_view>
#include <vector>

namespace casewatch {

// Edit distance between `a` and `b`, ignoring ASCII case: insertions, deletions, substitutions
// and swaps of two adjacent characters each cost one.
size_t EditDistance(std::string_view a, std::string_view b);

// Up to `limit` of `known` within a plausible distance of `wanted` (at most a third of its
// length, and at least 2), nearest first, ties in the order given; a known name that contains
// `wanted` or is contained in it (ignoring case) counts as near. Empty when none is.
std::vector<std::string> ClosestNames(std::string_view wanted, const std::vector<std::string>& known,
                                      size_t limit = 3);

// ", did you mean \"a\" or \"b\"?" for the closest names, or "" when there are none.
std::string DidYouMean(std::string_view wanted, const std::vector<std::string>& known);

}  // namespace casewatch
