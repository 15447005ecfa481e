#include "services/ingest/ndjson_lines.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace casewatch::ingest {
namespace {

using namespace std::string_view_literals;

struct Line {
  uint64_t number;
  std::string text;
  bool operator==(const Line&) const = default;
};

void PrintTo(const Line& line, std::ostream* out) {
  *out << line.number << ":" << ::testing::PrintToString(line.text);
}

std::vector<Line> Split(std::string_view text) {
  std::vector<Line> lines;
  NdjsonLines splitter(text);
  while (std::optional<NdjsonLine> line = splitter.Next()) {
    lines.push_back(Line{line->number, std::string(line->text)});
  }
  return lines;
}

TEST(NdjsonLines, CarriageReturnBeforeNewlineIsDropped) {
  EXPECT_EQ(Split("{\"a\":1}\r\n{\"b\":2}\r\n"),
            (std::vector<Line>{{1, "{\"a\":1}"}, {2, "{\"b\":2}"}}));
}

TEST(NdjsonLines, OnlyOneCarriageReturnIsDropped) {
  EXPECT_EQ(Split("x\r\r\n"), (std::vector<Line>{{1, "x\r"}}));
}

TEST(NdjsonLines, CarriageReturnInsideALineIsKept) {
  EXPECT_EQ(Split("a\rb\n"), (std::vector<Line>{{1, "a\rb"}}));
}

TEST(NdjsonLines, BlankLinesAreSkippedButCounted) {
  EXPECT_EQ(Split("\n  \t\n\r\n \r \r\r\nx\n\n"), (std::vector<Line>{{5, "x"}}));
}

TEST(NdjsonLines, LastLineWithoutNewlineIsALine) {
  EXPECT_EQ(Split("a\nb"), (std::vector<Line>{{1, "a"}, {2, "b"}}));
  EXPECT_EQ(Split("a\nb\r"), (std::vector<Line>{{1, "a"}, {2, "b"}}));
}

TEST(NdjsonLines, NewlineAtTheEndAddsNoLine) {
  NdjsonLines lines("a\n");
  ASSERT_TRUE(lines.Next().has_value());
  EXPECT_FALSE(lines.Next().has_value());
  EXPECT_FALSE(lines.Next().has_value());  // and stays done
}

TEST(NdjsonLines, EmptyOrBlankTextHasNoLines) {
  EXPECT_EQ(Split(""), std::vector<Line>{});
  EXPECT_EQ(Split(std::string_view()), std::vector<Line>{});
  EXPECT_EQ(Split("\n\n \t\r\n\r"), std::vector<Line>{});
}

TEST(NdjsonLines, OtherWhitespaceAndNulAreNotBlank) {
  EXPECT_EQ(Split("\v\n\f\n"sv), (std::vector<Line>{{1, "\v"}, {2, "\f"}}));
  EXPECT_EQ(Split("\0\n"sv), (std::vector<Line>{{1, std::string(1, '\0')}}));
}

TEST(NdjsonLines, LinesAreViewsIntoTheText) {
  const std::string text = "  \r\n{}\r\n";
  NdjsonLines lines(text);
  const std::optional<NdjsonLine> line = lines.Next();
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(line->number, 2u);
  EXPECT_EQ(line->text.data(), text.data() + 4);
  EXPECT_EQ(line->text.size(), 2u);
}

TEST(CutNdjsonLine, LineWithoutNewlineNeedsMoreInputUnlessAtTheEnd) {
  EXPECT_FALSE(CutNdjsonLine("{\"a\":", /*at_end=*/false).has_value());
  const std::optional<NdjsonCut> last = CutNdjsonLine("{\"a\":", /*at_end=*/true);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->text, "{\"a\":");
  EXPECT_EQ(last->length, 5u);
  EXPECT_FALSE(last->blank);
}

TEST(CutNdjsonLine, EmptyInputHasNoLineEvenAtTheEnd) {
  EXPECT_FALSE(CutNdjsonLine("", /*at_end=*/true).has_value());
  EXPECT_FALSE(CutNdjsonLine("", /*at_end=*/false).has_value());
}

TEST(CutNdjsonLine, LengthIncludesTheLineEndAndTextExcludesIt) {
  const std::optional<NdjsonCut> cut = CutNdjsonLine("ab\r\ncd", /*at_end=*/false);
  ASSERT_TRUE(cut.has_value());
  EXPECT_EQ(cut->text, "ab");
  EXPECT_EQ(cut->length, 4u);
}

TEST(CutNdjsonLine, CarriageReturnAwayFromItsNewlineIsDroppedOnceTheNewlineArrives) {
  EXPECT_FALSE(CutNdjsonLine("ab\r", /*at_end=*/false).has_value());
  const std::optional<NdjsonCut> cut = CutNdjsonLine("ab\r\n", /*at_end=*/false, 3);
  ASSERT_TRUE(cut.has_value());
  EXPECT_EQ(cut->text, "ab");
}

TEST(CutNdjsonLine, BlankLineIsCutAndMarkedBlank) {
  const std::optional<NdjsonCut> cut = CutNdjsonLine(" \t\r\n{}", /*at_end=*/false);
  ASSERT_TRUE(cut.has_value());
  EXPECT_TRUE(cut->blank);
  EXPECT_EQ(cut->length, 4u);
  EXPECT_TRUE(CutNdjsonLine("\n", /*at_end=*/false)->blank);
}

TEST(CutNdjsonLine, SearchedBytesAreNotSearchedAgain) {
  // A caller that has searched the whole window finds nothing new until more input arrives.
  EXPECT_FALSE(CutNdjsonLine("abc", /*at_end=*/false, 3).has_value());
  EXPECT_FALSE(CutNdjsonLine("abc", /*at_end=*/false, 99).has_value());
  const std::optional<NdjsonCut> cut = CutNdjsonLine("abc\nd", /*at_end=*/false, 3);
  ASSERT_TRUE(cut.has_value());
  EXPECT_EQ(cut->text, "abc");
}

}  // namespace
}  // namespace casewatch::ingest
