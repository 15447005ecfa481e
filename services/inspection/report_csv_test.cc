#include "services/inspection/report_csv.h"

#include <gtest/gtest.h>

namespace casewatch::inspection {
namespace {

std::string Field(std::string_view text) {
  std::string out;
  AppendCsvField(out, text);
  return out;
}

TEST(CsvField, AFieldASpreadsheetWouldTakeForAFormulaGetsALeadingApostrophe) {
  EXPECT_EQ(Field("=HYPERLINK(\"http://x\",\"y\")"), "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
  EXPECT_EQ(Field("-12-12"), "\"'-12-12\"");
  EXPECT_EQ(Field("+44 20"), "\"'+44 20\"");
  EXPECT_EQ(Field("@SUM(A1)"), "\"'@SUM(A1)\"");
  EXPECT_EQ(Field("\tx"), "\"'\tx\"");
  EXPECT_EQ(Field("\rx"), "\"'\rx\"");
  EXPECT_EQ(Field("-"), "\"'-\"");
}

TEST(CsvField, NumbersAndPlainTextAreWrittenAsTheyAre) {
  EXPECT_EQ(Field("-0.05"), "-0.05");
  EXPECT_EQ(Field("-3"), "-3");
  EXPECT_EQ(Field("1e-05"), "1e-05");
  EXPECT_EQ(Field("0.9523809523809523"), "0.9523809523809523");
  EXPECT_EQ(Field("North East"), "North East");
  EXPECT_EQ(Field("a=b"), "a=b");
  EXPECT_EQ(Field(""), "");
  EXPECT_EQ(Field("a,b"), "\"a,b\"");
  EXPECT_EQ(Field("say \"hi\""), "\"say \"\"hi\"\"\"");
}

}  // namespace
}  // namespace casewatch::inspection
