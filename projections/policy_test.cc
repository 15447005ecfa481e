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

TEST(Policy, AMistypedKeyIsNamedWithTheKeyItWasProbablyMeantToBe) {
  auto r = ParsePolicy(R"({"prompt_strat_wd": 3})");
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error().message,
            "policy key \"prompt_strat_wd\": is not a policy key, did you mean "
            "\"prompt_start_wd\"? (the keys: docs/rules.md section 8)");
  r = ParsePolicy(R"({"colour": "blue"})");
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error().message,
            "policy key \"colour\": is not a policy key (the keys: docs/rules.md section 8)");
}

std::string JsonError(std::string_view json) {
  auto r = ParsePolicy(json);
  if (!r.has_error()) return "(parsed)";
  return r.error().message;
}

TEST(Policy, InvalidJsonIsPlacedByLineAndColumn) {
  // A missing comma between two lines: the second key is where it goes wrong.
  EXPECT_EQ(JsonError("{\n  \"warning_wd\": 10\n  \"breach_wd\": 10\n}"),
            "policy is not valid JSON at line 3, column 3: expected a comma (,) or the closing }");
  EXPECT_EQ(JsonError("{\"warning_wd\": 10,}"),
            "policy is not valid JSON at line 1, column 19: expected a key in double quotes "
            "(\"key\")");
  EXPECT_EQ(JsonError("{'warning_wd': 10}"),
            "policy is not valid JSON at line 1, column 2: expected a key in double quotes "
            "(\"key\")");
  EXPECT_EQ(JsonError("{\"warning_wd\" 10}"),
            "policy is not valid JSON at line 1, column 15: expected a colon (:) after the key");
  EXPECT_EQ(JsonError("{\"warning_wd\": ten}"),
            "policy is not valid JSON at line 1, column 16: expected a value (a number, \"text\", "
            "true, false, null, { or [)");
  EXPECT_EQ(JsonError("{\"holidays\": [\"2013-01-01\" \"2013-12-25\"]}"),
            "policy is not valid JSON at line 1, column 28: expected a comma (,) or the closing ]");
  EXPECT_EQ(JsonError("{\"rating_good\": 0.}"),
            "policy is not valid JSON at line 1, column 19: expected a digit after the decimal "
            "point");
  EXPECT_EQ(JsonError("{\"name\": \"C:\\temp\\x\"}"),
            "policy is not valid JSON at line 1, column 19: expected a valid escape after the "
            "backslash (a backslash itself is written \\\\)");
  EXPECT_EQ(JsonError("{} {}"),
            "policy is not valid JSON at line 1, column 4: expected nothing more after the end "
            "of the JSON");
  // Columns count characters, not bytes.
  EXPECT_EQ(JsonError("{\"name\": \"Montréal\" x}"),
            "policy is not valid JSON at line 1, column 21: expected a comma (,) or the closing }");
  // The text ends too soon: placed at its end.
  EXPECT_EQ(JsonError("{\"warning_wd\":\n"),
            "policy is not valid JSON at line 2, column 1: the text ends too soon (is a closing "
            "quote, } or ] missing?)");
  EXPECT_EQ(JsonError(""),
            "policy is not valid JSON at line 1, column 1: the text ends too soon (is a closing "
            "quote, } or ] missing?)");
}

TEST(Policy, JsonThatOnlySimdjsonRefusesStillSaysWhy) {
  // Valid syntax, but a number no double holds.
  EXPECT_EQ(JsonError("{\"rating_good\": 1e999}").rfind("policy is not valid JSON: ", 0), 0u)
      << JsonError("{\"rating_good\": 1e999}");
}

}  // namespace
}  // namespace casewatch
