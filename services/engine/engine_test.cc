// The engine over a real RocksDB directory, fed records directly (the Kafka path is tested in
// tests/engine_kafka_test.cc): live results equal a replay of the same events, at-least-once
// delivery is applied exactly once, bad input is contained, deadlines raise alerts once.
#include "services/engine/engine.h"
#include "services/engine/id_claims.h"
#include "services/engine/id_filter.h"

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <span>
#include <string>
#include <thread>

#include "base/temp_dir.h"
#include "casewatch/alerts/v1/alert.pb.h"
#include "casewatch/events/v1/events.pb.h"
#include "projections/indicators.h"
#include "projections/report_json.h"
#include "services/reports/monthly_trend.h"
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

enum class Path { kLive, kCatchingUp };

// Feeds records in batches, as partition 0 offsets 0, 1, ...: live (Apply) or, catching up,
// stored first (ApplyDeferred).
void Feed(Engine& engine, const std::vector<std::string>& records, size_t batch_size, Instant now,
          size_t first_offset = 0, Path path = Path::kLive) {
  for (size_t at = 0; at < records.size(); at += batch_size) {
    std::vector<InputRecord> batch;
    for (size_t i = at; i < std::min(records.size(), at + batch_size); ++i) {
      batch.push_back(InputRecord{0, static_cast<int64_t>(first_offset + i), "key", records[i]});
    }
    auto applied =
        path == Path::kLive ? engine.Apply(batch, now) : engine.ApplyDeferred(batch, now);
    ASSERT_TRUE(applied) << applied.error().message;
  }
}

// Projects every pending case (ProjectPending until none is left); the number of writes.
int ProjectAllPending(Engine& engine, Instant now) {
  for (int writes = 1;; ++writes) {
    auto left = engine.ProjectPending(now);
    EXPECT_TRUE(left) << left.error().message;
    if (!left || left.value() == 0) return writes;
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

// Partitions shared out (docs/partitioned-group.md): the cases split by key among three stores,
// each fed its partition by an engine of its own, report together (ReportFromStores) exactly what
// one store of all the cases reports: as of their instant, before and after it, for a period, a
// scope, a breakdown and with case items; and, one store ahead of the others, as of the earliest.
TEST(Engine, StoresOfDisjointCasesReportTogetherAsOneStoreOfAllTheirCases) {
  constexpr size_t kParts = 3;
  const auto sim = Simulate(150, 12, 7);
  TempDir whole_dir;
  auto whole = OpenStore(whole_dir);
  auto whole_engine = MakeEngine(*whole);
  Feed(*whole_engine, sim.records, 97, sim.end);

  std::vector<TempDir> dirs(kParts);
  std::vector<std::unique_ptr<store::Store>> parts;
  std::vector<std::unique_ptr<Engine>> engines;
  std::vector<std::vector<InputRecord>> fed(kParts);
  for (size_t i = 0; i < sim.records.size(); ++i) {
    const size_t p = std::hash<std::string>{}(sim.keys[i]) % kParts;
    fed[p].push_back(InputRecord{static_cast<int32_t>(p), static_cast<int64_t>(fed[p].size()),
                                 sim.keys[i], sim.records[i]});
  }
  std::vector<const store::StoreReader*> readers;
  for (size_t p = 0; p < kParts; ++p) {
    ASSERT_FALSE(fed[p].empty()) << "partition " << p << " got no case";
    parts.push_back(OpenStore(dirs[p]));
    engines.push_back(MakeEngine(*parts.back()));
    for (size_t at = 0; at < fed[p].size(); at += 97) {
      const std::span<const InputRecord> all(fed[p]);
      ASSERT_TRUE(engines.back()->Apply(all.subspan(at, std::min<size_t>(97, all.size() - at)),
                                        sim.end));
    }
    readers.push_back(parts.back().get());
  }

  // The parts' report and the whole store's, which must be equal; the parts' source.
  const auto compare = [&](const StoreReportRequest& request, ReportSource source) {
    auto together = reports::ReportFromStores(readers, request);
    auto alone = ReportFromStore(*whole, request);
    ASSERT_TRUE(together) << together.error().message;
    ASSERT_TRUE(alone) << alone.error().message;
    EXPECT_EQ(together.value().source, source);
    EXPECT_EQ(together.value().as_of, alone.value().as_of);
    EXPECT_EQ(together.value().cases, alone.value().cases);
    EXPECT_EQ(together.value().json, alone.value().json);
    ASSERT_EQ(together.value().groups.size(), alone.value().groups.size());
    for (size_t g = 0; g < alone.value().groups.size(); ++g) {
      EXPECT_EQ(together.value().groups[g].key, alone.value().groups[g].key);
      EXPECT_EQ(together.value().groups[g].json, alone.value().groups[g].json);
    }
  };
  StoreReportRequest now;
  compare(now, ReportSource::kScopeCounts);
  ASSERT_EQ(ReportFromStore(*whole, now).value().json.find("\"cases\":0,"), std::string::npos);
  StoreReportRequest items;
  items.case_items = true;
  compare(items, ReportSource::kStoredProjections);
  StoreReportRequest scoped;
  scoped.from = DateOf(sim.end) + -120;
  ASSERT_TRUE(whole->ScanProjections([&](std::string_view, const store::v1::CaseProjection& p) {
    if (!scoped.scope.region && p.counted()) scoped.scope.region = p.region();
  }));
  compare(scoped, ReportSource::kStoredProjections);
  StoreReportRequest breakdown;
  breakdown.group_by = reports::GroupBy::kTeam;
  compare(breakdown, ReportSource::kScopeCounts);
  StoreReportRequest before;
  before.as_of = Instant{sim.end.seconds - 45 * 86400, 0};
  compare(before, ReportSource::kStoredTimelines);
  StoreReportRequest after;
  after.as_of = Instant{sim.end.seconds + 45 * 86400, 0};
  compare(after, ReportSource::kReEvaluation);

  // One part's engine ahead by two days: the parts answer as of the earliest instant, the one
  // ahead from its timelines, equal to the whole store as it stands.
  ASSERT_TRUE(engines[1]->AdvanceTo(Instant{sim.end.seconds + 2 * 86400, 0}));
  compare(now, ReportSource::kStoredTimelines);

  // A copy of the parts' cases is not added to them: its partitions are theirs.
  std::vector<const store::StoreReader*> with_copy = readers;
  with_copy.push_back(whole.get());
  auto copied = reports::ReportFromStores(with_copy, now);
  ASSERT_FALSE(copied);
  EXPECT_NE(copied.error().message.find("counted twice"), std::string::npos)
      << copied.error().message;

  // A part projected under another policy cannot be added up with the rest.
  TempDir other_dir;
  auto other = OpenStore(other_dir);
  EngineOptions stricter;
  stricter.policy_text = R"({"home_visit_initial_wd": 5})";
  stricter.policy = ParsePolicy(stricter.policy_text).value();
  auto other_engine = Engine::Create(*other, stricter);
  ASSERT_TRUE(other_engine) << other_engine.error().message;
  std::vector<InputRecord> partition_3 = fed[0];
  for (InputRecord& record : partition_3) record.partition = 3;
  ASSERT_TRUE(other_engine.value()->Apply(partition_3, sim.end));
  readers.push_back(other.get());
  auto refused = reports::ReportFromStores(readers, now);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("different policies"), std::string::npos)
      << refused.error().message;
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

// A case opened with `event_id`, an hour before `at`.
std::string Opening(std::string_view event_id, std::string_view case_id, Instant at) {
  return Envelope(fmt::format(
      R"({{"eventId":"{}","caseId":"{}","occurredAt":"{}","caseOpened":{{"caseType":)"
      R"("CASE_TYPE_COMMUNITY_ORDER","region":"North","pdu":"P1","team":"T1",)"
      R"("offenderManager":"OM1"}}}})",
      event_id, case_id, FormatInstant(Instant{at.seconds - 3600, 0})));
}

// The tasks of one process (docs/partitioned-group.md), their cases split by key, each its own
// store and engine, sharing IdClaims.
struct Tasks {
  explicit Tasks(size_t count) : dirs(count) {
    for (size_t t = 0; t < count; ++t) {
      stores.push_back(OpenStore(dirs[t]));
      readers.push_back(stores.back().get());
    }
    claims = std::make_unique<IdClaims>(readers);
    for (size_t t = 0; t < count; ++t) {
      EngineOptions options;
      options.id_claims = claims.get();
      options.task = t;
      auto engine = Engine::Create(*stores[t], options);
      EXPECT_TRUE(engine) << engine.error().message;
      engines.push_back(std::move(engine).value());
    }
  }
  size_t TaskOf(std::string_view key) const {
    return std::hash<std::string_view>{}(key) % stores.size();
  }
  // Each task applies its share of `records` (key, value), as its partition's next offsets.
  void Apply(const std::vector<std::pair<std::string, std::string>>& records, Instant now) {
    std::vector<std::vector<InputRecord>> batches(stores.size());
    for (const auto& [key, value] : records) {
      const size_t t = TaskOf(key);
      batches[t].push_back(InputRecord{static_cast<int32_t>(t), next[t]++, key, value});
    }
    for (size_t t = 0; t < stores.size(); ++t) {
      ASSERT_TRUE(engines[t]->Apply(batches[t], now));
    }
  }
  EngineCounters Counters() const {
    EngineCounters sum;
    for (const auto& engine : engines) {
      sum.accepted += engine->counters().accepted;
      sum.duplicates += engine->counters().duplicates;
      sum.rejected += engine->counters().rejected;
    }
    return sum;
  }

  std::vector<TempDir> dirs;
  std::vector<std::unique_ptr<store::Store>> stores;
  std::vector<const store::StoreReader*> readers;
  std::unique_ptr<IdClaims> claims;
  std::vector<std::unique_ptr<Engine>> engines;
  std::map<size_t, int64_t> next;
};

// An event_id is unique across all cases, and a case in another partition is another task's:
// an id one task accepted, sent again for a case of another task, is a conflict there too, and
// the tasks together accept, ignore and reject exactly what one store of all the cases does.
TEST(Engine, TasksOfOneProcessTreatAnIdAnotherTaskHoldsAsOneStoreWould) {
  const auto sim = Simulate(60, 6, 11);
  Tasks tasks(3);
  TempDir whole_dir;
  auto whole = OpenStore(whole_dir);
  auto whole_engine = MakeEngine(*whole);
  int64_t whole_next = 0;
  const auto apply_both = [&](const std::vector<std::pair<std::string, std::string>>& records) {
    std::vector<InputRecord> batch;
    for (const auto& [key, value] : records) {
      batch.push_back(InputRecord{0, whole_next++, key, value});
    }
    ASSERT_TRUE(whole_engine->Apply(batch, sim.end));
    tasks.Apply(records, sim.end);
  };
  std::vector<std::pair<std::string, std::string>> simulated;
  for (size_t i = 0; i < sim.records.size(); ++i) {
    simulated.emplace_back(sim.keys[i], sim.records[i]);
  }
  apply_both(simulated);

  // Cases X-k, each opened with id shared-k; then cases Y-k of other tasks sent with the same
  // ids (conflicts), X-k's openings sent again (duplicates) and a case with an id of the
  // simulation's (a conflict with a stored event of whichever task holds it).
  std::vector<std::pair<std::string, std::string>> first;
  std::vector<std::pair<std::string, std::string>> again;
  for (int k = 0; k < 12; ++k) {
    const std::string x = fmt::format("X-{}", k);
    std::string y;
    for (int n = 0; y.empty() || tasks.TaskOf(y) == tasks.TaskOf(x); ++n) {
      y = fmt::format("Y-{}-{}", k, n);
    }
    const std::string id = fmt::format("shared-{}", k);
    first.emplace_back(x, Opening(id, x, sim.end));
    again.emplace_back(y, Opening(id, y, sim.end));
    again.push_back(first.back());
  }
  auto simulated_id = EventIdOf(sim.records.front());
  ASSERT_TRUE(simulated_id);
  std::string z;
  for (int n = 0; z.empty() || tasks.TaskOf(z) == tasks.TaskOf(sim.keys.front()); ++n) {
    z = fmt::format("Z-{}", n);
  }
  again.emplace_back(z, Opening(simulated_id.value(), z, sim.end));
  apply_both(first);
  apply_both(again);

  const EngineCounters split = tasks.Counters();
  EXPECT_EQ(split.accepted, whole_engine->counters().accepted);
  EXPECT_EQ(split.duplicates, whole_engine->counters().duplicates);
  EXPECT_EQ(split.rejected, whole_engine->counters().rejected);
  EXPECT_GE(split.rejected, 13u);
  StoreReportRequest now;
  now.case_items = true;
  auto together = reports::ReportFromStores(tasks.readers, now);
  ASSERT_TRUE(together) << together.error().message;
  EXPECT_EQ(together.value().json, StoreReportJson(*whole, now, ReportSource::kStoredProjections));
  // Each conflict's dead letter names the other task's first copy.
  int naming_the_task = 0;
  for (const auto& store : tasks.stores) {
    ASSERT_TRUE(store->ScanDeadLetters([&](uint64_t, const store::v1::DeadLetter& letter) {
      if (letter.reason().find("already accepted with different content (first copy: task ") !=
          std::string::npos) {
        ++naming_the_task;
      }
    }));
  }
  EXPECT_EQ(naming_the_task, 13);

  // Opened again over the stores as they are (a restart), the claims know every stored id: one
  // of another task's is held there, a new one is not.
  auto reopened = IdClaims::Open(tasks.readers);
  ASSERT_TRUE(reopened) << reopened.error().message;
  const size_t holder = tasks.TaskOf(sim.keys.front());
  const size_t asker = (holder + 1) % tasks.readers.size();
  const std::string_view asked[] = {simulated_id.value(), "never-sent"};
  const std::array<uint64_t, 2> contents[] = {{1, 2}, {3, 4}};
  auto held = reopened.value()->Claim(asker, asked, contents, {});
  ASSERT_TRUE(held) << held.error().message;
  ASSERT_TRUE(held.value()[0]);
  EXPECT_EQ(held.value()[0]->task, holder);
  EXPECT_FALSE(held.value()[1]);
  reopened.value()->Release(asker);
}

// Two tasks racing to accept the same new ids for cases of their own: each id is accepted once,
// by one of them, and is a conflict at the other, however their writes interleave.
TEST(Engine, TasksRacingForOneNewIdAcceptItOnce) {
  Tasks tasks(2);
  const Instant now{1767225600, 0};
  constexpr int kBatches = 150;
  constexpr int kPerBatch = 4;
  const auto race = [&](size_t t) {
    for (int b = 0; b < kBatches; ++b) {
      std::vector<std::string> values;
      std::vector<InputRecord> batch;
      values.reserve(kPerBatch);
      for (int i = 0; i < kPerBatch; ++i) {
        const int n = b * kPerBatch + i;
        values.push_back(Opening(fmt::format("race-{}", n), fmt::format("T{}-{}", t, n), now));
      }
      for (int i = 0; i < kPerBatch; ++i) {
        batch.push_back(InputRecord{static_cast<int32_t>(t), b * kPerBatch + i, "key", values[i]});
      }
      ASSERT_TRUE(tasks.engines[t]->Apply(batch, now));
    }
  };
  std::thread other(race, 1);
  race(0);
  other.join();
  const EngineCounters sum = tasks.Counters();
  EXPECT_EQ(sum.accepted, static_cast<uint64_t>(kBatches * kPerBatch));
  EXPECT_EQ(sum.rejected, static_cast<uint64_t>(kBatches * kPerBatch));
  // Every id in exactly one store.
  std::vector<std::string> ids;
  for (int n = 0; n < kBatches * kPerBatch; ++n) ids.push_back(fmt::format("race-{}", n));
  const std::vector<std::string_view> views(ids.begin(), ids.end());
  std::vector<int> holders(ids.size());
  for (const auto& store : tasks.stores) {
    auto found = store->FindIds(views);
    ASSERT_TRUE(found);
    for (size_t k = 0; k < ids.size(); ++k) holders[k] += found.value()[k] ? 1 : 0;
  }
  EXPECT_EQ(std::count(holders.begin(), holders.end(), 1), kBatches * kPerBatch);
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

// A group's task leaves an engine process and comes back while the process keeps its store
// open: the engine started again numbers its events and outbox records on from the last one the
// engine before it wrote. Numbered from where the store stood when it was opened, it wrote over
// the arrivals and the unpublished alerts of the first.
TEST(Engine, AnEngineStartedAgainOnAStoreLeftOpenWritesOverNothingTheOneBeforeItWrote) {
  TempDir dir;
  auto store = OpenStore(dir);
  const auto opening = [](const char* id, const char* case_id, const char* at) {
    return Envelope(fmt::format(
        R"({{"eventId":"{}","caseId":"{}","occurredAt":"{}",
            "caseOpened":{{"caseType":"CASE_TYPE_COMMUNITY_ORDER","region":"North East",
            "pdu":"Sunderland","team":"SUN-2","offenderManager":"om-117"}}}})",
        id, case_id, at));
  };
  uint64_t missed = 0;
  {  // The first engine: C-1 opened, its prompt start missed.
    auto engine = MakeEngine(*store);
    Feed(*engine, {opening("e-1", "C-1", "2024-03-04T10:00:00Z")}, 1,
         ParseInstant("2024-03-04T10:00:00Z").value());
    ASSERT_TRUE(engine->AdvanceTo(ParseInstant("2024-03-12T00:00:00Z").value()));
    missed += engine->counters().missed_obligations;
  }
  {  // The second, on the same open store: C-2 opened a week later, its prompt start missed.
    auto engine = MakeEngine(*store);
    Feed(*engine, {opening("e-2", "C-2", "2024-03-11T10:00:00Z")}, 1,
         ParseInstant("2024-03-12T00:00:00Z").value(), /*first_offset=*/1);
    ASSERT_TRUE(engine->AdvanceTo(ParseInstant("2024-03-19T00:00:00Z").value()));
    missed += engine->counters().missed_obligations;
  }
  ASSERT_GE(missed, 2u);
  size_t in_cases = 0, arrivals = 0;
  ASSERT_TRUE(store->ScanCases([](std::string_view) {}, [&](std::string_view) { ++in_cases; }));
  ASSERT_TRUE(store->ScanArrivals(0, [&](uint64_t, std::string_view) {
    ++arrivals;
    return true;
  }));
  EXPECT_EQ(in_cases, 2 + missed) << "two openings and the obligation_missed events";
  EXPECT_EQ(arrivals, in_cases) << "an arrival written over";
  std::set<std::string> alerted;  // each case's alerts, by case and indicator
  ASSERT_TRUE(store->ScanOutbox(0, [&](uint64_t, const store::v1::OutboxRecord& r) {
    if (r.topic() != "case-alerts") return true;
    alerts::v1::ObligationMissedAlert alert;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(r.value(), &alert).ok()) << r.value();
    alerted.insert(alert.case_id() + " " + alert.indicator());
    return true;
  }));
  EXPECT_EQ(alerted.size(), missed) << "an unpublished alert written over";
  EXPECT_TRUE(alerted.count("C-1 prompt_start") == 1 && alerted.count("C-2 prompt_start") == 1);
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

// The month-by-month trend from the stored projections: each month's point equals the replay of
// that month's decisions as of its end (the current month: as of the projections' instant), for
// the whole service and a region, from the history's first month; and the same after a rebuild.
TEST(Engine, MonthlyTrendEqualsReplayOfEachMonthAlsoAfterARebuild) {
  TempDir dir;
  auto sim = Simulate(150, 14, 17);
  auto store = OpenStore(dir);
  auto engine = MakeEngine(*store);
  Feed(*engine, sim.records, 250, sim.end);
  Scope region;
  ASSERT_TRUE(store->ScanProjections([&](std::string_view, const store::v1::CaseProjection& p) {
    if (!region.region && p.counted()) region.region = p.region();
  }));
  const reports::Month last = reports::MonthOf(DateOf(sim.end));
  const auto expect_replay = [&](const std::string& when) {
    auto trend = reports::MonthlyTrend::Compute(*store);  // from the first case's month
    ASSERT_TRUE(trend) << trend.error().message;
    ASSERT_GE(trend.value().months().size(), 14u);
    EXPECT_EQ(trend.value().months().back(), last);
    EXPECT_EQ(trend.value().computed_at(), sim.end);
    int with_decisions = 0;
    for (const Scope& scope : {Scope{}, region}) {
      const std::vector<Report> reports = trend.value().For(scope, kDefaultMinCases);
      for (size_t m = 0; m < reports.size(); ++m) {
        const reports::Month month = trend.value().months()[m];
        StoreReportRequest request;
        request.as_of = std::min(EndOfDay(month.last), sim.end);
        request.from = month.first;
        request.to = month.last;
        request.scope = scope;
        EXPECT_EQ(RenderReportJson(reports[m], nullptr),
                  Replay(dir, sim.file_bytes, request, *request.as_of))
            << when << ": the month of " << FormatDate(month.first);
        if (reports[m].indicators[0].items.met + reports[m].indicators[0].items.missed > 0) {
          ++with_decisions;
        }
      }
    }
    EXPECT_GE(with_decisions, 10) << when;
  };
  expect_replay("live");
  // Asked from a month before the history: those months are there, with no case.
  auto longer = reports::MonthlyTrend::Compute(*store, reports::MonthsAfter(last, -20));
  ASSERT_TRUE(longer) << longer.error().message;
  ASSERT_EQ(longer.value().months().size(), 21u);
  EXPECT_EQ(longer.value().For(Scope{}, kDefaultMinCases).front().cases, 0);
  EXPECT_GT(longer.value().For(Scope{}, kDefaultMinCases).back().cases, 100);
  engine.reset();
  ASSERT_TRUE(Engine::Rebuild(*store, EngineOptions{}, RebuildRequest{sim.end, "", sim.end},
                              [](uint64_t) {}));
  expect_replay("after a rebuild");
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

// Catching up: a backlog stored first (ApplyDeferred) and each case projected once
// (ProjectPending) ends where a live run ends, and where a replay does.
namespace casewatch::engine {
namespace {

// What a store holds that a catch-up must get right, apart from sequence numbers: the report with
// case items and the stored counts, every stored event, the obligation_missed events and the
// alerts (byte for byte), the offsets and the pending marks.
struct StoreState {
  std::string items;
  std::string counts;
  std::multiset<std::string> events;           // every stored event's bytes
  std::map<std::string, std::string> derived;  // obligation_missed: id -> bytes
  std::multiset<std::string> alerts;           // key, then the alert
  std::vector<std::string> overdue;            // "case indicator due" of the overdue items
  std::map<int32_t, int64_t> offsets;
  size_t pending = 0;
};

StoreState StateOf(const store::Store& store) {
  StoreState state;
  StoreReportRequest items;
  items.case_items = true;
  state.items = StoreReportJson(store, items, ReportSource::kStoredProjections);
  state.counts = StoreReportJson(store, {}, ReportSource::kScopeCounts);
  EXPECT_TRUE(store.ScanCases([](std::string_view) {}, [&](std::string_view bytes) {
    state.events.emplace(bytes);
    events::v1::Envelope e;
    EXPECT_TRUE(e.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
    if (e.has_obligation_missed()) state.derived[e.event_id()] = bytes;
  }));
  EXPECT_TRUE(store.ScanOutbox(0, [&](uint64_t, const store::v1::OutboxRecord& r) {
    if (r.topic() == "case-alerts") state.alerts.insert(r.key() + "\n" + r.value());
    return true;
  }));
  EXPECT_TRUE(
      store.ScanProjections([&](std::string_view case_id, const store::v1::CaseProjection& p) {
        for (const store::v1::StoredItem& item : p.items()) {
          if (!item.overdue()) continue;
          state.overdue.push_back(fmt::format("{} {} {}", case_id,
                                              InfoOf(static_cast<Indicator>(item.indicator())).id,
                                              item.due()));
        }
      }));
  std::sort(state.overdue.begin(), state.overdue.end());
  auto offsets = store.Offsets("case-events");
  EXPECT_TRUE(offsets);
  for (const store::OffsetEntry& entry : offsets.value()) {
    state.offsets[entry.partition] = entry.next_offset;
  }
  EXPECT_TRUE(store.ScanPendingCases([&](std::string_view) { ++state.pending; }));
  return state;
}

// "case indicator due" of each obligation_missed event, sorted (the form of StoreState::overdue).
std::vector<std::string> DerivedItems(const StoreState& state) {
  std::vector<std::string> items;
  for (const auto& [id, bytes] : state.derived) {
    events::v1::Envelope e;
    EXPECT_TRUE(e.ParseFromString(bytes));
    items.push_back(fmt::format("{} {} {}", e.case_id(), e.obligation_missed().indicator(),
                                e.obligation_missed().due().seconds() / 86400));
  }
  std::sort(items.begin(), items.end());
  return items;
}

// The event ids of the alerts; none raised twice.
std::set<std::string> AlertIds(const StoreState& state) {
  std::set<std::string> ids;
  for (const std::string& alert : state.alerts) {
    alerts::v1::ObligationMissedAlert parsed;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(alert.substr(alert.find('\n') + 1),
                                                            &parsed)
                    .ok());
    EXPECT_TRUE(ids.insert(parsed.event_id()).second) << "raised twice: " << alert;
  }
  return ids;
}

void ExpectSameState(const StoreState& got, const StoreState& want) {
  EXPECT_EQ(got.items, want.items);
  EXPECT_EQ(got.counts, want.counts);
  EXPECT_EQ(got.events.size(), want.events.size());
  EXPECT_TRUE(got.events == want.events) << "the stored events differ";
  EXPECT_EQ(got.derived.size(), want.derived.size());
  EXPECT_TRUE(got.derived == want.derived) << "the obligation_missed events differ";
  EXPECT_EQ(got.alerts.size(), want.alerts.size());
  EXPECT_TRUE(got.alerts == want.alerts) << "the alerts differ";
  EXPECT_EQ(got.offsets, want.offsets);
  EXPECT_EQ(got.pending, want.pending);
}

// The simulated records shuffled, a tenth of them delivered twice.
std::vector<std::string> Scrambled(const testing::SimulatedStream& sim, uint64_t seed) {
  std::vector<std::string> records = sim.records;
  for (size_t i = 0; i < sim.records.size(); i += 10) records.push_back(sim.records[i]);
  std::mt19937_64 random(seed);
  std::shuffle(records.begin(), records.end(), random);
  return records;
}

TEST(IdFilter, EveryIdAddedIsFoundAndFewOthersAre) {
  IdFilter filter;
  EXPECT_FALSE(filter.MayContain("never-added"));
  const int kAdded = 3'000'000;  // past the first layer's capacity: the filter grows
  for (int i = 0; i < kAdded; ++i) filter.Add(fmt::format("event-{}", i));
  int missing = 0;
  for (int i = 0; i < kAdded; ++i) missing += filter.MayContain(fmt::format("event-{}", i)) ? 0 : 1;
  EXPECT_EQ(missing, 0) << "a Bloom filter never forgets";
  int false_positives = 0;
  for (int i = 0; i < 100'000; ++i) {
    false_positives += filter.MayContain(fmt::format("other-{}", i)) ? 1 : 0;
  }
  EXPECT_LT(false_positives, 4'000) << "about 1% a layer, two layers";
  EXPECT_LT(filter.bytes(), size_t{8} << 20) << "about 10 bits an id";
}

TEST(CatchingUp, EachCaseIsProjectedOnceAndTheStoreEndsAsLiveAndAsReplay) {
  TempDir dir;
  const auto sim = Simulate(150, 12, 7);
  const std::vector<std::string> records = Scrambled(sim, 11);
  std::set<std::string> cases(sim.keys.begin(), sim.keys.end());

  auto live_store = store::Store::Open(dir.path() / "live").value();
  EngineCounters live_counters;
  {
    auto live = MakeEngine(*live_store);
    Feed(*live, records, 97, sim.end);
    live_counters = live->counters();
  }
  auto one_batch_store = store::Store::Open(dir.path() / "one-batch").value();
  {
    auto one_batch = MakeEngine(*one_batch_store);
    Feed(*one_batch, records, records.size(), sim.end);
  }

  auto store = store::Store::Open(dir.path() / "caught-up").value();
  EngineOptions options;
  options.max_cases_per_write = 40;  // several writes to project them all
  auto engine = Engine::Create(*store, options).value();
  Feed(*engine, records, 97, sim.end, 0, Path::kCatchingUp);
  EXPECT_EQ(engine->counters().cases_evaluated, 0u) << "nothing projected while storing";
  EXPECT_EQ(engine->counters().cases_pending, cases.size());
  EXPECT_EQ(engine->counters().accepted, live_counters.accepted);
  EXPECT_EQ(engine->counters().duplicates, live_counters.duplicates);
  EXPECT_EQ(engine->counters().rejected, live_counters.rejected);
  EXPECT_EQ(StateOf(*store).pending, cases.size()) << "the pending marks are stored";
  EXPECT_GE(ProjectAllPending(*engine, sim.end), static_cast<int>(cases.size() / 40));
  EXPECT_EQ(engine->counters().cases_evaluated, cases.size()) << "each case projected once";
  EXPECT_EQ(engine->counters().cases_pending, 0u);

  const StoreState caught_up = StateOf(*store);
  const StoreState live = StateOf(*live_store);
  const StoreState one_batch = StateOf(*one_batch_store);
  StoreReportRequest items;
  items.case_items = true;
  EXPECT_EQ(caught_up.items, Replay(dir, sim.file_bytes, items, sim.end));
  EXPECT_EQ(caught_up.counts, Replay(dir, sim.file_bytes, {}, sim.end));
  EXPECT_EQ(caught_up.items, live.items);
  EXPECT_EQ(caught_up.counts, live.counts);
  EXPECT_EQ(caught_up.offsets, live.offsets);

  // Derived events: exactly the obligations missed (with their window open) as of T, the same
  // bytes as a live engine that read the backlog in one batch, and every one of them also raised,
  // with the same bytes, by the engine that read it batch by batch.
  ASSERT_FALSE(caught_up.overdue.empty());
  EXPECT_EQ(DerivedItems(caught_up), caught_up.overdue);
  ExpectSameState(caught_up, one_batch);
  for (const auto& [id, bytes] : caught_up.derived) {
    auto found = live.derived.find(id);
    ASSERT_NE(found, live.derived.end()) << id;
    EXPECT_EQ(found->second, bytes) << id;
  }
  // Its alerts too, each naming the case's allocation as of T; the batch-by-batch engine's name
  // the allocation as of the evaluation that raised them (a reallocation may have come later).
  const std::set<std::string> live_alerts = AlertIds(live);
  for (const std::string& id : AlertIds(caught_up)) EXPECT_EQ(live_alerts.count(id), 1u) << id;
  // The batch-by-batch engine raised more: obligations whose fulfilment was still in a later
  // batch when it evaluated the case (docs: services/engine/README.md, "Catching up").
  EXPECT_GT(live.derived.size(), caught_up.derived.size());
  EXPECT_EQ(live.overdue, caught_up.overdue);
}

TEST(CatchingUp, CasesWithNothingPendingStillFallDueAndAPendingCaseIsProjectedWithItsEvents) {
  // A live engine holds projected cases; a backlog arrives for some of them while the clock moves
  // past due dates: the others are re-evaluated at their deadlines as live, the pending ones once.
  TempDir dir;
  const auto sim = Simulate(80, 8, 21);
  const size_t half = sim.records.size() / 2;
  const std::vector<std::string> first(sim.records.begin(), sim.records.begin() + half);
  const std::vector<std::string> rest(sim.records.begin() + half, sim.records.end());
  const Instant early{sim.end.seconds - 60 * 86400, 0};
  auto run = [&](const std::filesystem::path& data, Path path) {
    auto store = store::Store::Open(data).value();
    auto engine = MakeEngine(*store);
    Feed(*engine, first, 200, early);
    Feed(*engine, rest, 150, sim.end, half, path);
    if (path == Path::kCatchingUp) ProjectAllPending(*engine, sim.end);
    EXPECT_TRUE(engine->AdvanceTo(sim.end));
    return StateOf(*store);
  };
  const StoreState live = run(dir.path() / "live", Path::kLive);
  const StoreState caught_up = run(dir.path() / "caught-up", Path::kCatchingUp);
  EXPECT_EQ(caught_up.items, live.items);
  EXPECT_EQ(caught_up.counts, live.counts);
  StoreReportRequest items;
  items.case_items = true;
  EXPECT_EQ(caught_up.items, Replay(dir, sim.file_bytes, items, sim.end));
  EXPECT_EQ(caught_up.pending, 0u);
  EXPECT_GE(DerivedItems(caught_up).size(), caught_up.overdue.size());
  for (const auto& [id, bytes] : caught_up.derived) EXPECT_EQ(live.derived.count(id), 1u) << id;
}

// The engine, catching up, in a child process killed with SIGKILL: any write may be cut short.
// Resumes from the stored offsets (re-reading a few records before them, as a broker may), stores
// what is left, then projects every pending case; exits 0 when done.
[[noreturn]] void CatchUpInChild(const std::filesystem::path& data,
                                 const std::vector<std::string>& records, Instant now) {
  auto store = store::Store::Open(data);
  if (!store) _exit(2);
  EngineOptions options;
  options.max_cases_per_write = 4;  // many writes to be killed in while projecting
  auto engine = Engine::Create(*store.value(), options);
  if (!engine) _exit(3);
  auto offsets = engine.value()->StartOffsets();
  if (!offsets) _exit(4);
  size_t from = offsets.value().empty() ? 0 : offsets.value()[0].next_offset;
  from -= std::min<size_t>(from, 30);
  for (size_t at = from; at < records.size(); at += 40) {
    std::vector<InputRecord> batch;
    for (size_t i = at; i < std::min(records.size(), at + 40); ++i) {
      batch.push_back(InputRecord{0, static_cast<int64_t>(i), "key", records[i]});
    }
    if (!engine.value()->ApplyDeferred(batch, now)) _exit(5);
  }
  for (;;) {
    auto left = engine.value()->ProjectPending(now);
    if (!left) _exit(6);
    if (left.value() == 0) break;
  }
  _exit(0);
}

TEST(CatchingUp, KilledAnywhereItEndsIdentical) {
  TempDir dir;
  const auto sim = Simulate(300, 12, 31);
  const std::vector<std::string> records = Scrambled(sim, 5);

  const auto run_child = [&](const std::filesystem::path& data, int kill_after_ms) {
    const pid_t child = fork();
    if (child == 0) CatchUpInChild(data, records, sim.end);
    if (kill_after_ms >= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(kill_after_ms));
      kill(child, SIGKILL);
    }
    int status = 0;
    waitpid(child, &status, 0);
    return status;
  };
  const auto started = std::chrono::steady_clock::now();
  const int calm = run_child(dir.path() / "calm", -1);
  ASSERT_TRUE(WIFEXITED(calm) && WEXITSTATUS(calm) == 0) << calm;
  const auto calm_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - started)
                           .count();

  // Each run is killed within the first third of an uninterrupted run's time (start-up
  // included), so the kills fall while storing and while projecting.
  std::mt19937 random(2026);
  std::uniform_int_distribution<int> kill_after(5, std::max<int>(10, calm_ms / 3));
  int kills = 0;
  for (int attempt = 0; attempt < 40 && kills < 12; ++attempt) {
    const int status = run_child(dir.path() / "killed", kill_after(random));
    if (WIFEXITED(status)) {
      ASSERT_EQ(WEXITSTATUS(status), 0);
      break;  // finished before the kill
    }
    ++kills;
  }
  EXPECT_GE(kills, 3);
  const int last = run_child(dir.path() / "killed", -1);
  ASSERT_TRUE(WIFEXITED(last) && WEXITSTATUS(last) == 0) << last;

  auto calm_store = store::Store::Open(dir.path() / "calm").value();
  auto killed_store = store::Store::Open(dir.path() / "killed").value();
  const StoreState want = StateOf(*calm_store);
  ExpectSameState(StateOf(*killed_store), want);
  StoreReportRequest items;
  items.case_items = true;
  EXPECT_EQ(want.items, Replay(dir, sim.file_bytes, items, sim.end));
  EXPECT_EQ(DerivedItems(want), want.overdue);
}

TEST(CatchingUp, StoppedAfterAnyWriteAndRestartedItEndsIdentical) {
  // The engine is dropped after every write, storing and projecting, and opened again over the
  // same store (a crash between writes), the broker redelivering from a little before the stored
  // offset; it ends where an uninterrupted catch-up ends.
  TempDir dir;
  const auto sim = Simulate(60, 8, 41);
  const std::vector<std::string> records = Scrambled(sim, 3);
  EngineOptions options;
  options.max_cases_per_write = 7;
  StoreState want;
  {
    auto store = store::Store::Open(dir.path() / "calm").value();
    auto engine = Engine::Create(*store, options).value();
    Feed(*engine, records, 50, sim.end, 0, Path::kCatchingUp);
    ProjectAllPending(*engine, sim.end);
    want = StateOf(*store);
  }
  int restarts = 0;
  for (bool done = false; !done; ++restarts) {
    auto store = store::Store::Open(dir.path() / "restarted").value();
    auto engine = Engine::Create(*store, options).value();
    const auto offsets = engine->StartOffsets().value();
    const size_t next = offsets.empty() ? 0 : offsets[0].next_offset;
    if (next < records.size()) {
      const size_t from = next - std::min<size_t>(next, 20);
      Feed(*engine,
           std::vector<std::string>(records.begin() + from,
                                    records.begin() + std::min(records.size(), next + 50)),
           next + 50 - from, sim.end, from, Path::kCatchingUp);
    } else {
      auto left = engine->ProjectPending(sim.end);
      ASSERT_TRUE(left) << left.error().message;
      done = left.value() == 0;
    }
  }
  EXPECT_GT(restarts, static_cast<int>(records.size() / 50 + 60 / 7));
  ExpectSameState(StateOf(*store::Store::Open(dir.path() / "restarted").value()), want);
  EXPECT_EQ(DerivedItems(want), want.overdue);
}

}  // namespace
}  // namespace casewatch::engine

namespace casewatch::engine {
namespace {

// The derived topic as a live engine's outbox would publish it: its records, in order.
std::vector<std::string> DerivedTopicRecords(const store::Store& store) {
  std::vector<std::string> records;
  EXPECT_TRUE(store.ScanOutbox(0, [&](uint64_t, const store::v1::OutboxRecord& r) {
    if (r.topic() == EngineOptions{}.derived_topic) records.push_back(r.value());
    return true;
  }));
  return records;
}

std::vector<InputRecord> AsPartitionZero(const std::vector<std::string>& values) {
  std::vector<InputRecord> records;
  for (size_t i = 0; i < values.size(); ++i) {
    records.push_back(InputRecord{0, static_cast<int64_t>(i), "key", values[i], "kafka"});
  }
  return records;
}

// Kafka as the log of record: a store lost with its host is rebuilt from the events topic and the
// derived topic, with the derived events the lost store had (including those of obligations whose
// fulfilment arrived later) and no alert raised a second time.
TEST(LogOfRecord, AStoreRebuiltFromTheTopicsHasTheSameDerivedEventsAndRaisesNoAlertAgain) {
  TempDir dir;
  const auto sim = Simulate(150, 12, 9);
  const std::vector<std::string> records = Scrambled(sim, 17);

  // The lost store: read batch by batch, so some obligations looked missed until their
  // fulfilment's batch came.
  auto lost_store = store::Store::Open(dir.path() / "lost").value();
  {
    auto live = MakeEngine(*lost_store);
    Feed(*live, records, 97, sim.end);
  }
  const StoreState lost = StateOf(*lost_store);
  const std::vector<std::string> derived_topic = DerivedTopicRecords(*lost_store);
  ASSERT_EQ(derived_topic.size(), lost.derived.size()) << "each derived event published once";
  ASSERT_GT(lost.derived.size(), lost.overdue.size()) << "no obligation looked missed for a while";

  // The rebuild: the derived topic first, then the events topic, catching up.
  auto store = store::Store::Open(dir.path() / "rebuilt").value();
  auto engine = MakeEngine(*store);
  const std::vector<InputRecord> restored = AsPartitionZero(derived_topic);
  ASSERT_TRUE(engine->RestoreDerived(restored, sim.end));
  EXPECT_EQ(engine->counters().derived_restored, lost.derived.size());
  Feed(*engine, records, 97, sim.end, 0, Path::kCatchingUp);
  ProjectAllPending(*engine, sim.end);
  EXPECT_EQ(engine->counters().missed_obligations, 0u) << "nothing derived anew";

  const StoreState rebuilt = StateOf(*store);
  EXPECT_EQ(rebuilt.items, lost.items);
  EXPECT_EQ(rebuilt.counts, lost.counts);
  EXPECT_TRUE(rebuilt.derived == lost.derived) << "the obligation_missed events differ";
  EXPECT_TRUE(rebuilt.events == lost.events) << "the stored events differ";
  EXPECT_TRUE(rebuilt.alerts.empty()) << "an alert raised again";
  EXPECT_TRUE(DerivedTopicRecords(*store).empty()) << "a derived event published again";
  auto derived_offsets = engine->DerivedStartOffsets();
  ASSERT_TRUE(derived_offsets);
  ASSERT_EQ(derived_offsets.value().size(), 1u);
  EXPECT_EQ(derived_offsets.value()[0].next_offset, static_cast<int64_t>(restored.size()));

  // Read again (a restart before its offsets were stored, or a duplicate on the topic): skipped.
  ASSERT_TRUE(engine->RestoreDerived(restored, sim.end));
  EXPECT_EQ(engine->counters().derived_restored, lost.derived.size());
  EXPECT_TRUE(StateOf(*store).derived == lost.derived);

  // Anything but an obligation_missed written by casewatch is dead-lettered, naming the topic.
  const std::string opened = Envelope(
      R"({"eventId":"x-1","caseId":"C-X","occurredAt":"2024-01-01T00:00:00Z",)"
      R"("caseOpened":{"caseType":"CASE_TYPE_COMMUNITY_ORDER","region":"R","pdu":"P",)"
      R"("team":"T","offenderManager":"O"}})");
  const std::vector<InputRecord> stray = {
      InputRecord{0, static_cast<int64_t>(restored.size()), "C-X", opened, "kafka"}};
  ASSERT_TRUE(engine->RestoreDerived(stray, sim.end));
  EXPECT_EQ(engine->counters().rejected, 1u);
  std::vector<store::v1::DeadLetter> letters;
  ASSERT_TRUE(store->ScanDeadLetters([&](uint64_t, const store::v1::DeadLetter& letter) {
    letters.push_back(letter);
  }));
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].topic(), EngineOptions{}.derived_topic);
  EXPECT_NE(letters[0].reason().find("only obligation_missed events written by casewatch"),
            std::string::npos)
      << letters[0].reason();
}


// Several engines on one topic (services/daemon/README.md): the outbox's derived events of a
// store, by event id.
std::set<std::string> DerivedIdsInOutbox(const store::Store& store) {
  std::set<std::string> ids;
  for (const std::string& value : DerivedTopicRecords(store)) {
    auto id = EventIdOf(value);
    EXPECT_TRUE(id);
    if (id) ids.insert(id.value());
  }
  return ids;
}

std::set<std::string> KeysOf(const std::map<std::string, std::string>& derived) {
  std::set<std::string> keys;
  for (const auto& [id, bytes] : derived) keys.insert(id);
  return keys;
}

// A follower applies what the leader applies, derives nothing and publishes nothing, and gets the
// leader's derived events from the derived topic. The leader lost, the follower leads: it derives
// what the cases it saw owe and sweeps the rest, so that every obligation missed in the end has
// its derived event and alert, and none the last leader published is derived again.
TEST(Group, AFollowerLeadsWithoutRepeatingOrMissingAnyDerivedEvent) {
  TempDir dir;
  const auto sim = Simulate(150, 12, 9);
  const std::vector<std::string> records = Scrambled(sim, 23);
  const std::vector<std::string> first_half(records.begin(), records.begin() + records.size() / 2);
  const std::vector<std::string> second_half(records.begin() + records.size() / 2, records.end());

  auto leader_store = store::Store::Open(dir.path() / "leader").value();
  auto follower_store = store::Store::Open(dir.path() / "follower").value();
  auto leader = MakeEngine(*leader_store);
  auto follower = MakeEngine(*follower_store);
  follower->Follow();
  EXPECT_TRUE(leader->leading());
  EXPECT_FALSE(follower->leading());
  Feed(*leader, first_half, 97, sim.end);
  Feed(*follower, first_half, 97, sim.end);
  const std::vector<std::string> published_by_leader = DerivedTopicRecords(*leader_store);
  ASSERT_FALSE(published_by_leader.empty());
  EXPECT_EQ(follower->counters().missed_obligations, 0u);
  std::vector<std::string> follower_outbox;
  ASSERT_TRUE(follower_store->ScanOutbox(0, [&](uint64_t, const store::v1::OutboxRecord& r) {
    follower_outbox.push_back(r.topic());
    return true;
  }));
  EXPECT_TRUE(follower_outbox.empty()) << "a follower wrote to its outbox";
  // The leader's derived events, read back from the derived topic.
  ASSERT_TRUE(follower->RestoreDerived(AsPartitionZero(published_by_leader), sim.end));
  EXPECT_EQ(StateOf(*follower_store).items, StateOf(*leader_store).items);

  // The leader is lost; the rest of the records reach the follower alone, then it leads.
  leader.reset();
  Feed(*follower, second_half, 97, sim.end, first_half.size());
  EXPECT_EQ(follower->counters().missed_obligations, 0u);
  ASSERT_TRUE(follower->Lead(sim.end));
  EXPECT_TRUE(follower->leading());
  int sweeps = 0;
  while (follower->sweeping()) {
    ASSERT_TRUE(follower->Sweep(sim.end));
    ++sweeps;
  }
  EXPECT_GE(sweeps, 1);

  // Against one engine given every record at once: the obligations missed in the end.
  auto reference_store = store::Store::Open(dir.path() / "reference").value();
  {
    auto reference = MakeEngine(*reference_store);
    Feed(*reference, records, records.size(), sim.end);
  }
  const StoreState reference = StateOf(*reference_store);
  const StoreState led = StateOf(*follower_store);
  EXPECT_EQ(led.items, reference.items);
  EXPECT_EQ(led.counts, reference.counts);
  const std::set<std::string> derived = KeysOf(led.derived);
  for (const std::string& id : KeysOf(reference.derived)) {
    EXPECT_TRUE(derived.count(id) > 0) << "missed obligation " << id << " never derived";
  }
  // Each derived event published once: by the lost leader or by the new one, never by both.
  const std::set<std::string> by_new_leader = DerivedIdsInOutbox(*follower_store);
  std::set<std::string> by_old_leader;
  for (const std::string& value : published_by_leader) {
    by_old_leader.insert(EventIdOf(value).value());
  }
  for (const std::string& id : by_new_leader) {
    EXPECT_EQ(by_old_leader.count(id), 0u) << id << " published by both leaders";
  }
  std::set<std::string> published = by_old_leader;
  published.insert(by_new_leader.begin(), by_new_leader.end());
  EXPECT_EQ(published, derived);
  EXPECT_EQ(led.alerts.size(), by_new_leader.size()) << "an alert for each derived event";
}

// A dashboard on a follower sees the alerts the leader raises: each derived event the follower
// reads as news is handed to its live readers once, addressed to the case's allocation in the
// follower's store (the leader's names the allocation when it derived: they differ only for a
// case reallocated in between); derived events restored as history (at a start) raise nothing.
TEST(Group, AFollowersLiveReadersSeeEveryAlertTheLeaderRaisesOnce) {
  TempDir dir;
  const auto sim = Simulate(120, 12, 31);
  const std::vector<std::string> records = Scrambled(sim, 7);
  auto open = [&](const char* name, std::vector<alerts::v1::ObligationMissedAlert>& seen) {
    EngineOptions options;
    options.on_commit = [&seen](const CommitInfo& info) {
      seen.insert(seen.end(), info.alerts.begin(), info.alerts.end());
    };
    return std::pair(store::Store::Open(dir.path() / name).value(), options);
  };
  auto ids = [](const std::vector<alerts::v1::ObligationMissedAlert>& alerts) {
    std::multiset<std::string> out;
    for (const alerts::v1::ObligationMissedAlert& a : alerts) out.insert(a.event_id());
    return out;
  };
  std::vector<alerts::v1::ObligationMissedAlert> leader_saw, follower_saw, restarted_saw;
  auto [leader_store, leader_options] = open("leader", leader_saw);
  auto [follower_store, follower_options] = open("follower", follower_saw);
  auto leader = Engine::Create(*leader_store, leader_options).value();
  auto follower = Engine::Create(*follower_store, follower_options).value();
  follower->Follow();
  // In steps, as the loop runs: a batch of events to both, then the leader's derived events.
  const size_t step = records.size() / 4;
  size_t derived_read = 0;
  size_t checked = 0;
  for (size_t at = 0; at < records.size(); at += step) {
    const std::vector<std::string> part(records.begin() + at,
                                        records.begin() + std::min(records.size(), at + step));
    Feed(*leader, part, 97, sim.end, at);
    Feed(*follower, part, 97, sim.end, at);
    const std::vector<std::string> derived = DerivedTopicRecords(*leader_store);
    std::vector<InputRecord> news = AsPartitionZero(derived);
    news.erase(news.begin(), news.begin() + static_cast<std::ptrdiff_t>(derived_read));
    derived_read = derived.size();
    ASSERT_TRUE(follower->RestoreDerived(news, sim.end, Engine::Restoring::kNews));
    EXPECT_EQ(follower_saw.size(), derived_read);
    for (; checked < follower_saw.size(); ++checked) {
      const alerts::v1::ObligationMissedAlert& alert = follower_saw[checked];
      const auto projection = follower_store->ReadProjection(alert.case_id()).value();
      ASSERT_TRUE(projection.has_value()) << alert.case_id();
      EXPECT_EQ(alert.team(), projection->team()) << alert.event_id();
      EXPECT_EQ(alert.offender_manager(), projection->offender_manager()) << alert.event_id();
    }
  }
  ASSERT_FALSE(leader_saw.empty());
  EXPECT_EQ(ids(follower_saw), ids(leader_saw));
  std::map<std::string, std::string> due_by_leader;
  for (const auto& a : leader_saw) due_by_leader[a.event_id()] = a.indicator() + " " + a.due();
  for (const auto& a : follower_saw) {
    EXPECT_EQ(a.indicator() + " " + a.due(), due_by_leader[a.event_id()]) << a.event_id();
  }
  // Read again as news (a record delivered twice): stored already, raised nothing.
  ASSERT_TRUE(follower->RestoreDerived(AsPartitionZero(DerivedTopicRecords(*leader_store)),
                                       sim.end, Engine::Restoring::kNews));
  EXPECT_EQ(follower_saw.size(), leader_saw.size());

  // A new store restoring the same derived events before it consumes: history, no alert.
  auto [restarted_store, restarted_options] = open("restarted", restarted_saw);
  auto restarted = Engine::Create(*restarted_store, restarted_options).value();
  restarted->Follow();
  ASSERT_TRUE(restarted->RestoreDerived(AsPartitionZero(DerivedTopicRecords(*leader_store)),
                                        sim.end));
  EXPECT_EQ(restarted->counters().derived_restored, leader_saw.size());
  EXPECT_TRUE(restarted_saw.empty());
}

}  // namespace
}  // namespace casewatch::engine
