#include "projections/policy.h"

#include <gtest/gtest.h>

namespace casewatch {
namespace {

TEST(Policy, EmptyObjectGivesTheDefaults) {
  const Policy p = ParsePolicy("{}").value();
  EXPECT_EQ(p.name, "default");
  EXPECT_EQ(p.prompt_start_wd, 5);
  EXPECT_EQ(p.home_visit_repeat_days, 91);
  EXPECT_DOUBLE_EQ(p.rating_good, 0.65);
  EXPECT_EQ(p.holidays, EnglandAndWalesBankHolidays());
  EXPECT_GT(p.holidays.size(), 280u);
}

TEST(Policy, AHolidaysListReplacesTheDefaultAndAnEmptyOneMeansNone) {
  EXPECT_TRUE(ParsePolicy(R"({"holidays":[]})").value().holidays.empty());
  const Policy local = ParsePolicy(R"({"holidays":["2013-03-18"]})").value();
  ASSERT_EQ(local.holidays.size(), 1u);
  EXPECT_EQ(FormatDate(local.holidays[0]), "2013-03-18");
}

TEST(Policy, KeysOverrideAndHolidaysAreSorted) {
  const Policy p = ParsePolicy(R"({"name":"strict","home_visit_repeat_days":42,
      "rating_good":0.7,"holidays":["2013-12-26","2013-12-25","2013-12-25"]})")
                       .value();
  EXPECT_EQ(p.name, "strict");
  EXPECT_EQ(p.home_visit_repeat_days, 42);
  EXPECT_DOUBLE_EQ(p.rating_good, 0.7);
  ASSERT_EQ(p.holidays.size(), 2u);
  EXPECT_LT(p.holidays[0], p.holidays[1]);
}

void ExpectError(const char* json, const char* fragment) {
  auto r = ParsePolicy(json);
  ASSERT_TRUE(r.has_error()) << json;
  EXPECT_NE(r.error().message.find(fragment), std::string::npos) << r.error().message;
}

TEST(Policy, BadKeysAndValuesAreNamed) {
  ExpectError(R"({"home_visit_days":10})", "\"home_visit_days\"");
  ExpectError(R"({"prompt_start_wd":0})", "\"prompt_start_wd\"");
  ExpectError(R"({"prompt_start_wd":2.5})", "\"prompt_start_wd\"");
  ExpectError(R"({"prompt_start_wd":"5"})", "\"prompt_start_wd\"");
  ExpectError(R"({"rating_good":1.5})", "\"rating_good\"");
  ExpectError(R"({"rating_good":0.9})", "\"rating_outstanding\"");
  ExpectError(R"({"rating_requires_improvement":0.7})", "\"rating_good\"");
  ExpectError(R"({"holidays":["2013-02-30"]})", "\"holidays\"");
  ExpectError(R"({"holidays":"2013-02-03"})", "\"holidays\"");
  ExpectError(R"({"name":3})", "\"name\"");
  ExpectError(R"({"warning_wd":3,"warning_wd":4})", "more than once");
  ExpectError(R"([1,2])", "JSON object");
  ExpectError(R"({"warning_wd":)", "not valid JSON");
}

}  // namespace
}  // namespace casewatch
