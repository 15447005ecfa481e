// `casewatch replay` as a user meets it: flags, stdin, and one clear message for each kind of bad
// input, with the exit code non-zero only when nothing could be evaluated.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "tests/support/process.h"

namespace casewatch {
namespace {

namespace fs = std::filesystem;
using testing::RunProcess;

const std::string kGolden = std::string(CASEWATCH_GOLDEN_DIR) + "/01_two_cases_full_history";
const std::string kEvents = kGolden + "/events.ndjson";

// Named by process: ctest runs each test in its own process, several at once.
fs::path TempPath(const std::string& name) {
  return fs::path(::testing::TempDir()) / (std::to_string(getpid()) + "-" + name);
}

fs::path TempFile(const std::string& name, const std::string& contents) {
  const fs::path path = TempPath(name);
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

TEST(ReplayCli, HelpDocumentsEveryFlag) {
  const auto run = RunProcess({CASEWATCH_BIN, "replay", "--help"});
  EXPECT_EQ(run.exit_code, 0);
  for (const char* flag :
       {"--events", "--policy", "--as-of", "--from", "--to", "--region", "--pdu", "--team",
        "--offender-manager", "--case-items", "--format", "--text", "--json-out", "--stats",
        "--min-cases", "--brokers", "--topic", "--kafka-config", "--offsets"}) {
    EXPECT_NE(run.out.find(flag), std::string::npos) << flag;
  }
}

TEST(ReplayCli, ABadAsOfIsOneClearMessage) {
  const auto run =
      RunProcess({CASEWATCH_BIN, "replay", "--events", kEvents, "--as-of", "2013-13-01"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.out, "");
  EXPECT_NE(run.err.find("--as-of: '2013-13-01' is neither a date YYYY-MM-DD (meaning the end of "
                         "that day) nor an RFC 3339 timestamp (e.g. 2013-09-30T23:59:59Z)"),
            std::string::npos)
      << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
}

TEST(ReplayCli, ABadPolicyKeyIsNamed) {
  const fs::path policy = TempFile("bad_policy.json", R"({"home_visit_every_days": 30})");
  const auto run = RunProcess({CASEWATCH_BIN, "replay", "--events", kEvents, "--as-of",
                               "2013-09-30T00:00:00Z", "--policy", policy.string()});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("policy key \"home_visit_every_days\": is not a policy key, did you mean "
                         "\"home_visit_repeat_days\"?"),
            std::string::npos)
      << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
}

TEST(ReplayCli, APolicyFileThatIsNotJsonIsPlacedByLineAndColumn) {
  const fs::path policy =
      TempFile("not_json_policy.json", "{\n  \"warning_wd\": 5\n  \"breach_wd\": 5\n}\n");
  const auto run = RunProcess({CASEWATCH_BIN, "replay", "--events", kEvents, "--as-of",
                               "2013-09-30T00:00:00Z", "--policy", policy.string()});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.out, "");
  EXPECT_NE(run.err.find(policy.string() + ": policy is not valid JSON at line 3, column 3: "
                                           "expected a comma (,) or the closing }"),
            std::string::npos)
      << run.err;
}

TEST(ReplayCli, AMissingPolicyOrEventFileIsNamed) {
  auto run = RunProcess({CASEWATCH_BIN, "replay", "--events", kEvents, "--as-of",
                         "2013-09-30T00:00:00Z", "--policy", "/nonexistent/policy.json"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("/nonexistent/policy.json"), std::string::npos) << run.err;
  run = RunProcess({CASEWATCH_BIN, "replay", "--events", "/nonexistent/e.ndjson", "--as-of",
                    "2013-09-30T00:00:00Z"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("/nonexistent/e.ndjson"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("No such file"), std::string::npos) << run.err;
}

TEST(ReplayCli, AnAsOfDateMeansTheEndOfThatDay) {
  const auto date = RunProcess({CASEWATCH_BIN, "replay", "--events", kEvents, "--as-of",
                                "2013-09-30", "--case-items"});
  const auto instant = RunProcess({CASEWATCH_BIN, "replay", "--events", kEvents, "--as-of",
                                   "2013-09-30T23:59:59.999999999Z", "--case-items"});
  ASSERT_EQ(date.exit_code, 0) << date.err;
  EXPECT_EQ(date.out, instant.out);
  EXPECT_NE(date.out.find("\"as_of\":\"2013-09-30T23:59:59.999999999Z\""), std::string::npos)
      << date.out.substr(0, 200);
}

// The UTC dates, as the period's dates are (docs/rules.md): 23:30 at -01:00 is 1 July.
TEST(ReplayCli, APeriodOfTimestampsTakesTheirDates) {
  const auto timestamps =
      RunProcess({CASEWATCH_BIN, "replay", "--events", kEvents, "--as-of", "2013-09-30",
                  "--from", "2013-04-01T08:00:00Z", "--to", "2013-06-30T23:30:00-01:00"});
  const auto dates = RunProcess({CASEWATCH_BIN, "replay", "--events", kEvents, "--as-of",
                                 "2013-09-30", "--from", "2013-04-01", "--to", "2013-07-01"});
  ASSERT_EQ(timestamps.exit_code, 0) << timestamps.err;
  EXPECT_EQ(timestamps.out, dates.out);
  EXPECT_NE(dates.out.find("\"period\":{\"from\":\"2013-04-01\",\"to\":\"2013-07-01\"}"),
            std::string::npos)
      << dates.out.substr(0, 200);
  const auto bad = RunProcess({CASEWATCH_BIN, "replay", "--events", kEvents, "--as-of",
                               "2013-09-30", "--to", "30/06/2013"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--to: '30/06/2013' is neither a date YYYY-MM-DD nor an RFC 3339 "
                         "timestamp"),
            std::string::npos)
      << bad.err;
}

TEST(ReplayCli, APeriodEndingBeforeItStartsIsRefused) {
  const auto run =
      RunProcess({CASEWATCH_BIN, "replay", "--events", kEvents, "--as-of", "2013-09-30T00:00:00Z",
                  "--from", "2013-06-01", "--to", "2013-05-01"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("2013-06-01 is after its end 2013-05-01"), std::string::npos) << run.err;
}

TEST(ReplayCli, MissingRequiredFlagsAreNamed) {
  const auto run = RunProcess({CASEWATCH_BIN, "replay", "--events", kEvents});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("--as-of"), std::string::npos) << run.err;
}

TEST(ReplayCli, AFileOrTheBrokersIsNeededNotBoth) {
  const auto neither = RunProcess({CASEWATCH_BIN, "replay", "--as-of", "2013-09-30"});
  EXPECT_EQ(neither.exit_code, 2);
  EXPECT_NE(neither.err.find("--events FILE or --brokers HOSTS is required"), std::string::npos)
      << neither.err;
  const auto both = RunProcess({CASEWATCH_BIN, "replay", "--as-of", "2013-09-30", "--events",
                                kEvents, "--brokers", "127.0.0.1:1"});
  EXPECT_NE(both.exit_code, 0);
  EXPECT_NE(both.err.find("--events excludes --brokers"), std::string::npos) << both.err;
  const auto offsets_alone =
      RunProcess({CASEWATCH_BIN, "replay", "--as-of", "2013-09-30", "--offsets", "0:1"});
  EXPECT_NE(offsets_alone.exit_code, 0);
  EXPECT_NE(offsets_alone.err.find("--offsets requires --brokers"), std::string::npos)
      << offsets_alone.err;
}

// Brokers that do not answer: said within seconds, not after the read's own timeout.
TEST(ReplayCli, BrokersThatDoNotAnswerAreNamed) {
  const auto started = std::chrono::steady_clock::now();
  const auto run =
      RunProcess({CASEWATCH_BIN, "replay", "--as-of", "2013-09-30", "--brokers", "127.0.0.1:1"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.out, "");
  EXPECT_NE(run.err.find("the Kafka brokers 127.0.0.1:1 did not answer"), std::string::npos)
      << run.err;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(60));
}

TEST(ReplayCli, StdinIsReadAndItsFormatSniffed) {
  const std::string events = testing::ReadFileOrEmpty(kEvents);
  const auto from_stdin = RunProcess(
      {CASEWATCH_BIN, "replay", "--events", "-", "--as-of", "2013-09-30T23:59:59Z"}, "", events);
  const auto from_file =
      RunProcess({CASEWATCH_BIN, "replay", "--events", kEvents, "--as-of", "2013-09-30T23:59:59Z"});
  EXPECT_EQ(from_stdin.exit_code, 0) << from_stdin.err;
  EXPECT_EQ(from_stdin.out, from_file.out);
  EXPECT_NE(from_stdin.out.find("\"cases\":2"), std::string::npos);
}

TEST(ReplayCli, AFileOfOnlyBadLinesIsNothingEvaluated) {
  const fs::path bad = TempFile("only_bad.ndjson", "not json\n{\"eventId\":\"x\"}\n");
  const auto run = RunProcess(
      {CASEWATCH_BIN, "replay", "--events", bad.string(), "--as-of", "2013-09-30T00:00:00Z"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.out, "");  // no report that looks like a service with no cases
  EXPECT_NE(run.err.find("only_bad.ndjson:1:"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("only_bad.ndjson:2:"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("0 events accepted, 0 duplicates ignored, 2 rejected"), std::string::npos);
  EXPECT_NE(run.err.find("nothing could be evaluated: " + bad.string() + " holds no valid event"),
            std::string::npos)
      << run.err;
  const fs::path empty = TempFile("empty.ndjson", "");
  const auto none = RunProcess(
      {CASEWATCH_BIN, "replay", "--events", empty.string(), "--as-of", "2013-09-30T00:00:00Z"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("nothing could be evaluated"), std::string::npos) << none.err;
}

TEST(ReplayCli, AScopeNoCaseIsAllocatedToIsATypoNotAnEmptyReport) {
  // Golden 01's cases are in PDU "Sunderland".
  const auto typo = RunProcess({CASEWATCH_BIN, "replay", "--events", kEvents, "--as-of",
                                "2013-09-30T23:59:59Z", "--pdu", "Sunderlnd"});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_EQ(typo.out, "");
  EXPECT_NE(typo.err.find("casewatch replay: no case is allocated to PDU \"Sunderlnd\", did you "
                          "mean \"Sunderland\"?"),
            std::string::npos)
      << typo.err;
  const auto right = RunProcess({CASEWATCH_BIN, "replay", "--events", kEvents, "--as-of",
                                 "2013-09-30T23:59:59Z", "--pdu", "Sunderland"});
  EXPECT_EQ(right.exit_code, 0) << right.err;
  EXPECT_NE(right.out.find("\"cases\":2"), std::string::npos) << right.out;
}

TEST(ReplayCli, GarbageInABinaryFileIsReportedByRecord) {
  // Record 1: a valid case_opened; record 2: five bytes that are not an Envelope; record 3 cut
  // short.
  std::string bytes;
  const std::string opened = std::string(
                                 "\x0a\x02"
                                 "e1"
                                 "\x12\x02"
                                 "C1"
                                 "\x1a\x06\x08\x80\xe4\xe8\xa0\x05",
                                 16) +
                             std::string("\x52\x02\x08\x01", 4);
  bytes += static_cast<char>(opened.size()) + opened;
  bytes += std::string("\x05\xff\xff\xff\xff\xff", 6);
  bytes += std::string("\x40\x0a", 2);
  const fs::path bin = TempFile("garbage.bin", bytes);
  const auto run = RunProcess({CASEWATCH_BIN, "replay", "--events", bin.string(), "--as-of",
                               "2030-01-01T00:00:00Z", "--case-items"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("\"cases\":1"), std::string::npos) << run.out;
  EXPECT_NE(run.err.find("garbage.bin:2: the bytes are not a valid Envelope"), std::string::npos)
      << run.err;
  EXPECT_NE(run.err.find("garbage.bin:3: truncated"), std::string::npos) << run.err;
}

TEST(ReplayCli, TextOutputAndJsonFileTogether) {
  const fs::path json = TempPath("report.json");
  const auto run = RunProcess({CASEWATCH_BIN, "replay", "--events", kEvents, "--as-of",
                               "2013-09-30T23:59:59Z", "--text", "--json-out", json.string()});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  // Outcomes and indicators by their titles (projections/labels.h), not their ids.
  EXPECT_NE(run.out.find("Protecting the public"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("Supervision started promptly"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("prompt_start"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("INADEQUATE"), std::string::npos);
  EXPECT_EQ(testing::JsonDifference(testing::ReadFileOrEmpty(kGolden + "/expected.json"),
                                    testing::ReadFileOrEmpty(json.string())),
            "$: missing key \"case_items\"")
      << "the file holds the report without case items";
}

TEST(ReplayCli, SmallBasesAreMarkedInTheTextAndTheJson) {
  // Golden 01: two cases; every score rests on one or two of them.
  const auto text = RunProcess(
      {CASEWATCH_BIN, "replay", "--events", kEvents, "--as-of", "2013-09-30T23:59:59Z", "--text"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("too few cases to rate (n=1; would be OUTSTANDING)"), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("too few cases to rate (n=2; would be INADEQUATE)"), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("fewer than 10 relevant cases (--min-cases)"), std::string::npos)
      << text.out;

  const auto json = RunProcess({CASEWATCH_BIN, "replay", "--events", kEvents, "--as-of",
                                "2013-09-30T23:59:59Z", "--min-cases", "2"});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  // The normative keys first, unchanged; the marks after them.
  EXPECT_NE(json.out.find(R"({"id":"SENTENCING","score":1,"rating":"OUTSTANDING",)"
                          R"("base":1,"too_few_cases":true})"),
            std::string::npos)
      << json.out;
  EXPECT_NE(json.out.find(R"({"id":"DELIVERY","score":0.6,"rating":"REQUIRES_IMPROVEMENT",)"
                          R"("base":2,"too_few_cases":false})"),
            std::string::npos)
      << json.out;
  EXPECT_NE(json.out.find(R"("pending":0},"too_few_cases":false})"), std::string::npos);

  // 2 is enough for every outcome with two cases: no mark on those in the text either.
  const auto two = RunProcess({CASEWATCH_BIN, "replay", "--events", kEvents, "--as-of",
                               "2013-09-30T23:59:59Z", "--min-cases", "2", "--text"});
  EXPECT_NE(two.out.find("Delivering the sentence    60.0%  REQUIRES_IMPROVEMENT\n"),
            std::string::npos)
      << two.out;
  // 0 marks nothing.
  const auto none = RunProcess({CASEWATCH_BIN, "replay", "--events", kEvents, "--as-of",
                                "2013-09-30T23:59:59Z", "--min-cases", "0", "--text"});
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(none.out.find("too few"), std::string::npos) << none.out;
  EXPECT_NE(none.out.find("  OUTSTANDING\n"), std::string::npos) << none.out;
}

TEST(ReplayCli, ABadMinCasesIsNamed) {
  for (const char* bad : {"-1", "ten", "1.5", "", "1000001"}) {
    const auto run = RunProcess({CASEWATCH_BIN, "replay", "--events", kEvents, "--as-of",
                                 "2013-09-30T23:59:59Z", "--min-cases", bad});
    EXPECT_EQ(run.exit_code, 2) << bad;
    EXPECT_EQ(run.out, "") << bad;
    EXPECT_NE(run.err.find(fmt::format("casewatch replay: --min-cases: '{}' is not a number of "
                                       "cases from 0 (mark no score) to 1000000",
                                       bad)),
              std::string::npos)
        << run.err;
  }
}

}  // namespace
}  // namespace casewatch
