// Inspections of simulated services: the reports equal replays of the same events (the scope's,
// the earlier inspection's, the other policy's, the sample's), the deltas are the differences of
// those replays, the sample is fixed by its seed and keeps to its criteria, and an engine's store
// gives the same inspection as the event file.
#include "services/inspection/inspection.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/temp_dir.h"
#include "casewatch/events/v1/events.pb.h"
#include "services/engine/engine.h"
#include "services/engine/id_claims.h"
#include "services/engine/testing/simulated_stream.h"
#include "services/inspection/report_json.h"
#include "services/inspection/source.h"

namespace casewatch::inspection {
namespace {

using reports::StoreReportRequest;
using engine::testing::Replay;
using engine::testing::SimulatedStream;

constexpr int64_t kDay = 86400;

// One simulated service for every test here (600 cases over 30 months).
const SimulatedStream& Service() {
  static const SimulatedStream* stream =
      new SimulatedStream(engine::testing::Simulate(600, 30, 17));
  return *stream;
}

Instant AsOf() { return Instant{Service().end.seconds - 45 * kDay, 0}; }

std::string WriteFile(const TempDir& dir, const std::string& name, const std::string& bytes) {
  const std::string path = (dir.path() / name).string();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  return path;
}

// A record in the length-delimited file form.
std::string Delimited(const std::string& record) {
  std::string out;
  uint64_t size = record.size();
  do {
    out += static_cast<char>((size & 0x7f) | (size > 0x7f ? 0x80 : 0));
    size >>= 7;
  } while (size > 0);
  return out + record;
}

InspectionRequest BaseRequest() {
  InspectionRequest request;
  request.as_of = AsOf();
  request.period = Period{DateOf(AsOf()) + -364, DateOf(AsOf())};
  request.sample.size = 30;
  request.sample.seed = 5;
  request.sample.min_supervised_days = 200;
  request.sample.started_to = DateOf(AsOf()) + -200;
  request.sample.started_from = request.sample.started_to + -300;
  return request;
}

Policy StrictHomeVisits() {
  Policy strict;
  strict.name = "strict-home-visits";
  strict.home_visit_repeat_days = 42;
  strict.home_visit_initial_wd = 5;
  return strict;
}

Inspection InspectFile(const TempDir& dir, InspectionRequest request,
                       const std::string& bytes = Service().file_bytes) {
  const std::string path = WriteFile(dir, "events.bin", bytes);
  Progress quiet(Progress::Mode::kNone);
  auto inspection = InspectEventFile(path, ingest::FileFormat::kBinary, std::move(request), quiet);
  EXPECT_TRUE(inspection) << inspection.error().message;
  return std::move(inspection).value();
}

StoreReportRequest ReplayRequest(const Period& period, std::optional<Policy> policy = {}) {
  StoreReportRequest r;
  r.from = period.from;
  r.to = period.to;
  r.policy = std::move(policy);
  return r;
}

std::string Json(const Report& report) { return RenderReportJson(report, nullptr); }

TEST(Inspection, ReportsAndDeltasEqualReplaysOfTheSameEvents) {
  TempDir dir;
  InspectionRequest request = BaseRequest();
  const Instant earlier{AsOf().seconds - 365 * kDay, 0};
  request.compare_as_of = earlier;
  request.compare_policy = StrictHomeVisits();
  const Inspection in = InspectFile(dir, request);
  const std::string& bytes = Service().file_bytes;

  EXPECT_EQ(Json(in.report), Replay(dir, bytes, ReplayRequest(request.period), AsOf()));
  ASSERT_EQ(in.comparisons.size(), 2u);

  // The earlier inspection: its period moved back a year; deltas are now minus then.
  const Comparison& progress = in.comparisons[0];
  EXPECT_EQ(progress.kind, Comparison::Kind::kEarlierInspection);
  const Period then = ComparisonPeriod(request.period, AsOf(), earlier);
  EXPECT_EQ(*then.from, *request.period.from + -365);
  EXPECT_EQ(Json(progress.baseline), Replay(dir, bytes, ReplayRequest(then), earlier));
  int deltas = 0;
  for (int i = 0; i < kIndicatorCount; ++i) {
    const auto& now = in.report.indicators[i].score;
    const auto& before = progress.baseline.indicators[i].score;
    ASSERT_EQ(progress.indicator_delta[i].has_value(), now && before) << kIndicators[i].id;
    if (!progress.indicator_delta[i]) continue;
    EXPECT_DOUBLE_EQ(*progress.indicator_delta[i], *now - *before) << kIndicators[i].id;
    ++deltas;
  }
  EXPECT_GE(deltas, 15);
  for (int o = 0; o < kOutcomeCount; ++o) {
    ASSERT_TRUE(progress.outcome_delta[o]);
    EXPECT_DOUBLE_EQ(*progress.outcome_delta[o],
                     *in.report.outcomes[o].score - *progress.baseline.outcomes[o].score);
  }

  // The stricter policy: its report is a replay under it; deltas are under it minus under ours,
  // and the verdict shifts account for every change in relevant cases.
  const Comparison& what_if = in.comparisons[1];
  EXPECT_EQ(what_if.kind, Comparison::Kind::kOtherPolicy);
  EXPECT_EQ(Json(what_if.baseline),
            Replay(dir, bytes, ReplayRequest(request.period, StrictHomeVisits()), AsOf()));
  for (int i = 0; i < kIndicatorCount; ++i) {
    const VerdictShift& s = what_if.shifts[i];
    EXPECT_EQ(
        what_if.baseline.indicators[i].relevant_cases - in.report.indicators[i].relevant_cases,
        s.now_relevant - s.now_irrelevant)
        << kIndicators[i].id;
    if (what_if.indicator_delta[i]) {
      EXPECT_DOUBLE_EQ(*what_if.indicator_delta[i],
                       *what_if.baseline.indicators[i].score - *in.report.indicators[i].score);
    }
  }
  const int repeat = static_cast<int>(Indicator::kHomeVisitRepeat);
  EXPECT_GT(what_if.shifts[repeat].now_not_met, 0);
  EXPECT_EQ(what_if.shifts[repeat].now_met, 0);  // a stricter standard never helps
  EXPECT_LT(*what_if.indicator_delta[repeat], 0.0);
  const int psr = static_cast<int>(Indicator::kPsrQuality);
  EXPECT_EQ(what_if.indicator_delta[psr], 0.0);  // untouched by the home-visit keys
  ASSERT_EQ(what_if.baseline_settings.size(), 2u);
  EXPECT_EQ(what_if.baseline_settings[0].key, "home_visit_initial_wd");
  EXPECT_EQ(what_if.baseline_settings[0].value, "5");
  EXPECT_EQ(what_if.current_settings[0].value, "10");

  // Every unit's report is a replay narrowed to it; together they count every case.
  EXPECT_EQ(in.group_level, "region");
  int64_t cases = 0;
  for (const GroupReport& group : in.groups) {
    StoreReportRequest narrowed = ReplayRequest(request.period);
    narrowed.scope.region = group.name;
    EXPECT_EQ(Json(group.report), Replay(dir, bytes, narrowed, AsOf())) << group.name;
    cases += group.report.cases;
  }
  EXPECT_EQ(cases, in.report.cases);
  // Twelve months, each a replay of its own dates.
  ASSERT_EQ(in.monthly.size(), 12u);
  EXPECT_EQ(in.monthly.back().period.to, request.period.to);
  for (const Report& month : {in.monthly.front(), in.monthly.back()}) {
    EXPECT_EQ(Json(month), Replay(dir, bytes, ReplayRequest(month.period), AsOf()));
  }
}

// The draw, recomputed here from the events: cases counted at the as-of date whose opening falls
// in the window and who were supervised long enough, by PDU.
std::map<std::string, std::set<std::string>> EligibleByPdu() {
  const InspectionRequest request = BaseRequest();
  struct Case {
    std::optional<Instant> opened, closed;
    std::string pdu;
  };
  std::map<std::string, Case> cases;
  std::map<std::string, std::string> seen;  // event id -> case, to skip duplicates
  for (const std::string& record : Service().records) {
    events::v1::Envelope e;
    EXPECT_TRUE(e.ParseFromString(record));
    const Instant at{e.occurred_at().seconds(), e.occurred_at().nanos()};
    if (at > request.as_of || !seen.emplace(e.event_id(), e.case_id()).second) continue;
    Case& c = cases[e.case_id()];
    if (e.has_case_opened() && (!c.opened || at < *c.opened)) {
      c.opened = at;
      c.pdu = e.case_opened().pdu();
    }
    if (e.has_case_allocated() && !e.case_allocated().pdu().empty())
      c.pdu = e.case_allocated().pdu();
    if (e.has_case_closed() && (!c.closed || at < *c.closed)) c.closed = at;
  }
  std::map<std::string, std::set<std::string>> eligible;
  for (const auto& [id, c] : cases) {
    if (!c.opened) continue;
    const Date opened = DateOf(*c.opened);
    const Date until =
        c.closed && *c.closed > *c.opened ? DateOf(*c.closed) : DateOf(request.as_of);
    if (opened < request.sample.started_from || opened > request.sample.started_to) continue;
    if (until - opened < request.sample.min_supervised_days) continue;
    eligible[c.pdu].insert(id);
  }
  return eligible;
}

std::vector<std::string> Ids(const Inspection& in) {
  std::vector<std::string> ids;
  for (const SampledCase& c : in.sample) ids.push_back(c.case_id);
  return ids;
}

TEST(Inspection, TheSampleIsFixedByItsSeedAndKeepsToItsCriteria) {
  TempDir dir;
  const Inspection first = InspectFile(dir, BaseRequest());
  const Inspection again = InspectFile(dir, BaseRequest());
  InspectionRequest other_seed = BaseRequest();
  other_seed.sample.seed = 6;
  const Inspection other = InspectFile(dir, other_seed);
  ASSERT_EQ(first.sample.size(), 30u);
  EXPECT_EQ(Ids(first), Ids(again));
  EXPECT_NE(Ids(first), Ids(other));
  EXPECT_EQ(other.sample.size(), 30u);

  const auto eligible = EligibleByPdu();
  int64_t total = 0;
  for (const auto& [pdu, ids] : eligible) total += static_cast<int64_t>(ids.size());
  EXPECT_EQ(first.draw.eligible, total);
  ASSERT_EQ(first.draw.units.size(), eligible.size());
  ASSERT_LE(eligible.size(), 30u);
  int64_t drawn = 0;
  for (const UnitDraw& unit : first.draw.units) {
    ASSERT_TRUE(eligible.count(unit.pdu)) << unit.pdu;
    EXPECT_EQ(unit.eligible, static_cast<int64_t>(eligible.at(unit.pdu).size()));
    // Spread across units: every unit is represented, and each within two of its share.
    const double share = 30.0 * static_cast<double>(unit.eligible) / static_cast<double>(total);
    EXPECT_GE(unit.drawn, 1) << unit.pdu;
    EXPECT_LE(std::abs(static_cast<double>(unit.drawn) - share), 2.0) << unit.pdu;
    drawn += unit.drawn;
    int64_t in_unit = 0;
    for (const SampledCase& c : first.sample) {
      if (c.allocation.pdu == unit.pdu) ++in_unit;
    }
    EXPECT_EQ(in_unit, unit.drawn) << unit.pdu;
  }
  EXPECT_EQ(drawn, 30);
  const InspectionRequest request = BaseRequest();
  for (const SampledCase& c : first.sample) {
    EXPECT_TRUE(eligible.at(c.allocation.pdu).count(c.case_id)) << c.case_id;
    EXPECT_GE(c.opened, request.sample.started_from);
    EXPECT_LE(c.opened, request.sample.started_to);
    EXPECT_GE(c.supervised_days, request.sample.min_supervised_days);
    EXPECT_EQ(c.supervised_days, c.closed.value_or(DateOf(request.as_of)) - c.opened);
    ASSERT_FALSE(c.timeline.empty());
    EXPECT_LE(c.timeline.back().occurred_at, request.as_of);
  }

  // A sample larger than the eligible cases takes them all.
  InspectionRequest everything = BaseRequest();
  everything.sample.size = 100000;
  EXPECT_EQ(static_cast<int64_t>(InspectFile(dir, everything).sample.size()), total);
}

TEST(Inspection, TheSampledCasesItemsAndReportEqualReplay) {
  TempDir dir;
  const Inspection in = InspectFile(dir, BaseRequest());
  const std::vector<std::string> drawn = Ids(in);
  const std::set<std::string> ids(drawn.begin(), drawn.end());
  ASSERT_EQ(ids.size(), 30u);

  // The sample's report is a replay of the sampled cases' events alone, every decision to T.
  std::string sampled_bytes;
  const SimulatedStream& sim = Service();
  for (size_t i = 0; i < sim.records.size(); ++i) {
    if (ids.count(sim.keys[i])) sampled_bytes += Delimited(sim.records[i]);
  }
  const Period all{std::nullopt, DateOf(AsOf())};
  EXPECT_EQ(Json(in.sample_report), Replay(dir, sampled_bytes, ReplayRequest(all), AsOf()));

  // Each case's items are replay's case items for it, in order.
  StoreReportRequest with_items = ReplayRequest(all);
  with_items.case_items = true;
  const std::string replay = Replay(dir, sim.file_bytes, with_items, AsOf());
  for (const SampledCase& c : in.sample) {
    ASSERT_FALSE(c.items.empty()) << c.case_id;
    std::string rows;
    for (const CaseItemRow& row : c.items) {
      rows += '\n';
      AppendCaseItemJson(rows, row);
      rows += ',';
    }
    rows.pop_back();
    EXPECT_NE(replay.find(rows), std::string::npos) << c.case_id;
    // Its verdicts are those of its items.
    for (int i = 0; i < kIndicatorCount; ++i) {
      std::optional<bool> expected;
      for (const CaseItemRow& row : c.items) {
        if (static_cast<int>(row.item.indicator) != i) continue;
        if (row.item.status == ItemStatus::kPending || row.item.status == ItemStatus::kCancelled) {
          continue;
        }
        expected = expected.value_or(true) && row.item.status == ItemStatus::kMet;
      }
      EXPECT_EQ(c.well_enough[i], expected) << c.case_id << " " << kIndicators[i].id;
    }
  }
}

TEST(Inspection, DataQualityCountsLateRecordsAndGroupsRejections) {
  TempDir dir;
  const SimulatedStream& sim = Service();
  InspectionRequest request = BaseRequest();
  request.late_record_days = 5;
  // Bad records on the end: two without a payload, and one re-using an event id with other
  // content (a conflict, whose message names the id).
  std::string bytes = sim.file_bytes;
  for (const char* id : {"bad-1", "bad-2"}) {
    events::v1::Envelope bad;
    bad.set_event_id(id);
    bad.set_case_id("X-1");
    bad.mutable_occurred_at()->set_seconds(AsOf().seconds - kDay);
    bytes += Delimited(bad.SerializeAsString());
  }
  events::v1::Envelope conflicting;
  ASSERT_TRUE(conflicting.ParseFromString(sim.records.front()));
  conflicting.mutable_occurred_at()->set_seconds(conflicting.occurred_at().seconds() + 1);
  bytes += Delimited(conflicting.SerializeAsString());
  const Inspection in = InspectFile(dir, request, bytes);

  // Expected, from the records: distinct events of counted cases that occurred by T.
  std::set<std::string> counted;
  std::map<std::string, events::v1::Envelope> first;
  for (const std::string& record : sim.records) {
    events::v1::Envelope e;
    ASSERT_TRUE(e.ParseFromString(record));
    if (e.has_case_opened() && e.occurred_at().seconds() <= AsOf().seconds) {
      counted.insert(e.case_id());
    }
    first.emplace(e.event_id(), e);
  }
  int64_t in_view = 0, late = 0, after = 0;
  for (const auto& [id, e] : first) {
    if (!counted.count(e.case_id()) || e.occurred_at().seconds() > AsOf().seconds) continue;
    ++in_view;
    if (e.recorded_at().seconds() - e.occurred_at().seconds() > 5 * kDay) ++late;
    if (e.recorded_at().seconds() > AsOf().seconds) ++after;
  }
  EXPECT_EQ(in.quality.events_in_view, in_view);
  EXPECT_EQ(in.quality.late_records, late);
  EXPECT_GT(late, 0);
  EXPECT_EQ(in.quality.recorded_after_as_of, after);
  EXPECT_EQ(in.quality.accepted, static_cast<int64_t>(first.size()));
  EXPECT_EQ(in.quality.duplicates, static_cast<int64_t>(sim.records.size() - first.size()));
  EXPECT_EQ(in.quality.rejected, 3);
  ASSERT_EQ(in.quality.rejected_reasons.size(), 2u);  // two kinds, most frequent first
  EXPECT_EQ(in.quality.rejected_reasons[0].reason, "payload is missing");
  EXPECT_EQ(in.quality.rejected_reasons[0].count, 2);
  const RejectedReason& conflict = in.quality.rejected_reasons[1];
  EXPECT_EQ(conflict.count, 1);
  EXPECT_NE(conflict.example.find(conflicting.event_id()), std::string::npos) << conflict.example;
  EXPECT_EQ(conflict.reason.find(conflicting.event_id()), std::string::npos) << conflict.reason;
}

TEST(Inspection, AnEnginesStoreGivesTheSameInspectionAsItsEventFile) {
  TempDir dir;
  const SimulatedStream& sim = Service();
  auto store = store::Store::Open(dir.path() / "store");
  ASSERT_TRUE(store) << store.error().message;
  {
    auto engine = engine::Engine::Create(*store.value(), engine::EngineOptions{});
    ASSERT_TRUE(engine) << engine.error().message;
    for (size_t at = 0; at < sim.records.size(); at += 1000) {
      std::vector<engine::InputRecord> batch;
      for (size_t i = at; i < std::min(sim.records.size(), at + 1000); ++i) {
        batch.push_back(
            engine::InputRecord{0, static_cast<int64_t>(i), sim.keys[i], sim.records[i]});
      }
      ASSERT_TRUE(engine.value()->Apply(batch, sim.end));
    }
  }
  InspectionRequest request = BaseRequest();
  request.compare_as_of = Instant{AsOf().seconds - 200 * kDay, 0};
  request.compare_policy = StrictHomeVisits();
  Inspection from_file = InspectFile(dir, request);
  Progress quiet(Progress::Mode::kNone);
  const store::StoreReader* const stores[] = {store.value().get()};
  auto from_store = InspectStores(stores, request, quiet);
  ASSERT_TRUE(from_store) << from_store.error().message;
  Inspection& in = from_store.value();
  EXPECT_FALSE(in.quality.duplicates_counted);  // the engine drops them on arrival
  in.quality.duplicates_counted = true;
  in.quality.duplicates = from_file.quality.duplicates;
  in.request.source = from_file.request.source;
  EXPECT_EQ(RenderInspectionJson(in), RenderInspectionJson(from_file));

  // The same records shared out by case among three tasks (casewatchd --tasks: a store and an
  // engine each, event ids checked across them), inspected together: the same inspection.
  constexpr size_t kTasks = 3;
  std::vector<std::unique_ptr<store::Store>> tasks;
  std::vector<const store::StoreReader*> readers;
  for (size_t t = 0; t < kTasks; ++t) {
    auto opened = store::Store::Open(dir.path() / fmt::format("task-{}", t));
    ASSERT_TRUE(opened) << opened.error().message;
    tasks.push_back(std::move(opened).value());
    readers.push_back(tasks.back().get());
  }
  engine::IdClaims claims(readers);
  std::vector<std::vector<engine::InputRecord>> shares(kTasks);
  for (size_t i = 0; i < sim.records.size(); ++i) {
    const size_t t = std::hash<std::string>{}(sim.keys[i]) % kTasks;
    shares[t].push_back(engine::InputRecord{static_cast<int32_t>(t),
                                            static_cast<int64_t>(shares[t].size()), sim.keys[i],
                                            sim.records[i]});
  }
  for (size_t t = 0; t < kTasks; ++t) {
    engine::EngineOptions options;
    options.id_claims = &claims;
    options.task = t;
    auto engine = engine::Engine::Create(*tasks[t], options);
    ASSERT_TRUE(engine) << engine.error().message;
    ASSERT_FALSE(shares[t].empty()) << "task " << t << " holds no case: nothing to show";
    ASSERT_TRUE(engine.value()->Apply(shares[t], sim.end));
  }
  auto from_tasks = InspectStores(readers, request, quiet);
  ASSERT_TRUE(from_tasks) << from_tasks.error().message;
  from_tasks.value().quality.duplicates_counted = true;
  from_tasks.value().quality.duplicates = from_file.quality.duplicates;
  from_tasks.value().request.source = from_file.request.source;
  EXPECT_EQ(RenderInspectionJson(from_tasks.value()), RenderInspectionJson(from_file));
}

TEST(Inspection, PeriodsOfComparisonsAndTrendsFollowTheInspections) {
  const Instant as_of{1700000000, 0};  // 2023-11-14
  const Instant earlier{as_of.seconds - 100 * kDay, 0};
  EXPECT_EQ(ComparisonPeriod(Period{std::nullopt, DateOf(as_of)}, as_of, earlier).from,
            std::nullopt);
  const Period moved =
      ComparisonPeriod(Period{DateOf(as_of) + -30, DateOf(as_of) + -1}, as_of, earlier);
  EXPECT_EQ(*moved.from, DateOf(earlier) + -30);
  EXPECT_EQ(moved.to, DateOf(earlier) + -1);
}

// What a progress display wrote, through a memory stream.
template <class Steps>
std::string ProgressText(Progress::Mode mode, Steps steps) {
  char* data = nullptr;
  size_t size = 0;
  std::FILE* out = open_memstream(&data, &size);
  {
    Progress progress(mode, out);
    steps(progress);
  }
  std::fclose(out);
  std::string text(data, size);
  std::free(data);
  return text;
}

TEST(Progress, ABarIsRedrawnInPlaceAndLinesAreForLogs) {
  auto steps = [](Progress& progress) {
    progress.Stage("reading events", 40, "MiB");
    for (uint64_t i = 1; i <= 40; ++i) progress.Update(i);
    progress.Stage("evaluating cases", 1000, "cases");
    progress.Update(400);
  };  // the destructor ends the last stage
  const std::string bar = ProgressText(Progress::Mode::kBar, steps);
  EXPECT_NE(bar.find("\rreading events"), std::string::npos) << bar;
  EXPECT_NE(bar.find("100%  40 of 40 MiB"), std::string::npos) << bar;
  EXPECT_NE(bar.find("[##############################] 100%  1000 of 1000 cases"),
            std::string::npos)
      << bar;
  EXPECT_EQ(std::count(bar.begin(), bar.end(), '\n'), 2) << bar;  // one line per stage

  // Lines: a quick stage writes only its end (a line per tenth needs two seconds between).
  const std::string lines = ProgressText(Progress::Mode::kLines, steps);
  EXPECT_EQ(lines.rfind("inspect: reading events done, 40 of 40 MiB in ", 0), 0u) << lines;
  EXPECT_NE(lines.find("inspect: evaluating cases done, 1000 of 1000 cases in "), std::string::npos)
      << lines;
  EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), 2) << lines;
  EXPECT_EQ(ProgressText(Progress::Mode::kNone, steps), "");
}

}  // namespace
}  // namespace casewatch::inspection
