#include "base/closest_names.h"

#include <gtest/gtest.h>

namespace casewatch {
namespace {

TEST(EditDistance, CountsInsertionsDeletionsSubstitutionsAndSwaps) {
  EXPECT_EQ(EditDistance("Sunderland", "Sunderland"), 0u);
  EXPECT_EQ(EditDistance("Sunderlnd", "Sunderland"), 1u);   // a letter left out
  EXPECT_EQ(EditDistance("Sudnerland", "Sunderland"), 1u);  // two letters swapped
  EXPECT_EQ(EditDistance("sunderland", "SUNDERLAND"), 0u);  // case is ignored
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
}

TEST(ClosestNames, NamesTheNearestFirstAndNothingImplausible) {
  const std::vector<std::string> pdus = {"Sunderland", "Gateshead", "South Tyneside",
                                         "Sunderland East", "Newcastle"};
  EXPECT_EQ(ClosestNames("Sunderlnd", pdus), (std::vector<std::string>{"Sunderland"}));
  // A name within another counts as near.
  EXPECT_EQ(ClosestNames("sunderland", pdus),
            (std::vector<std::string>{"Sunderland", "Sunderland East"}));
  EXPECT_EQ(ClosestNames("gateshead", pdus), (std::vector<std::string>{"Gateshead"}));
  EXPECT_TRUE(ClosestNames("Cardiff", pdus).empty());
  EXPECT_EQ(DidYouMean("Newcastel", pdus), ", did you mean \"Newcastle\"?");
  EXPECT_EQ(DidYouMean("Sunderlan", pdus),
            ", did you mean \"Sunderland\" or \"Sunderland East\"?");
  EXPECT_EQ(DidYouMean("Cardiff", pdus), "");
}

TEST(ClosestNames, StopsAtTheLimit) {
  const std::vector<std::string> names = {"ab", "ac", "ad", "ae"};
  EXPECT_EQ(ClosestNames("aa", names, 2).size(), 2u);
}

}  // namespace
}  // namespace casewatch
