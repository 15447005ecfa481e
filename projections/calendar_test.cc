#include "projections/calendar.h"

#include <gtest/gtest.h>

namespace casewatch {
namespace {

TEST(Calendar, CivilRoundTripsAcrossCenturies) {
  for (int32_t d = -800000; d < 800000; d += 17) {
    const CivilDate c = CivilFromDate(Date{d});
    EXPECT_EQ(DateFromCivil(c).days, d);
  }
  EXPECT_EQ(DateFromCivil({1970, 1, 1}).days, 0);
  EXPECT_EQ(FormatDate(DateFromCivil({2000, 2, 29})), "2000-02-29");
}

TEST(Calendar, WeekdaysAreMondayZero) {
  EXPECT_EQ(WeekdayOf(ParseDate("2013-04-01").value()), 0);  // a Monday
  EXPECT_EQ(WeekdayOf(ParseDate("2013-04-06").value()), 5);
  EXPECT_TRUE(IsWeekend(ParseDate("2013-04-07").value()));
  EXPECT_EQ(WeekdayOf(ParseDate("1969-12-31").value()), 2);  // before the epoch
}

TEST(Calendar, BadDatesAreRejectedWithTheText) {
  for (const char* bad : {"2013-02-29", "2013-13-01", "2013-4-01", "20130401", "2013-04-01x", ""}) {
    auto r = ParseDate(bad);
    ASSERT_TRUE(r.has_error()) << bad;
    EXPECT_NE(r.error().message.find(bad), std::string::npos);
  }
}

TEST(Calendar, InstantsParseOffsetsAndFractions) {
  EXPECT_EQ(ParseInstant("1970-01-01T00:00:00Z").value(), (Instant{0, 0}));
  EXPECT_EQ(ParseInstant("1970-01-01T01:00:00+01:00").value(), (Instant{0, 0}));
  EXPECT_EQ(ParseInstant("1969-12-31T23:00:00-01:00").value(), (Instant{0, 0}));
  EXPECT_EQ(ParseInstant("2013-04-02T09:30:00.5Z").value().nanos, 500000000);
  EXPECT_EQ(ParseInstant("2013-04-02t09:30:00.123456789z").value().nanos, 123456789);
  EXPECT_EQ(FormatInstant(ParseInstant("2013-09-30T23:59:59.5+01:00").value()),
            "2013-09-30T22:59:59.500Z");
  EXPECT_EQ(FormatInstant(ParseInstant("2013-09-30T23:59:59.000001Z").value()),
            "2013-09-30T23:59:59.000001Z");
  EXPECT_EQ(FormatInstant(ParseInstant("0001-01-01T00:00:00Z").value()), "0001-01-01T00:00:00Z");
}

TEST(Calendar, BadInstantsAreRejected) {
  for (const char* bad :
       {"2013-04-02", "2013-04-02T09:30:00", "2013-04-02T24:00:00Z", "2013-04-02T09:30:00.Z",
        "2013-04-02T09:30:00.1234567890Z", "2013-04-02T09:30:00+1:00", "2013-04-02 09:30:00Z",
        "0000-12-31T00:00:00Z"}) {
    EXPECT_TRUE(ParseInstant(bad).has_error()) << bad;
  }
}

TEST(Calendar, DateOfNegativeInstantsFloors) {
  EXPECT_EQ(DateOf(Instant{-1, 0}).days, -1);
  EXPECT_EQ(DateOf(Instant{-86400, 0}).days, -1);
  EXPECT_EQ(DateOf(Instant{86399, 999999999}).days, 0);
}

}  // namespace
}  // namespace casewatch
