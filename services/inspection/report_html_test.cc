// The HTML report of a hand-built inspection: one self-contained document; every outcome and
// indicator row carries the report's numbers at full precision; ids, names and messages from the
// input are escaped, and a sampled case's anchor is safe whatever its id; one chart per figure,
// each with marks drawn; comparison columns only when there are comparisons.
#include "services/inspection/report_html.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace casewatch::inspection {
namespace {

constexpr std::string_view kHostileId = R"(<script>alert("x")</script> & 'q')";
constexpr std::string_view kHostileIdEscaped =
    "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;";

Date D(std::string_view text) { return ParseDate(text).value(); }
Instant T(std::string_view text) { return ParseInstant(text).value(); }

// A score as the JSON report prints it, which is what the data attributes must hold.
std::string Exact(std::optional<double> v) {
  std::string out;
  AppendJsonNumber(out, v);
  return out;
}

// Scores for every indicator: indicator i has 20 + i relevant cases of which i % 5 fall short;
// the two VICTIMS indicators and risk_response have none, so their scores are null.
Report MakeReport(const Policy& policy, int64_t cases, int64_t extra_shortfall) {
  Report r;
  r.as_of = T("2023-12-31T23:59:59Z");
  r.period = Period{D("2023-01-01"), D("2023-12-31")};
  r.policy_name = policy.name;
  r.cases = cases;
  for (int i = 0; i < kIndicatorCount; ++i) {
    const auto indicator = static_cast<Indicator>(i);
    IndicatorScore& s = r.indicators[i];
    s.items = ItemCounts{30 + i, i % 3, i % 5 + extra_shortfall, i % 2, 7};
    if (InfoOf(indicator).outcome == Outcome::kVictims || indicator == Indicator::kRiskResponse) {
      continue;
    }
    s.relevant_cases = 20 + i;
    s.met_cases = s.relevant_cases - i % 5 - extra_shortfall;
    s.score = static_cast<double>(s.met_cases) / static_cast<double>(s.relevant_cases);
  }
  const std::array<std::optional<double>, kOutcomeCount> outcomes = {
      0.89, 0.8217391304347826, 0.55, 0.7233009708737864, std::nullopt};
  for (int o = 0; o < kOutcomeCount; ++o) {
    if (!outcomes[o]) continue;
    const double score = *outcomes[o] - 0.01 * static_cast<double>(extra_shortfall);
    r.outcomes[o] = OutcomeScore{score, RatingFor(score, policy)};
  }
  return r;
}

SampledCase MakeCase(std::string_view id) {
  SampledCase c;
  c.case_id = std::string(id);
  c.allocation = Allocation{"North East", "Sunderland", "SUN-1", "om-<7>"};
  c.opened = D("2022-11-02");
  c.supervised_days = 424;
  c.rosh_level = "HIGH";
  c.timeline = {{T("2022-11-02T09:00:00Z"), "e1", "case_opened", "COMMUNITY_ORDER"},
                {T("2022-11-20T10:00:00Z"), "e2<x>", "home_visit_completed", ""}};
  CaseItemRow item;
  item.case_id = c.case_id;
  item.item = Item{
      Indicator::kHomeVisitInitial, ItemStatus::kMet, D("2022-11-16"), D("2022-11-20"), 1, 0, -1};
  item.fulfilled_by = "e2<x>";
  c.items = {item};
  // DELIVERY: two of its three judged indicators done well enough.
  c.well_enough[static_cast<int>(Indicator::kPromptStart)] = true;
  c.well_enough[static_cast<int>(Indicator::kInitialSentencePlan)] = true;
  c.well_enough[static_cast<int>(Indicator::kAbsenceJudged)] = false;
  c.outcome_scores[static_cast<int>(Outcome::kDelivery)] = 2.0 / 3.0;
  return c;
}

Inspection MakeInspection() {
  Inspection in;
  InspectionRequest& r = in.request;
  r.as_of = T("2023-12-31T23:59:59Z");
  r.period = Period{D("2023-01-01"), D("2023-12-31")};
  r.scope.pdu = "Sunderland & <Wear>";
  r.source = "events.ndjson";
  r.sample = SampleCriteria{4, 3, D("2022-01-01"), D("2023-03-31"), 270};
  in.policy_settings = PolicySettings(r.policy);
  in.report = MakeReport(r.policy, 1234, 0);
  in.group_level = "team";
  for (std::string_view name : {"SUN-1", "SUN-<2>"}) {
    in.groups.push_back({std::string(name), MakeReport(r.policy, 600, 1)});
  }
  for (int month = 1; month <= 12; ++month) {
    Report m = MakeReport(r.policy, 1000, month % 3);
    m.period = Period{DateFromCivil({2023, static_cast<uint32_t>(month), 1}),
                      DateFromCivil({2023, static_cast<uint32_t>(month), 28})};
    in.monthly.push_back(m);
  }
  // A month in which nothing protecting the public was decided.
  in.monthly[5].outcomes[static_cast<int>(Outcome::kPublicProtection)] = OutcomeScore{};
  in.draw = SampleDraw{r.sample, 612, {{"Sunderland", 400, 3}, {"Gateshead <G>", 212, 1}}};
  in.sample_report = MakeReport(r.policy, 4, 2);
  for (std::string_view id : {std::string_view("A B"), std::string_view("A_20B"),
                              std::string_view("CASE-1"), kHostileId}) {
    in.sample.push_back(MakeCase(id));
  }
  in.strengths = {{Outcome::kDelivery, Indicator::kPromptStart, "Supervision started promptly."}};
  in.improvements = {
      {Outcome::kPublicProtection, Indicator::kHomeVisitRepeat, "Home visits <too> rare."}};
  DataQuality& q = in.quality;
  q.accepted = 5000;
  q.duplicates = 12;
  q.rejected = 3;
  q.rejected_reasons = {{"<b>bad</b> field", 3, "line 7: <b>bad</b> field x"}};
  q.events_in_view = 4100;
  q.late_records = 220;
  q.recorded_after_as_of = 17;
  return in;
}

void AddComparisons(Inspection& in) {
  Comparison earlier;
  earlier.kind = Comparison::Kind::kEarlierInspection;
  earlier.label = "as of 2022-12-31";
  earlier.baseline = MakeReport(in.request.policy, 1100, 1);
  earlier.baseline.as_of = T("2022-12-31T23:59:59Z");
  Policy strict;
  strict.name = "strict-home-visits";
  strict.home_visit_repeat_days = 56;
  Comparison other;
  other.kind = Comparison::Kind::kOtherPolicy;
  other.label = "under policy \"strict-home-visits\"";
  other.baseline = MakeReport(strict, 1234, 2);
  other.shifts[static_cast<int>(Indicator::kHomeVisitRepeat)] = VerdictShift{1, 9, 2, 0};
  other.baseline_settings = {{"home_visit_repeat_days", "56"}};
  other.current_settings = {{"home_visit_repeat_days", "91"}};
  for (Comparison* c : {&earlier, &other}) {
    for (int i = 0; i < kIndicatorCount; ++i) {
      const auto& now = in.report.indicators[i].score;
      const auto& then = c->baseline.indicators[i].score;
      // Progress is now minus then; another policy's effect is it minus the inspection's.
      if (now && then) c->indicator_delta[i] = c == &earlier ? *now - *then : *then - *now;
    }
    for (int o = 0; o < kOutcomeCount; ++o) {
      const auto& now = in.report.outcomes[o].score;
      const auto& then = c->baseline.outcomes[o].score;
      if (now && then) c->outcome_delta[o] = c == &earlier ? *now - *then : *then - *now;
    }
  }
  in.comparisons = {earlier, other};
}

// ---- reading the document back ----

using Attributes = std::map<std::string, std::string>;

Attributes ParseAttributes(const std::string& tag) {
  static const std::regex kAttribute(R"re(([a-z-]+)="([^"]*)")re");
  Attributes out;
  for (auto it = std::sregex_iterator(tag.begin(), tag.end(), kAttribute);
       it != std::sregex_iterator(); ++it) {
    out[(*it)[1]] = (*it)[2];
  }
  return out;
}

// Every element `name` whose start tag has `attribute`, with its attributes and its content up to
// the first matching end tag (tables, rows and charts here do not nest in themselves).
struct Element {
  Attributes attributes;
  std::string content;
};

std::vector<Element> ElementsWith(const std::string& html, std::string_view name,
                                  std::string_view attribute) {
  std::vector<Element> out;
  const std::string open = fmt::format("<{} ", name), close = fmt::format("</{}>", name);
  for (size_t at = html.find(open); at != std::string::npos; at = html.find(open, at + 1)) {
    const size_t tag_end = html.find('>', at);
    const size_t end = html.find(close, tag_end);
    Attributes attributes = ParseAttributes(html.substr(at, tag_end - at));
    if (!attributes.contains(std::string(attribute))) continue;
    out.push_back({std::move(attributes), html.substr(tag_end + 1, end - tag_end - 1)});
  }
  return out;
}

// The rows with `row_key` of the tables with data-report="report", in document order.
std::vector<Element> RowsOf(const std::string& html, std::string_view report,
                            std::string_view row_key) {
  std::vector<Element> rows;
  for (const Element& table : ElementsWith(html, "table", "data-report")) {
    if (table.attributes.at("data-report") != report) continue;
    for (Element& row : ElementsWith(table.content, "tr", row_key)) rows.push_back(std::move(row));
  }
  return rows;
}

void ExpectIndicatorRows(const std::string& html, std::string_view report_name,
                         const Report& report) {
  const std::vector<Element> rows = RowsOf(html, report_name, "data-indicator");
  ASSERT_EQ(rows.size(), kIndicatorCount) << report_name;
  for (int i = 0; i < kIndicatorCount; ++i) {
    const Attributes& a = rows[i].attributes;
    const IndicatorScore& s = report.indicators[i];
    SCOPED_TRACE(fmt::format("{} {}", report_name, kIndicators[i].id));
    EXPECT_EQ(a.at("data-indicator"), kIndicators[i].id);
    EXPECT_EQ(a.at("data-relevant"), std::to_string(s.relevant_cases));
    EXPECT_EQ(a.at("data-met"), std::to_string(s.met_cases));
    EXPECT_EQ(a.at("data-score"), Exact(s.score));
    EXPECT_EQ(a.at("data-met-items"), std::to_string(s.items.met));
    EXPECT_EQ(a.at("data-late"), std::to_string(s.items.late));
    EXPECT_EQ(a.at("data-missed"), std::to_string(s.items.missed));
    EXPECT_EQ(a.at("data-cancelled"), std::to_string(s.items.cancelled));
    EXPECT_EQ(a.at("data-pending"), std::to_string(s.items.pending));
    EXPECT_NE(rows[i].content.find(std::string(TitleOf(static_cast<Indicator>(i)))),
              std::string::npos);
  }
}

// One name for one thing: the titles are projections/labels.h's, as the text report and the
// dashboard show them.
TEST(InspectionHtml, NamesOutcomesAndIndicatorsByTheTitlesOfTheLabelsTable) {
  const std::string html = RenderInspectionHtml(MakeInspection());
  for (int o = 0; o < kOutcomeCount; ++o) {
    EXPECT_NE(html.find(fmt::format("Outcome {}: {}", o + 1, TitleOf(static_cast<Outcome>(o)))),
              std::string::npos)
        << kOutcomeNames[o];
  }
  for (int i = 0; i < kIndicatorCount; ++i) {
    EXPECT_NE(html.find(std::string(TitleOf(static_cast<Indicator>(i)))), std::string::npos)
        << kIndicators[i].id;
  }
  for (std::string_view old : {"Prompt start", "Delivering effective work for victims",
                               "delivery unit"}) {
    EXPECT_EQ(html.find(old), std::string::npos) << old;
  }
}

TEST(InspectionHtml, IsOneDocumentThatLoadsNothing) {
  const std::string html = RenderInspectionHtml(MakeInspection());
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>\n<html lang=\"en-GB\">"));
  EXPECT_TRUE(html.ends_with("</html>\n"));
  for (std::string_view fetches :
       {"<script", "<link", "<img", "<iframe", "src=", "url(", "@import", "http:", "https:"}) {
    EXPECT_EQ(html.find(fetches), std::string::npos) << fetches;
  }
  EXPECT_NE(html.find("@media print"), std::string::npos);
}

TEST(InspectionHtml, CoverNamesScopeDatesPolicyAndSource) {
  Inspection in = MakeInspection();
  const std::string html = RenderInspectionHtml(in);
  EXPECT_NE(
      html.find("<h1>Inspection of probation case work in Sunderland &amp; &lt;Wear&gt;</h1>"),
      std::string::npos);
  EXPECT_NE(html.find("<dd>PDU Sunderland &amp; &lt;Wear&gt;</dd>"), std::string::npos);
  EXPECT_NE(html.find("<dd>2023-12-31T23:59:59Z</dd>"), std::string::npos);
  EXPECT_NE(html.find("<dd>decided from 1 January 2023 to 31 December 2023</dd>"),
            std::string::npos);
  EXPECT_NE(html.find("<dd>default</dd>"), std::string::npos);
  EXPECT_NE(html.find("<code>events.ndjson</code>"), std::string::npos);

  in.request.scope = Scope{};
  EXPECT_NE(RenderInspectionHtml(in).find("<dd>all cases</dd>"), std::string::npos);
}

TEST(InspectionHtml, EveryIndicatorRowCarriesItsNumbers) {
  const Inspection in = MakeInspection();
  const std::string html = RenderInspectionHtml(in);
  ExpectIndicatorRows(html, "scope", in.report);
  ExpectIndicatorRows(html, "sample", in.sample_report);
}

TEST(InspectionHtml, OutcomeRowsCarryScoreAndRatingAndReadAsTheInspectorateWrites) {
  const Inspection in = MakeInspection();
  const std::string html = RenderInspectionHtml(in);
  const std::vector<Element> rows = RowsOf(html, "scope", "data-outcome");
  ASSERT_EQ(rows.size(), kOutcomeCount);
  for (int o = 0; o < kOutcomeCount; ++o) {
    const OutcomeScore& s = in.report.outcomes[o];
    EXPECT_EQ(rows[o].attributes.at("data-outcome"), kOutcomeNames[o]);
    EXPECT_EQ(rows[o].attributes.at("data-score"), Exact(s.score));
    EXPECT_EQ(rows[o].attributes.at("data-rating"), s.rating ? NameOf(*s.rating) : "null");
  }
  const Element& protection = rows[static_cast<int>(Outcome::kPublicProtection)];
  EXPECT_EQ(protection.attributes.at("data-score"), "0.7233009708737864");
  EXPECT_EQ(protection.attributes.at("data-rating"), "GOOD");
  EXPECT_NE(protection.content.find(R"(<td class="num score">72%</td>)"), std::string::npos);
  EXPECT_NE(protection.content.find(R"(<span class="badge rating-GOOD">Good</span>)"),
            std::string::npos);
  EXPECT_NE(rows[static_cast<int>(Outcome::kReoffending)].content.find("Requires improvement"),
            std::string::npos);
  EXPECT_NE(rows[static_cast<int>(Outcome::kVictims)].content.find("Not rated"), std::string::npos);
  EXPECT_NE(html.find("The proportion of work judged to have been done well enough"),
            std::string::npos);
  EXPECT_NE(html.find("Overall, 72% of work to protect the public was done well enough."),
            std::string::npos);
  EXPECT_EQ(RowsOf(html, "sample", "data-outcome").size(), kOutcomeCount);
}

TEST(InspectionHtml, HostileCaseIdIsEscapedAndItsAnchorIsSafe) {
  const std::string html = RenderInspectionHtml(MakeInspection());
  EXPECT_EQ(html.find(kHostileId), std::string::npos);
  EXPECT_NE(html.find(fmt::format(R"(data-case="{}")", kHostileIdEscaped)), std::string::npos);

  const std::regex safe_id("case-[A-Za-z0-9_-]+");
  std::set<std::string> ids;
  for (const Element& record : ElementsWith(html, "article", "data-case")) {
    const std::string& id = record.attributes.at("id");
    EXPECT_TRUE(std::regex_match(id, safe_id)) << id;
    EXPECT_TRUE(ids.insert(id).second) << "two cases share the anchor " << id;
  }
  EXPECT_EQ(ids.size(), 4u) << "\"A B\" and \"A_20B\" need distinct anchors";
  EXPECT_TRUE(ids.contains("case-CASE-1"));

  const std::vector<Element> rows = RowsOf(html, "sample-cases", "data-case");
  ASSERT_EQ(rows.size(), 4u);
  for (const Element& row : rows) {
    std::smatch link;
    ASSERT_TRUE(std::regex_search(row.content, link, std::regex(R"re(href="#([^"]+)")re")));
    EXPECT_TRUE(ids.contains(link[1])) << "no annex section for the link #" << link[1];
  }
  EXPECT_NE(html.find("<code>e2&lt;x&gt;</code>"), std::string::npos);
  EXPECT_NE(html.find("<dd>om-&lt;7&gt;</dd>"), std::string::npos);
}

TEST(InspectionHtml, InputTextIsEscapedEverywhere) {
  const std::string html = RenderInspectionHtml(MakeInspection());
  for (std::string_view raw : {"<b>bad</b>", "<too>", "<Wear>", "SUN-<2>", "<G>", "<7>"}) {
    EXPECT_EQ(html.find(raw), std::string::npos) << raw;
  }
  EXPECT_NE(html.find("&lt;b&gt;bad&lt;/b&gt; field"), std::string::npos);
  EXPECT_NE(html.find(R"(data-group="SUN-&lt;2&gt;")"), std::string::npos);
}

TEST(InspectionHtml, EachChartIsOneSvgWithMarksDrawn) {
  Inspection in = MakeInspection();
  AddComparisons(in);
  const std::string html = RenderInspectionHtml(in);
  std::map<std::string, int> charts;
  for (const Element& svg : ElementsWith(html, "svg", "data-chart")) {
    const std::string& kind = svg.attributes.at("data-chart");
    ++charts[kind];
    EXPECT_EQ(svg.attributes.at("class"), "chart");
    EXPECT_EQ(svg.attributes.at("role"), "img");
    EXPECT_FALSE(svg.attributes.at("aria-label").empty()) << kind;
    const std::regex drawn(R"re(<rect [^>]*width="([1-9][0-9]*\.[0-9]|0\.[1-9])|<path d="M)re");
    EXPECT_TRUE(std::regex_search(svg.content, drawn)) << kind << " has nothing drawn";
  }
  const std::map<std::string, int> expected = {
      {"outcome-scores", 1}, {"indicator-scores", 5}, {"item-statuses", 5},  {"trend", 5},
      {"units", 5},          {"comparison", 2},       {"sample-outcomes", 1}};
  EXPECT_EQ(charts, expected);
}

TEST(InspectionHtml, ScoreChartsDrawABarPerScoreAndTheRatingThresholds) {
  const std::string html = RenderInspectionHtml(MakeInspection());
  for (const Element& svg : ElementsWith(html, "svg", "data-chart")) {
    if (svg.attributes.at("data-chart") != "indicator-scores" ||
        svg.attributes.at("data-outcome") != "PUBLIC_PROTECTION") {
      continue;
    }
    // Nine indicators, one (risk_response) with no relevant cases.
    const std::regex bar(R"re(<rect [^>]*class="bar rating-)re");
    EXPECT_EQ(std::distance(std::sregex_iterator(svg.content.begin(), svg.content.end(), bar),
                            std::sregex_iterator()),
              8);
    EXPECT_NE(svg.content.find("no relevant cases"), std::string::npos);
    for (std::string_view threshold : {">50%<", ">65%<", ">80%<"}) {
      EXPECT_NE(svg.content.find(threshold), std::string::npos) << threshold;
    }
    return;
  }
  ADD_FAILURE() << "no indicator-scores chart for PUBLIC_PROTECTION";
}

TEST(InspectionHtml, TrendLineBreaksAtAMonthWithoutAScore) {
  const std::string html = RenderInspectionHtml(MakeInspection());
  for (const Element& svg : ElementsWith(html, "svg", "data-chart")) {
    if (svg.attributes.at("data-chart") != "trend") continue;
    const std::string& outcome = svg.attributes.at("data-outcome");
    std::smatch path;
    const bool drawn = std::regex_search(svg.content, path, std::regex(R"re(<path d="([^"]*)")re"));
    // VICTIMS has no score in any month: no line at all.
    ASSERT_EQ(drawn, outcome != "VICTIMS") << outcome;
    if (!drawn) continue;
    const std::string d = path[1];
    const bool protection = outcome == "PUBLIC_PROTECTION";
    EXPECT_EQ(std::count(d.begin(), d.end(), 'M'), protection ? 2 : 1) << d;
    EXPECT_EQ(std::count(d.begin(), d.end(), 'L'), protection ? 9 : 11) << d;
  }
}

TEST(InspectionHtml, ComparisonColumnsAppearOnlyWithComparisons) {
  Inspection in = MakeInspection();
  const std::string without = RenderInspectionHtml(in);
  for (std::string_view absent :
       {"data-delta", "data-comparison", "Change since", R"(id="comparison-)",
        "<svg class=\"chart\" data-chart=\"comparison\""}) {
    EXPECT_EQ(without.find(absent), std::string::npos) << absent;
  }

  AddComparisons(in);
  const std::string html = RenderInspectionHtml(in);
  EXPECT_NE(html.find("Change since 31 December 2022"), std::string::npos);
  EXPECT_NE(html.find("Difference under policy “strict-home-visits”"), std::string::npos);
  const std::vector<Element> outcomes = RowsOf(html, "scope", "data-outcome");
  ASSERT_EQ(outcomes.size(), kOutcomeCount);
  for (int o = 0; o < kOutcomeCount; ++o) {
    const std::vector<Element> cells = ElementsWith(outcomes[o].content, "td", "data-delta");
    ASSERT_EQ(cells.size(), 2u);
    for (size_t c = 0; c < 2; ++c) {
      EXPECT_EQ(cells[c].attributes.at("data-comparison"), std::to_string(c));
      EXPECT_EQ(cells[c].attributes.at("data-delta"), Exact(in.comparisons[c].outcome_delta[o]));
    }
  }
  for (const Element& row : RowsOf(html, "scope", "data-indicator")) {
    EXPECT_EQ(ElementsWith(row.content, "td", "data-delta").size(), 2u);
  }
  EXPECT_EQ(ElementsWith(html, "section", "id").size(),
            ElementsWith(without, "section", "id").size() + 2);
}

TEST(InspectionHtml, OtherPolicyShowsTheKeysThatDifferAndHowVerdictsMove) {
  Inspection in = MakeInspection();
  AddComparisons(in);
  const std::string html = RenderInspectionHtml(in);
  const std::vector<Element> settings = RowsOf(html, "policy-differences", "data-setting");
  ASSERT_EQ(settings.size(), 1u);
  EXPECT_EQ(settings[0].attributes.at("data-setting"), "home_visit_repeat_days");
  EXPECT_NE(settings[0].content.find(R"(<td class="num">91</td><td class="num">56</td>)"),
            std::string::npos);

  bool found = false;
  for (const Element& table : ElementsWith(html, "table", "data-kind")) {
    if (table.attributes.at("data-kind") != "other_policy") continue;
    for (const Element& row : ElementsWith(table.content, "tr", "data-indicator")) {
      if (row.attributes.at("data-indicator") != "home_visit_repeat") continue;
      found = true;
      EXPECT_EQ(row.attributes.at("data-now-met"), "1");
      EXPECT_EQ(row.attributes.at("data-now-not-met"), "9");
      EXPECT_EQ(row.attributes.at("data-now-relevant"), "2");
      EXPECT_EQ(row.attributes.at("data-now-irrelevant"), "0");
      const int i = static_cast<int>(Indicator::kHomeVisitRepeat);
      EXPECT_EQ(row.attributes.at("data-baseline-score"),
                Exact(in.comparisons[1].baseline.indicators[i].score));
      EXPECT_EQ(row.attributes.at("data-delta"), Exact(in.comparisons[1].indicator_delta[i]));
    }
  }
  EXPECT_TRUE(found) << "no home_visit_repeat row in the other policy's comparison";
}

TEST(InspectionHtml, SampledCasesAreJudgedPerOutcomeAndLinkedToTheirRecords) {
  const Inspection in = MakeInspection();
  const std::string html = RenderInspectionHtml(in);
  const std::vector<Element> rows = RowsOf(html, "sample-cases", "data-case");
  ASSERT_EQ(rows.size(), in.sample.size());
  const std::vector<Element> cells = ElementsWith(rows[2].content, "td", "data-outcome");
  ASSERT_EQ(cells.size(), kOutcomeCount);
  const Element& delivery = cells[static_cast<int>(Outcome::kDelivery)];
  EXPECT_EQ(delivery.content, "2 of 3");
  EXPECT_EQ(delivery.attributes.at("data-score"), Exact(2.0 / 3.0));
  EXPECT_EQ(cells[static_cast<int>(Outcome::kSentencing)].content, "–");
  EXPECT_EQ(cells[static_cast<int>(Outcome::kSentencing)].attributes.at("data-score"), "null");

  const std::vector<Element> units = RowsOf(html, "draw", "data-unit");
  ASSERT_EQ(units.size(), 2u);
  EXPECT_EQ(units[1].attributes.at("data-unit"), "Gateshead &lt;G&gt;");
  EXPECT_EQ(units[1].attributes.at("data-drawn"), "1");
}

TEST(InspectionHtml, WithoutASampleThereIsNoSampleAnnex) {
  Inspection in = MakeInspection();
  in.sample.clear();
  in.draw = SampleDraw{};
  const std::string html = RenderInspectionHtml(in);
  EXPECT_EQ(html.find(R"(id="sample")"), std::string::npos);
  EXPECT_EQ(html.find("data-case="), std::string::npos);
  EXPECT_NE(html.find("No sample was drawn."), std::string::npos);
}

TEST(InspectionHtml, MethodologyListsPolicyDatesAndDataQuality) {
  Inspection in = MakeInspection();
  AddComparisons(in);
  const std::string html = RenderInspectionHtml(in);
  const std::vector<Element> settings = RowsOf(html, "policy", "data-setting");
  EXPECT_EQ(settings.size(), in.policy_settings.size());
  EXPECT_NE(
      html.find("<p>Scores follow Casewatch's rules (docs/rules.md in its repository, section "
                "9). Each indicator turns a case's events into items"),
      std::string::npos);
  EXPECT_EQ(html.find("indicators.md"), std::string::npos);  // the report stands on its own
  EXPECT_NE(html.find("<dt>Recorded more than 5 days after they occurred</dt><dd>220</dd>"),
            std::string::npos);
  EXPECT_NE(html.find("<dt>Recorded only after the as-of date</dt><dd>17</dd>"), std::string::npos);
  EXPECT_NE(html.find("<dt>Events accepted</dt><dd>5,000</dd>"), std::string::npos);
  EXPECT_NE(html.find("as of 2022-12-31T23:59:59Z"), std::string::npos);
  const std::vector<Element> reasons = RowsOf(html, "rejections", "data-reason");
  ASSERT_EQ(reasons.size(), 1u);
  EXPECT_EQ(reasons[0].attributes.at("data-reason"), "&lt;b&gt;bad&lt;/b&gt; field");
  EXPECT_EQ(reasons[0].attributes.at("data-count"), "3");
}

}  // namespace
}  // namespace casewatch::inspection
