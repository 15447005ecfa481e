// The HTTP API in-process: a request handed to the Api as the server would hand it, the answer
// compared with what the store says (reports::ReportFromStore, the `casewatch replay` form),
// never with numbers written into the test. The server itself (sockets, TLS, limits, streams,
// framing) is http_server_test.cc's.
#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "projections/labels.h"
#include "services/http/testing/harness.h"
#include "services/kafka/consumer.h"

namespace casewatch::http {
namespace {

namespace ht = casewatch::http::testing;
using casewatch::TempDir;
using namespace ht;  // the harness and the shared tokens, JSON and event helpers
using reports::StoreReportRequest;

// --- GET /api/v1/report ---

TEST(HttpReport, WithoutParametersItIsTheStoresReport) {
  Harness h;
  const HttpReply reply = h.Get("/api/v1/report");
  ASSERT_EQ(reply.status, 200) << reply.error << reply.body;
  EXPECT_EQ(reply.Header("content-type"), "application/json");
  const std::string expected = h.Expected(StoreReportRequest{});
  ASSERT_EQ(expected.find("\"cases\":0,"), std::string::npos) << "nothing counted: " << expected;
  EXPECT_EQ(reply.body, expected);
}

// A live answer names the records its counts reflect (each partition's offset after the last
// applied), and says how many cases are not yet counted while a backlog is stored first.
TEST(HttpReport, ALiveAnswerNamesTheRecordsItsCountsReflect) {
  Harness h;
  const size_t n = Simulation().records.size();
  const std::string all = fmt::format("0:{}", n);
  EXPECT_EQ(h.Get("/api/v1/report").Header("Casewatch-Offsets"), all);
  EXPECT_EQ(h.Get("/api/v1/breakdown").Header("Casewatch-Offsets"), all);
  EXPECT_EQ(h.Get("/api/v1/report").Header("Casewatch-Pending"), "");
  EXPECT_EQ(h.Get("/api/v1/report?as_of=2013-06-30").Header("Casewatch-Offsets"), "")
      << "a re-evaluation from the store is of the store as a whole";

  // Two new cases on partition 3, stored and not yet projected (catching up).
  std::vector<std::string> values;
  std::vector<engine::InputRecord> batch;
  for (int i = 0; i < 2; ++i) {
    values.push_back(EnvelopeBytes(EnvelopeJson(fmt::format("offsets-{}", i),
                                                fmt::format("OFFSETS-{}", i), h.now(),
                                                h.HomeAllocation())));
  }
  for (int i = 0; i < 2; ++i) {
    batch.push_back(engine::InputRecord{3, 40 + i, fmt::format("OFFSETS-{}", i), values[i]});
  }
  ASSERT_TRUE(h.engine().ApplyDeferred(batch, h.now()));
  const std::string with_3 = fmt::format("0:{},3:42", n);
  HttpReply report = h.Get("/api/v1/report");
  EXPECT_EQ(report.Header("Casewatch-Offsets"), with_3);
  EXPECT_EQ(report.Header("Casewatch-Pending"), "2") << "stored, not yet counted";
  EXPECT_EQ(h.Get("/api/v1/breakdown").Header("Casewatch-Pending"), "2");
  auto left = h.engine().ProjectPending(h.now());
  ASSERT_TRUE(left);
  EXPECT_EQ(left.value(), 0u);
  report = h.Get("/api/v1/report");
  EXPECT_EQ(report.Header("Casewatch-Offsets"), with_3);
  EXPECT_EQ(report.Header("Casewatch-Pending"), "");
  EXPECT_EQ(report.body, h.Expected(StoreReportRequest{}));
}

TEST(HttpReport, EachScopeLevelIsTheStoresReportForThatScope) {
  Harness h;
  const Scope& home = h.home();
  const std::vector<Scope> scopes = {
      Scope{home.region, {}, {}, {}},
      Scope{home.region, home.pdu, {}, {}},
      Scope{home.region, home.pdu, home.team, {}},
      Scope{home.region, home.pdu, home.team, home.offender_manager},
      Scope{{}, {}, home.team, {}},
      Scope{{}, {}, {}, home.offender_manager},
      Scope{h.other_region(), {}, {}, {}},
  };
  for (const Scope& scope : scopes) {
    const std::string target = "/api/v1/report?" + ScopeQuery(scope);
    const HttpReply reply = h.Get(target);
    ASSERT_EQ(reply.status, 200) << target << ": " << reply.error << reply.body;
    const std::string expected = h.Expected(scope);
    EXPECT_EQ(expected.find("\"cases\":0,"), std::string::npos) << target;
    EXPECT_EQ(reply.body, expected) << target;
  }
  // '+' is a space as well as %20.
  std::string plus = *home.region;
  std::replace(plus.begin(), plus.end(), ' ', '+');
  EXPECT_EQ(h.Get("/api/v1/report?region=" + plus).body,
            h.Expected(Scope{home.region, {}, {}, {}}));
}

TEST(HttpReport, TheEnginesMinCasesMarksSmallBasesLiveAndFromTheStore) {
  HarnessOptions options;
  options.min_cases = 50;  // the simulation's national bases are from about 20 to 120
  Harness h(options);
  StoreReportRequest request;
  request.min_cases = 50;
  const std::string expected = h.Expected(request);
  EXPECT_NE(expected, h.Expected(StoreReportRequest{})) << "50 and 10 mark the same: " << expected;
  EXPECT_NE(expected.find("\"too_few_cases\":false"), std::string::npos) << expected;
  EXPECT_NE(expected.find("\"too_few_cases\":true"), std::string::npos) << expected;
  EXPECT_EQ(h.Get("/api/v1/report").body, expected);
  // From the store (a period) with the same setting.
  request.from = Date{0};
  EXPECT_EQ(h.Get("/api/v1/report?from=1970-01-01").body, h.Expected(request));
  request = StoreReportRequest{};
  request.min_cases = 50;
  request.scope = Scope{h.home().region, {}, {}, {}};
  request.group_by = reports::GroupBy::kPdu;
  auto breakdown = reports::ReportFromStore(h.store(), request);
  ASSERT_TRUE(breakdown) << breakdown.error().message;
  const std::string rows =
      h.Get("/api/v1/breakdown?region=" + ht::UrlEncode(*h.home().region)).body;
  for (const reports::GroupReport& group : breakdown.value().groups) {
    EXPECT_NE(rows.find(group.json), std::string::npos) << group.json;
  }
  EXPECT_NE(h.Get("/api/v1/meta").body.find("\"min_cases\":50,"), std::string::npos);
}

TEST(HttpReport, AsOfInThePastIsAReEvaluationAtThatInstant) {
  Harness h;
  for (int days_back : {45, 200}) {
    StoreReportRequest past;
    past.as_of = Instant{h.now().seconds - days_back * 86400 + 3600, 0};
    const std::string as_of = FormatInstant(*past.as_of);
    const HttpReply all = h.Get("/api/v1/report?as_of=" + ht::UrlEncode(as_of));
    ASSERT_EQ(all.status, 200) << all.body;
    const std::string expected = h.Expected(past);
    EXPECT_NE(expected, h.Expected(StoreReportRequest{}));
    EXPECT_EQ(all.body, expected) << days_back;
    EXPECT_NE(all.body.find(as_of), std::string::npos);

    past.scope = Scope{h.home().region, h.home().pdu, {}, {}};
    const HttpReply scoped =
        h.Get("/api/v1/report?as_of=" + ht::UrlEncode(as_of) + "&" + ScopeQuery(past.scope));
    ASSERT_EQ(scoped.status, 200) << scoped.body;
    EXPECT_EQ(scoped.body, h.Expected(past)) << days_back;
  }
}

TEST(HttpReport, APeriodIsTheStoresReportForThatPeriod) {
  Harness h;
  StoreReportRequest period;
  period.from = DateOf(h.now()) + -120;
  period.to = DateOf(h.now()) + -30;
  const HttpReply reply = h.Get(fmt::format("/api/v1/report?from={}&to={}",
                                            FormatDate(*period.from), FormatDate(*period.to)));
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.body, h.Expected(period));
  EXPECT_NE(reply.body, h.Expected(StoreReportRequest{}));

  StoreReportRequest from_only;
  from_only.from = *period.from;
  from_only.scope.region = h.home().region;
  const HttpReply from_reply = h.Get(fmt::format(
      "/api/v1/report?from={}&{}", FormatDate(*period.from), ScopeQuery(from_only.scope)));
  ASSERT_EQ(from_reply.status, 200) << from_reply.body;
  EXPECT_EQ(from_reply.body, h.Expected(from_only));
}

TEST(HttpReport, CaseItemsAreTheStoresItems) {
  Harness h;
  StoreReportRequest items;
  items.case_items = true;
  const HttpReply reply = h.Get("/api/v1/report?case_items=true");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_NE(reply.body.find("\"case_items\":["), std::string::npos);
  EXPECT_EQ(reply.body, h.Expected(items));

  items.scope.team = h.home().team;
  const HttpReply team = h.Get("/api/v1/report?case_items=1&team=" + ht::UrlEncode(*h.home().team));
  ASSERT_EQ(team.status, 200) << team.body;
  EXPECT_EQ(team.body, h.Expected(items));
  EXPECT_EQ(h.Get("/api/v1/report?case_items=false").body, h.Expected(StoreReportRequest{}));
}

// --- GET /api/v1/breakdown ---

// The breakdown's rows as (scope of the row, its report); checks that each row names exactly the
// first `levels` levels.
std::vector<std::pair<Scope, std::string>> Rows(const std::string& body, int levels) {
  std::vector<std::pair<Scope, std::string>> rows;
  JsonDoc doc(body);
  for (simdjson::dom::element row : doc["rows"].get_array()) {
    Scope scope{NullableStr(row["region"]), NullableStr(row["pdu"]), NullableStr(row["team"]),
                NullableStr(row["offender_manager"])};
    const std::optional<std::string>* named[] = {&scope.region, &scope.pdu, &scope.team,
                                                 &scope.offender_manager};
    for (int level = 0; level < 4; ++level) {
      EXPECT_EQ(named[level]->has_value(), level < levels) << "level " << level << " of a row";
    }
    rows.emplace_back(scope, simdjson::minify(row["report"].value()));
  }
  return rows;
}

// The distinct first `levels` levels of allocations with counted cases in `scope`.
std::set<std::vector<std::string>> GroupsInStore(store::Store& store, const Scope& scope,
                                                 int levels) {
  std::set<std::vector<std::string>> groups;
  EXPECT_TRUE(store.ScanScopes([&](const store::v1::ScopeCounts& c) {
    if (c.cases() == 0) return;
    if (!scope.Matches(records::AllocationOf(c))) return;
    std::vector<std::string> key = {c.region(), c.pdu(), c.team(), c.offender_manager()};
    key.resize(levels);
    groups.insert(key);
  }));
  return groups;
}

std::vector<std::string> KeyOf(const Scope& scope, int levels) {
  std::vector<std::string> key = {scope.region.value_or(""), scope.pdu.value_or(""),
                                  scope.team.value_or(""), scope.offender_manager.value_or("")};
  key.resize(levels);
  return key;
}

// Each row's report equals the store's report for the row's scope (reports minified: the rows
// embed them in the breakdown's JSON).
void ExpectRowsAreTheirScopesReports(Harness& h, const std::string& body, int levels,
                                     const Scope& scope, std::optional<Instant> as_of,
                                     const std::string& what) {
  const auto rows = Rows(body, levels);
  std::set<std::vector<std::string>> seen;
  for (const auto& [row_scope, report] : rows) {
    seen.insert(KeyOf(row_scope, levels));
    StoreReportRequest request;
    request.scope = row_scope;
    request.as_of = as_of;
    const std::string expected = h.Expected(request);
    EXPECT_EQ(report, simdjson::minify(JsonDoc(expected).root())) << what;
  }
  EXPECT_EQ(seen.size(), rows.size()) << what << ": a group appears twice";
  if (!as_of) {
    EXPECT_EQ(seen, GroupsInStore(h.store(), scope, levels)) << what;
  }
}

TEST(HttpBreakdown, RowsAreOneLevelBelowTheScopeEachWithItsOwnReport) {
  Harness h;
  const Scope& home = h.home();
  struct Case {
    Scope scope;
    std::string by;
    int levels;
  };
  const std::vector<Case> cases = {
      {Scope{}, "region", 1},
      {Scope{home.region, {}, {}, {}}, "pdu", 2},
      {Scope{home.region, home.pdu, {}, {}}, "team", 3},
      {Scope{home.region, home.pdu, home.team, {}}, "offender_manager", 4},
  };
  for (const Case& c : cases) {
    const std::string target = "/api/v1/breakdown?" + ScopeQuery(c.scope);
    const HttpReply reply = h.Get(target);
    ASSERT_EQ(reply.status, 200) << target << ": " << reply.body;
    JsonDoc doc(reply.body);
    EXPECT_EQ(Str(doc["by"]), c.by) << target;
    EXPECT_EQ(Str(doc["as_of"]), FormatInstant(h.now()));
    EXPECT_GE(doc["rows"].get_array().size(), 1u) << target;
    ExpectRowsAreTheirScopesReports(h, reply.body, c.levels, c.scope, std::nullopt, target);
  }
}

TEST(HttpBreakdown, ByPicksTheLevelAndAnythingElseIs400) {
  Harness h;
  const HttpReply teams = h.Get("/api/v1/breakdown?by=team");
  ASSERT_EQ(teams.status, 200) << teams.body;
  ExpectRowsAreTheirScopesReports(h, teams.body, 3, Scope{}, std::nullopt, "by=team");

  const std::string in_region =
      "/api/v1/breakdown?by=offender_manager&" + ScopeQuery(Scope{h.home().region, {}, {}, {}});
  const HttpReply managers = h.Get(in_region);
  ASSERT_EQ(managers.status, 200) << managers.body;
  ExpectRowsAreTheirScopesReports(h, managers.body, 4, Scope{h.home().region, {}, {}, {}},
                                  std::nullopt, in_region);

  // In the past: the rows of a re-evaluation.
  const Instant past{h.now().seconds - 60 * 86400, 0};
  const HttpReply then =
      h.Get("/api/v1/breakdown?by=pdu&as_of=" + ht::UrlEncode(FormatInstant(past)));
  ASSERT_EQ(then.status, 200) << then.body;
  ExpectRowsAreTheirScopesReports(h, then.body, 2, Scope{}, past, "by=pdu in the past");

  for (std::string_view bad : {"week", "none", "", "REGION"}) {
    const HttpReply reply = h.Get(fmt::format("/api/v1/breakdown?by={}", bad));
    EXPECT_EQ(reply.status, 400) << bad << ": " << reply.body;
    if (reply.status == 400 && !bad.empty()) {
      EXPECT_NE(ErrorMessage(reply).find("by"), std::string::npos) << reply.body;
    }
  }
}

// --- GET /api/v1/worklist ---

struct WorkRow {
  std::string case_id;
  std::string indicator;
  std::string due;
  std::string status;
  int64_t days_overdue;
  std::string region;
  std::string group;
  bool priority = false;
  std::string rosh_level;  // "" when none is recorded

  bool operator==(const WorkRow&) const = default;
};

struct WorkPage {
  int64_t total = -1;
  std::vector<WorkRow> items;
};

WorkPage ReadWorklist(Harness& h, const std::string& query,
                      std::string_view token = kInspectorToken) {
  const HttpReply reply = h.Get("/api/v1/worklist?" + query, token);
  EXPECT_EQ(reply.status, 200) << query << ": " << reply.body;
  WorkPage page;
  if (reply.status != 200) return page;
  JsonDoc doc(reply.body);
  page.total = int64_t(doc["total"]);
  for (simdjson::dom::element item : doc["items"].get_array()) {
    std::string rosh;
    if (!item["rosh_level"].is_null()) rosh = Str(item["rosh_level"]);
    page.items.push_back(WorkRow{Str(item["case_id"]), Str(item["indicator"]), Str(item["due"]),
                                 Str(item["status"]), int64_t(item["days_overdue"]),
                                 Str(item["region"]), Str(item["group"]), bool(item["priority"]),
                                 rosh});
  }
  return page;
}

// Every open item in the store: counted cases' items pending or overdue, as (case, indicator,
// due, status).
std::multiset<std::tuple<std::string, std::string, std::string, std::string>> OpenItemsInStore(
    store::Store& store, const Scope& scope) {
  std::multiset<std::tuple<std::string, std::string, std::string, std::string>> items;
  EXPECT_TRUE(
      store.ScanProjections([&](std::string_view case_id, const store::v1::CaseProjection& p) {
        if (!p.counted()) return;
        if (!scope.Matches(records::AllocationOf(p))) {
          return;
        }
        for (const store::v1::StoredItem& item : p.items()) {
          const auto status = static_cast<ItemStatus>(item.status());
          if (status != ItemStatus::kPending && !item.overdue()) continue;
          items.emplace(std::string(case_id),
                        std::string(InfoOf(static_cast<Indicator>(item.indicator())).id),
                        FormatDate(Date{item.due()}), item.overdue() ? "OVERDUE" : "PENDING");
        }
      }));
  return items;
}

// The group an item belongs to, from its status and days overdue (as a practitioner plans).
std::string ExpectedGroup(const WorkRow& row) {
  if (row.status == "OVERDUE") return row.days_overdue > 28 ? "long_overdue" : "overdue";
  if (row.days_overdue >= 0) return "due_today";
  return row.days_overdue >= -7 ? "due_this_week" : "later";
}

TEST(HttpWorklist, ItemsComeByGroupThenHighRiskCasesThenDueDate) {
  Harness h;
  const WorkPage all = ReadWorklist(h, "page_size=500");
  ASSERT_GT(all.total, 0);
  ASSERT_LE(all.total, 500) << "the test reads one page";
  ASSERT_EQ(static_cast<int64_t>(all.items.size()), all.total);
  const std::vector<std::string> order = {"overdue", "due_today", "due_this_week", "later",
                                          "long_overdue"};
  std::set<std::string> groups_seen;
  bool priority_seen = false;
  for (size_t i = 0; i < all.items.size(); ++i) {
    const WorkRow& row = all.items[i];
    EXPECT_EQ(row.days_overdue, DateOf(h.now()).days - ParseDate(row.due).value().days);
    EXPECT_EQ(row.group, ExpectedGroup(row)) << i;
    groups_seen.insert(row.group);
    priority_seen = priority_seen || row.priority;
    if (i == 0) continue;
    const WorkRow& before = all.items[i - 1];
    const auto rank = [&](const std::string& g) {
      return std::find(order.begin(), order.end(), g) - order.begin();
    };
    ASSERT_LE(rank(before.group), rank(row.group)) << i;
    if (before.group != row.group) continue;
    EXPECT_TRUE(before.priority || !row.priority) << "a priority case after another at " << i;
    if (before.priority == row.priority) {
      EXPECT_LE(before.due, row.due) << i;
    }
  }
  EXPECT_GE(groups_seen.size(), 3u) << "the simulation should fill several groups";
  EXPECT_TRUE(priority_seen) << "the simulation has high-risk cases";
  // Exactly the store's open items.
  std::multiset<std::tuple<std::string, std::string, std::string, std::string>> listed;
  for (const WorkRow& row : all.items)
    listed.emplace(row.case_id, row.indicator, row.due, row.status);
  EXPECT_EQ(listed, OpenItemsInStore(h.store(), Scope{}));
  // Every high or very high RoSH case's items are priority ones.
  for (const WorkRow& row : all.items) {
    if (row.rosh_level == "HIGH" || row.rosh_level == "VERY_HIGH") {
      EXPECT_TRUE(row.priority) << row.case_id;
    }
  }
}

TEST(HttpWorklist, GroupIndicatorAndRoshFilterTheItemsAndTheGroupsAreCounted) {
  Harness h;
  const WorkPage all = ReadWorklist(h, "page_size=500");
  const HttpReply reply = h.Get("/api/v1/worklist?page_size=1", kInspectorToken);
  ASSERT_EQ(reply.status, 200);
  JsonDoc doc(reply.body);
  for (const std::string group :
       {"overdue", "due_today", "due_this_week", "later", "long_overdue"}) {
    std::vector<WorkRow> expected;
    std::copy_if(all.items.begin(), all.items.end(), std::back_inserter(expected),
                 [&](const WorkRow& row) { return row.group == group; });
    EXPECT_EQ(int64_t(doc["groups"][group]), static_cast<int64_t>(expected.size())) << group;
    const WorkPage filtered = ReadWorklist(h, "page_size=500&group=" + group);
    EXPECT_EQ(filtered.items, expected) << group;
  }
  const std::string indicator = all.items.front().indicator;
  std::vector<WorkRow> of_indicator;
  std::copy_if(all.items.begin(), all.items.end(), std::back_inserter(of_indicator),
               [&](const WorkRow& row) { return row.indicator == indicator; });
  EXPECT_EQ(ReadWorklist(h, "page_size=500&indicator=" + indicator).items, of_indicator);
  std::vector<WorkRow> high;
  std::copy_if(all.items.begin(), all.items.end(), std::back_inserter(high),
               [&](const WorkRow& row) {
                 return row.rosh_level == "HIGH" || row.rosh_level == "VERY_HIGH";
               });
  ASSERT_FALSE(high.empty());
  EXPECT_EQ(ReadWorklist(h, "page_size=500&rosh=very_high,high").items, high);
  for (const auto& [query, name] :
       std::vector<std::pair<std::string, std::string>>{{"group=someday", "group"},
                                                        {"indicator=home_visits", "indicator"},
                                                        {"rosh=severe", "rosh"},
                                                        {"format=xml", "format"}}) {
    const HttpReply bad = h.Get("/api/v1/worklist?" + query, kInspectorToken);
    EXPECT_EQ(bad.status, 400) << query;
    EXPECT_EQ(ErrorMessage(bad).rfind(name + ":", 0), 0u) << ErrorMessage(bad);
  }
}

TEST(HttpWorklist, TheCsvExportHoldsEveryMatchingItemInTheSameOrder) {
  Harness h;
  const WorkPage all = ReadWorklist(h, "page_size=500");
  const HttpReply csv = h.Get("/api/v1/worklist?format=csv&page_size=3", kInspectorToken);
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(csv.Header("content-type"), "text/csv; charset=utf-8");
  EXPECT_NE(csv.Header("content-disposition").find("attachment; filename=\"caseload-"),
            std::string::npos);
  std::vector<std::string> lines;
  for (size_t at = 0; at < csv.body.size();) {
    const size_t end = csv.body.find("\r\n", at);
    lines.push_back(csv.body.substr(at, end - at));
    at = end + 2;
  }
  ASSERT_EQ(lines.size(), all.items.size() + 1) << "a header and every item, whatever the page";
  EXPECT_EQ(lines[0].rfind("group,case_id,rosh_level,registrations,indicator,action,due,", 0), 0u);
  for (size_t i = 0; i < all.items.size(); ++i) {
    const WorkRow& row = all.items[i];
    EXPECT_EQ(lines[i + 1].rfind(row.group + "," + row.case_id + "," + row.rosh_level + ",", 0),
              0u)
        << lines[i + 1];
    EXPECT_NE(lines[i + 1].find("," + row.indicator + ","), std::string::npos) << lines[i + 1];
  }
}

TEST(HttpWorklist, PagesContinueEachOtherAndTheTotalStaysTheSame) {
  Harness h;
  const WorkPage all = ReadWorklist(h, "page_size=500");
  ASSERT_GE(all.items.size(), 15u);
  const WorkPage first = ReadWorklist(h, "page_size=7");
  const WorkPage second = ReadWorklist(h, "page_size=7&page=2");
  EXPECT_EQ(first.total, all.total);
  EXPECT_EQ(second.total, all.total);
  ASSERT_EQ(first.items.size(), 7u);
  ASSERT_EQ(second.items.size(), 7u);
  for (size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(first.items[i], all.items[i]) << i;
    EXPECT_EQ(second.items[i], all.items[7 + i]) << i;
  }
  // The default page size is 50; past the end is an empty page with the same total.
  EXPECT_EQ(ReadWorklist(h, "").items.size(), std::min<size_t>(50, all.items.size()));
  const WorkPage beyond = ReadWorklist(h, "page=1000&page_size=500");
  EXPECT_TRUE(beyond.items.empty());
  EXPECT_EQ(beyond.total, all.total);
}

TEST(HttpWorklist, StatusAndScopeFilterTheItems) {
  Harness h;
  const WorkPage all = ReadWorklist(h, "page_size=500");
  for (std::string_view status : {"OVERDUE", "PENDING"}) {
    std::vector<WorkRow> expected;
    std::copy_if(all.items.begin(), all.items.end(), std::back_inserter(expected),
                 [&](const WorkRow& row) { return row.status == status; });
    std::string lower(status);
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    const WorkPage filtered = ReadWorklist(h, "page_size=500&status=" + lower);
    EXPECT_EQ(filtered.total, static_cast<int64_t>(expected.size())) << status;
    EXPECT_EQ(filtered.items, expected) << status;
  }
  EXPECT_EQ(ReadWorklist(h, "page_size=500&status=all").items, all.items);

  const Scope region{h.home().region, {}, {}, {}};
  std::vector<WorkRow> in_region;
  std::copy_if(all.items.begin(), all.items.end(), std::back_inserter(in_region),
               [&](const WorkRow& row) { return row.region == *region.region; });
  ASSERT_FALSE(in_region.empty());
  ASSERT_LT(in_region.size(), all.items.size());
  const WorkPage scoped = ReadWorklist(h, "page_size=500&" + ScopeQuery(region));
  EXPECT_EQ(scoped.total, static_cast<int64_t>(in_region.size()));
  EXPECT_EQ(scoped.items, in_region);

  const Scope team{{}, {}, h.home().team, {}};
  const WorkPage team_page = ReadWorklist(h, "page_size=500&" + ScopeQuery(team));
  std::multiset<std::tuple<std::string, std::string, std::string, std::string>> listed;
  for (const WorkRow& row : team_page.items) {
    listed.emplace(row.case_id, row.indicator, row.due, row.status);
  }
  EXPECT_EQ(listed, OpenItemsInStore(h.store(), team));
}

TEST(HttpWorklist, APageSizeAbove500Is400) {
  Harness h;
  const HttpReply reply = h.Get("/api/v1/worklist?page_size=501");
  EXPECT_EQ(reply.status, 400);
  EXPECT_NE(ErrorMessage(reply).find("page_size"), std::string::npos) << reply.body;
  EXPECT_EQ(h.Get("/api/v1/worklist?page_size=500").status, 200);
}

// --- GET /api/v1/cases/{id} ---

// The case's items in the store report's case_items, as comparable rows.
std::multiset<std::string> StoreCaseItems(Harness& h, const std::string& case_id) {
  StoreReportRequest request;
  request.case_items = true;
  JsonDoc doc(h.Expected(request));
  std::multiset<std::string> rows;
  for (simdjson::dom::element row : doc["case_items"].get_array()) {
    if (Str(row["case_id"]) != case_id) continue;
    rows.insert(fmt::format("{} {} {} {} {}", Str(row["indicator"]), Str(row["due"]),
                            Str(row["status"]), Str(row["fulfilled_by"]), Str(row["decided_on"])));
  }
  return rows;
}

std::vector<std::string> StoredEventIds(store::Store& store, const std::string& case_id) {
  std::vector<std::string> ids;
  EXPECT_TRUE(store.ReadCase(case_id, [&](std::string_view bytes) {
    events::v1::Envelope e;
    EXPECT_TRUE(e.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
    ids.push_back(e.event_id());
  }));
  return ids;
}

// Checks the timeline of `case_id` against the store: events in the store's case order, items
// equal to the store report's case items.
void ExpectTimelineIsTheStores(Harness& h, const std::string& case_id, const JsonDoc& doc) {
  EXPECT_EQ(Str(doc["case_id"]), case_id);
  std::vector<std::string> ids;
  std::optional<Instant> previous;
  for (simdjson::dom::element event : doc["events"].get_array()) {
    ids.push_back(Str(event["event_id"]));
    const auto occurred = ParseInstant(Str(event["occurred_at"]));
    ASSERT_TRUE(occurred) << Str(event["occurred_at"]);
    if (previous) {
      EXPECT_TRUE(previous->seconds < occurred.value().seconds ||
                  (previous->seconds == occurred.value().seconds &&
                   previous->nanos <= occurred.value().nanos))
          << "events out of time order at " << ids.back();
    }
    previous = occurred.value();
  }
  EXPECT_EQ(ids, StoredEventIds(h.store(), case_id));
  std::multiset<std::string> items;
  for (simdjson::dom::element item : doc["items"].get_array()) {
    items.insert(fmt::format("{} {} {} {} {}", Str(item["indicator"]), Str(item["due"]),
                             Str(item["status"]), Str(item["fulfilled_by"]),
                             Str(item["decided_on"])));
  }
  EXPECT_EQ(items, StoreCaseItems(h, case_id));
  // Indicators in table order, each one's items by due date; a fulfilled item's completed_on is
  // its fulfilling event's date.
  std::map<std::string, std::string> event_dates;
  for (simdjson::dom::element event : doc["events"].get_array()) {
    event_dates[Str(event["event_id"])] = Str(event["occurred_at"]).substr(0, 10);
  }
  std::vector<std::pair<int, std::string>> order;
  for (simdjson::dom::element item : doc["items"].get_array()) {
    const std::string indicator = Str(item["indicator"]);
    int rank = 0;
    while (rank < kIndicatorCount && kIndicators[rank].id != indicator) ++rank;
    order.emplace_back(rank, Str(item["due"]));
    if (item["fulfilled_by"].is_null()) {
      EXPECT_TRUE(item["completed_on"].is_null()) << indicator;
    } else {
      EXPECT_EQ(Str(item["completed_on"]), event_dates[Str(item["fulfilled_by"])]) << indicator;
    }
  }
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end())) << case_id;
}

TEST(HttpCase, TheTimelineHasTheEventsInCaseOrderWithTheMissedObligationAndTheItems) {
  Harness h;
  h.OpenCase("C-LATE-1", h.HomeAllocation());
  const auto alert = h.AdvanceUntilMissed("C-LATE-1");
  ASSERT_TRUE(alert);

  const HttpReply reply = h.Get("/api/v1/cases/C-LATE-1");
  ASSERT_EQ(reply.status, 200) << reply.body;
  JsonDoc doc(reply.body);
  EXPECT_TRUE(bool(doc["counted"]));
  EXPECT_EQ(Str(doc["allocation"]["team"]), *h.home().team);
  EXPECT_EQ(Str(doc["as_of"]), FormatInstant(h.now()));
  std::vector<std::string> types;
  std::string missed_indicator;
  for (simdjson::dom::element event : doc["events"].get_array()) {
    types.push_back(Str(event["type"]));
    if (types.back() == "obligation_missed") {
      missed_indicator = Str(event["payload"]["indicator"]);
    }
  }
  ASSERT_GE(types.size(), 2u);
  EXPECT_EQ(types.front(), "case_opened");
  EXPECT_NE(std::find(types.begin(), types.end(), "obligation_missed"), types.end());
  EXPECT_EQ(missed_indicator, alert->indicator());
  bool missed_item = false;
  for (simdjson::dom::element item : doc["items"].get_array()) {
    if (Str(item["indicator"]) == alert->indicator() && Str(item["due"]) == alert->due()) {
      missed_item = true;
      EXPECT_EQ(Str(item["status"]), "MISSED");
      EXPECT_TRUE(bool(item["overdue"]));
    }
  }
  EXPECT_TRUE(missed_item) << reply.body;
  ExpectTimelineIsTheStores(h, "C-LATE-1", doc);

  // Simulated cases too.
  const auto cases = h.CountedCases();
  ASSERT_GE(cases.size(), 3u);
  for (size_t i : {size_t{0}, cases.size() / 2, cases.size() - 1}) {
    const HttpReply sim = h.Get("/api/v1/cases/" + cases[i].first);
    ASSERT_EQ(sim.status, 200) << sim.body;
    ExpectTimelineIsTheStores(h, cases[i].first, JsonDoc(sim.body));
  }
}

std::vector<std::string> AuditLines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(HttpCase, EveryAccessIsAuditedWithTheCallerAndCaseIncludingRefusals) {
  Harness h;
  std::string home_case;
  std::string other_case;
  for (const auto& [id, allocation] : h.CountedCases()) {
    if (home_case.empty() && allocation.region == *h.home().region) home_case = id;
    if (other_case.empty() && allocation.region == h.other_region()) other_case = id;
  }
  ASSERT_FALSE(home_case.empty());
  ASSERT_FALSE(other_case.empty());

  struct Access {
    std::string_view token;
    std::string case_id;
    int status;
    std::string who;
    std::string role;
  };
  const std::vector<Access> accesses = {
      {kInspectorToken, other_case, 200, "insp", "inspector"},
      {kViewerToken, home_case, 200, "north-viewer", "viewer"},
      {kViewerToken, other_case, 404, "north-viewer", "viewer"},  // outside its scope
      {kViewerToken, "NO-SUCH-CASE", 404, "north-viewer", "viewer"},
      {kInspectorToken, "NO-SUCH-CASE", 404, "insp", "inspector"},
  };
  for (const Access& a : accesses) {
    const HttpReply reply = h.Get("/api/v1/cases/" + a.case_id, a.token);
    EXPECT_EQ(reply.status, a.status) << a.who << " " << a.case_id << ": " << reply.body;
  }
  // A viewer is told the same for a case outside its scope as for no case at all.
  const HttpReply outside = h.Get("/api/v1/cases/" + other_case, kViewerToken);
  const HttpReply missing = h.Get("/api/v1/cases/NO-SUCH-CASE", kViewerToken);
  EXPECT_EQ(outside.body, missing.body);

  const std::vector<std::string> lines = AuditLines(h.audit_path());
  ASSERT_EQ(lines.size(), accesses.size() + 2);
  for (size_t i = 0; i < accesses.size(); ++i) {
    JsonDoc line(lines[i]);
    EXPECT_EQ(Str(line["who"]), accesses[i].who) << lines[i];
    EXPECT_EQ(Str(line["role"]), accesses[i].role) << lines[i];
    EXPECT_EQ(Str(line["case_id"]), accesses[i].case_id) << lines[i];
    EXPECT_EQ(int64_t(line["status"]), accesses[i].status) << lines[i];
    EXPECT_EQ(Str(line["action"]), "read_case_timeline") << lines[i];
    EXPECT_EQ(Str(line["remote"]), "127.0.0.1") << lines[i];
    EXPECT_TRUE(ParseInstant(Str(line["time"]))) << lines[i];
  }
  // No token, or a role that may not read: refused before any case is looked at.
  EXPECT_EQ(h.Get("/api/v1/cases/" + home_case, "").status, 401);
  EXPECT_EQ(h.Get("/api/v1/cases/" + home_case, kPublisherToken).status, 403);
  EXPECT_EQ(AuditLines(h.audit_path()).size(), accesses.size() + 2);
}

TEST(HttpCase, AFullDiskRefusesTimelinesUntilTheAuditLogCanBeWrittenAgain) {
  // /dev/full answers every write with ENOSPC: the audit log's disk is full.
  HarnessOptions options;
  options.audit_link_to = "/dev/full";
  Harness h(options);
  const std::string case_id = h.CountedCases().front().first;
  for (int i = 0; i < 3; ++i) {
    const HttpReply refused = h.Get("/api/v1/cases/" + case_id);
    EXPECT_EQ(refused.status, 503) << refused.body;
    EXPECT_EQ(ErrorCode(refused), "audit_unavailable");
    EXPECT_EQ(refused.body.find(case_id), std::string::npos) << "no case id in the answer";
  }
  // Space again (the path now leads to a real file): the next access is recorded and answered.
  const std::filesystem::path real = h.dir() / "audit-real.log";
  std::filesystem::remove(h.audit_path());
  std::filesystem::create_symlink(real, h.audit_path());
  const HttpReply served = h.Get("/api/v1/cases/" + case_id);
  EXPECT_EQ(served.status, 200) << served.body;
  const std::vector<std::string> lines = AuditLines(real);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(Str(JsonDoc(lines[0])["case_id"]), case_id);
}

TEST(AuditLog, ARecordIsWrittenWholeOrNotAtAllAndTheLogRecovers) {
  TempDir dir;
  const auto path = dir.path() / "audit.log";
  // A child process whose file-size limit lets only part of the second record fit (the kernel
  // writes what fits, then refuses): that part must not stay in the file.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    signal(SIGXFSZ, SIG_IGN);
    auto log = AuditLog::Open(path);
    if (!log) _exit(10);
    if (!log.value()->RecordCaseAccess(Instant{1, 0}, "ann", "inspector", "C-1", "::1", 200)) {
      _exit(11);
    }
    rlimit limit{};
    getrlimit(RLIMIT_FSIZE, &limit);
    const rlimit small{static_cast<rlim_t>(std::filesystem::file_size(path) + 40), limit.rlim_max};
    setrlimit(RLIMIT_FSIZE, &small);
    auto failed = log.value()->RecordCaseAccess(Instant{2, 0}, "bob", "inspector", "C-SECRET",
                                                "::1", 200);
    if (failed) _exit(12);
    if (failed.error().message.find("C-SECRET") != std::string::npos) _exit(13);
    setrlimit(RLIMIT_FSIZE, &limit);  // space again
    if (!log.value()->RecordCaseAccess(Instant{3, 0}, "cat", "inspector", "C-3", "::1", 200)) {
      _exit(14);
    }
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "the step that failed (see the test)";
  const std::vector<std::string> lines = AuditLines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(Str(JsonDoc(lines[0])["case_id"]), "C-1");
  EXPECT_EQ(Str(JsonDoc(lines[1])["case_id"]), "C-3");
}

TEST(AuditLog, AnIncompleteLastLineFromACrashIsCutOffOnOpening) {
  TempDir dir;
  const auto path = dir.path() / "audit.log";
  std::ofstream(path) << R"({"time":"1970-01-01T00:00:01Z","case_id":"C-1"})" << "\n"
                      << R"({"time":"1970-01-01T00:00:02Z","ca)";
  auto log = AuditLog::Open(path);
  ASSERT_TRUE(log) << log.error().message;
  ASSERT_TRUE(log.value()->RecordCaseAccess(Instant{3, 0}, "ann", "inspector", "C-3", "::1", 200));
  const std::vector<std::string> lines = AuditLines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(Str(JsonDoc(lines[0])["case_id"]), "C-1");
  EXPECT_EQ(Str(JsonDoc(lines[1])["case_id"]), "C-3");
}

TEST(HttpCase, ALongTimelineComesAPageAtATime) {
  Harness h;
  const Instant now = h.now();
  h.OpenCase("C-LONG", h.HomeAllocation());
  // 2,400 more events: appointments, every other one missed (each an obligation).
  std::vector<std::string> records;
  for (int i = 0; i < 2400; ++i) {
    events::v1::Envelope e;
    e.set_event_id(fmt::format("long-{}", i));
    e.set_case_id("C-LONG");
    e.mutable_occurred_at()->set_seconds(now.seconds - 3000 + i);
    if (i % 2 == 0) {
      e.mutable_appointment_missed()->set_appointment_id(fmt::format("a-{}", i));
    } else {
      e.mutable_appointment_attended()->set_appointment_id(fmt::format("a-{}", i));
    }
    records.push_back(e.SerializeAsString());
  }
  h.Apply(records, Instant{now.seconds + 7200, 0});
  const std::vector<std::string> stored = StoredEventIds(h.store(), "C-LONG");
  ASSERT_GT(stored.size(), 2400u);

  std::vector<std::string> paged;
  std::vector<std::string> item_keys;
  int64_t items_total = -1;
  for (int page = 1; page <= 3; ++page) {
    const HttpReply reply = h.Get(fmt::format(
        "/api/v1/cases/C-LONG?page={}&page_size=1000&items_page={}&items_page_size=600", page, page));
    ASSERT_EQ(reply.status, 200) << reply.body.substr(0, 300);
    JsonDoc doc(reply.body);
    EXPECT_EQ(uint64_t(int64_t(doc["events_total"])), stored.size());
    EXPECT_EQ(int64_t(doc["page"]), page);
    EXPECT_EQ(int64_t(doc["page_size"]), 1000);
    for (simdjson::dom::element e : doc["events"].get_array()) paged.push_back(Str(e["event_id"]));
    items_total = int64_t(doc["items_total"]);
    for (simdjson::dom::element it : doc["items"].get_array()) {
      item_keys.push_back(Str(it["indicator"]) + "/" + Str(it["due"]));
    }
  }
  EXPECT_EQ(paged, stored) << "three pages of 1,000 are the whole timeline, in order";
  ASSERT_GT(items_total, 1200);
  EXPECT_EQ(static_cast<int64_t>(item_keys.size()), std::min<int64_t>(items_total, 1800));
  // Without parameters: the first 1,000 of each; beyond 5,000 a page is refused.
  const HttpReply first = h.Get("/api/v1/cases/C-LONG");
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(JsonDoc(first.body)["events"].get_array().size(), 1000u);
  EXPECT_EQ(h.Get("/api/v1/cases/C-LONG?page_size=5001").status, 400);
  EXPECT_EQ(h.Get("/api/v1/cases/C-LONG?page=0").status, 400);
  // A page past the end is empty, with the totals.
  const HttpReply beyond = h.Get("/api/v1/cases/C-LONG?page=99");
  ASSERT_EQ(beyond.status, 200);
  EXPECT_EQ(JsonDoc(beyond.body)["events"].get_array().size(), 0u);
}

TEST(HttpCase, ABadCaseIdIs400) {
  Harness h;
  for (std::string_view bad : {"C%201", "a.b", "C%2F1", "%zz", "x%00y"}) {
    const HttpReply reply = h.Get(fmt::format("/api/v1/cases/{}", bad));
    EXPECT_EQ(reply.status, 400) << bad << ": " << reply.body;
    EXPECT_EQ(ErrorCode(reply), "invalid_parameter") << bad;
  }
  const HttpReply too_long = h.Get("/api/v1/cases/" + std::string(129, 'A'));
  EXPECT_EQ(too_long.status, 400);
  // Percent-encoding of allowed characters is fine.
  const auto cases = h.CountedCases();
  ASSERT_FALSE(cases.empty());
  std::string encoded;
  for (char c : cases[0].first) encoded += fmt::format("%{:02X}", c);
  const HttpReply reply = h.Get("/api/v1/cases/" + encoded);
  EXPECT_EQ(reply.status, 200) << reply.body;
}

// --- GET /api/v1/trend ---

struct TrendDay {
  int64_t cases;
  std::map<std::string, std::optional<double>> scores;  // indicator and outcome ids
};

std::optional<double> Score(simdjson::dom::element e) {
  if (e.is_null()) return std::nullopt;
  return double(e);
}

// A report's cases and scores, keyed as the trend keys them.
TrendDay ScoresOf(const std::string& report) {
  JsonDoc doc(report);
  TrendDay day{int64_t(doc["cases"]), {}};
  for (simdjson::dom::element i : doc["indicators"].get_array()) {
    day.scores["indicator " + Str(i["id"])] = Score(i["score"]);
  }
  for (simdjson::dom::element o : doc["outcomes"].get_array()) {
    day.scores["outcome " + Str(o["id"])] = Score(o["score"]);
  }
  return day;
}

// One point of a trend (a day or a month): its cases and scores, keyed as ScoresOf keys them.
TrendDay PointOf(simdjson::dom::element point) {
  TrendDay scores{int64_t(point["cases"]), {}};
  for (auto [key, value] : point["indicators"].get_object()) {
    scores.scores["indicator " + std::string(key)] = Score(value);
  }
  for (auto [key, value] : point["outcomes"].get_object()) {
    scores.scores["outcome " + std::string(key)] = Score(value);
  }
  return scores;
}

std::map<std::string, TrendDay> TrendDays(const std::string& body) {
  JsonDoc doc(body);
  std::map<std::string, TrendDay> days;
  for (simdjson::dom::element d : doc["days"].get_array()) days.emplace(Str(d["date"]), PointOf(d));
  return days;
}

void ExpectSameScores(const TrendDay& trend, const TrendDay& report, const std::string& what) {
  EXPECT_EQ(trend.cases, report.cases) << what;
  EXPECT_EQ(trend.scores.size(), report.scores.size()) << what;
  for (const auto& [id, score] : report.scores) {
    const auto found = trend.scores.find(id);
    ASSERT_NE(found, trend.scores.end()) << what << ": " << id;
    ASSERT_EQ(found->second.has_value(), score.has_value()) << what << ": " << id;
    if (score) {
      EXPECT_DOUBLE_EQ(*found->second, *score) << what << ": " << id;
    }
  }
}

TEST(HttpTrend, EachDayWithAWriteIsThereWithThatDaysScores) {
  Harness h;
  const Date first = DateOf(h.now());
  const std::string first_report = h.Get("/api/v1/report").body;
  const std::string first_region = h.Expected(Scope{h.home().region, {}, {}, {}});
  // Two days later a case opens; nothing is written on the day between.
  h.AdvanceTo(Instant{h.now().seconds + 2 * 86400, 0});
  h.OpenCase("C-TREND-1", h.HomeAllocation());
  const Date third = DateOf(h.now());
  ASSERT_EQ(third.days, first.days + 2);
  const std::string third_report = h.Get("/api/v1/report").body;
  ASSERT_NE(ScoresOf(third_report).cases, ScoresOf(first_report).cases);

  const HttpReply reply =
      h.Get(fmt::format("/api/v1/trend?from={}&to={}", FormatDate(first + -5), FormatDate(third)));
  ASSERT_EQ(reply.status, 200) << reply.body;
  const auto days = TrendDays(reply.body);
  std::vector<std::string> dates;
  for (const auto& [date, day] : days) dates.push_back(date);
  EXPECT_EQ(dates, (std::vector<std::string>{FormatDate(first), FormatDate(third)}));
  if (days.size() == 2) {
    ExpectSameScores(days.at(FormatDate(first)), ScoresOf(first_report), "first day");
    ExpectSameScores(days.at(FormatDate(third)), ScoresOf(third_report), "third day");
  }
  // The default span ends today.
  const HttpReply recent = h.Get("/api/v1/trend");
  ASSERT_EQ(recent.status, 200) << recent.body;
  EXPECT_EQ(TrendDays(recent.body).size(), 2u);
  JsonDoc recent_doc(recent.body);
  EXPECT_EQ(Str(recent_doc["to"]), FormatDate(third));
  EXPECT_EQ(Str(recent_doc["from"]), FormatDate(third + -89));
  // A scope's trend is that scope's report of the day.
  const HttpReply region = h.Get(fmt::format("/api/v1/trend?to={}&{}", FormatDate(first),
                                             ScopeQuery(Scope{h.home().region, {}, {}, {}})));
  ASSERT_EQ(region.status, 200) << region.body;
  const auto region_days = TrendDays(region.body);
  ASSERT_EQ(region_days.size(), 1u) << region.body;
  ExpectSameScores(region_days.begin()->second, ScoresOf(first_region), "region, first day");
  // A span without writes has no days.
  const HttpReply empty = h.Get(
      fmt::format("/api/v1/trend?from={}&to={}", FormatDate(first + 1), FormatDate(first + 1)));
  ASSERT_EQ(empty.status, 200);
  EXPECT_TRUE(TrendDays(empty.body).empty()) << empty.body;
}

std::map<std::string, TrendDay> TrendMonths(const std::string& body, std::string* last_as_of) {
  JsonDoc doc(body);
  std::map<std::string, TrendDay> months;
  for (simdjson::dom::element d : doc["months"].get_array()) {
    months.emplace(Str(d["from"]) + "/" + Str(d["to"]) + "/" + Str(d["as_of"]), PointOf(d));
    if (last_as_of != nullptr) *last_as_of = Str(d["as_of"]);
  }
  return months;
}

// interval=month: each month's point is the report of that month's decisions as of its end (the
// current month: as of the engine's instant), for the scope asked; a new month is computed at
// once, in the background.
TEST(HttpTrend, EachMonthIsThatMonthsReportAsOfItsEnd) {
  Harness h;
  h.OpenCase("C-MONTH-1", h.HomeAllocation());
  const Scope region{h.home().region, {}, {}, {}};
  const auto expect_reports = [&](const std::string& query, const std::string& what) {
    const HttpReply reply = h.Get("/api/v1/trend?interval=month&months=3" + query);
    ASSERT_EQ(reply.status, 200) << reply.body;
    const auto months = TrendMonths(reply.body, nullptr);
    EXPECT_EQ(months.size(), 3u) << reply.body;
    for (const auto& [key, month] : months) {
      const size_t slash = key.find('/');
      const size_t second = key.find('/', slash + 1);
      const std::string target =
          fmt::format("/api/v1/report?from={}&to={}&as_of={}{}", key.substr(0, slash),
                      key.substr(slash + 1, second - slash - 1), key.substr(second + 1), query);
      const HttpReply report = h.Get(target);
      ASSERT_EQ(report.status, 200) << target << ": " << report.body;
      ExpectSameScores(month, ScoresOf(report.body), what + ", " + key);
    }
  };
  expect_reports("", "the service");
  expect_reports("&" + ScopeQuery(region), "a region");

  // Forty days on, in another month: answered at once from the last computation, and the new
  // month's a moment later.
  const std::string before = h.Get("/api/v1/trend?interval=month").body;
  h.AdvanceTo(Instant{h.now().seconds + 40 * 86400, 0});
  h.OpenCase("C-MONTH-2", h.HomeAllocation());
  const std::string now_as_of = FormatInstant(h.now());
  std::string last_as_of;
  for (int i = 0; i < 200 && last_as_of != now_as_of; ++i) {
    TrendMonths(h.Get("/api/v1/trend?interval=month").body, &last_as_of);
    if (last_as_of != now_as_of) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(last_as_of, now_as_of) << before;
  expect_reports("", "a month later");
  JsonDoc doc(h.Get("/api/v1/trend?interval=month&months=120").body);
  EXPECT_EQ(Str(doc["computed_at"]), now_as_of);
  EXPECT_GE(doc["months"].get_array().size(), 2u);  // from the first case's month
}

// A unit whose cases have all moved away still has its past: a report of an earlier instant or a
// period names it without a 400, while a name no unit ever had is refused as a typo then too.
TEST(HttpReport, AUnitWithCasesOnlyInThePastIsReportedForThePast) {
  Harness h;
  const Allocation old_home{h.HomeAllocation().region, h.HomeAllocation().pdu, "T-GONE", "om-gone"};
  h.OpenCase("C-MOVED-1", old_home);
  const Instant before = h.now();
  const Date day_before = DateOf(before);
  h.AdvanceTo(Instant{before.seconds + 2 * 86400, 0});
  const Instant moved_at{h.now().seconds - 60, 0};
  h.Apply({EnvelopeBytes(fmt::format(
              R"({{"eventId":"e-move-1","caseId":"C-MOVED-1","occurredAt":"{}","caseAllocated":)"
              R"({{"team":"{}","offenderManager":"{}"}}}})",
              FormatInstant(moved_at), h.HomeAllocation().team,
              h.HomeAllocation().offender_manager))},
          Instant{h.now().seconds + 60, 0});
  const std::string gone = ScopeQuery(Scope{old_home.region, old_home.pdu, old_home.team, {}});
  // Now: no case is in T-GONE, so the name is refused with the closest.
  const HttpReply now = h.Get("/api/v1/report?" + gone);
  EXPECT_EQ(now.status, 400) << now.body;
  // Then: it had the case.
  const HttpReply then =
      h.Get(fmt::format("/api/v1/report?as_of={}&{}", FormatInstant(before), gone));
  ASSERT_EQ(then.status, 200) << then.body;
  EXPECT_EQ(ScoresOf(then.body).cases, 1);
  const HttpReply split = h.Get(fmt::format("/api/v1/breakdown?as_of={}&{}",
                                            FormatInstant(before), gone));
  EXPECT_EQ(split.status, 200) << split.body;
  // A typo is a typo whenever it is asked about.
  const HttpReply typo = h.Get(fmt::format(
      "/api/v1/report?as_of={}&{}", FormatInstant(before),
      ScopeQuery(Scope{old_home.region, old_home.pdu, "T-GNOE", {}})));
  EXPECT_EQ(typo.status, 400) << typo.body;
  EXPECT_EQ(ErrorCode(typo), "invalid_parameter");
  const HttpReply typo_period = h.Get(fmt::format(
      "/api/v1/report?from={}&{}", FormatDate(day_before),
      ScopeQuery(Scope{old_home.region, old_home.pdu, "T-GNOE", {}})));
  EXPECT_EQ(typo_period.status, 400) << typo_period.body;
}

// --- POST /api/v1/events ---

// Every record on `topic` from the beginning, until `count` have arrived (or 30 s passed).

TEST(HttpEvents, ValidLinesArePublishedByCaseAndInvalidOnesRejectedWithTheirReason) {
  HarnessOptions options;
  options.kafka = true;
  Harness h(options);
  const Instant now = h.now();
  const std::vector<std::string> lines = {
      EnvelopeJson("e-post-1", "C-POST-1", Instant{now.seconds - 86400, 0}, h.HomeAllocation()),
      R"({"eventId":"e-post-broken","caseId":)",
      EnvelopeJson("e-post-2", "C-POST-2", Instant{now.seconds - 3600, 0}, h.OtherAllocation()),
      "   ",
      EnvelopeJson("e-post-3", "C POST 3", Instant{now.seconds - 3600, 0}, h.HomeAllocation()),
      EnvelopeJson("e-post-4", "C-POST-4", Instant{now.seconds + 30 * 86400, 0},
                   h.HomeAllocation()),
  };
  std::string body;
  for (const std::string& line : lines) body += line + "\n";
  const HttpReply reply = h.Post("/api/v1/events", body, kPublisherToken);
  ASSERT_EQ(reply.status, 200) << reply.body;
  JsonDoc doc(reply.body);
  EXPECT_EQ(int64_t(doc["accepted"]), 2);
  EXPECT_EQ(int64_t(doc["rejected"]), 3);
  EXPECT_EQ(int64_t(doc["failed"]), 0);
  struct Expected {
    int64_t line;
    std::string status;
    std::string event_id_or_reason;  // the event id, or a word the reason must contain
  };
  const std::vector<Expected> expected = {
      {1, "accepted", "e-post-1"}, {2, "rejected", "JSON"},        {3, "accepted", "e-post-2"},
      {5, "rejected", "case_id"},  {6, "rejected", "occurred_at"},
  };
  auto results = doc["results"].get_array();
  ASSERT_EQ(results.size(), expected.size()) << reply.body;
  std::vector<std::string> reasons;
  size_t i = 0;
  for (simdjson::dom::element result : results) {
    const Expected& e = expected[i++];
    EXPECT_EQ(int64_t(result["line"]), e.line) << reply.body;
    EXPECT_EQ(Str(result["status"]), e.status) << reply.body;
    if (e.status == "accepted") {
      EXPECT_EQ(Str(result["event_id"]), e.event_id_or_reason);
    } else {
      reasons.push_back(Str(result["error"]));
      EXPECT_NE(reasons.back().find(e.event_id_or_reason), std::string::npos)
          << "line " << e.line << ": " << reasons.back();
    }
  }

  // The accepted events are on the engine's topic, keyed by case; the rejected lines are
  // dead-lettered with their reasons.
  const auto published = ReadTopic(h.brokers(), h.topics().events, 2);
  ASSERT_EQ(published.size(), 2u);
  std::map<std::string, std::string> by_case;
  for (const auto& [key, value] : published) {
    events::v1::Envelope envelope;
    ASSERT_TRUE(envelope.ParseFromString(value));
    EXPECT_EQ(envelope.case_id(), key);
    by_case[key] = envelope.event_id();
  }
  EXPECT_EQ(by_case, (std::map<std::string, std::string>{{"C-POST-1", "e-post-1"},
                                                         {"C-POST-2", "e-post-2"}}));
  const auto dead = ReadTopic(h.brokers(), h.topics().dead_letters, 3);
  ASSERT_EQ(dead.size(), 3u);
  for (size_t d = 0; d < dead.size(); ++d) {
    store::v1::DeadLetter letter;
    ASSERT_TRUE(letter.ParseFromString(dead[d].second));
    EXPECT_EQ(letter.source(), "http");
    EXPECT_EQ(letter.reason(), reasons[d]);
  }
}

TEST(HttpEvents, AnIdTheEngineAlreadyHoldsIsADuplicateOrAConflictNotAccepted) {
  HarnessOptions options;
  options.kafka = true;
  Harness h(options);
  const Instant now = h.now();
  // An event the engine stored, sent again as it was, and with other content.
  const Instant opened{now.seconds - 7200, 0};
  h.Apply({EnvelopeBytes(EnvelopeJson("e-known", "C-KNOWN", opened, h.HomeAllocation()))}, now);
  const std::vector<std::string> lines = {
      EnvelopeJson("e-known", "C-KNOWN", opened, h.HomeAllocation()),
      EnvelopeJson("e-known", "C-KNOWN", Instant{opened.seconds + 60, 0}, h.HomeAllocation()),
      EnvelopeJson("e-new", "C-NEW", opened, h.HomeAllocation()),
      EnvelopeJson("e-new", "C-NEW", opened, h.HomeAllocation()),
      EnvelopeJson("e-new", "C-NEW", Instant{opened.seconds + 1, 0}, h.HomeAllocation()),
  };
  std::string body;
  for (const std::string& line : lines) body += line + "\n";
  const HttpReply reply = h.Post("/api/v1/events", body, kPublisherToken);
  ASSERT_EQ(reply.status, 200) << reply.body;
  JsonDoc doc(reply.body);
  EXPECT_EQ(int64_t(doc["accepted"]), 1) << reply.body;
  EXPECT_EQ(int64_t(doc["duplicates"]), 2) << reply.body;
  EXPECT_EQ(int64_t(doc["conflicts"]), 2) << reply.body;
  std::vector<std::string> statuses;
  std::vector<std::string> errors;
  for (simdjson::dom::element result : doc["results"].get_array()) {
    statuses.push_back(Str(result["status"]));
    if (statuses.back() == "conflict") errors.push_back(Str(result["error"]));
  }
  EXPECT_EQ(statuses, (std::vector<std::string>{"duplicate", "conflict", "accepted", "duplicate",
                                                "conflict"}));
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_NE(errors[0].find("already accepted with different content"), std::string::npos);
  EXPECT_NE(errors[1].find("line 3"), std::string::npos) << errors[1];
  // Only the new event was published; the conflicts are dead-lettered with their reasons.
  const auto published = ReadTopic(h.brokers(), h.topics().events, 1);
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].first, "C-NEW");
  EXPECT_EQ(ReadTopic(h.brokers(), h.topics().dead_letters, 2).size(), 2u);
}

TEST(HttpEvents, OnlyPublishersMayPost) {
  HarnessOptions options;
  options.kafka = true;
  Harness h(options);
  const std::string line = EnvelopeJson("e-post-1", "C-POST-1", h.now(), h.HomeAllocation()) + "\n";
  for (std::string_view token : {kViewerToken, kInspectorToken, kTeamViewerToken}) {
    const HttpReply reply = h.Post("/api/v1/events", line, token);
    EXPECT_EQ(reply.status, 403) << token << ": " << reply.body;
    EXPECT_NE(ErrorMessage(reply).find("publisher"), std::string::npos) << reply.body;
  }
  EXPECT_EQ(h.Post("/api/v1/events", line, "").status, 401);
  EXPECT_EQ(h.Post("/api/v1/events", line, "cw_wrong").status, 401);
  EXPECT_EQ(h.Post("/api/v1/events", line, kPublisherToken).status, 200);
  // GET is not how events arrive.
  const HttpReply get = h.Get("/api/v1/events", kPublisherToken);
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(get.Header("allow"), "POST");
}

// --- /metrics, /healthz, /readyz ---

TEST(HttpOperations, MetricsCountTheEngineAndTheRequests) {
  Harness h;
  ASSERT_EQ(h.Get("/api/v1/report").status, 200);
  ASSERT_EQ(h.Get("/api/v1/report?region=" + ht::UrlEncode(*h.home().region)).status, 200);
  ASSERT_EQ(h.Get("/api/v1/report?bogus=1").status, 400);
  ASSERT_EQ(h.Get("/api/v1/worklist").status, 200);
  const HttpReply metrics = h.Get("/metrics");
  ASSERT_EQ(metrics.status, 200) << metrics.body;
  EXPECT_EQ(metrics.Header("content-type"), "text/plain; version=0.0.4");
  const std::string& text = metrics.body;
  const auto has = [&](const std::string& line) {
    return text.find(line + "\n") != std::string::npos;
  };
  EXPECT_TRUE(has("# TYPE casewatch_events_accepted_total counter")) << text;
  EXPECT_TRUE(
      has(fmt::format("casewatch_events_accepted_total {}", h.engine().counters().accepted)))
      << text;
  EXPECT_GT(h.engine().counters().accepted, 0u);
  EXPECT_TRUE(has("casewatch_ready 1")) << text;
  EXPECT_TRUE(has(fmt::format("casewatch_projection_instant_seconds {}", h.now().seconds)));
  EXPECT_TRUE(has("casewatch_http_requests_total{route=\"report\",code=\"2xx\"} 2")) << text;
  EXPECT_TRUE(has("casewatch_http_requests_total{route=\"report\",code=\"4xx\"} 1")) << text;
  EXPECT_TRUE(has("casewatch_http_requests_total{route=\"worklist\",code=\"2xx\"} 1")) << text;
  // Every metric line parses as Prometheus text: a name (with labels) and a number.
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    ASSERT_NE(space, std::string::npos) << line;
    EXPECT_TRUE(line.starts_with("casewatch_")) << line;
    char* end = nullptr;
    std::strtod(line.c_str() + space + 1, &end);
    EXPECT_EQ(*end, '\0') << line;
  }
  // Metrics need a token like the API.
  EXPECT_EQ(h.Get("/metrics", "").status, 401);
}

TEST(HttpOperations, HealthzAlwaysAndReadyzOnceCaughtUp) {
  HarnessOptions options;
  options.ready = false;
  Harness h(options);
  const HttpReply healthy = h.Get("/healthz", "");
  EXPECT_EQ(healthy.status, 200);
  EXPECT_EQ(Str(JsonDoc(healthy.body)["status"]), "ok");
  HttpReply ready = h.Get("/readyz", "");
  EXPECT_EQ(ready.status, 503) << ready.body;
  h.ReportStatus(/*lag=*/120, {{0, 100}, {1, 20}, {2, -1}});
  // Not ready, saying which partitions are behind and by how much.
  ready = h.Get("/readyz", "");
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(ready.body,
            R"({"status":"catching_up","lag":120,"partitions":[{"partition":0,"lag":100},)"
            R"({"partition":1,"lag":20},{"partition":2,"lag":-1}]})");
  const std::string metrics = h.Get("/metrics").body;
  for (const std::string line :
       {"casewatch_consumer_partition_lag{partition=\"0\"} 100\n",
        "casewatch_consumer_partition_lag{partition=\"1\"} 20\n",
        "casewatch_consumer_partition_lag{partition=\"2\"} -1\n",
        "# TYPE casewatch_consumer_partition_lag gauge\n"}) {
    EXPECT_NE(metrics.find(line), std::string::npos) << line << metrics;
  }
  h.ReportStatus(/*lag=*/0);
  ready = h.Get("/readyz", "");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(Str(JsonDoc(ready.body)["status"]), "ready");
  // Ready stays ready: lag after catching up is normal work.
  h.ReportStatus(/*lag=*/50);
  EXPECT_EQ(h.Get("/readyz", "").status, 200);
  EXPECT_EQ(h.Get("/readyz", "").body.find("role"), std::string::npos) << "an engine on its own";
}

TEST(HttpOperations, AnEngineOfAGroupSaysWhetherItLeads) {
  Harness h;
  h.ReportStatus(/*lag=*/0, {{0, 0}}, "follower");
  HttpReply ready = h.Get("/readyz", "");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body,
            R"({"status":"ready","role":"follower","lag":0,"partitions":[{"partition":0,"lag":0}]})");
  std::string metrics = h.Get("/metrics").body;
  EXPECT_NE(metrics.find("\ncasewatch_group_leader 0\n"), std::string::npos) << metrics;
  h.ReportStatus(/*lag=*/0, {{0, 0}}, "leader");
  EXPECT_EQ(Str(JsonDoc(h.Get("/readyz", "").body)["role"]), "leader");
  metrics = h.Get("/metrics").body;
  EXPECT_NE(metrics.find("\ncasewatch_group_leader 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\ncasewatch_group_leader_terms_total 1\n"), std::string::npos);
  // Every API answer says how fresh it is: the role, the lag, the partitions behind.
  h.ReportStatus(/*lag=*/35, {{0, 0}, {1, 30}, {2, 5}}, "follower");
  const HttpReply report = h.Get("/api/v1/report");
  EXPECT_EQ(report.status, 200);
  EXPECT_EQ(report.Header("Casewatch-Role"), "follower");
  EXPECT_EQ(report.Header("Casewatch-Lag"), "35");
  EXPECT_EQ(report.Header("Casewatch-Behind"), "1:30,2:5");
  h.ReportStatus(/*lag=*/0, {{0, 0}, {1, 0}, {2, 0}}, "leader");
  const HttpReply fresh = h.Get("/api/v1/report");
  EXPECT_EQ(fresh.Header("Casewatch-Lag"), "0");
  EXPECT_EQ(fresh.Header("Casewatch-Behind"), "");
  EXPECT_EQ(fresh.Header("Casewatch-Role"), "leader");
  EXPECT_EQ(h.Get("/healthz", "").Header("Casewatch-Lag"), "") << "API answers only";
}

TEST(HttpOperations, AnEngineOfAGroupListsTheGroupsEnginesAsItsDirectoryHeardThem) {
  HarnessOptions options;
  options.group = "national";
  auto with_untidy = std::make_shared<bool>(false);
  options.group_view = [with_untidy] {
    GroupView view;
    GroupPeer self;
    self.url = "http://a.test:8080";
    self.self = true;
    self.live = true;
    self.role = "leader";
    self.heard = Instant{1796531467, 0};  // 2026-12-06T04:31:07Z
    self.started = Instant{1796531000, 0};
    self.lag = 0;
    self.as_of = Instant{1796531460, 0};
    self.offsets = {{0, 5459}, {1, 4708}};
    self.standby = {2, 5};
    GroupPeer silent;
    silent.url = "http://b.test:8080";
    GroupPeer untidy;  // what another engine wrote is escaped in /metrics
    untidy.url = "http://c.test:8080/\"x\\";
    untidy.role = "follower";
    silent.role = "follower";
    silent.heard = Instant{1796531400, 0};
    silent.started = Instant{1796531000, 0};
    silent.lag = 12;
    silent.catching_up = true;
    view.engines = {self, silent};
    if (*with_untidy) view.engines.push_back(untidy);
    return view;
  };
  Harness h(options);
  const HttpReply group = h.Get("/api/v1/group");
  EXPECT_EQ(group.status, 200) << group.body;
  EXPECT_EQ(group.body,
            R"({"group":"national","engines":[)"
            R"({"url":"http://a.test:8080","self":true,"live":true,"role":"leader",)"
            R"("heard":"2026-12-06T04:31:07Z","started":"2026-12-06T04:23:20Z","lag":0,)"
            R"("catching_up":false,"as_of":"2026-12-06T04:31:00Z",)"
            R"("offsets":{"0":5459,"1":4708},"standby":[2,5]},)"
            R"({"url":"http://b.test:8080","self":false,"live":false,"role":"follower",)"
            R"("heard":"2026-12-06T04:30:00Z","started":"2026-12-06T04:23:20Z","lag":12,)"
            R"("catching_up":true,"as_of":null,"offsets":{},"standby":[]}],"problem":null})");
  EXPECT_EQ(h.Get("/api/v1/group", kPublisherToken).status, 200) << "any caller, as /metrics";
  EXPECT_EQ(h.Get("/api/v1/group", "").status, 401);
  EXPECT_EQ(h.Get("/api/v1/group?engine=a").status, 400);
  const std::string metrics = h.Get("/metrics").body;
  for (const std::string line :
       {"\ncasewatch_group_engines_live 1\n", "\ncasewatch_group_engines_silent 1\n",
        "\ncasewatch_group_leaders_live 1\n",
        "\ncasewatch_group_engine_lag{engine=\"http://a.test:8080\",role=\"leader\",live=\"1\"} "
        "0\n",
        "\ncasewatch_group_engine_tasks{engine=\"http://a.test:8080\",kind=\"owned\"} 2\n",
        "\ncasewatch_group_engine_tasks{engine=\"http://a.test:8080\",kind=\"standby\"} 2\n",
        "\ncasewatch_group_engine_tasks{engine=\"http://b.test:8080\",kind=\"standby\"} 0\n",
        "\ncasewatch_group_engine_lag{engine=\"http://b.test:8080\",role=\"follower\",live=\"0\"} "
        "12\n"}) {
    EXPECT_NE(metrics.find(line), std::string::npos) << line << metrics;
  }
  *with_untidy = true;
  const std::string escaped = h.Get("/metrics").body;
  EXPECT_NE(escaped.find("\ncasewatch_group_engine_lag{engine=\"http://c.test:8080/\\\"x\\\\\","
                         "role=\"follower\",live=\"0\"} -1\n"),
            std::string::npos)
      << escaped;
}

TEST(HttpOperations, AnEngineOnItsOwnHasNoGroupToList) {
  Harness h;
  const HttpReply group = h.Get("/api/v1/group");
  EXPECT_EQ(group.status, 200);
  EXPECT_EQ(group.body, R"({"group":null,"engines":[],"problem":null})");
  EXPECT_EQ(h.Get("/metrics").body.find("casewatch_group_engines"), std::string::npos);
}

TEST(HttpOperations, APartitionTheBrokersDoNotServeIsNamedInEveryAnswerWithSinceWhen) {
  Harness h;
  // Partition 1 unreachable since 04:31:07 (its last known lag 30); partition 2 served, behind.
  const Instant since{1796531467, 0};  // 2026-12-06T04:31:07Z
  h.ReportStatus(/*lag=*/35, {{0, 0}, {1, 30, since}, {2, 5}});
  const HttpReply report = h.Get("/api/v1/report");
  EXPECT_EQ(report.status, 200) << "the answer stands, saying what it lacks";
  EXPECT_EQ(report.Header("Casewatch-Unavailable"), "1 since 2026-12-06T04:31:07Z");
  EXPECT_EQ(report.Header("Casewatch-Behind"), "1:30,2:5");
  const HttpReply ready = h.Get("/readyz", "");
  EXPECT_EQ(ready.status, 200) << "still ready: every answer says which partitions are stale";
  EXPECT_EQ(ready.body,
            R"({"status":"ready","lag":35,"partitions":[{"partition":0,"lag":0},)"
            R"({"partition":1,"lag":30,"unavailable_since":"2026-12-06T04:31:07Z"},)"
            R"({"partition":2,"lag":5}]})");
  const std::string metrics = h.Get("/metrics").body;
  for (const std::string line : {"casewatch_consumer_partition_available{partition=\"0\"} 1\n",
                                 "casewatch_consumer_partition_available{partition=\"1\"} 0\n",
                                 "casewatch_consumer_partition_available{partition=\"2\"} 1\n"}) {
    EXPECT_NE(metrics.find(line), std::string::npos) << line << metrics;
  }
  EXPECT_EQ(FreshnessJson(h.view().status()),
            R"({"lag":35,"catching_up":false,"behind":[{"partition":1,"lag":30},)"
            R"({"partition":2,"lag":5}],"unavailable":[{"partition":1,)"
            R"("since":"2026-12-06T04:31:07Z","lag":30}]})");
  // Served again: no header.
  h.ReportStatus(/*lag=*/0, {{0, 0}, {1, 0}, {2, 0}});
  EXPECT_EQ(h.Get("/api/v1/report").Header("Casewatch-Unavailable"), "");
}

// --- authentication and scopes ---

TEST(HttpAuth, AMissingOrUnknownTokenIs401WithWwwAuthenticate) {
  Harness h;
  for (std::string_view target :
       {"/api/v1/report", "/api/v1/breakdown", "/api/v1/worklist", "/api/v1/trend",
        "/api/v1/stream", "/api/v1/meta", "/api/v1/cases/C-1"}) {
    const HttpReply none = h.Get(std::string(target), "");
    EXPECT_EQ(none.status, 401) << target;
    EXPECT_EQ(none.Header("www-authenticate"), "Bearer realm=\"casewatch\"") << target;
    EXPECT_EQ(ErrorCode(none), "unauthenticated");
    const HttpReply wrong = h.Get(std::string(target), "cw_not_a_token");
    EXPECT_EQ(wrong.status, 401) << target;
    EXPECT_EQ(wrong.Header("www-authenticate"), "Bearer realm=\"casewatch\"") << target;
    EXPECT_NE(ErrorMessage(wrong).find("not recognised"), std::string::npos);
  }
  ht::HttpCall basic;
  basic.target = "/api/v1/report";
  basic.headers.emplace_back("Authorization", "Basic dXNlcjpwYXNz");
  EXPECT_EQ(ht::Fetch(h.port(), basic).status, 401);
  // The scheme is case-insensitive.
  ht::HttpCall lower;
  lower.target = "/api/v1/report";
  lower.headers.emplace_back("Authorization", fmt::format("bearer {}", kInspectorToken));
  EXPECT_EQ(ht::Fetch(h.port(), lower).status, 200);
}

TEST(HttpAuth, AViewerAskingOutsideItsScopeIs403OnEveryReadEndpoint) {
  Harness h;
  const std::string other = "region=" + ht::UrlEncode(h.other_region());
  for (std::string_view path : {"/api/v1/report", "/api/v1/breakdown", "/api/v1/worklist",
                                "/api/v1/trend", "/api/v1/stream"}) {
    const HttpReply reply = h.Get(fmt::format("{}?{}", path, other), kViewerToken);
    EXPECT_EQ(reply.status, 403) << path << ": " << reply.body;
    EXPECT_EQ(ErrorCode(reply), "outside_scope") << path;
    // Narrowing within the scope is fine.
    if (path != "/api/v1/stream") {
      const HttpReply narrower =
          h.Get(fmt::format("{}?pdu={}", path, ht::UrlEncode(*h.home().pdu)), kViewerToken);
      EXPECT_EQ(narrower.status, 200) << path << narrower.body;
    }
  }
}

TEST(HttpReport, AScopeNoCaseIsAllocatedToIs400WithTheClosestNamesInTheCallersScope) {
  Harness h;
  const std::string pdu = *h.home().pdu;
  std::string typo = pdu;
  typo.erase(typo.size() - 2, 1);  // a letter left out
  for (std::string_view path : {"/api/v1/report", "/api/v1/breakdown", "/api/v1/worklist",
                                "/api/v1/trend", "/api/v1/stream"}) {
    const HttpReply reply =
        h.Get(fmt::format("{}?pdu={}", path, ht::UrlEncode(typo)), kInspectorToken);
    EXPECT_EQ(reply.status, 400) << path << ": " << reply.body;
    EXPECT_EQ(ErrorCode(reply), "invalid_parameter") << path;
    EXPECT_NE(ErrorMessage(reply).find(fmt::format(
                  "no case is allocated to PDU \"{}\", did you mean \"{}\"", typo, pdu)),
              std::string::npos)
        << ErrorMessage(reply);
  }
  // A viewer is told only of names within its own scope.
  const HttpReply viewer = h.Get("/api/v1/report?team=No+Such+Team", kViewerToken);
  EXPECT_EQ(viewer.status, 400) << viewer.body;
  EXPECT_EQ(ErrorMessage(viewer).find(h.other_region()), std::string::npos) << ErrorMessage(viewer);
}

// A viewer scoped to a team (the tokens file names no region for it) asking for another region is
// refused, or gets an empty answer: the filters add up to nothing outside its team.
TEST(HttpAuth, ATeamViewerAskingForAnotherRegionIs403) {
  // A viewer's scope names every level above its own, so a team viewer's region is known.
  Harness h;
  const std::string other = "region=" + ht::UrlEncode(h.other_region());
  for (std::string_view path : {"/api/v1/report?", "/api/v1/worklist?", "/api/v1/breakdown?"}) {
    const HttpReply reply = h.Get(std::string(path) + other, kTeamViewerToken);
    EXPECT_EQ(reply.status, 403) << path << ": " << reply.body;
    EXPECT_EQ(ErrorCode(reply), "outside_scope");
  }
}

TEST(HttpAuth, AViewerScopeNamingALevelWithoutThoseAboveItIsRefused) {
  // "Sunderland" alone would match a same-named delivery unit in every region.
  const std::string hash = Sha256Hex("t");
  for (const std::string& scope :
       {std::string(R"("pdu":"Sunderland")"), std::string(R"("region":"North East","team":"SUN-2")"),
        std::string(R"("team":"SUN-2")"),
        std::string(R"("region":"North East","pdu":"Sunderland","offender_manager":"om-1")")}) {
    auto parsed = TokenRegistry::Parse(
        fmt::format(R"({{"tokens":[{{"name":"v","role":"viewer","sha256":"{}",{}}}]}})", hash,
                    scope),
        "tokens.json");
    ASSERT_FALSE(parsed) << scope;
    EXPECT_NE(parsed.error().message.find("every level above its own"), std::string::npos)
        << parsed.error().message;
  }
  auto whole = TokenRegistry::Parse(
      fmt::format(
          R"({{"tokens":[{{"name":"v","role":"viewer","sha256":"{}","region":"North East","pdu":"Sunderland"}}]}})",
          hash),
      "tokens.json");
  EXPECT_TRUE(whole) << whole.error().message;
}

TEST(HttpAuth, AViewerOmittingParametersGetsItsScopeNotMore) {
  Harness h;
  const Scope region{h.home().region, {}, {}, {}};
  EXPECT_EQ(h.Get("/api/v1/report", kViewerToken).body, h.Expected(region));
  EXPECT_EQ(h.Get("/api/v1/report?pdu=" + ht::UrlEncode(*h.home().pdu), kViewerToken).body,
            h.Expected(Scope{h.home().region, h.home().pdu, {}, {}}));
  const Scope team{h.home().region, h.home().pdu, h.home().team, {}};
  EXPECT_EQ(h.Get("/api/v1/report", kTeamViewerToken).body, h.Expected(team));

  const HttpReply breakdown = h.Get("/api/v1/breakdown", kViewerToken);
  ASSERT_EQ(breakdown.status, 200);
  EXPECT_EQ(Str(JsonDoc(breakdown.body)["by"]), "pdu");
  ExpectRowsAreTheirScopesReports(h, breakdown.body, 2, region, std::nullopt, "viewer breakdown");
  const HttpReply past =
      h.Get("/api/v1/report?as_of=" +
                ht::UrlEncode(FormatInstant(Instant{h.now().seconds - 86400 * 30, 0})),
            kViewerToken);
  StoreReportRequest past_request;
  past_request.scope = region;
  past_request.as_of = Instant{h.now().seconds - 86400 * 30, 0};
  EXPECT_EQ(past.body, h.Expected(past_request));

  EXPECT_EQ(ReadWorklist(h, "page_size=500", kViewerToken).items,
            ReadWorklist(h, "page_size=500&" + ScopeQuery(region)).items);
  EXPECT_EQ(h.Get("/api/v1/trend", kViewerToken).body,
            h.Get("/api/v1/trend?" + ScopeQuery(region)).body);

  const HttpReply meta = h.Get("/api/v1/meta", kViewerToken);
  ASSERT_EQ(meta.status, 200);
  JsonDoc doc(meta.body);
  EXPECT_EQ(Str(doc["principal"]["name"]), "north-viewer");
  EXPECT_EQ(Str(doc["principal"]["role"]), "viewer");
  EXPECT_EQ(Str(doc["principal"]["scope"]["region"]), *h.home().region);
}

// The dashboard's words come from here: every indicator and outcome with the title of
// projections/labels.h, in report order, and the action for an indicator whose items can be open.
TEST(HttpApi, MetaNamesEachIndicatorAndOutcomeWithTheLabelsTablesTitle) {
  Harness h;
  const HttpReply meta = h.Get("/api/v1/meta");
  ASSERT_EQ(meta.status, 200) << meta.body;
  JsonDoc doc(meta.body);
  int i = 0;
  std::set<std::string> titles;
  for (simdjson::dom::element e : doc["indicators"].get_array()) {
    ASSERT_LT(i, kIndicatorCount);
    const auto indicator = static_cast<Indicator>(i);
    SCOPED_TRACE(kIndicators[i].id);
    EXPECT_EQ(Str(e["id"]), kIndicators[i].id);
    EXPECT_EQ(Str(e["outcome"]), NameOf(kIndicators[i].outcome));
    EXPECT_EQ(Str(e["title"]), TitleOf(indicator));
    EXPECT_FALSE(Str(e["title"]).empty());
    EXPECT_TRUE(titles.insert(Str(e["title"])).second);
    if (kIndicators[i].judged_at_once) {
      EXPECT_TRUE(e["action"].is_null());
    } else {
      EXPECT_EQ(Str(e["action"]), ActionOf(indicator));
    }
    ++i;
  }
  EXPECT_EQ(i, kIndicatorCount);
  int o = 0;
  for (simdjson::dom::element e : doc["outcomes"].get_array()) {
    ASSERT_LT(o, kOutcomeCount);
    const auto outcome = static_cast<Outcome>(o);
    EXPECT_EQ(Str(e["id"]), NameOf(outcome));
    EXPECT_EQ(Str(e["title"]), TitleOf(outcome));
    EXPECT_EQ(Str(e["short_title"]), ShortTitleOf(outcome));
    EXPECT_TRUE(titles.insert(Str(e["title"])).second);
    ++o;
  }
  EXPECT_EQ(o, kOutcomeCount);
}

TEST(HttpAuth, APublisherCannotRead) {
  Harness h;
  for (std::string_view path :
       {"/api/v1/report", "/api/v1/breakdown", "/api/v1/worklist", "/api/v1/trend",
        "/api/v1/stream", "/api/v1/cases/C-1", "/api/v1/report?as_of=2021-06-01T00:00:00Z"}) {
    const HttpReply reply = h.Get(std::string(path), kPublisherToken);
    EXPECT_EQ(reply.status, 403) << path << ": " << reply.body;
    EXPECT_EQ(ErrorCode(reply), "forbidden") << path;
  }
}

TEST(HttpAuth, AnInspectorReadsEverythingButCannotPost) {
  Harness h;
  const std::string other = "region=" + ht::UrlEncode(h.other_region());
  EXPECT_EQ(h.Get("/api/v1/report?" + other).body, h.Expected(Scope{h.other_region(), {}, {}, {}}));
  for (std::string_view path :
       {"/api/v1/breakdown", "/api/v1/worklist", "/api/v1/trend", "/api/v1/meta"}) {
    EXPECT_EQ(h.Get(std::string(path)).status, 200) << path;
    if (path != "/api/v1/meta") {
      EXPECT_EQ(h.Get(fmt::format("{}?{}", path, other)).status, 200) << path;
    }
  }
  const auto cases = h.CountedCases();
  ASSERT_FALSE(cases.empty());
  EXPECT_EQ(h.Get("/api/v1/cases/" + cases.back().first).status, 200);
  const HttpReply post = h.Post(
      "/api/v1/events", EnvelopeJson("e-1", "C-1", h.now(), h.HomeAllocation()), kInspectorToken);
  EXPECT_EQ(post.status, 403) << post.body;
}

// --- malformed requests ---

TEST(HttpParameters, MalformedParametersAre400NamingTheParameter) {
  Harness h;
  struct Bad {
    std::string target;
    std::string named;
  };
  const std::vector<Bad> bad = {
      {"/api/v1/report?bogus=1", "bogus"},
      {"/api/v1/report?region=A&region=B", "region"},
      {"/api/v1/report?region=%zz", "region"},
      {"/api/v1/report?team=%4", "team"},
      {"/api/v1/report?as_of=yesterday", "as_of"},
      {"/api/v1/report?as_of=2021-06-01", "as_of"},
      {"/api/v1/report?from=2021-13-01", "from"},
      {"/api/v1/report?to=2021-02-30", "to"},
      {"/api/v1/report?from=2021-06-02&to=2021-06-01", "from"},
      {"/api/v1/report?region=", "region"},
      {"/api/v1/report?pdu=", "pdu"},
      {"/api/v1/report?case_items=yes", "case_items"},
      {"/api/v1/report?region=" + std::string(201, 'x'), "region"},
      {"/api/v1/breakdown?by=week", "by"},
      {"/api/v1/breakdown?from=2021-06-02&to=2021-06-01", "from"},
      {"/api/v1/breakdown?case_items=true", "case_items"},
      {"/api/v1/worklist?page=0", "page"},
      {"/api/v1/worklist?page_size=ten", "page_size"},
      {"/api/v1/worklist?status=late", "status"},
      {"/api/v1/worklist?team=", "team"},
      {"/api/v1/trend?from=2021-06-02&to=2021-06-01", "from"},
      {"/api/v1/trend?to=June", "to"},
      {"/api/v1/trend?as_of=2021-06-01T00:00:00Z", "as_of"},
      {"/api/v1/trend?interval=week", "interval"},
      {"/api/v1/trend?interval=month&months=0", "months"},
      {"/api/v1/trend?interval=month&months=121", "months"},
      {"/api/v1/trend?interval=month&from=2021-06-01", "from"},
      {"/api/v1/trend?months=3", "months"},
      {"/api/v1/stream?bogus=1", "bogus"},
      {"/api/v1/stream?offender_manager=", "offender_manager"},
      {"/api/v1/cases/C-1?full=1", "full"},
      {"/api/v1/meta?x=1", "x"},
  };
  for (const Bad& b : bad) {
    const HttpReply reply = h.Get(b.target);
    EXPECT_EQ(reply.status, 400) << b.target << ": " << reply.body;
    if (reply.status != 400) continue;
    EXPECT_EQ(ErrorCode(reply), "invalid_parameter") << b.target;
    EXPECT_NE(ErrorMessage(reply).find(b.named), std::string::npos)
        << b.target << " should name " << b.named << ": " << reply.body;
  }
}

// The query an engine sends its peers for a scope and grouping (ScopeQuery) reads back as the
// same scope and grouping, whatever the names hold.
TEST(HttpParameters, AScopeQueryReadsBackAsTheSameScopeAndGrouping) {
  Scope scope;
  scope.region = "North & East=1";
  scope.pdu = "Tyne + Wear/50%";
  scope.team = "Équipe #2?";
  for (const reports::GroupBy by : {reports::GroupBy::kNone, reports::GroupBy::kTeam,
                                    reports::GroupBy::kOffenderManager}) {
    const std::string query = ScopeQuery(scope, by);
    auto params = Params::Parse(query);
    ASSERT_TRUE(params) << query;
    auto back = ParseScope(params.value());
    ASSERT_TRUE(back) << query;
    EXPECT_EQ(back.value().region, scope.region) << query;
    EXPECT_EQ(back.value().pdu, scope.pdu) << query;
    EXPECT_EQ(back.value().team, scope.team) << query;
    EXPECT_EQ(back.value().offender_manager, std::nullopt) << query;
    auto grouping = ParseGroupBy(params.value(), reports::GroupBy::kRegion);
    ASSERT_TRUE(grouping) << query;
    EXPECT_EQ(grouping.value(), by == reports::GroupBy::kNone ? reports::GroupBy::kRegion : by);
  }
  EXPECT_EQ(ScopeQuery(Scope{}, reports::GroupBy::kNone), "");
}

TEST(HttpParameters, AWrongMethodIs405AndAnUnknownPath404) {
  Harness h;
  ht::HttpCall post;
  post.method = "POST";
  post.target = "/api/v1/report";
  post.headers.emplace_back("Authorization", Bearer(kInspectorToken));
  const HttpReply reply = ht::Fetch(h.port(), post);
  EXPECT_EQ(reply.status, 405) << reply.body;
  EXPECT_EQ(reply.Header("allow"), "GET");
  EXPECT_EQ(h.Get("/api/v1/nothing").status, 404);
  EXPECT_EQ(h.Get("/nothing.html", "").status, 404);
  // HEAD is GET without the body.
  ht::HttpCall head;
  head.method = "HEAD";
  head.target = "/api/v1/report";
  head.headers.emplace_back("Authorization", Bearer(kInspectorToken));
  const HttpReply headed = ht::Fetch(h.port(), head);
  EXPECT_EQ(headed.status, 200) << headed.error;
  EXPECT_EQ(headed.Header("content-length"), std::to_string(h.Expected(Scope{}).size()));
  EXPECT_TRUE(headed.body.empty());
}

TEST(HttpRouting, WhereARequestRunsIsDecidedFromItsDecodedParameters) {
  // Store reads go to the workers however their parameters are spelt; live answers stay on the
  // I/O threads.
  Api api(ApiOptions{});
  const auto blocking = [&](std::string target) {
    HttpRequest request;
    request.method = "GET";
    request.target = std::move(target);
    return api.Blocking(request);
  };
  EXPECT_TRUE(blocking("/api/v1/report?as_of=2025-01-01T00:00:00Z"));
  EXPECT_TRUE(blocking("/api/v1/report?%61s_of=2025-01-01T00:00:00Z"));
  EXPECT_TRUE(blocking("/api/v1/report?region=A&%66rom=2025-01-01"));
  EXPECT_TRUE(blocking("/api/v1/breakdown?%74o=2025-01-01"));
  EXPECT_TRUE(blocking("/api/v1/report?case%5Fitems=true"));
  EXPECT_FALSE(blocking("/api/v1/report?region=as_of%3D"));
  EXPECT_FALSE(blocking("/api/v1/report?region=North%20East"));
  EXPECT_FALSE(blocking("/healthz"));
  EXPECT_TRUE(blocking("/api/v1/worklist"));
}

// --- the tokens file ---

std::string TokenEntry(std::string_view name, std::string_view role, std::string_view sha256,
                       std::string_view extra = "") {
  return fmt::format(R"({{"name":"{}","role":"{}","sha256":"{}"{}}})", name, role, sha256, extra);
}

TEST(TokenRegistry, ParseErrorsNameTheProblem) {
  const std::string a = Sha256Hex("token-a");
  const std::string b = Sha256Hex("token-b");
  struct Bad {
    std::string json;
    std::vector<std::string> mentions;
  };
  const std::vector<Bad> bad = {
      {fmt::format(R"({{"tokens":[{}]}})", TokenEntry("ann", "admin", a)),
       {"ann", "admin", "role"}},
      {fmt::format(R"({{"tokens":[{}]}})", TokenEntry("ann", "inspector", "abc123")),
       {"ann", "sha256"}},
      {fmt::format(R"({{"tokens":[{}]}})", TokenEntry("ann", "inspector", std::string(64, 'A'))),
       {"ann", "sha256"}},
      {fmt::format(R"({{"tokens":[{}]}})", TokenEntry("ann", "viewer", a)), {"ann", "scope"}},
      {fmt::format(R"({{"tokens":[{},{}]}})", TokenEntry("ann", "inspector", a),
                   TokenEntry("ann", "publisher", b)),
       {"token 2", "ann", "name"}},
      {fmt::format(R"({{"tokens":[{},{}]}})", TokenEntry("ann", "inspector", a),
                   TokenEntry("bob", "publisher", a)),
       {"token 2", "bob", "same token"}},
      {fmt::format(R"({{"tokens":[{}]}})", TokenEntry("", "inspector", a)), {"name"}},
      {fmt::format(R"({{"tokens":[{}]}})",
                   TokenEntry("bob", "viewer", b, R"(,"pdu":"Sunderland")")),
       {"bob", "pdu", "region", "every level above"}},
      {R"({"tokens":[{"name":"ann","role":"inspector","sha256":")" + a + R"(","colour":"red"}]})",
       {"tokens.json"}},
      {"not json", {"tokens.json", "not a tokens file"}},
  };
  for (const Bad& b2 : bad) {
    auto parsed = TokenRegistry::Parse(b2.json, "tokens.json");
    ASSERT_FALSE(parsed) << b2.json;
    EXPECT_EQ(parsed.error().kind, ErrorKind::kInvalidArgument);
    for (const std::string& word : b2.mentions) {
      EXPECT_NE(parsed.error().message.find(word), std::string::npos)
          << b2.json << " -> " << parsed.error().message << " should mention " << word;
    }
  }
  auto good =
      TokenRegistry::Parse(fmt::format(R"({{"tokens":[{},{}]}})", TokenEntry("ann", "inspector", a),
                                       TokenEntry("bob", "viewer", b,
                                                  R"(,"region":"North East","pdu":"Sunderland")")),
                           "tokens.json");
  ASSERT_TRUE(good) << good.error().message;
  EXPECT_EQ(good.value().size(), 2u);
  ASSERT_NE(good.value().Find("token-b"), nullptr);
  EXPECT_EQ(good.value().Find("token-b")->name, "bob");
  EXPECT_EQ(good.value().Find("token-b")->scope.pdu, "Sunderland");
  EXPECT_EQ(good.value().Find("token-b")->scope.region, "North East");
  EXPECT_EQ(good.value().Find("token-c"), nullptr);
  EXPECT_EQ(good.value().Find(""), nullptr);
}

TEST(TokenRegistry, AddTokenStoresOnlyTheHashAndTheTokenIsFound) {
  TempDir dir;
  const auto path = dir.path() / "tokens.json";
  // Made with a permissive umask: the file is the owner's alone all the same.
  const mode_t umask_before = ::umask(0);
  auto first = AddToken(path, "ann", Role::kViewer, Scope{"North East", "Sunderland", "SUN-2", {}});
  ::umask(umask_before);
  ASSERT_TRUE(first) << first.error().message;
  auto second = AddToken(path, "bob", Role::kPublisher, Scope{});
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_NE(first.value(), second.value());
  EXPECT_TRUE(first.value().starts_with("cw_"));
  EXPECT_EQ(first.value().size(), 3u + 43u);

  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str().find(first.value()), std::string::npos) << text.str();
  EXPECT_EQ(text.str().find(first.value().substr(3)), std::string::npos);
  EXPECT_EQ(text.str().find(second.value()), std::string::npos);
  EXPECT_NE(text.str().find(Sha256Hex(first.value())), std::string::npos);
  const auto perms = std::filesystem::status(path).permissions();
  EXPECT_EQ(perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);

  auto registry = TokenRegistry::Load(path);
  ASSERT_TRUE(registry) << registry.error().message;
  const Principal* ann = registry.value().Find(first.value());
  ASSERT_NE(ann, nullptr);
  EXPECT_EQ(ann->name, "ann");
  EXPECT_EQ(ann->role, Role::kViewer);
  EXPECT_EQ(ann->scope.region, "North East");
  EXPECT_EQ(ann->scope.team, "SUN-2");
  EXPECT_EQ(ann->scope.pdu, "Sunderland");
  const Principal* bob = registry.value().Find(second.value());
  ASSERT_NE(bob, nullptr);
  EXPECT_EQ(bob->role, Role::kPublisher);

  // A viewer with no scope, or a team without its region and PDU, is refused and the file is
  // left as it was.
  EXPECT_FALSE(AddToken(path, "cat", Role::kViewer, Scope{}));
  EXPECT_FALSE(AddToken(path, "dan", Role::kViewer, Scope{{}, {}, "SUN-2", {}}));
  EXPECT_EQ(TokenRegistry::Load(path).value().size(), 2u);
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".new"));
}

}  // namespace
}  // namespace casewatch::http
