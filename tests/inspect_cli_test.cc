// `casewatch inspect` as a user meets it, against `casewatch replay` run on the same file: the
// JSON's reports and the HTML's figures are replay's, the sampled cases' items are replay's case
// items, the comparison's deltas are the differences of two replays, the CSV holds the same
// figures, and bad flags get one clear message.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include "tests/support/process.h"

namespace casewatch {
namespace {

namespace fs = std::filesystem;
using testing::JsonDifference;
using testing::ReadFileOrEmpty;
using testing::RunProcess;

constexpr const char* kAsOf = "2023-12-31T23:59:59Z";
constexpr const char* kEarlier = "2022-12-31T23:59:59Z";

// One simulated service for the whole suite (each test is its own process under ctest; they
// share the file through its name, made once).
class InspectCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ =
        new fs::path(fs::path(::testing::TempDir()) / ("inspect-cli-" + std::to_string(getpid())));
    fs::create_directories(*dir_);
    const auto run =
        RunProcess({CASEWATCH_BIN, "simulate", "--cases", "1500", "--start", "2022-01-01",
                    "--months", "24", "--seed", "7", "--quiet", "--out", Path("events.ndjson")});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    std::ofstream(Path("strict.json")) << R"({"name":"strict","home_visit_repeat_days":56})";
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static std::string Path(const std::string& name) { return (*dir_ / name).string(); }

  // `casewatch replay` with these extra flags: its JSON report.
  static std::string Replay(std::vector<std::string> flags) {
    std::vector<std::string> argv = {CASEWATCH_BIN, "replay", "--events", Path("events.ndjson")};
    argv.insert(argv.end(), flags.begin(), flags.end());
    const auto run = RunProcess(argv);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return run.out;
  }

  // `casewatch inspect` with these extra flags, writing HTML, JSON and CSV under `name`.
  static void Inspect(const std::string& name, std::vector<std::string> flags) {
    std::vector<std::string> argv = {CASEWATCH_BIN, "inspect",
                                     "--events",    Path("events.ndjson"),
                                     "--html",      Path(name + ".html"),
                                     "--json",      Path(name + ".json"),
                                     "--csv",       Path(name + ".csv")};
    argv.insert(argv.end(), flags.begin(), flags.end());
    const auto run = RunProcess(argv);
    ASSERT_EQ(run.exit_code, 0) << run.err;
  }

  static fs::path* dir_;
};
fs::path* InspectCli::dir_ = nullptr;

std::string Minified(simdjson::dom::element element) { return simdjson::minify(element); }

int Occurrences(const std::string& text, std::string_view needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The rows of the HTML tables marked data-report="scope": each row's data attributes by the
// indicator or outcome it is for.
std::map<std::string, std::map<std::string, std::string>> ScopeRows(const std::string& html) {
  std::map<std::string, std::map<std::string, std::string>> rows;
  const std::regex table(R"(<table[^>]*data-report="scope"[^>]*>([\s\S]*?)</table>)");
  const std::regex row(R"(<tr (data-(?:indicator|outcome)="[^"]*"[^>]*)>)");
  const std::regex attribute(R"(data-([a-z-]+)="([^"]*)\")");
  for (std::sregex_iterator t(html.begin(), html.end(), table), end; t != end; ++t) {
    const std::string body = (*t)[1];
    for (std::sregex_iterator r(body.begin(), body.end(), row); r != end; ++r) {
      std::map<std::string, std::string> attributes;
      const std::string text = (*r)[1];
      for (std::sregex_iterator a(text.begin(), text.end(), attribute); a != end; ++a) {
        attributes[(*a)[1]] = (*a)[2];
      }
      const std::string key =
          attributes.count("indicator") ? attributes["indicator"] : attributes["outcome"];
      rows[key] = attributes;
    }
  }
  return rows;
}

std::string Str(simdjson::dom::element e) { return std::string(std::string_view(e)); }

// A value as an HTML attribute holds it: strings bare, everything else as JSON writes it.
std::string Text(simdjson::dom::element e) {
  return e.is_string() ? Str(e) : simdjson::minify(e);
}

TEST_F(InspectCli, TheJsonAndHtmlAgreeWithReplay) {
  Inspect("main", {"--as-of", kAsOf, "--from", "2023-01-01", "--sample", "25", "--seed", "3",
                   "--sample-min-days", "180"});
  const std::string replay = Replay({"--as-of", kAsOf, "--from", "2023-01-01"});
  simdjson::dom::parser parser;
  const std::string json = ReadFileOrEmpty(Path("main.json"));
  simdjson::dom::element inspection = parser.parse(json);
  EXPECT_EQ(JsonDifference(replay, Minified(inspection["report"])), "");

  // The HTML's figures, indicator by indicator and outcome by outcome, are replay's.
  simdjson::dom::parser replay_parser;
  simdjson::dom::element expected = replay_parser.parse(replay);
  const auto rows = ScopeRows(ReadFileOrEmpty(Path("main.html")));
  int checked = 0;
  for (simdjson::dom::element indicator : expected["indicators"].get_array()) {
    const std::string id = Str(indicator["id"]);
    ASSERT_TRUE(rows.count(id)) << id;
    const auto& row = rows.at(id);
    EXPECT_EQ(row.at("relevant"), Text(indicator["relevant_cases"])) << id;
    EXPECT_EQ(row.at("met"), Text(indicator["met_cases"])) << id;
    EXPECT_EQ(row.at("missed"), Text(indicator["items"]["missed"])) << id;
    EXPECT_EQ(row.at("late"), Text(indicator["items"]["late"])) << id;
    EXPECT_EQ(row.at("pending"), Text(indicator["items"]["pending"])) << id;
    EXPECT_EQ(row.at("too-few"), Text(indicator["too_few_cases"])) << id;
    if (!indicator["score"].is_null()) {
      EXPECT_DOUBLE_EQ(std::stod(row.at("score")), double(indicator["score"])) << id;
    }
    ++checked;
  }
  for (simdjson::dom::element outcome : expected["outcomes"].get_array()) {
    const std::string id = Str(outcome["id"]);
    ASSERT_TRUE(rows.count(id)) << id;
    EXPECT_DOUBLE_EQ(std::stod(rows.at(id).at("score")), double(outcome["score"])) << id;
    EXPECT_EQ(rows.at(id).at("rating"), Text(outcome["rating"])) << id;
    EXPECT_EQ(rows.at(id).at("base"), Text(outcome["base"])) << id;
    EXPECT_EQ(rows.at(id).at("too-few"), Text(outcome["too_few_cases"])) << id;
    ++checked;
  }
  EXPECT_EQ(checked, 24);

  // Each sampled case's items are exactly replay's case items for it.
  const std::string items = Replay({"--as-of", kAsOf, "--case-items"});
  simdjson::dom::parser items_parser;
  std::map<std::string, std::string> replay_items;  // case -> its rows, minified, in order
  for (simdjson::dom::element row : items_parser.parse(items)["case_items"].get_array()) {
    std::string& rows_of_case = replay_items[Str(row["case_id"])];
    rows_of_case += (rows_of_case.empty() ? "" : ",") + Minified(row);
  }
  simdjson::dom::array cases = inspection["sample"]["cases"];
  EXPECT_EQ(cases.size(), 25u);
  // The report carries the sample's table; the records are in main-cases.html, beside it.
  const std::string html = ReadFileOrEmpty(Path("main.html"));
  const std::string records = ReadFileOrEmpty(Path("main-cases.html"));
  EXPECT_EQ(html.find("<article class=\"case\""), std::string::npos)
      << "the report holds no case record";
  EXPECT_NE(html.find(R"(<a class="cases-file" href="main-cases.html">)"), std::string::npos);
  EXPECT_EQ(Occurrences(records, "<article class=\"case\""), 25);
  EXPECT_NE(records.find(R"(href="main.html#sample-cases")"), std::string::npos);
  for (simdjson::dom::element c : cases) {
    const std::string id = Str(c["case_id"]);
    std::string rows_of_case;
    for (simdjson::dom::element row : c["items"].get_array()) {
      rows_of_case += (rows_of_case.empty() ? "" : ",") + Minified(row);
    }
    EXPECT_EQ(rows_of_case, replay_items[id]) << id;
    // The HTML lists it and links it to its timeline.
    EXPECT_NE(html.find("data-case=\"" + id + "\""), std::string::npos) << id;
    EXPECT_NE(html.find("href=\"main-cases.html#case-" + id + "\""), std::string::npos) << id;
    EXPECT_EQ(html.find("id=\"case-" + id + "\""), std::string::npos) << id;
    EXPECT_NE(records.find("id=\"case-" + id + "\""), std::string::npos) << id;
  }

  // The CSV has the same figures: the scope's rows are replay's.
  const std::string csv = ReadFileOrEmpty(Path("main.csv"));
  for (simdjson::dom::element indicator : expected["indicators"].get_array()) {
    const std::string id = Str(indicator["id"]);
    const std::string outcome = Str(indicator["outcome"]);
    EXPECT_NE(csv.find("report,,2023-01-01..2023-12-31," + outcome + "," + id +
                       ",,relevant_cases," + Text(indicator["relevant_cases"]) + "\n"),
              std::string::npos)
        << id;
  }
}

// --cases-html puts the records where asked; each file links to the other by a relative path (a
// space in a name is %20 in the link). Without a sample there are no records and no link.
TEST_F(InspectCli, CasesHtmlPutsTheRecordsInAFileOfTheirOwnLinkedBothWays) {
  fs::create_directories(Path("records dir"));
  const std::string cases = Path("records dir/sample cases.html");
  const auto run = RunProcess({CASEWATCH_BIN, "inspect", "--events", Path("events.ndjson"),
                               "--as-of", kAsOf, "--sample", "5", "--html", Path("linked.html"),
                               "--cases-html", cases, "--progress", "none"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("the sampled cases' records are in " + cases), std::string::npos)
      << run.err;
  const std::string html = ReadFileOrEmpty(Path("linked.html"));
  const std::string records = ReadFileOrEmpty(cases);
  EXPECT_FALSE(fs::exists(Path("linked-cases.html")));
  EXPECT_EQ(Occurrences(html, "<article class=\"case\""), 0);
  EXPECT_EQ(Occurrences(html, "href=\"records%20dir/sample%20cases.html#case-"), 5);
  EXPECT_EQ(Occurrences(records, "<article class=\"case\""), 5);
  EXPECT_EQ(Occurrences(records, "href=\"../linked.html#sample-cases\""), 5);

  // No sample: the report alone.
  const auto alone = RunProcess({CASEWATCH_BIN, "inspect", "--events", Path("events.ndjson"),
                                 "--as-of", kAsOf, "--html", Path("alone.html"), "--progress",
                                 "none"});
  ASSERT_EQ(alone.exit_code, 0) << alone.err;
  EXPECT_FALSE(fs::exists(Path("alone-cases.html")));
  EXPECT_EQ(ReadFileOrEmpty(Path("alone.html")).find("cases-file"), std::string::npos);

  // To stdout, the records stay in the report: there is no file to link to.
  const auto out = RunProcess({CASEWATCH_BIN, "inspect", "--events", Path("events.ndjson"),
                               "--as-of", kAsOf, "--sample", "3", "--html", "-", "--progress",
                               "none"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(Occurrences(out.out, "<article class=\"case\""), 3);
}

TEST_F(InspectCli, MinCasesMarksSmallBasesAsReplayDoes) {
  // 1,500 cases: at 400, some scores rest on enough cases and some do not.
  Inspect("few", {"--as-of", kAsOf, "--from", "2023-01-01", "--min-cases", "400"});
  const std::string replay =
      Replay({"--as-of", kAsOf, "--from", "2023-01-01", "--min-cases", "400"});
  simdjson::dom::parser parser;
  simdjson::dom::element inspection = parser.parse(ReadFileOrEmpty(Path("few.json")));
  EXPECT_EQ(JsonDifference(replay, Minified(inspection["report"])), "");
  EXPECT_NE(replay.find("\"too_few_cases\":true"), std::string::npos) << replay;
  EXPECT_NE(replay.find("\"too_few_cases\":false"), std::string::npos) << replay;
  const std::string html = ReadFileOrEmpty(Path("few.html"));
  const auto rows = ScopeRows(html);
  simdjson::dom::parser replay_parser;
  simdjson::dom::element expected = replay_parser.parse(replay);
  bool marked_outcome = false;
  for (simdjson::dom::element outcome : expected["outcomes"].get_array()) {
    const std::string id = Str(outcome["id"]);
    EXPECT_EQ(rows.at(id).at("too-few"), Text(outcome["too_few_cases"])) << id;
    marked_outcome =
        marked_outcome || (bool(outcome["too_few_cases"]) && !outcome["score"].is_null());
  }
  if (marked_outcome) {
    EXPECT_NE(html.find(">Too few cases to rate</span>"), std::string::npos);
  }
  EXPECT_NE(html.find("fewer than 400 relevant cases"), std::string::npos);
  // The CSV carries the same marks (1 or 0) and each outcome's base.
  const std::string csv = ReadFileOrEmpty(Path("few.csv"));
  for (simdjson::dom::element outcome : expected["outcomes"].get_array()) {
    const std::string id = Str(outcome["id"]);
    const std::string row = "report,,2023-01-01..2023-12-31," + id + ",,,";
    const std::string mark = bool(outcome["too_few_cases"]) ? "1" : "0";
    EXPECT_NE(csv.find(row + "too_few_cases," + mark + "\n"), std::string::npos)
        << id;
    EXPECT_NE(csv.find(row + "base," + Text(outcome["base"]) + "\n"), std::string::npos) << id;
  }
  for (simdjson::dom::element indicator : expected["indicators"].get_array()) {
    const std::string id = Str(indicator["id"]);
    EXPECT_NE(csv.find("report,,2023-01-01..2023-12-31," + Str(indicator["outcome"]) + "," + id +
                       ",,too_few_cases," + (bool(indicator["too_few_cases"]) ? "1" : "0") + "\n"),
              std::string::npos)
        << id;
  }
}

TEST_F(InspectCli, TheSampleIsTheSameForTheSameSeedAndDiffersForAnother) {
  auto sample_of = [&](const std::string& name, const std::string& seed) {
    Inspect(name, {"--as-of", kAsOf, "--sample", "20", "--seed", seed});
    simdjson::dom::parser parser;
    std::vector<std::string> ids;
    for (simdjson::dom::element c :
         parser.parse(ReadFileOrEmpty(Path(name + ".json")))["sample"]["cases"].get_array()) {
      ids.push_back(Str(c["case_id"]));
    }
    return ids;
  };
  const auto first = sample_of("seed9a", "9");
  EXPECT_EQ(first.size(), 20u);
  EXPECT_EQ(sample_of("seed9b", "9"), first);
  EXPECT_NE(sample_of("seed10", "10"), first);
  // The whole HTML is byte-identical for the same inputs, but for the names of the two files
  // that link to each other.
  auto renamed = [](std::string text) {
    for (size_t at = text.find("seed9b"); at != std::string::npos; at = text.find("seed9b", at)) {
      text.replace(at, 6, "seed9a");
    }
    return text;
  };
  for (const std::string file : {"seed9%s.html", "seed9%s-cases.html"}) {
    const std::string a = ReadFileOrEmpty(Path(std::string(file).replace(5, 2, "a")));
    EXPECT_FALSE(a.empty()) << file;
    EXPECT_EQ(a, renamed(ReadFileOrEmpty(Path(std::string(file).replace(5, 2, "b"))))) << file;
  }
}

TEST_F(InspectCli, ComparisonsAreReplaysAndTheirDifferences) {
  Inspect("compare", {"--as-of", kAsOf, "--from", "2023-01-01", "--compare-as-of", kEarlier,
                      "--compare-policy", Path("strict.json")});
  simdjson::dom::parser parser;
  simdjson::dom::element in = parser.parse(ReadFileOrEmpty(Path("compare.json")));
  simdjson::dom::array comparisons = in["comparisons"];
  ASSERT_EQ(comparisons.size(), 2u);

  // The previous inspection: a replay a year earlier over the year before; deltas now − then.
  simdjson::dom::element earlier = comparisons.at(0);
  EXPECT_EQ(std::string_view(earlier["kind"]), "earlier_inspection");
  const std::string then = Replay({"--as-of", kEarlier, "--from", "2022-01-01"});
  EXPECT_EQ(JsonDifference(then, Minified(earlier["baseline"])), "");
  // The what-if: a replay under the other policy; deltas under it − under ours.
  simdjson::dom::element what_if = comparisons.at(1);
  EXPECT_EQ(std::string_view(what_if["kind"]), "other_policy");
  const std::string strict =
      Replay({"--as-of", kAsOf, "--from", "2023-01-01", "--policy", Path("strict.json")});
  EXPECT_EQ(JsonDifference(strict, Minified(what_if["baseline"])), "");

  simdjson::dom::parser now_parser, then_parser, strict_parser;
  simdjson::dom::array now =
      now_parser.parse(Replay({"--as-of", kAsOf, "--from", "2023-01-01"}))["indicators"];
  simdjson::dom::array before = then_parser.parse(then)["indicators"];
  simdjson::dom::array stricter = strict_parser.parse(strict)["indicators"];
  int deltas = 0;
  for (size_t i = 0; i < now.size(); ++i) {
    const auto score = [](simdjson::dom::element e) { return double(e["score"]); };
    simdjson::dom::element progress = earlier["indicator_delta"].at(i);
    if (!progress.is_null()) {
      EXPECT_DOUBLE_EQ(double(progress), score(now.at(i)) - score(before.at(i))) << i;
      ++deltas;
    }
    simdjson::dom::element effect = what_if["indicator_delta"].at(i);
    if (!effect.is_null()) {
      EXPECT_DOUBLE_EQ(double(effect), score(stricter.at(i)) - score(now.at(i))) << i;
    }
  }
  EXPECT_GE(deltas, 15);
  // The stricter standard moves home-visit judgements, and only the keys that differ are shown.
  EXPECT_LT(double(what_if["indicator_delta"].at(14)), 0.0);
  EXPECT_GT(int64_t(what_if["shifts"].at(14)["now_not_met"]), 0);
  EXPECT_EQ(Minified(what_if["baseline_settings"]), R"({"home_visit_repeat_days":"56"})");
}

// RFC 4180 fields of a CSV text, row by row.
std::vector<std::vector<std::string>> CsvRows(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().push_back(std::move(field));
      field.clear();
    } else if (c == '\n') {
      rows.back().push_back(std::move(field));
      field.clear();
      rows.emplace_back();
    } else {
      field += c;
    }
  }
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

TEST_F(InspectCli, NoCsvCellIsAFormula) {
  // A name and a case id a spreadsheet would run: "=HYPERLINK(...)" and "-12-12".
  const std::string hostile = R"x(=HYPERLINK(\"http://evil.example\",\"click\"))x";
  std::ofstream(Path("hostile.ndjson"))
      << R"({"eventId":"h1","caseId":"-12-12","occurredAt":"2023-01-10T10:00:00Z","caseOpened":)"
      << R"({"caseType":"CASE_TYPE_COMMUNITY_ORDER","region":")" << hostile
      << R"x(","pdu":"@SUM(1+1)","team":"+T","offenderManager":"-om"}})x" << "\n"
      << R"({"eventId":"h2","caseId":"-12-12","occurredAt":"2023-01-11T10:00:00Z","roshClassified":)"
      << R"({"level":"ROSH_LEVEL_HIGH"}})" << "\n";
  const auto run = RunProcess({CASEWATCH_BIN, "inspect", "--events", Path("hostile.ndjson"),
                               "--as-of", kAsOf, "--sample", "5", "--sample-min-days", "1",
                               "--sample-from", "2023-01-01", "--sample-to", "2023-12-31",
                               "--csv", "-"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto rows = CsvRows(run.out);
  ASSERT_GT(rows.size(), 10u);
  bool saw_case = false;
  bool saw_region = false;
  const std::regex number(R"(-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?)");
  for (const auto& row : rows) {
    for (const std::string& cell : row) {
      if (cell.empty()) continue;
      if (cell == "'-12-12") saw_case = true;
      if (cell.find("HYPERLINK") != std::string::npos) saw_region = true;
      const bool formula_start = std::string_view("=+-@\t\r").find(cell.front()) !=
                                 std::string_view::npos;
      EXPECT_TRUE(!formula_start || std::regex_match(cell, number)) << "a formula cell: " << cell;
    }
  }
  EXPECT_TRUE(saw_case) << "the sampled case's id, neutralised:\n" << run.out.substr(0, 2000);
  EXPECT_TRUE(saw_region) << "the region's name is in the table";
}

TEST_F(InspectCli, BadFlagsGetOneClearMessage) {
  const std::string events = Path("events.ndjson");
  struct Case {
    std::vector<std::string> flags;
    std::string message;
  };
  const Case cases[] = {
      {{"--events", events}, "--as-of is required with --events"},
      {{"--as-of", kAsOf}, "give exactly one of --events and --data"},
      {{"--events", events, "--as-of", "2023-02-30T00:00:00Z"}, "--as-of:"},
      {{"--events", events, "--as-of", kAsOf, "--compare-as-of", "2024-06-01T00:00:00Z"},
       "--compare-as-of: the previous inspection"},
      // A date as an as-of is the end of that day: 2023-12-31 is not before 23:59:59 that day.
      {{"--events", events, "--as-of", kAsOf, "--compare-as-of", "2023-12-31"},
       "--compare-as-of: the previous inspection (2023-12-31) must be before --as-of "
       "(2023-12-31T23:59:59Z)"},
      {{"--events", events, "--as-of", kAsOf, "--compare-as-of", "2023-13-01"},
       "--compare-as-of: '2023-13-01' is neither a date YYYY-MM-DD (meaning the end of that day) "
       "nor an RFC 3339 timestamp"},
      {{"--events", events, "--as-of", kAsOf, "--compare-policy", Path("missing.json")},
       "missing.json"},
      {{"--events", events, "--as-of", kAsOf, "--sample-from", "2023-06-01", "--sample-to",
        "2023-01-01"},
       "--sample-from 2023-06-01 is after --sample-to 2023-01-01"},
      {{"--events", events, "--as-of", kAsOf, "--html", "-", "--json", "-"},
       "only one of --html, --json and --csv can be -"},
      {{"--events", events, "--as-of", kAsOf, "--json", "-", "--cases-html", Path("c.html")},
       "--cases-html FILE goes with --html FILE"},
      {{"--events", events, "--as-of", kAsOf, "--html", Path("same.html"), "--cases-html",
        Path("same.html")},
       "--cases-html must be another file than --html"},
      {{"--events", Path("nope.ndjson"), "--as-of", kAsOf}, "nope.ndjson"},
      {{"--events", events, "--as-of", kAsOf, "--html", "/nonexistent-dir/r.html"},
       "/nonexistent-dir/r.html"},
      // A typo is not an inspection of a unit with no cases.
      {{"--events", events, "--as-of", kAsOf, "--pdu", "Sunderlnd"},
       "no case is allocated to PDU \"Sunderlnd\", did you mean \"Sunderland\"?"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {CASEWATCH_BIN, "inspect"};
    argv.insert(argv.end(), c.flags.begin(), c.flags.end());
    const auto run = RunProcess(argv);
    EXPECT_EQ(run.exit_code, 2) << c.message << "\n" << run.err;
    EXPECT_NE(run.err.find(c.message), std::string::npos) << run.err;
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  }
  // A CLI11-checked flag: its own message, and exit 2 like every refused command line.
  const auto run = RunProcess(
      {CASEWATCH_BIN, "inspect", "--events", events, "--as-of", kAsOf, "--progress", "sometimes"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("--progress"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace casewatch
