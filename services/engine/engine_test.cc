// The engine over a real RocksDB directory, fed records directly (the Kafka path is tested in
// tests/engine_kafka_test.cc): live results equal a replay of the same events, at-least-once
// delivery is applied exactly once, bad input is contained, deadlines raise alerts once.
#include "services/engine/engine.h"

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "base/temp_dir.h"
#include "casewatch/alerts/v1/alert.pb.h"
#include "casewatch/events/v1/events.pb.h"
#include "projections/report_json.h"
#include "services/reports/store_report.h"
#include "services/engine/testing/simulated_stream.h"

namespace casewatch::engine {
namespace {

using casewatch::TempDir;
using reports::ReportFromStore;
using reports::ReportSource;
using reports::StoreReportRequest;

using testing::Replay;
using testing::Simulate;

std::unique_ptr<store::Store> OpenStore(const TempDir& dir) {
  auto store = store::Store::Open(dir.path() / "store");
  EXPECT_TRUE(store) << store.error().message;
  return std::move(store).value();
}

std::unique_ptr<Engine> MakeEngine(store::Store& store) {
  auto engine = Engine::Create(store, EngineOptions{});
  EXPECT_TRUE(engine) << engine.error().message;
  return std::move(engine).value();
}

// Feeds records in batches, as partition 0 offsets 0, 1, ...
void Feed(Engine& engine, const std::vector<std::string>& records, size_t batch_size, Instant now,
          size_t first_offset = 0) {
  for (size_t at = 0; at < records.size(); at += batch_size) {
    std::vector<InputRecord> batch;
    for (size_t i = at; i < std::min(records.size(), at + batch_size); ++i) {
      batch.push_back(InputRecord{0, static_cast<int64_t>(first_offset + i), "key", records[i]});
    }
    auto applied = engine.Apply(batch, now);
    ASSERT_TRUE(applied) << applied.error().message;
  }
}

std::string StoreReportJson(const store::StoreReader& store, const StoreReportRequest& request,
                            ReportSource expected_source) {
  auto report = ReportFromStore(store, request);
  EXPECT_TRUE(report) << report.error().message;
  if (!report) return "";
  EXPECT_EQ(report.value().source, expected_source);
  return report.value().json;
}

TEST(Engine, LiveProjectionsEqualReplayForShuffledDuplicatedInput) {
  TempDir dir;
  auto sim = Simulate(150, 12, 7);
  // Arrival order scrambled and a tenth of the records delivered twice, as after a redelivery.
  std::vector<std::string> records = sim.records;
  std::mt19937_64 random(11);
  for (size_t i = 0; i < sim.records.size(); i += 10) records.push_back(sim.records[i]);
  std::shuffle(records.begin(), records.end(), random);

  auto store = OpenStore(dir);
  auto engine = MakeEngine(*store);
  Feed(*engine, records, 97, sim.end);
  EXPECT_EQ(engine->counters().rejected, 0u);
  EXPECT_GE(engine->counters().duplicates, sim.records.size() / 10);

  StoreReportRequest all;
  const std::string expected = Replay(dir, sim.file_bytes, all, sim.end);
  ASSERT_EQ(expected.find("\"cases\":0,"), std::string::npos) << expected;
  ASSERT_NE(expected.find("\"pending\":"), std::string::npos);
  EXPECT_EQ(StoreReportJson(*store, all, ReportSource::kScopeCounts), expected);

  StoreReportRequest items;
  items.case_items = true;
  EXPECT_EQ(StoreReportJson(*store, items, ReportSource::kStoredProjections),
            Replay(dir, sim.file_bytes, items, sim.end));

  // A scope and a period, from stored projections.
  StoreReportRequest scoped;
  scoped.from = DateOf(sim.end) + -120;
  ASSERT_TRUE(store->ScanProjections([&](std::string_view, const store::v1::CaseProjection& p) {
    if (!scoped.scope.region && p.counted()) scoped.scope.region = p.region();
  }));
  EXPECT_EQ(StoreReportJson(*store, scoped, ReportSource::kStoredProjections),
            Replay(dir, sim.file_bytes, scoped, sim.end));

  // Past instants: from the instants the stored projections carry, item by item.
  for (int days_back : {30, 200}) {
    StoreReportRequest past;
    past.as_of = Instant{sim.end.seconds - days_back * 86400 + 3600, 0};
    past.case_items = true;
    EXPECT_EQ(StoreReportJson(*store, past, ReportSource::kStoredTimelines),
              Replay(dir, sim.file_bytes, past, *past.as_of))
        << days_back << " days back";
  }
  // Later than the projections: re-evaluated from the stored events.
  StoreReportRequest later;
  later.as_of = Instant{sim.end.seconds + 40 * 86400, 0};
  EXPECT_EQ(StoreReportJson(*store, later, ReportSource::kReEvaluation),
            Replay(dir, sim.file_bytes, later, *later.as_of));
}

// The claim behind reports of past instants: a case as of any earlier instant follows from its
// projection's instants (EvaluationAt) exactly as from evaluating its events then, item by item.
// Checked at random instants, at events' own instants (ties), and either side of midnight.
TEST(Engine, PastReportsFromProjectionInstantsEqualReplayAtAnyInstant) {
  TempDir dir;
  auto sim = Simulate(250, 18, 23);
  auto store = OpenStore(dir);
  auto engine = MakeEngine(*store);
  Feed(*engine, sim.records, 1000, sim.end);

  std::mt19937_64 random(5);
  std::vector<Instant> instants;
  for (int i = 0; i < 12; ++i) {
    events::v1::Envelope e;
    ASSERT_TRUE(e.ParseFromString(sim.records[random() % sim.records.size()]));
    const Instant at{e.occurred_at().seconds(), e.occurred_at().nanos()};
    if (at < sim.end) instants.push_back(at);
  }
  const int64_t span = 18 * 30 * 86400;
  for (int i = 0; i < 12; ++i) {
    instants.push_back(Instant{sim.end.seconds - static_cast<int64_t>(random() % span), 0});
  }
  const int64_t midnight = (sim.end.seconds / 86400 - 100) * 86400;
  instants.push_back(Instant{midnight - 1, 999999999});
  instants.push_back(Instant{midnight, 0});
  for (const Instant& at : instants) {
    StoreReportRequest past;
    past.as_of = at;
    past.case_items = true;
    EXPECT_EQ(StoreReportJson(*store, past, ReportSource::kStoredTimelines),
              Replay(dir, sim.file_bytes, past, at))
        << "as of " << FormatInstant(at);
  }
}

TEST(Engine, RedeliveredBatchesAfterARestartAreAppliedOnce) {
  TempDir dir;
  auto sim = Simulate(60, 6, 3);
  std::string once;
  {
    auto store = OpenStore(dir);
    auto engine = MakeEngine(*store);
    const std::vector<std::string> first(sim.records.begin(),
                                         sim.records.begin() + sim.records.size() / 2);
    Feed(*engine, first, 50, sim.end);
    auto offsets = engine->StartOffsets();
    ASSERT_TRUE(offsets);
    ASSERT_EQ(offsets.value().size(), 1u);
    EXPECT_EQ(offsets.value()[0].next_offset, static_cast<int64_t>(first.size()));
  }
  {
    // Restart; the broker redelivers from an earlier offset than the stored one (at least once).
    auto store = OpenStore(dir);
    auto engine = MakeEngine(*store);
    Feed(*engine, sim.records, 64, sim.end);
    EXPECT_GE(engine->counters().duplicates, sim.records.size() / 2);
  }
  auto store = OpenStore(dir);
  EXPECT_EQ(StoreReportJson(*store, {}, ReportSource::kScopeCounts),
            Replay(dir, sim.file_bytes, {}, sim.end));
}

TEST(Engine, BadRecordsAreDeadLetteredAndTheRestApplied) {
  TempDir dir;
  auto sim = Simulate(20, 3, 5);
  auto store = OpenStore(dir);
  auto engine = MakeEngine(*store);

  events::v1::Envelope conflicting;
  ASSERT_TRUE(conflicting.ParseFromString(sim.records[0]));
  conflicting.set_actor("someone-else");
  events::v1::Envelope long_id = conflicting;
  long_id.set_event_id(std::string(200, 'x'));
  events::v1::Envelope bad_enum;
  ASSERT_TRUE(bad_enum.ParseFromString(sim.records[0]));
  bad_enum.set_event_id("e-bad-enum");
  bad_enum.mutable_case_opened()->set_case_type(static_cast<events::v1::CaseType>(77));
  events::v1::Envelope derived = conflicting;
  derived.set_event_id("e-derived");
  derived.mutable_obligation_missed()->set_indicator("prompt_start");

  std::vector<std::string> records = sim.records;
  // A payload this schema does not know: oneof field 35 (an empty length-delimited message).
  events::v1::Envelope no_payload = conflicting;
  no_payload.set_event_id("e-unknown-payload");
  no_payload.clear_payload();
  const std::string unknown_payload =
      no_payload.SerializeAsString() + std::string("\x9a\x02\x00", 3);
  const std::vector<std::string> bad = {"\xff\xff garbage",
                                        conflicting.SerializeAsString(),
                                        long_id.SerializeAsString(),
                                        bad_enum.SerializeAsString(),
                                        derived.SerializeAsString(),
                                        std::string("\x08\x01", 2),
                                        unknown_payload};
  for (size_t k = 0; k < bad.size(); ++k) records.insert(records.begin() + 5 + 7 * k, bad[k]);
  Feed(*engine, records, 16, sim.end);
  EXPECT_EQ(engine->counters().rejected, bad.size());

  std::vector<std::string> reasons;
  ASSERT_TRUE(store->ScanDeadLetters([&](uint64_t, const store::v1::DeadLetter& letter) {
    reasons.push_back(letter.reason());
    EXPECT_EQ(letter.topic(), "case-events");
    EXPECT_FALSE(letter.value().empty());
  }));
  ASSERT_EQ(reasons.size(), bad.size());
  EXPECT_NE(reasons[1].find("already accepted with different content"), std::string::npos)
      << reasons[1];
  EXPECT_NE(reasons[2].find("event_id"), std::string::npos) << reasons[2];
  EXPECT_NE(reasons[3].find("case_type"), std::string::npos) << reasons[3];
  EXPECT_NE(reasons[4].find("obligation_missed"), std::string::npos) << reasons[4];
  EXPECT_NE(reasons[6].find("unknown payload"), std::string::npos) << reasons[6];
  int dead_letter_messages = 0;
  ASSERT_TRUE(store->ScanOutbox(0, [&](uint64_t, const store::v1::OutboxRecord& r) {
    if (r.topic() == "case-events-dlq") {
      store::v1::DeadLetter mirrored;
      EXPECT_TRUE(mirrored.ParseFromString(r.value()));
      EXPECT_EQ(mirrored.reason(), reasons[dead_letter_messages]);
      ++dead_letter_messages;
    }
    return true;
  }));
  EXPECT_EQ(dead_letter_messages, static_cast<int>(bad.size()));
  // Every valid event around the bad ones was applied.
  EXPECT_EQ(StoreReportJson(*store, {}, ReportSource::kScopeCounts),
            Replay(dir, sim.file_bytes, {}, sim.end));
}

std::string Envelope(std::string_view json) {
  events::v1::Envelope envelope;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(std::string(json), &envelope).ok());
  return envelope.SerializeAsString();
}

TEST(Engine, AnObligationPassingItsDueDateIsRecordedAndAlertedOnce) {
  TempDir dir;
  auto store = OpenStore(dir);
  auto engine = MakeEngine(*store);
  // Opened Monday 2024-03-04: prompt_start is due 5 working days later, Monday 2024-03-11.
  const Instant opened = ParseInstant("2024-03-04T10:00:00Z").value();
  const std::vector<std::string> records = {Envelope(
      R"({"eventId":"e-1","caseId":"C-1","occurredAt":"2024-03-04T10:00:00Z",
          "caseOpened":{"caseType":"CASE_TYPE_COMMUNITY_ORDER","region":"North East",
          "pdu":"Sunderland","team":"SUN-2","offenderManager":"om-117"}})")};
  Feed(*engine, records, 1, opened);
  EXPECT_EQ(engine->counters().missed_obligations, 0u);

  ASSERT_TRUE(engine->AdvanceTo(ParseInstant("2024-03-11T23:59:59Z").value()));
  EXPECT_EQ(engine->counters().missed_obligations, 0u);  // due today: still pending
  ASSERT_TRUE(engine->AdvanceTo(ParseInstant("2024-03-12T00:00:00Z").value()));
  const uint64_t missed = engine->counters().missed_obligations;
  EXPECT_GE(missed, 1u);
  ASSERT_TRUE(engine->AdvanceTo(ParseInstant("2024-03-12T09:00:00Z").value()));
  EXPECT_EQ(engine->counters().missed_obligations, missed);  // once per item

  bool prompt_start_alert = false;
  ASSERT_TRUE(store->ScanOutbox(0, [&](uint64_t, const store::v1::OutboxRecord& r) {
    if (r.topic() != "case-alerts") return true;
    alerts::v1::ObligationMissedAlert alert;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(r.value(), &alert).ok()) << r.value();
    EXPECT_EQ(r.key(), "C-1");
    if (alert.indicator() == "prompt_start") {
      prompt_start_alert = true;
      EXPECT_EQ(alert.due(), "2024-03-11");
      EXPECT_EQ(alert.case_id(), "C-1");
      EXPECT_EQ(alert.team(), "SUN-2");
      EXPECT_EQ(alert.offender_manager(), "om-117");
      EXPECT_EQ(alert.missed_at().seconds(), ParseInstant("2024-03-12T00:00:00Z").value().seconds);
    }
    return true;
  }));
  EXPECT_TRUE(prompt_start_alert);
  // The obligation_missed event is in the case's history.
  int derived = 0;
  ASSERT_TRUE(store->ReadCase("C-1", [&](std::string_view bytes) {
    events::v1::Envelope e;
    ASSERT_TRUE(e.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
    if (e.has_obligation_missed()) ++derived;
  }));
  EXPECT_EQ(static_cast<uint64_t>(derived), missed);
  // A restarted engine does not raise them again.
  engine.reset();
  engine = MakeEngine(*store);
  ASSERT_TRUE(engine->AdvanceTo(ParseInstant("2024-03-20T00:00:00Z").value()));
  int alerts = 0;
  ASSERT_TRUE(store->ScanOutbox(0, [&](uint64_t, const store::v1::OutboxRecord& r) {
    if (r.topic() == "case-alerts") ++alerts;
    return true;
  }));
  EXPECT_EQ(static_cast<uint64_t>(alerts), missed + engine->counters().missed_obligations);
}

TEST(Engine, ALargeCaseWaitsItsTurnWhileItsEventsAreStoredAndCatchesUpExactly) {
  // Every case counts as large here, and its turn comes once an hour: after the first batch
  // re-evaluates them, the next batches only store their events and mark them pending.
  TempDir dir;
  auto sim = Simulate(60, 8, 12);
  auto store = OpenStore(dir);
  EngineOptions options;
  options.large_case_events = 5;
  options.large_case_interval = std::chrono::hours(1);
  {
    auto engine = Engine::Create(*store, options).value();
    const size_t half = sim.records.size() / 2;
    Feed(*engine, std::vector<std::string>(sim.records.begin(), sim.records.begin() + half), half,
         sim.end);
    Feed(*engine, std::vector<std::string>(sim.records.begin() + half, sim.records.end()), 500,
         sim.end, half);
    EXPECT_GT(engine->counters().cases_pending, 0u);
    size_t stored_pending = 0;
    ASSERT_TRUE(store->ScanPendingCases([&](std::string_view) { ++stored_pending; }));
    EXPECT_EQ(stored_pending, engine->counters().cases_pending);
    // Behind: not yet what a replay gives.
    EXPECT_NE(StoreReportJson(*store, {}, ReportSource::kScopeCounts),
              Replay(dir, sim.file_bytes, {}, sim.end));
    // The engine stops here (a crash would do the same: the marks are in the same writes).
  }
  auto engine = Engine::Create(*store, options).value();
  EXPECT_GT(engine->counters().cases_pending, 0u) << "the pending marks survive a restart";
  ASSERT_TRUE(engine->AdvanceTo(sim.end));  // idle: every pending case catches up
  EXPECT_EQ(engine->counters().cases_pending, 0u);
  size_t stored_pending = 0;
  ASSERT_TRUE(store->ScanPendingCases([&](std::string_view) { ++stored_pending; }));
  EXPECT_EQ(stored_pending, 0u);
  StoreReportRequest items;
  items.case_items = true;
  EXPECT_EQ(StoreReportJson(*store, items, ReportSource::kStoredProjections),
            Replay(dir, sim.file_bytes, items, sim.end));
  EXPECT_EQ(StoreReportJson(*store, {}, ReportSource::kScopeCounts),
            Replay(dir, sim.file_bytes, {}, sim.end));
}

TEST(Engine, RebuildReproducesTheLiveProjections) {
  TempDir dir;
  auto sim = Simulate(80, 8, 9);
  auto store = OpenStore(dir);
  auto engine = MakeEngine(*store);
  Feed(*engine, sim.records, 200, sim.end);
  StoreReportRequest items;
  items.case_items = true;
  const std::string live = StoreReportJson(*store, items, ReportSource::kStoredProjections);
  const std::string live_counts = StoreReportJson(*store, {}, ReportSource::kScopeCounts);
  engine.reset();

  uint64_t reported = 0;
  ASSERT_TRUE(Engine::Rebuild(*store, EngineOptions{}, RebuildRequest{sim.end, "", sim.end},
                              [&](uint64_t events) { reported = events; }));
  EXPECT_GE(reported, sim.records.size() * 9 / 10);
  EXPECT_EQ(StoreReportJson(*store, items, ReportSource::kStoredProjections), live);
  EXPECT_EQ(StoreReportJson(*store, {}, ReportSource::kScopeCounts), live_counts);
}

TEST(Engine, ADifferentPolicyNeedsARebuild) {
  TempDir dir;
  auto store = OpenStore(dir);
  auto engine = MakeEngine(*store);
  std::vector<InputRecord> none;
  ASSERT_TRUE(engine->Apply(none, Instant{1700000000, 0}));
  engine.reset();
  EngineOptions stricter;
  stricter.policy_text = R"({"home_visit_initial_wd": 5})";
  stricter.policy = ParsePolicy(stricter.policy_text).value();
  auto refused = Engine::Create(*store, stricter);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("casewatch rebuild"), std::string::npos);
}

}  // namespace
}  // namespace casewatch::engine

namespace casewatch::engine {
namespace {

TEST(Engine, CommitsAreAnnouncedAndEachDayRecordsEveryAllocationsCounts) {
  TempDir dir;
  auto sim = Simulate(120, 12, 5);
  auto store = OpenStore(dir);
  std::vector<std::string> announced_cases;
  std::vector<int64_t> announced_scope_cases;
  EngineOptions options;
  options.on_commit = [&](const CommitInfo& info) {
    for (const auto& [case_id, projection] : info.cases) {
      announced_cases.emplace_back(case_id);
      EXPECT_NE(projection, nullptr);
    }
    for (const store::v1::ScopeCounts* counts : info.scopes) {
      announced_scope_cases.push_back(counts->cases());
    }
  };
  auto engine = Engine::Create(*store, options);
  ASSERT_TRUE(engine) << engine.error().message;
  const Instant day_one = sim.end;
  Feed(*engine.value(), sim.records, 500, day_one);
  EXPECT_GE(announced_cases.size(), 120u);
  EXPECT_FALSE(announced_scope_cases.empty());

  // The day's counts are the last write's: what the engine holds now, per allocation.
  std::map<std::string, int64_t> live;
  ASSERT_TRUE(store->ScanScopes([&](const store::v1::ScopeCounts& c) {
    live[store::ScopeKey(c.region(), c.pdu(), c.team(), c.offender_manager())] = c.cases();
  }));
  const auto daily = [&](Date day) {
    std::map<std::string, int64_t> seen;
    EXPECT_TRUE(store->ScanDaily(day, day, [&](Date, const store::v1::ScopeCounts& c) {
      seen[store::ScopeKey(c.region(), c.pdu(), c.team(), c.offender_manager())] = c.cases();
    }));
    return seen;
  };
  EXPECT_EQ(daily(DateOf(day_one)), live);
  // Two days later with nothing new: the next write records the day (unchanged allocations too).
  ASSERT_TRUE(engine.value()->AdvanceTo(Instant{day_one.seconds + 2 * 86400, 0}));
  EXPECT_EQ(daily(DateOf(day_one) + 2).size(), live.size());
  EXPECT_TRUE(daily(DateOf(day_one) + 1).empty()) << "no write happened that day";
}

}  // namespace
}  // namespace casewatch::engine
