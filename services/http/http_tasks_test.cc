// The API over the stores of several tasks (docs/partitioned-group.md): an engine whose
// partitions are shared out keeps one store per partition, whose cases are disjoint. Every read
// must answer as one store of all their cases does; these tests run the same simulation into one
// store and into three, and compare the answers.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/partition_offsets.h"
#include "base/temp_dir.h"
#include "services/http/peer_client.h"
#include "services/http/testing/harness.h"

namespace casewatch::http {
namespace {

using testing::Harness;
using testing::HttpReply;
using testing::HarnessOptions;
using testing::JsonDoc;
using testing::ScopeQuery;
using testing::Str;
using testing::kPublisherToken;

constexpr size_t kTasks = 3;

HarnessOptions Split() {
  HarnessOptions options;
  options.tasks = kTasks;
  return options;
}

// Every read endpoint's answers, by target: reports now, in the past, in the future, for a period,
// a scope and with case items; breakdowns; the day-by-day and the monthly trend; the worklist;
// some case timelines and a case there is not; the engine's description.
std::vector<std::string> Targets(Harness& h, Instant now) {
  const Scope region{h.home().region, {}, {}, {}};
  const std::string before = FormatInstant(Instant{now.seconds - 45 * 86400, 0});
  const std::string after = FormatInstant(Instant{now.seconds + 10 * 86400, 0});
  std::vector<std::string> targets = {
      "/api/v1/report",
      "/api/v1/report?" + ScopeQuery(region),
      "/api/v1/report?" + ScopeQuery(h.home()),
      "/api/v1/report?case_items=true&" + ScopeQuery(region),
      "/api/v1/report?as_of=" + before,
      "/api/v1/report?as_of=" + after,
      fmt::format("/api/v1/report?from={}&to={}", FormatDate(DateOf(now) + -120),
                  FormatDate(DateOf(now) + -30)),
      "/api/v1/breakdown",
      "/api/v1/breakdown?by=team",
      "/api/v1/breakdown?by=offender_manager&" + ScopeQuery(region),
      "/api/v1/breakdown?by=pdu&as_of=" + before,
      fmt::format("/api/v1/trend?from={}", FormatDate(DateOf(now) + -10)),
      "/api/v1/trend?" + ScopeQuery(region),
      "/api/v1/trend?interval=month&months=24",
      "/api/v1/trend?interval=month&months=6&" + ScopeQuery(region),
      "/api/v1/worklist?page_size=500",
      "/api/v1/worklist?format=csv",
      "/api/v1/worklist?status=overdue&" + ScopeQuery(region),
      "/api/v1/cases/no-such-case",
      "/api/v1/meta",
  };
  const auto cases = h.CountedCases();
  for (size_t i = 0; i < cases.size(); i += cases.size() / 6 + 1) {
    targets.push_back("/api/v1/cases/" + cases[i].first);
  }
  return targets;
}

void ExpectSameAnswers(Harness& split, Harness& whole, const std::string& when) {
  ASSERT_EQ(split.CountedCases(), whole.CountedCases()) << when;
  for (const std::string& target : Targets(whole, whole.now())) {
    const HttpReply expected = whole.Get(target);
    EXPECT_EQ(expected.status, target.ends_with("no-such-case") ? 404 : 200)
        << target << "\n" << expected.body;
    const HttpReply got = split.Get(target);
    EXPECT_EQ(got.status, expected.status) << when << ": " << target << "\n" << got.body;
    EXPECT_EQ(got.body, expected.body) << when << ": " << target;
  }
}

// The cases the split puts in each task: all three have some, or the test shows nothing.
void ExpectEveryTaskHoldsCases(const Harness& split) {
  ASSERT_EQ(split.stores().size(), kTasks);
  for (size_t t = 0; t < kTasks; ++t) {
    int64_t cases = 0;
    ASSERT_TRUE(split.stores()[t]->ScanScopes(
        [&](const store::v1::ScopeCounts& counts) { cases += counts.cases(); }));
    EXPECT_GT(cases, 0) << "task " << t << " holds no counted case";
  }
}

TEST(HttpTasks, EveryReadOverTaskStoresEqualsOneStoreOfAllTheirCases) {
  Harness whole;
  Harness split(Split());
  ExpectEveryTaskHoldsCases(split);
  ExpectSameAnswers(split, whole, "as fed");

  // The counts name every task's partition, each at the records it was fed.
  const HttpReply report = split.Get("/api/v1/report");
  ASSERT_EQ(report.status, 200);
  auto offsets = ParsePartitionOffsets(report.headers.at("casewatch-offsets"));
  ASSERT_TRUE(offsets) << report.headers.at("casewatch-offsets");
  ASSERT_EQ(offsets.value().size(), kTasks);
  int64_t records = 0;
  for (const auto& [partition, next] : offsets.value()) records += next;
  EXPECT_EQ(records, static_cast<int64_t>(testing::Simulation().records.size()));

  // Days on which every task wrote: each day's trend point is theirs together.
  for (int day = 1; day <= 3; ++day) {
    const Instant next{whole.now().seconds + 86400, 0};
    whole.AdvanceTo(next);
    split.AdvanceTo(next);
  }
  ExpectSameAnswers(split, whole, "three days on");
  const HttpReply trend = split.Get("/api/v1/trend");
  JsonDoc doc(trend.body);
  EXPECT_EQ(doc["days"].get_array().size(), 4u) << trend.body;
}

// Tasks are meant to move their clocks together; when one is ahead, an answer of the live counts
// would mix instants. It is given as every task stood at the earliest instant (kept when they
// all stood there together) or, when none was kept, read from the stores as of it; and the day
// the others did not write carries their counts forward rather than dropping their cases.
TEST(HttpTasks, ATaskAheadIsReadAsOfTheEarliestAndTheOthersCountsCarryOverADayTheyDidNotWrite) {
  Harness whole;
  Harness split(Split());
  const Instant start = whole.now();
  const std::string live_then = whole.Get("/api/v1/report").body;
  const std::string breakdown_then = whole.Get("/api/v1/breakdown?by=team").body;
  const std::string trend_then = whole.Get("/api/v1/trend").body;

  constexpr int kAhead = 21;  // days: long enough for task 1's counts to change
  split.AdvanceTask(1, Instant{start.seconds + kAhead * 86400, 0});
  EXPECT_EQ(split.Get("/api/v1/report").body, live_then);
  EXPECT_EQ(split.Get("/api/v1/breakdown?by=team").body, breakdown_then);
  EXPECT_FALSE(split.view().snapshot()->one_instant);
  EXPECT_EQ(split.view().snapshot()->as_of, start);

  // Task 1's counts as it stands differ from its counts then: had the live counts been added up
  // as they are, the report would not be the one of that instant.
  reports::StoreReportRequest ahead;
  ahead.as_of = Instant{start.seconds + kAhead * 86400, 0};
  const store::StoreReader* const task_1[] = {split.stores()[1]};
  auto task_1_ahead = reports::ReportFromStores(task_1, ahead);
  ahead.as_of = start;
  auto task_1_then = reports::ReportFromStores(task_1, ahead);
  ASSERT_TRUE(task_1_ahead && task_1_then);
  ASSERT_NE(task_1_ahead.value().json.substr(task_1_ahead.value().json.find("\"cases\"")),
            task_1_then.value().json.substr(task_1_then.value().json.find("\"cases\"")));

  // Task 1 wrote days on; tasks 0 and 2 did not: that day is theirs as they last stood.
  const HttpReply trend = split.Get(
      fmt::format("/api/v1/trend?to={}", FormatDate(DateOf(start) + kAhead)));
  ASSERT_EQ(trend.status, 200) << trend.body;
  JsonDoc then(trend_then);
  JsonDoc now(trend.body);
  ASSERT_EQ(then["days"].get_array().size(), 1u) << trend_then;
  ASSERT_EQ(now["days"].get_array().size(), 2u) << trend.body;
  const int64_t cases_then = int64_t(then["days"].at(0)["cases"]);
  EXPECT_EQ(Str(now["days"].at(1)["date"]), FormatDate(DateOf(start) + kAhead));
  EXPECT_EQ(int64_t(now["days"].at(1)["cases"]), cases_then)
      << "the tasks that did not write on the day are counted as they last stood";

  // Task 0 through task 1's day to the next, then task 2 to task 1's day: the tasks never stood
  // together at the earliest instant now (task 1's and 2's), so nothing at it was kept, and the
  // report is read from the stores as of it.
  const Instant ahead_at{start.seconds + kAhead * 86400, 0};
  split.AdvanceTask(0, ahead_at);
  split.AdvanceTask(0, Instant{ahead_at.seconds + 86400, 0});
  EXPECT_EQ(split.Get("/api/v1/report").body, live_then) << "still as of the start, kept";
  split.AdvanceTask(2, ahead_at);
  EXPECT_EQ(split.view().snapshot()->as_of, ahead_at);
  EXPECT_EQ(split.view().SnapshotAt(ahead_at), nullptr);
  whole.AdvanceTo(ahead_at);
  EXPECT_EQ(split.Get("/api/v1/report").body, whole.Get("/api/v1/report").body);

  // Once the others catch up, the live counts answer again, equal to one store's.
  const Instant later{start.seconds + (kAhead + 1) * 86400, 0};
  whole.AdvanceTo(later);
  split.AdvanceTo(later);
  EXPECT_TRUE(split.view().snapshot()->one_instant);
  ExpectSameAnswers(split, whole, "caught up");
}

// A task another engine of the group was given is no longer served here: every answer leaves
// its cases out and names its partition, until the task is loaded here again.
TEST(HttpTasks, ATaskServedElsewhereIsLeftOutAndNamedUntilItIsLoadedAgain) {
  Harness whole;
  Harness split(Split());
  split.view().StopServing(1);
  const HttpReply report = split.Get("/api/v1/report");
  ASSERT_EQ(report.status, 200) << report.body;
  EXPECT_EQ(report.headers.at("casewatch-missing"), "1");
  const store::StoreReader* const served[] = {split.stores()[0], split.stores()[2]};
  auto expected = reports::ReportFromStores(served, reports::StoreReportRequest{});
  ASSERT_TRUE(expected) << expected.error().message;
  EXPECT_EQ(report.body, expected.value().json);
  auto offsets = ParsePartitionOffsets(report.headers.at("casewatch-offsets"));
  ASSERT_TRUE(offsets);
  EXPECT_EQ(offsets.value().count(1), 0u) << report.headers.at("casewatch-offsets");
  // A past report and a case of task 1 come from the tasks served here only.
  const std::string past = "/api/v1/report?as_of=" +
                           FormatInstant(Instant{split.now().seconds - 30 * 86400, 0});
  reports::StoreReportRequest then;
  then.as_of = Instant{split.now().seconds - 30 * 86400, 0};
  EXPECT_EQ(split.Get(past).body, reports::ReportFromStores(served, then).value().json);
  std::string task_1_case;
  ASSERT_TRUE(split.stores()[1]->ScanProjections(
      [&](std::string_view id, const store::v1::CaseProjection& p) {
        if (task_1_case.empty() && p.counted()) task_1_case = std::string(id);
      }));
  EXPECT_EQ(split.Get("/api/v1/cases/" + task_1_case).status, 404);
  const HttpReply worklist = split.Get("/api/v1/worklist?format=csv");
  EXPECT_EQ(worklist.body.find(task_1_case + ","), std::string::npos);
  const HttpReply readyz = split.Get("/readyz");
  EXPECT_NE(readyz.body.find("\"missing\":[1]"), std::string::npos) << readyz.body;

  // Loaded here again (the group gave it back): the answers are the whole service's again.
  ASSERT_TRUE(split.view().LoadTask(1, *split.stores()[1]));
  split.ReportStatus();
  EXPECT_EQ(split.Get("/api/v1/report").headers.count("casewatch-missing"), 0u);
  ExpectSameAnswers(split, whole, "task 1 loaded again");
}

// An engine of a group asks the engines holding the partitions it misses for their counts
// (GET /internal/v1/counts, PeerCounts) and adds them: its live report and breakdown are then
// the whole service's, name every partition's offset and the peers they came from. A peer at
// another instant, or holding a partition the engine holds too (a task moving), is not added.
TEST(HttpTasks, AnEngineAddsThePeersCountsOfThePartitionsItMissesAndAnswersForTheWhole) {
  Harness whole;
  Harness peer(Split());  // serves task 1
  peer.view().StopServing(0);
  peer.view().StopServing(2);
  Harness overlapping(Split());  // serves tasks 1 and 2
  overlapping.view().StopServing(0);
  // The engine asks `asked` for its counts within the answer's scope by its grouping, as
  // casewatchd does, and gets them changed by `alter`.
  Harness* asked = &peer;
  std::function<void(store::v1::PeerCounts&)> alter = [](store::v1::PeerCounts&) {};
  HarnessOptions options = Split();
  options.peer_counts = [&](std::span<const int32_t> missing, const Scope& scope,
                            reports::GroupBy by, Instant) {
    EXPECT_EQ(std::vector<int32_t>(missing.begin(), missing.end()), std::vector<int32_t>{1});
    const std::string query = http::ScopeQuery(scope, by);
    const HttpReply served =
        asked->Get("/internal/v1/counts" + (query.empty() ? "" : "?" + query));
    EXPECT_EQ(served.status, 200) << served.body;
    auto counts = std::make_shared<store::v1::PeerCounts>();
    EXPECT_TRUE(counts->ParseFromString(served.body));
    alter(*counts);
    return std::vector<PeerAnswer>{PeerAnswer{"http://b", "", std::move(counts)}};
  };
  Harness split(options);
  split.view().StopServing(1);
  // The peer's counts of everything: one sum, of its own partition.
  const HttpReply served = peer.Get("/internal/v1/counts");
  ASSERT_EQ(served.status, 200) << served.body;
  store::v1::PeerCounts counts;
  ASSERT_TRUE(counts.ParseFromString(served.body));
  EXPECT_EQ(counts.consumed().size(), 1u);
  EXPECT_EQ(counts.consumed().count(1), 1u);
  EXPECT_EQ(counts.scopes_size(), 1);
  ASSERT_TRUE(counts.ParseFromString(peer.Get("/internal/v1/counts?by=team").body));
  EXPECT_GT(counts.scopes_size(), 1) << "a sum per team";
  EXPECT_EQ(peer.Get("/internal/v1/counts?by=ward").status, 400);

  const HttpReply report = split.Get("/api/v1/report");
  ASSERT_EQ(report.status, 200) << report.body;
  EXPECT_EQ(report.body, whole.Get("/api/v1/report").body);
  EXPECT_EQ(report.headers.count("casewatch-missing"), 0u);
  EXPECT_EQ(report.headers.at("casewatch-peers"), "http://b");
  auto offsets = ParsePartitionOffsets(report.headers.at("casewatch-offsets"));
  ASSERT_TRUE(offsets);
  EXPECT_EQ(offsets.value().size(), kTasks) << report.headers.at("casewatch-offsets");
  for (const std::string by : {"region", "pdu", "team", "offender_manager"}) {
    EXPECT_EQ(split.Get("/api/v1/breakdown?by=" + by).body,
              whole.Get("/api/v1/breakdown?by=" + by).body)
        << by;
  }
  // A unit's report and breakdown too: its cases in the peer's partition are counted.
  const std::string unit = ScopeQuery(whole.home());
  EXPECT_EQ(split.Get("/api/v1/report?" + unit).body, whole.Get("/api/v1/report?" + unit).body);
  EXPECT_EQ(split.Get("/api/v1/breakdown?" + unit).body,
            whole.Get("/api/v1/breakdown?" + unit).body);

  // At another instant: left out, and the partition named missing.
  alter = [](store::v1::PeerCounts& c) { c.set_as_of_seconds(c.as_of_seconds() + 1); };
  const HttpReply stale = split.Get("/api/v1/report");
  EXPECT_EQ(stale.headers.at("casewatch-missing"), "1");
  EXPECT_EQ(stale.headers.count("casewatch-peers"), 0u);
  // Holding a partition this engine holds too: left out, not counted twice.
  alter = [](store::v1::PeerCounts&) {};
  asked = &overlapping;
  EXPECT_EQ(split.Get("/api/v1/report").headers.at("casewatch-missing"), "1");

  // Only a token that sees everything reads a peer's counts.
  EXPECT_EQ(peer.Get("/internal/v1/counts", testing::kViewerToken).status, 403);
  EXPECT_EQ(peer.Get("/internal/v1/counts", kPublisherToken).status, 403);
  EXPECT_EQ(peer.Get("/internal/v1/counts", "").status, 401);
}

// `peer` made to serve task 1 alone, and a group of this engine and it, as the directory lists
// them: `peer` live at its port, naming partition 1.
GroupView GroupWithPeerOfTaskOne(Harness& peer) {
  peer.view().StopServing(0);
  peer.view().StopServing(2);
  GroupView group;
  group.engines.push_back(GroupPeer{.url = "http://self", .self = true, .live = true});
  group.engines.push_back(GroupPeer{.url = fmt::format("http://127.0.0.1:{}", peer.port()),
                                    .live = true,
                                    .offsets = {{1, 0}}});
  return group;
}

// An engine missing partition 1 (`split`) that asks, through `counter`, the engine serving it
// alone (`peer`), as the directory `*asked` lists them: `group` at first, another view once a
// test points `asked` at one. `ask` sets in the options what `split` asks with `counter`.
struct SplitAskingPeerOfTaskOne {
  using Ask = std::function<void(HarnessOptions&, SplitAskingPeerOfTaskOne&)>;
  explicit SplitAskingPeerOfTaskOne(const Ask& ask) : split(OptionsAsking(ask)) {
    split.view().StopServing(1);
  }
  // An Ask: `split` asks for the peer's counts (a live report or breakdown), as casewatchd does.
  static void Counts(HarnessOptions& options, SplitAskingPeerOfTaskOne& self) {
    options.peer_counts = [&self](std::span<const int32_t> asked, const Scope& scope,
                                  reports::GroupBy by, Instant at) {
      return self.counter.Ask(*self.asked, asked, scope, by, at);
    };
  }

  Harness peer{Split()};
  const GroupView group = GroupWithPeerOfTaskOne(peer);
  const std::string url = group.engines[1].url;
  PeerCounter counter{std::string(testing::kInspectorToken), std::chrono::seconds(5)};
  const GroupView* asked = &group;
  Harness split;

 private:
  HarnessOptions OptionsAsking(const Ask& ask) {
    HarnessOptions options = Split();
    ask(options, *this);
    return options;
  }
};

// The peers' counts over real sockets (PeerCounter, as casewatchd asks them): fetched once while
// unchanged (the peer answers 304 to their ETag and the copy kept is used again), fetched again
// when they change; refused without a token that sees everything; a peer that is down or at
// https:// is left out. An engine asking through it answers for the whole.
TEST(HttpTasks, APeersCountsAreFetchedOnceWhileUnchangedAndOnlyWithATokenThatSeesEverything) {
  Harness whole;
  Harness peer(Split());
  const GroupView group = GroupWithPeerOfTaskOne(peer);
  const std::string url = group.engines[1].url;
  PeerCounter counter(std::string(testing::kInspectorToken), std::chrono::seconds(5));
  const std::vector<int32_t> missing = {1};

  const auto first = counter.Ask(group, missing, Scope{}, reports::GroupBy::kNone);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].url, url);
  EXPECT_FALSE(first[0].tag.empty());
  ASSERT_NE(first[0].counts, nullptr);
  EXPECT_EQ(first[0].counts->consumed().size(), 1u);
  const auto again = counter.Ask(group, missing, Scope{}, reports::GroupBy::kNone);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].tag, first[0].tag);
  EXPECT_EQ(again[0].counts.get(), first[0].counts.get()) << "unchanged: the copy kept (304)";
  const HttpReply unchanged = peer.SocketGet("/internal/v1/counts");
  ASSERT_EQ(unchanged.status, 200);
  EXPECT_EQ(unchanged.Header("etag"), first[0].tag);

  // An engine asking through the counter answers for the whole.
  HarnessOptions options = Split();
  options.peer_counts = [&](std::span<const int32_t> asked, const Scope& scope,
                            reports::GroupBy by,
                            Instant at) { return counter.Ask(group, asked, scope, by, at); };
  Harness split(options);
  split.view().StopServing(1);
  for (int i = 0; i < 2; ++i) {  // the second from the merge kept
    const HttpReply report = split.Get("/api/v1/report");
    EXPECT_EQ(report.body, whole.Get("/api/v1/report").body);
    EXPECT_EQ(report.Header("casewatch-peers"), url);
    EXPECT_EQ(report.Header("casewatch-missing"), "");
  }

  // A new snapshot at the peer (a task it does not serve given up again: a new version, the
  // same counts): fetched again.
  peer.view().StopServing(0);
  const auto changed = counter.Ask(group, missing, Scope{}, reports::GroupBy::kNone);
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_NE(changed[0].tag, first[0].tag);
  EXPECT_NE(changed[0].counts.get(), first[0].counts.get());
  EXPECT_EQ(split.Get("/api/v1/report").body, whole.Get("/api/v1/report").body);

  // Refused: no token, a viewer's; left out: a peer that is down, one at https://.
  EXPECT_TRUE(PeerCounter("", std::chrono::seconds(5))
                  .Ask(group, missing, Scope{}, reports::GroupBy::kNone)
                  .empty());
  EXPECT_TRUE(PeerCounter(std::string(testing::kViewerToken), std::chrono::seconds(5))
                  .Ask(group, missing, Scope{}, reports::GroupBy::kNone)
                  .empty());
  GroupView gone = group;
  gone.engines[1].url = "http://127.0.0.1:1";
  EXPECT_TRUE(counter.Ask(gone, missing, Scope{}, reports::GroupBy::kNone).empty());
  gone.engines[1].url = "https://" + url.substr(7);
  EXPECT_TRUE(counter.Ask(gone, missing, Scope{}, reports::GroupBy::kNone).empty());
}

// Engines of a group move to the next instant a moment apart (their clocks tick in whole seconds;
// here, days, so that the counts differ too). An engine whose tasks straddle an instant, or one
// a tick ahead of or behind another, still answers for the whole topic at one instant: as of the
// latest instant every engine asked kept its counts of. Two ticks apart, the other engine's
// partition is named missing rather than mixed in.
TEST(HttpTasks, EnginesATickApartAnswerForTheWholeAtTheInstantTheyShare) {
  Harness whole;
  SplitAskingPeerOfTaskOne engines(SplitAskingPeerOfTaskOne::Counts);
  Harness& split = engines.split;  // serves tasks 0 and 2
  Harness& peer = engines.peer;    // serves task 1
  const Instant start = whole.now();
  const auto day = [&](int n) { return Instant{start.seconds + n * 86400, 0}; };
  std::map<int, std::string> report_on;  // one store's live report, by day
  std::map<int, std::string> breakdown_on;
  const auto one_store_on = [&](int n) {
    whole.AdvanceTo(day(n));
    report_on[n] = whole.Get("/api/v1/report").body;
    breakdown_on[n] = whole.Get("/api/v1/breakdown?by=team").body;
  };
  one_store_on(0);
  // The whole topic's answer as of day `n`, from both engines.
  const auto expect_whole_on = [&](int n, const std::string& when) {
    const HttpReply report = split.Get("/api/v1/report");
    EXPECT_EQ(report.status, 200) << when << ": " << report.body;
    EXPECT_EQ(report.body, report_on[n]) << when;
    EXPECT_EQ(report.Header("casewatch-missing"), "") << when;
    EXPECT_EQ(report.Header("casewatch-peers"), engines.url) << when;
    EXPECT_EQ(split.Get("/api/v1/breakdown?by=team").body, breakdown_on[n]) << when;
  };
  expect_whole_on(0, "at one instant");

  split.AdvanceTask(0, day(1));
  EXPECT_FALSE(split.view().snapshot()->one_instant);
  expect_whole_on(0, "task 0 a tick ahead of task 2 and of the peer");
  split.AdvanceTask(2, day(1));
  expect_whole_on(0, "this engine a tick ahead of the peer: as of the peer's instant");

  peer.AdvanceTask(1, day(1));
  one_store_on(1);
  expect_whole_on(1, "both on the next instant");
  peer.AdvanceTask(1, day(2));
  expect_whole_on(1, "the peer a tick ahead: as of this engine's instant, which it kept");

  // Two ticks apart, neither keeps the other's instant: the peer's partition is left out and
  // named, never counted at another instant.
  peer.AdvanceTask(1, day(3));
  const HttpReply apart = split.Get("/api/v1/report");
  EXPECT_EQ(apart.status, 200) << apart.body;
  EXPECT_EQ(apart.Header("casewatch-missing"), "1");
  EXPECT_EQ(apart.Header("casewatch-peers"), "");
  JsonDoc doc(apart.body);
  EXPECT_EQ(Str(doc["as_of"]), FormatInstant(day(1)));

  // The peer's counts asked for at an instant it did not keep: its latest, at one instant.
  const HttpReply counts = peer.Get("/internal/v1/counts?as_of=" + FormatInstant(day(1)));
  ASSERT_EQ(counts.status, 200) << counts.body;
  store::v1::PeerCounts latest;
  ASSERT_TRUE(latest.ParseFromString(counts.body));
  EXPECT_EQ(latest.as_of_seconds(), day(3).seconds);
  EXPECT_TRUE(latest.one_instant());
  EXPECT_EQ(peer.Get("/internal/v1/counts?as_of=yesterday").status, 400);
}

// A live answer with the other engines' counts added is kept per scope and grouping: given again
// for the refresh interval, then given while it is made again in the background (only when asked
// for since it was made), and made at once, and waited for, when it is older than four intervals.
TEST(HttpTasks, MergedCountsAreGivenAgainForTheRefreshIntervalThenMadeAgain) {
  using std::chrono::milliseconds;
  std::atomic<int> merges{0};
  MergedCountsCache cache(
      [&](const Scope&, reports::GroupBy) {
        auto snapshot = std::make_shared<Snapshot>();
        snapshot->version = static_cast<uint64_t>(++merges);
        return MergedCounts{std::move(snapshot), {"http://peer"}};
      },
      milliseconds(300));
  const auto version = [&](const Scope& scope) {
    return cache.Get(scope, reports::GroupBy::kNone).snapshot->version;
  };
  const Scope everything;
  const Scope region{"London", {}, {}, {}};
  EXPECT_FALSE(cache.Holds(everything, reports::GroupBy::kNone)) << "never made";
  EXPECT_EQ(version(everything), 1u);
  EXPECT_TRUE(cache.Holds(everything, reports::GroupBy::kNone))
      << "kept: answered without waiting, on the thread that read the request";
  EXPECT_FALSE(cache.Holds(everything, reports::GroupBy::kTeam));
  EXPECT_EQ(version(everything), 1u) << "within the interval: given again";
  EXPECT_EQ(cache.Get(everything, reports::GroupBy::kTeam).snapshot->version, 2u)
      << "another grouping: its own";
  EXPECT_EQ(version(region), 3u) << "another scope: its own";
  std::this_thread::sleep_for(milliseconds(400));
  EXPECT_EQ(version(everything), 1u) << "older than the interval: given while made again";
  for (int i = 0; i < 100 && merges < 4; ++i) std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(merges, 4) << "made again in the background";
  EXPECT_EQ(version(everything), 4u);
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(merges, 4) << "the scopes not asked for since are not made again";
  std::this_thread::sleep_for(milliseconds(1000));
  EXPECT_FALSE(cache.Holds(everything, reports::GroupBy::kNone)) << "nearly too old to give";
  EXPECT_EQ(version(everything), 5u) << "older than four intervals: made at once";
  EXPECT_EQ(merges, 5);
}

// An engine answering with its peer's counts kept (ApiOptions::peer_refresh, as casewatchd
// does): the peer's move to the next instant shows once the answer is made again, and every
// answer until then is the whole topic's as of the instant before.
TEST(HttpTasks, AnEngineKeepingItsPeersCountsAnswersForTheWholeAtMostAFewIntervalsLate) {
  Harness whole;
  SplitAskingPeerOfTaskOne engines([](HarnessOptions& options, SplitAskingPeerOfTaskOne& self) {
    SplitAskingPeerOfTaskOne::Counts(options, self);
    options.peer_refresh = std::chrono::milliseconds(500);
  });
  const std::string then = whole.Get("/api/v1/report").body;
  const HttpReply first = engines.split.Get("/api/v1/report");
  EXPECT_EQ(first.body, then);
  EXPECT_EQ(first.Header("casewatch-peers"), engines.url);
  const Instant next{whole.now().seconds + 86400, 0};
  whole.AdvanceTo(next);
  engines.split.AdvanceTo(next);
  engines.peer.AdvanceTo(next);
  const std::string now = whole.Get("/api/v1/report").body;
  ASSERT_NE(now, then);
  EXPECT_EQ(engines.split.Get("/api/v1/report").body, then) << "given again, as it was made";
  HttpReply reply;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    reply = engines.split.Get("/api/v1/report");
    EXPECT_TRUE(reply.body == then || reply.body == now) << reply.body;
    EXPECT_EQ(reply.Header("casewatch-missing"), "");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (reply.body != now && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(reply.body, now) << "made again with the peer's counts of the next instant";
}

// An engine at https:// (casewatchd --tls-cert) is asked over TLS, and only when its
// certificate chains to the CA this engine was given (--peer-ca-file) and names the host of its
// url: its counts and open items are then added as over plain HTTP. A certificate of another CA,
// one only this machine's trust store would have to vouch for, or one for another name: the
// engine is not asked, and its partitions stay missing. A CA file with no certificate in it is
// refused, naming it.
TEST(HttpTasks, AnEngineAtHttpsIsAskedOverTlsOnlyWhenItsCertificateIsTheOneExpected) {
  TempDir keys;
  const testing::Certificate own = testing::MakeCertificate(keys.path().string(), "peer");
  const testing::Certificate other = testing::MakeCertificate(keys.path().string(), "other");
  ASSERT_EQ(own.error, "");
  ASSERT_EQ(other.error, "");
  Harness whole;
  HarnessOptions peer_options = Split();
  peer_options.server.tls_certificate = own.cert;
  peer_options.server.tls_private_key = own.key;
  Harness peer(peer_options);
  GroupView group = GroupWithPeerOfTaskOne(peer);
  group.engines[1].url = fmt::format("https://127.0.0.1:{}", peer.port());
  const std::vector<int32_t> missing = {1};
  const std::string token(testing::kInspectorToken);
  auto trusting = PeerCounter::Open(token, std::chrono::seconds(5), own.cert);
  ASSERT_TRUE(trusting) << trusting.error().message;
  const auto answers = trusting.value()->Ask(group, missing, Scope{}, reports::GroupBy::kNone);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].url, group.engines[1].url);
  ASSERT_NE(answers[0].counts, nullptr);
  EXPECT_EQ(answers[0].counts->consumed().size(), 1u);

  // An engine asking through it answers for the whole.
  HarnessOptions options = Split();
  PeerCounter& counter = *trusting.value();
  options.peer_counts = [&](std::span<const int32_t> asked, const Scope& scope,
                            reports::GroupBy by,
                            Instant at) { return counter.Ask(group, asked, scope, by, at); };
  options.peer_worklist = [&](std::span<const int32_t> asked, std::string_view query) {
    return counter.Worklist(group, asked, query);
  };
  Harness split(options);
  split.view().StopServing(1);
  const HttpReply report = split.Get("/api/v1/report");
  EXPECT_EQ(report.body, whole.Get("/api/v1/report").body);
  EXPECT_EQ(report.Header("casewatch-peers"), group.engines[1].url);
  EXPECT_EQ(report.Header("casewatch-missing"), "");
  const HttpReply worklist = split.Get("/api/v1/worklist?page_size=50");
  EXPECT_EQ(worklist.body, whole.Get("/api/v1/worklist?page_size=50").body);
  EXPECT_EQ(worklist.Header("casewatch-missing"), "");

  // Not the certificate expected: not asked.
  auto distrusting = PeerCounter::Open(token, std::chrono::seconds(5), other.cert);
  ASSERT_TRUE(distrusting) << distrusting.error().message;
  EXPECT_TRUE(distrusting.value()->Ask(group, missing, Scope{}, reports::GroupBy::kNone).empty());
  EXPECT_TRUE(PeerCounter(token, std::chrono::seconds(5))
                  .Ask(group, missing, Scope{}, reports::GroupBy::kNone)
                  .empty())
      << "a self-signed certificate the trust store does not hold";
  GroupView renamed = group;
  renamed.engines[1].url = fmt::format("https://localhost:{}", peer.port());
  EXPECT_TRUE(counter.Ask(renamed, missing, Scope{}, reports::GroupBy::kNone).empty())
      << "a certificate for 127.0.0.1, asked for as localhost";

  const std::string empty = (keys.path() / "empty.pem").string();
  std::ofstream(empty) << "not a certificate\n";
  auto refused = PeerCounter::Open(token, std::chrono::seconds(5), empty);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("--peer-ca-file " + empty), std::string::npos)
      << refused.error().message;
}

// A live stream from an engine missing a partition sends the report with the counts of the
// engine holding it added, as a live report is: the first report, and each one after a write
// here (which would otherwise send this engine's counts alone).
TEST(HttpTasks, AStreamsReportAddsTheCountsOfTheEngineHoldingTheOtherPartitions) {
  Harness whole;
  Harness peer(Split());
  const GroupView group = GroupWithPeerOfTaskOne(peer);
  PeerCounter counter(std::string(testing::kInspectorToken), std::chrono::seconds(5));
  HarnessOptions options = Split();
  options.peer_counts = [&](std::span<const int32_t> asked, const Scope& scope,
                            reports::GroupBy by,
                            Instant at) { return counter.Ask(group, asked, scope, by, at); };
  Harness split(options);
  split.view().StopServing(1);
  const Scope region{split.home().region, {}, {}, {}};
  const std::string everything = whole.Get("/api/v1/report").body;
  const std::string home = whole.Get("/api/v1/report?" + ScopeQuery(region)).body;
  ASSERT_NE(everything, peer.Get("/api/v1/report").body);
  using Events = std::vector<testing::EventStreamReader::Event>;
  const auto reports_of = [](const Events& events) {
    std::vector<std::string> reports;
    for (const auto& e : events) {
      if (e.type == "report") reports.push_back(e.data);
    }
    return reports;
  };
  testing::EventStreamReader all_stream(
      split.port(), "/api/v1/stream",
      {{"Authorization", testing::Bearer(testing::kInspectorToken)}});
  testing::EventStreamReader home_stream(
      split.port(), "/api/v1/stream", {{"Authorization", testing::Bearer(testing::kViewerToken)}});
  for (auto* stream : {&all_stream, &home_stream}) {
    ASSERT_TRUE(stream->WaitFor([&](const Events& e) { return !reports_of(e).empty(); }));
  }
  // A write here at the same instant: the stream looks again; its report is still the whole's.
  engine::CommitInfo info;
  info.as_of = *split.view().snapshot()->as_of;
  const std::map<int32_t, int64_t> consumed = split.view().snapshot()->consumed;
  info.consumed = &consumed;
  split.view().OnCommit(info, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  for (const auto& [stream, expected] :
       {std::pair{&all_stream, &everything}, std::pair{&home_stream, &home}}) {
    const std::vector<std::string> sent = reports_of(stream->events());
    ASSERT_FALSE(sent.empty());
    std::string want = *expected;
    while (!want.empty() && want.back() == '\n') want.pop_back();
    for (const std::string& report : sent) EXPECT_EQ(report, want);
  }
}

// A worklist from an engine missing a partition merges in the open items of the engine holding
// it (GET /internal/v1/worklist, over real sockets): every page, filter and the CSV export equal
// one store's of every case, naming the peer; a peer that does not answer leaves its partition
// named missing; the internal route answers only a token with no scope, and checks its limit.
TEST(HttpTasks, AWorklistMergesTheOpenItemsOfTheEngineHoldingTheOtherPartitions) {
  Harness whole;
  SplitAskingPeerOfTaskOne engines([](HarnessOptions& options, SplitAskingPeerOfTaskOne& e) {
    options.peer_worklist = [&e](std::span<const int32_t> missing, std::string_view query) {
      return e.counter.Worklist(*e.asked, missing, query);
    };
  });
  Harness& peer = engines.peer;
  Harness& split = engines.split;
  const std::string& url = engines.url;
  const Scope region{split.home().region, {}, {}, {}};
  const std::vector<std::string> targets = {
      "/api/v1/worklist",
      "/api/v1/worklist?page_size=7&page=3",
      "/api/v1/worklist?page_size=500",
      "/api/v1/worklist?group=overdue&page_size=20",
      "/api/v1/worklist?group=long_overdue&page=2&page_size=5",
      "/api/v1/worklist?status=pending&rosh=high,very_high",
      "/api/v1/worklist?indicator=" + std::string(kIndicators[0].id),
      "/api/v1/worklist?status=overdue&" + ScopeQuery(region),
      "/api/v1/worklist?format=csv",
      "/api/v1/worklist?format=csv&group=due_this_week&" + ScopeQuery(region),
  };
  int with_items_elsewhere = 0;
  for (const std::string& target : targets) {
    const HttpReply expected = whole.Get(target);
    const HttpReply got = split.Get(target);
    ASSERT_EQ(got.status, 200) << target << " " << got.body;
    EXPECT_EQ(got.body, expected.body) << target;
    EXPECT_EQ(got.Header("casewatch-peers"), url) << target;
    EXPECT_EQ(got.Header("casewatch-missing"), "") << target;
    // The peer's own items alone differ from the whole: the merge is what makes them equal.
    if (peer.Get(target).body != expected.body) ++with_items_elsewhere;
  }
  EXPECT_GT(with_items_elsewhere, 5);
  // A viewer's worklist (the viewer token's scope is `split`'s home region): its region's items
  // from both engines.
  EXPECT_EQ(split.Get("/api/v1/worklist?page_size=50", testing::kViewerToken).body,
            whole.Get("/api/v1/worklist?page_size=50&" + ScopeQuery(region)).body);

  // The peer down: its partition named missing, the items here alone.
  GroupView gone = engines.group;
  gone.engines[1].url = "http://127.0.0.1:1";
  engines.asked = &gone;
  const HttpReply partial = split.Get("/api/v1/worklist");
  EXPECT_EQ(partial.status, 200);
  EXPECT_EQ(partial.Header("casewatch-missing"), "1");
  EXPECT_EQ(partial.Header("casewatch-peers"), "");
  EXPECT_NE(partial.body, whole.Get("/api/v1/worklist").body);

  // The internal route.
  EXPECT_EQ(peer.Get("/internal/v1/worklist?limit=3").status, 200);
  EXPECT_EQ(peer.Get("/internal/v1/worklist", testing::kViewerToken).status, 403);
  EXPECT_EQ(peer.Get("/internal/v1/worklist", "").status, 401);
  for (const char* bad : {"limit=0", "limit=x", "group=soon", "page=2"}) {
    const HttpReply refused = peer.Get(std::string("/internal/v1/worklist?") + bad);
    EXPECT_EQ(refused.status, 400) << bad << " " << refused.body;
  }
}

// A trend from an engine missing a partition adds, day by day or month by month, the counts of
// the engine holding it (GET /internal/v1/trend, over real sockets): equal to one store's,
// naming the peer; a peer that does not answer leaves its partition named missing; the internal
// route answers only a token with no scope, and names what is wrong with a request.
TEST(HttpTasks, ATrendAddsTheDaysAndMonthsOfTheEngineHoldingTheOtherPartitions) {
  Harness whole;
  SplitAskingPeerOfTaskOne engines([](HarnessOptions& options, SplitAskingPeerOfTaskOne& e) {
    options.peer_trend = [&e](std::span<const int32_t> missing, std::string_view query) {
      return e.counter.Trend(*e.asked, missing, query);
    };
  });
  Harness& peer = engines.peer;
  Harness& split = engines.split;
  const std::string& url = engines.url;
  const Scope region{split.home().region, {}, {}, {}};
  const Date today = DateOf(whole.now());
  const std::vector<std::string> targets = {
      "/api/v1/trend",
      fmt::format("/api/v1/trend?from={}&to={}", FormatDate(today + -400), FormatDate(today)),
      "/api/v1/trend?" + ScopeQuery(region),
      "/api/v1/trend?interval=month&months=24",
      "/api/v1/trend?interval=month&months=120",
      "/api/v1/trend?interval=month&months=6&" + ScopeQuery(region),
  };
  for (const std::string& target : targets) {
    const HttpReply expected = whole.Get(target);
    const HttpReply got = split.Get(target);
    ASSERT_EQ(got.status, 200) << target << " " << got.body;
    EXPECT_EQ(got.body, expected.body) << target;
    EXPECT_EQ(got.Header("casewatch-peers"), url) << target;
    EXPECT_EQ(got.Header("casewatch-missing"), "") << target;
    EXPECT_NE(peer.Get(target).body, expected.body) << target << ": the peer's alone differ";
  }

  // Days recorded by one engine and not the other: on each, the other's counts as they last
  // stood, as one engine of all three tasks gives them. The peer's task 1 writes 21 days on,
  // this engine's task 0 ten days on.
  Harness one_engine(Split());
  const Instant start = whole.now();
  const Instant ten_on{start.seconds + 10 * 86400, 0};
  const Instant three_weeks_on{start.seconds + 21 * 86400, 0};
  one_engine.AdvanceTask(0, ten_on);
  one_engine.AdvanceTask(1, three_weeks_on);
  split.AdvanceTask(0, ten_on);
  peer.AdvanceTask(1, three_weeks_on);
  const std::string days_on =
      fmt::format("/api/v1/trend?to={}", FormatDate(DateOf(three_weeks_on)));
  const HttpReply expected_days = one_engine.Get(days_on);
  ASSERT_EQ(JsonDoc(expected_days.body)["days"].get_array().size(), 3u) << expected_days.body;
  const HttpReply merged_days = split.Get(days_on);
  EXPECT_EQ(merged_days.body, expected_days.body);
  EXPECT_EQ(merged_days.Header("casewatch-peers"), url);

  // The peer down: its partition named missing, the counts here alone.
  GroupView gone = engines.group;
  gone.engines[1].url = "http://127.0.0.1:1";
  engines.asked = &gone;
  for (const std::string& target : {targets[0], targets[3]}) {
    const HttpReply partial = split.Get(target);
    EXPECT_EQ(partial.status, 200) << target;
    EXPECT_EQ(partial.Header("casewatch-missing"), "1") << target;
    EXPECT_NE(partial.body, whole.Get(target).body) << target;
  }

  // The internal route.
  EXPECT_EQ(peer.Get("/internal/v1/trend?interval=month").status, 200);
  EXPECT_EQ(peer.Get("/internal/v1/trend?interval=month", testing::kViewerToken).status, 403);
  EXPECT_EQ(peer.Get("/internal/v1/trend?interval=month", "").status, 401);
  for (const char* bad : {"", "interval=week", "interval=day", "interval=day&from=2022-01-05",
                          "interval=day&from=2022-01-05&to=2022-01-01", "interval=month&x=1"}) {
    const HttpReply refused = peer.Get(std::string("/internal/v1/trend?") + bad);
    EXPECT_EQ(refused.status, 400) << bad << " " << refused.body;
  }
}

// A partition whose owner cannot answer (killed, not yet given to another engine) is counted
// from a copy another engine's standby keeps (GET /internal/v1/counts?partitions=), over real
// sockets, or from this engine's own copy: the answer is the whole one, and names the partitions
// read from a copy (Casewatch-Copies). A copy is asked for only when the owner does not answer.
// A case timeline of such a partition is read from a copy the same way.
TEST(HttpTasks, APartitionWhoseOwnerCannotAnswerIsCountedFromACopy) {
  Harness whole;
  Harness keeper(Split());  // serves nothing; keeps a copy of task 1
  for (size_t t = 0; t < kTasks; ++t) keeper.view().StopServing(t);
  keeper.view().SetStandby(1, true);
  ASSERT_TRUE(keeper.view().LoadCopy(1, *keeper.stores()[1]));
  const std::string keeper_url = fmt::format("http://127.0.0.1:{}", keeper.port());
  GroupView group;
  group.engines.push_back(GroupPeer{.url = "http://self", .self = true, .live = true});
  // The owner of partition 1: still listed live, but nothing listens there.
  group.engines.push_back(GroupPeer{.url = "http://127.0.0.1:1", .live = true,
                                    .offsets = {{1, 0}}});
  group.engines.push_back(GroupPeer{.url = keeper_url, .live = true, .standby = {1}});
  PeerCounter counter(std::string(testing::kInspectorToken), std::chrono::seconds(5));
  const std::vector<int32_t> missing = {1};

  const auto first = counter.Ask(group, missing, Scope{}, reports::GroupBy::kNone);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].url, keeper_url);
  EXPECT_TRUE(first[0].copy);
  ASSERT_NE(first[0].counts, nullptr);
  ASSERT_EQ(first[0].counts->consumed().size(), 1u);
  EXPECT_EQ(first[0].counts->consumed().begin()->first, 1);
  const auto again = counter.Ask(group, missing, Scope{}, reports::GroupBy::kNone);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].counts.get(), first[0].counts.get()) << "unchanged: the copy kept (304)";

  HarnessOptions options = Split();
  options.peer_counts = [&](std::span<const int32_t> asked, const Scope& scope,
                            reports::GroupBy by,
                            Instant at) { return counter.Ask(group, asked, scope, by, at); };
  options.peer_case = [&](std::span<const int32_t> asked, std::string_view id,
                          std::string_view query) {
    return counter.FindCase(group, asked, id, query);
  };
  Harness split(options);
  split.view().StopServing(1);
  const Scope region{split.home().region, {}, {}, {}};
  // A case of partition 1: its timeline from the copy, naming it.
  std::string in_copy;
  for (const auto& [id, allocation] : whole.CountedCases()) {
    auto held = keeper.stores()[1]->ReadProjection(id);
    ASSERT_TRUE(held);
    if (held.value()) {
      in_copy = id;
      break;
    }
  }
  ASSERT_FALSE(in_copy.empty());
  const std::string timeline = "/api/v1/cases/" + in_copy + "?page_size=5";
  const HttpReply expected_timeline = whole.Get(timeline);
  const HttpReply routed = split.Get(timeline);
  ASSERT_EQ(routed.status, 200) << routed.body;
  EXPECT_EQ(routed.body, expected_timeline.body);
  EXPECT_EQ(routed.Header("casewatch-peers"), keeper_url);
  EXPECT_EQ(routed.Header("casewatch-copies"), "1");
  EXPECT_EQ(split.Get("/api/v1/cases/no-such-case").status, 404);
  EXPECT_EQ(keeper.Get("/internal/v1/cases/" + in_copy).status, 404) << "not served there";
  EXPECT_EQ(keeper.Get("/internal/v1/cases/" + in_copy + "?copies=true").status, 200);
  EXPECT_EQ(split.Get("/api/v1/cases/" + in_copy + "?copies=true").status, 400)
      << "an internal parameter";
  for (const std::string& target : {std::string("/api/v1/report"),
                                    "/api/v1/report?" + ScopeQuery(region),
                                    std::string("/api/v1/breakdown?by=team")}) {
    const HttpReply report = split.Get(target);
    ASSERT_EQ(report.status, 200) << target << " " << report.body;
    EXPECT_EQ(report.body, whole.Get(target).body) << target;
    EXPECT_EQ(report.Header("casewatch-copies"), "1") << target;
    EXPECT_EQ(report.Header("casewatch-peers"), keeper_url) << target;
    EXPECT_EQ(report.Header("casewatch-missing"), "") << target;
  }

  // The owner answers: its counts, and no copy asked for.
  Harness owner(Split());
  owner.view().StopServing(0);
  owner.view().StopServing(2);
  GroupView alive = group;
  alive.engines[1].url = fmt::format("http://127.0.0.1:{}", owner.port());
  const auto owned = counter.Ask(alive, missing, Scope{}, reports::GroupBy::kNone);
  ASSERT_EQ(owned.size(), 1u);
  EXPECT_EQ(owned[0].url, alive.engines[1].url);
  EXPECT_FALSE(owned[0].copy);

  // No engine answers for it, but this one keeps a copy: counted from it, no peer named.
  Harness alone(Split());
  alone.view().StopServing(1);
  EXPECT_EQ(alone.Get("/api/v1/report").Header("casewatch-missing"), "1");
  alone.view().SetStandby(1, true);
  ASSERT_TRUE(alone.view().LoadCopy(1, *alone.stores()[1]));
  const HttpReply from_copy = alone.Get("/api/v1/report");
  EXPECT_EQ(from_copy.body, whole.Get("/api/v1/report").body);
  EXPECT_EQ(from_copy.Header("casewatch-copies"), "1");
  EXPECT_EQ(from_copy.Header("casewatch-missing"), "");
  EXPECT_EQ(from_copy.Header("casewatch-peers"), "");
  const HttpReply local_timeline = alone.Get(timeline);
  EXPECT_EQ(local_timeline.body, expected_timeline.body);
  EXPECT_EQ(local_timeline.Header("casewatch-copies"), "1");
  // A copy's writes change its counts and offsets alone, never the answers' own.
  const auto copy = alone.view().Copies(missing);
  ASSERT_EQ(copy.size(), 1u);
  ASSERT_FALSE(copy[0]->scopes.empty());
  const uint64_t served_version = alone.view().snapshot()->version;
  store::v1::ScopeCounts changed = *copy[0]->scopes.front();
  changed.set_cases(changed.cases() + 5);
  const std::map<int32_t, int64_t> consumed = {{1, 12345}};
  engine::CommitInfo info;
  info.as_of = *copy[0]->as_of;
  info.scopes = {&changed};
  info.consumed = &consumed;
  alone.view().OnCopyCommit(info, 1);
  const auto written = alone.view().Copies(missing);
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0]->version, copy[0]->version + 1);
  EXPECT_EQ(written[0]->consumed, consumed);
  EXPECT_EQ(written[0]->scopes.size(), copy[0]->scopes.size());
  EXPECT_EQ(CasesIn(*written[0], Scope{}), CasesIn(*copy[0], Scope{}) + 5);
  EXPECT_EQ(alone.view().snapshot()->version, served_version);
  const std::string offsets = alone.Get("/api/v1/report").Header("casewatch-offsets");
  EXPECT_NE(offsets.find(",1:12345,"), std::string::npos) << offsets;
  // The copy given up: the partition is missing again.
  alone.view().SetStandby(1, false);
  EXPECT_TRUE(alone.view().Copies(missing).empty());
  EXPECT_EQ(alone.Get("/api/v1/report").Header("casewatch-missing"), "1");

  // The internal route: the copies named, or why not.
  EXPECT_EQ(keeper.Get("/internal/v1/counts?partitions=1").status, 200);
  const HttpReply none = keeper.Get("/internal/v1/counts?partitions=0,2");
  EXPECT_EQ(none.status, 404);
  EXPECT_NE(none.body.find("no copy of partitions 0,2"), std::string::npos) << none.body;
  for (const char* bad : {"x", "1,1", "", "1,", "-1"}) {
    const HttpReply refused = keeper.Get(std::string("/internal/v1/counts?partitions=") + bad);
    EXPECT_EQ(refused.status, 400) << bad;
    EXPECT_NE(refused.body.find("partitions"), std::string::npos) << refused.body;
  }
}

// A case's timeline from the engine holding it, over real sockets (PeerCounter::FindCase, as
// casewatchd asks): an engine that misses the case's partition answers as one store of every case
// does, naming the engine it asked (Casewatch-Peers); a viewer gets a case of another unit as
// 404 all the same, and a case no engine has is 404; both engines audit each access, each under
// its own caller's name; the internal route is refused to a token with a scope.
TEST(HttpTasks, ACaseAnotherEngineHoldsIsAnsweredFromItWithinTheCallersScope) {
  Harness whole;
  HarnessOptions peer_options = Split();
  // Its peer token's requests are not rate limited: they are every caller's of the asking engine
  // (more than the 200 a caller may make at once).
  peer_options.peer_token = testing::kInspectorToken;
  peer_options.server.rate_per_second = 100;  // casewatchd's defaults
  peer_options.server.rate_burst = 200;
  Harness peer(peer_options);
  const GroupView group = GroupWithPeerOfTaskOne(peer);
  const std::string url = group.engines[1].url;
  PeerCounter counter(std::string(testing::kInspectorToken), std::chrono::seconds(5));
  HarnessOptions options = Split();
  options.peer_case = [&](std::span<const int32_t> missing, std::string_view id,
                          std::string_view query) {
    return counter.FindCase(group, missing, id, query);
  };
  Harness split(options);
  split.view().StopServing(1);

  int routed = 0;
  std::string one_elsewhere;
  int viewer_seen = 0;
  int viewer_refused = 0;
  const Scope viewer_scope{split.home().region, {}, {}, {}};  // the viewer token's, in `split`
  for (const auto& [id, allocation] : whole.CountedCases()) {
    auto held = peer.stores()[1]->ReadProjection(id);
    ASSERT_TRUE(held);
    const bool elsewhere = held.value().has_value();
    const std::string target = "/api/v1/cases/" + id + "?page_size=7&items_page=2";
    const HttpReply expected = whole.Get(target);
    const HttpReply got = split.Get(target);
    ASSERT_EQ(got.status, 200) << id << " " << got.body;
    EXPECT_EQ(got.body, expected.body) << id;
    EXPECT_EQ(got.Header("casewatch-peers"), elsewhere ? url : "") << id;
    routed += elsewhere ? 1 : 0;
    if (!elsewhere) continue;
    if (one_elsewhere.empty()) one_elsewhere = id;
    // A viewer of one region: its cases, and none of another region's.
    const HttpReply viewer = split.Get(target, testing::kViewerToken);
    if (viewer_scope.Matches(allocation)) {
      ++viewer_seen;
      EXPECT_EQ(viewer.status, 200) << id;
      EXPECT_EQ(viewer.body, expected.body) << id;
    } else {
      ++viewer_refused;
      EXPECT_EQ(viewer.status, 404) << id << " " << viewer.body;
      EXPECT_EQ(viewer.body.find(id + "\",\"as_of"), std::string::npos) << viewer.body;
    }
  }
  EXPECT_GT(routed, 0);
  EXPECT_GT(viewer_seen, 0);
  EXPECT_GT(viewer_refused, 0);
  EXPECT_EQ(split.Get("/api/v1/cases/no-such-case").status, 404);
  // More in a row than a caller may make at once (a burst of 200): the peer token is not held
  // back, since it asks for every caller of the asking engine.
  const std::vector<int32_t> missing = {1};
  for (int i = 0; i < 400; ++i) {
    ASSERT_TRUE(counter.FindCase(group, missing, one_elsewhere, "")) << "request " << i;
  }

  // Each engine audits: this one the viewer, the peer its peer token.
  const auto read = [](const std::filesystem::path& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string here = read(split.audit_path());
  const std::string there = read(peer.audit_path());
  EXPECT_NE(here.find("north-viewer"), std::string::npos) << here;
  EXPECT_EQ(there.find("north-viewer"), std::string::npos) << there;
  EXPECT_NE(there.find("inspector"), std::string::npos) << there;

  // The internal route: only to a token that sees every unit.
  const std::string some = whole.CountedCases().front().first;
  EXPECT_EQ(peer.Get("/internal/v1/cases/" + some, testing::kViewerToken).status, 403);
  EXPECT_EQ(peer.Get("/internal/v1/cases/" + some, "").status, 401);
}

// A task whose copy the engine keeps for another engine (a standby, casewatchd
// --standby-replicas): /readyz lists it with its copy's lag, apart from the partitions it serves;
// it is named missing from the answers, and its lag neither adds to the engine's nor holds back
// its readiness. Taken over (served again), it leaves the list.
TEST(HttpTasks, ACopyKeptForAnotherEngineIsListedInReadyzNotServedAndNotAwaited) {
  Harness split(Split());
  split.view().StopServing(2);
  split.view().SetStandby(2, true);
  engine::EngineStatus copy;
  copy.lag = 40;
  copy.partitions = {{2, 40}};
  split.view().OnStatus(copy, 2);
  const HttpReply ready = split.Get("/readyz", "");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_NE(ready.body.find(R"("lag":0,)"), std::string::npos) << ready.body;
  EXPECT_NE(ready.body.find(R"("missing":[2],"standby":[{"partition":2,"lag":40}]})"),
            std::string::npos)
      << ready.body;
  EXPECT_EQ(split.Get("/api/v1/report").Header("casewatch-missing"), "2");

  // Taken over: served, no longer a copy.
  ASSERT_TRUE(split.view().LoadTask(2, *split.stores()[2]));
  split.view().SetStandby(2, false);
  split.ReportStatus();
  const HttpReply served = split.Get("/readyz", "");
  EXPECT_EQ(served.body.find("standby"), std::string::npos) << served.body;
  EXPECT_EQ(served.body.find("missing"), std::string::npos) << served.body;
}

// casewatchd --tasks (Load with `partitions`): task N is partition N, and every answer names every
// partition, held or missing. A task served with nothing consumed yet (a new or wiped store) is
// named at offset 0, not left out of both; one engine's store with nothing consumed names none.
TEST(HttpTasks, ATaskServedWithNothingConsumedYetIsNamedAtOffsetZero) {
  TempDir dir;
  std::vector<std::unique_ptr<store::Store>> stores;
  std::vector<const store::StoreReader*> readers;
  for (int t = 0; t < 3; ++t) {
    auto opened = store::Store::Open(dir.path() / fmt::format("p{}", t));
    ASSERT_TRUE(opened) << opened.error().message;
    stores.push_back(std::move(opened).value());
    readers.push_back(stores.back().get());
  }
  LiveView tasks(Policy{});
  ASSERT_TRUE(tasks.Load(readers, "case-events", /*partitions=*/true));
  EXPECT_EQ(tasks.snapshot()->consumed, (std::map<int32_t, int64_t>{{0, 0}, {1, 0}, {2, 0}}));
  tasks.StopServing(1);
  EXPECT_EQ(tasks.snapshot()->consumed, (std::map<int32_t, int64_t>{{0, 0}, {2, 0}}));
  EXPECT_EQ(tasks.snapshot()->missing, std::vector<int32_t>{1});
  LiveView one(Policy{});
  ASSERT_TRUE(one.Load(*readers[0], "case-events"));
  EXPECT_TRUE(one.snapshot()->consumed.empty());
}

// An event id is unique across cases, whichever task's store holds it: one sent again is a
// duplicate, one sent again with other content a conflict, wherever the first was stored.
TEST(HttpTasks, AnIdAnotherTasksStoreHoldsIsADuplicateOrAConflict) {
  HarnessOptions options = Split();
  options.kafka = true;
  Harness h(options);
  const Instant now = h.now();
  const Instant opened{now.seconds - 7200, 0};
  const std::string stored = testing::EnvelopeJson("e-task-2", "C-TASK-2", opened,
                                                   h.HomeAllocation());
  h.Apply({testing::EnvelopeBytes(stored)}, now, 2);
  const std::string other = testing::EnvelopeJson("e-task-2", "C-ELSEWHERE",
                                                  Instant{opened.seconds + 60, 0},
                                                  h.HomeAllocation());
  const HttpReply reply = h.Post("/api/v1/events", stored + "\n" + other + "\n", kPublisherToken);
  ASSERT_EQ(reply.status, 200) << reply.body;
  JsonDoc doc(reply.body);
  EXPECT_EQ(int64_t(doc["accepted"]), 0) << reply.body;
  EXPECT_EQ(int64_t(doc["duplicates"]), 1) << reply.body;
  EXPECT_EQ(int64_t(doc["conflicts"]), 1) << reply.body;
}

}  // namespace
}  // namespace casewatch::http
