#include "base/json_writer.h"

#include <gtest/gtest.h>

namespace casewatch {
namespace {

TEST(JsonWriter, CommasAndColonsArePlacedAndStringsEscaped) {
  JsonWriter w;
  w.BeginObject()
      .Key("name")
      .String("say \"hi\"\\\n\x01")
      .Key("n")
      .Int(-3)
      .Key("list")
      .BeginArray()
      .Uint(1)
      .Double(0.5)
      .NullableDouble(std::optional<double>())
      .Bool(true)
      .BeginObject()
      .EndObject()
      .EndArray()
      .Key("raw")
      .Raw(R"({"a":1})")
      .Key("maybe")
      .NullableString(std::optional<std::string>())
      .EndObject();
  EXPECT_EQ(w.Take(),
            R"({"name":"say \"hi\"\\\n\u0001","n":-3,"list":[1,0.5,null,true,{}],"raw":{"a":1},)"
            R"("maybe":null})");
}

TEST(JsonWriter, NewlinesGoAfterTheCommaBeforeTheNextElement) {
  JsonWriter w;
  w.BeginObject().Key("a").Int(1).Newline().Key("list").BeginArray();
  for (int i = 0; i < 2; ++i) w.Newline().BeginObject().Key("i").Int(i).EndObject();
  w.Whitespace("\n").EndArray().EndObject().Whitespace("\n");
  EXPECT_EQ(w.Take(), "{\"a\":1,\n\"list\":[\n{\"i\":0},\n{\"i\":1}\n]}\n");
}

TEST(JsonWriter, DoublesAreTheShortestTextThatReadsBack) {
  JsonWriter w;
  w.BeginArray().Double(1.0).Double(0.9523809523809523).Double(1e-05).Double(0.1).EndArray();
  EXPECT_EQ(w.Take(), "[1,0.9523809523809523,1e-05,0.1]");
}

}  // namespace
}  // namespace casewatch
