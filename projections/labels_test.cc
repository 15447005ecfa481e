#include "projections/labels.h"

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>

#include "projections/report_text.h"

namespace casewatch {
namespace {

TEST(Labels, EveryOutcomeHasATitleAndAShortTitleAndNoTwoShareOne) {
  std::set<std::string_view> titles, short_titles;
  for (int o = 0; o < kOutcomeCount; ++o) {
    const auto outcome = static_cast<Outcome>(o);
    EXPECT_FALSE(TitleOf(outcome).empty()) << NameOf(outcome);
    EXPECT_FALSE(ShortTitleOf(outcome).empty()) << NameOf(outcome);
    EXPECT_TRUE(titles.insert(TitleOf(outcome)).second) << TitleOf(outcome);
    EXPECT_TRUE(short_titles.insert(ShortTitleOf(outcome)).second) << ShortTitleOf(outcome);
  }
}

TEST(Labels, EveryIndicatorHasATitleAndNoTwoShareOneOrAnOutcomesTitle) {
  std::set<std::string_view> titles;
  for (const OutcomeLabel& label : kOutcomeLabels) titles.insert(label.title);
  for (int i = 0; i < kIndicatorCount; ++i) {
    const auto indicator = static_cast<Indicator>(i);
    EXPECT_FALSE(TitleOf(indicator).empty()) << kIndicators[i].id;
    EXPECT_TRUE(titles.insert(TitleOf(indicator)).second) << TitleOf(indicator);
  }
}

// An item that can be open (pending or overdue) says what to do about it; one judged at once
// never is open.
TEST(Labels, AnActionForEveryIndicatorWhoseItemsCanBeOpenAndNoneForTheOthers) {
  std::set<std::string_view> actions;
  for (int i = 0; i < kIndicatorCount; ++i) {
    const auto indicator = static_cast<Indicator>(i);
    EXPECT_EQ(ActionOf(indicator).empty(), kIndicators[i].judged_at_once) << kIndicators[i].id;
    if (ActionOf(indicator).empty()) continue;
    EXPECT_TRUE(actions.insert(ActionOf(indicator)).second) << ActionOf(indicator);
    // Read after a case id and a due date: "Book the next home visit".
    EXPECT_TRUE(std::islower(static_cast<unsigned char>(ActionOf(indicator)[0])))
        << ActionOf(indicator);
  }
}

TEST(Labels, TheTextReportNamesEachOutcomeAndIndicatorByItsTitle) {
  const Policy policy;
  const Report report = ReportBuilder(policy, ParseInstant("2013-07-31T23:59:59Z").value(),
                                      Period{std::nullopt, ParseDate("2013-07-31").value()}, Scope{})
                            .Finish();
  const std::string text = RenderReportText(report);
  for (const OutcomeLabel& label : kOutcomeLabels) {
    EXPECT_NE(text.find(label.title), std::string::npos) << label.title;
  }
  for (int i = 0; i < kIndicatorCount; ++i) {
    EXPECT_NE(text.find(TitleOf(static_cast<Indicator>(i))), std::string::npos)
        << kIndicators[i].id;
    EXPECT_EQ(text.find(kIndicators[i].id), std::string::npos) << "an id instead of a title";
  }
}

}  // namespace
}  // namespace casewatch
