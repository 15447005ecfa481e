// daemon::GroupDirectory: the engines of a group listing each other through a compacted topic.
// Each hears the others within a few writes; one killed (gone without a word) is listed silent,
// with when it was last heard of; one stopped cleanly leaves the list; one started later reads
// who is there from the topic's start. Runs on librdkafka's mock cluster, and (ctest label
// real_kafka) on the real cluster.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "services/daemon/group_directory.h"
#include "services/daemon/testing/kafka_harness.h"

namespace casewatch {
namespace {

using daemon::DecodeDirectoryRecord;
using daemon::EncodeDirectoryRecord;
using daemon::GroupDirectory;
using daemon::testing::TestBroker;
using http::GroupPeer;
using http::GroupView;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(GroupDirectoryRecord, WhatIsWrittenIsReadBack) {
  GroupPeer engine;
  engine.role = "leader";
  engine.started = Instant{1796515200, 0};
  engine.lag = 35;
  engine.catching_up = true;
  engine.as_of = Instant{1796515260, 500000000};
  engine.offsets = {{0, 5459}, {1, 4708}};
  const std::string value = EncodeDirectoryRecord(engine);
  EXPECT_EQ(value,
            "role=leader started=2026-12-06T00:00:00Z lag=35 catching_up=1 "
            "as_of=2026-12-06T00:01:00.500Z offsets=0:5459,1:4708");
  auto read = DecodeDirectoryRecord("http://a:8080", value, Instant{1796515300, 0});
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read.value().url, "http://a:8080");
  EXPECT_EQ(read.value().role, "leader");
  EXPECT_EQ(read.value().started, engine.started);
  EXPECT_EQ(read.value().heard, (Instant{1796515300, 0}));
  EXPECT_EQ(read.value().lag, 35);
  EXPECT_TRUE(read.value().catching_up);
  EXPECT_EQ(read.value().as_of, engine.as_of);
  EXPECT_EQ(read.value().offsets, engine.offsets);

  engine.as_of.reset();
  engine.offsets.clear();
  auto empty = DecodeDirectoryRecord("http://a:8080", EncodeDirectoryRecord(engine), Instant{});
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_FALSE(empty.value().as_of);
  EXPECT_TRUE(empty.value().offsets.empty());
}

TEST(GroupDirectoryRecord, ANewerEnginesFieldsAreSkippedABadOneIsNamed) {
  auto newer = DecodeDirectoryRecord(
      "http://b:8080", "role=follower started=2026-12-06T00:00:00Z tasks=1,2 lag=0", Instant{});
  ASSERT_TRUE(newer) << newer.error().message;
  EXPECT_EQ(newer.value().role, "follower");
  EXPECT_EQ(newer.value().lag, 0);

  auto bad = DecodeDirectoryRecord("http://b:8080", "role=follower lag=many", Instant{});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("http://b:8080: lag=many"), std::string::npos)
      << bad.error().message;
  EXPECT_FALSE(DecodeDirectoryRecord("http://b:8080", "lag=0", Instant{}));  // no role
  EXPECT_FALSE(DecodeDirectoryRecord("http://b:8080", "role=lead\"er", Instant{}));
}

TEST(GroupDirectoryRecord, TheTasksAnEngineStandsByForAreReadBackAndABadListNamed) {
  GroupPeer engine;
  engine.role = "follower";
  engine.standby = {2, 5};
  const std::string value = EncodeDirectoryRecord(engine);
  EXPECT_NE(value.find(" standby=2,5"), std::string::npos) << value;
  auto read = DecodeDirectoryRecord("http://a:8080", value, Instant{});
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read.value().standby, (std::vector<int32_t>{2, 5}));
  engine.standby.clear();
  EXPECT_EQ(EncodeDirectoryRecord(engine).find("standby"), std::string::npos);
  auto bad = DecodeDirectoryRecord("http://a:8080", "role=follower standby=2,x", Instant{});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("standby=2,x"), std::string::npos) << bad.error().message;
}

// A group of `urls`, each live, `owners[i]` the partitions engine i serves; `self` answers.
GroupView GroupOf(const std::vector<std::string>& urls,
                  const std::vector<std::vector<int32_t>>& owners, size_t self) {
  GroupView view;
  for (size_t i = 0; i < urls.size(); ++i) {
    GroupPeer peer;
    peer.url = urls[i];
    peer.live = true;
    peer.self = i == self;
    for (int32_t p : owners[i]) peer.offsets[p] = 0;
    view.engines.push_back(peer);
  }
  return view;
}

TEST(StandbyTasks, EachTaskGetsItsCopiesFromEnginesOtherThanItsOwnerAndAllAgreeWhich) {
  const std::vector<std::string> urls = {"http://a:8080", "http://b:8080", "http://c:8080"};
  const std::vector<std::vector<int32_t>> owners = {{0, 1}, {2, 3}, {4, 5}};
  for (int replicas : {1, 2}) {
    std::vector<int> copies(6, 0);
    for (size_t self = 0; self < urls.size(); ++self) {
      const GroupView view = GroupOf(urls, owners, self);
      for (int32_t p : daemon::StandbyTasks(view, owners[self], 6, replicas)) {
        EXPECT_EQ(std::count(owners[self].begin(), owners[self].end(), p), 0)
            << urls[self] << " keeps a copy of its own task " << p;
        ++copies[static_cast<size_t>(p)];
      }
    }
    // Every engine computes the same choice: each task has exactly `replicas` copies.
    for (size_t p = 0; p < copies.size(); ++p) {
      EXPECT_EQ(copies[p], replicas) << "task " << p << ", --standby-replicas " << replicas;
    }
  }
  // More copies asked than engines other than the owner: every other engine keeps one.
  const GroupView b = GroupOf(urls, owners, 1);
  EXPECT_EQ(daemon::StandbyTasks(b, owners[1], 6, 5), (std::vector<int32_t>{0, 1, 4, 5}));
  EXPECT_TRUE(daemon::StandbyTasks(b, owners[1], 6, 0).empty());
}

TEST(StandbyTasks, AnEngineJoiningMovesOnlyTheCopiesItRanksFor) {
  const std::vector<std::string> three = {"http://a:8080", "http://b:8080", "http://c:8080"};
  const std::vector<std::string> four = {"http://a:8080", "http://b:8080", "http://c:8080",
                                         "http://d:8080"};
  // 12 tasks; d has none yet (it has just joined), the others own four each.
  std::vector<std::vector<int32_t>> owners = {{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9, 10, 11}};
  const auto holders = [&](const std::vector<std::string>& urls) {
    std::vector<std::vector<size_t>> out(12);
    for (size_t self = 0; self < urls.size(); ++self) {
      for (int32_t p : daemon::StandbyTasks(GroupOf(urls, owners, self), owners[self], 12, 1)) {
        out[static_cast<size_t>(p)].push_back(self);
      }
    }
    return out;
  };
  const auto before = holders(three);
  owners.push_back({});
  const auto after = holders(four);
  for (size_t p = 0; p < 12; ++p) {
    ASSERT_EQ(after[p].size(), 1u) << "task " << p;
    // A task's copy either stays where it was or moves to the new engine d.
    EXPECT_TRUE(after[p] == before[p] || after[p][0] == 3) << "task " << p;
  }
  // An engine not in the directory (no HTTP) keeps no copy: it cannot be found by the others.
  GroupView alone = GroupOf(three, {{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9, 10, 11}}, 0);
  alone.engines[0].self = false;
  EXPECT_TRUE(daemon::StandbyTasks(alone, owners[0], 12, 1).empty());
}

std::unique_ptr<GroupDirectory> Start(const TestBroker& broker, const std::string& url,

                                      const std::string& role, milliseconds session_timeout) {
  daemon::DirectoryOptions options;
  options.topic = broker.directory_topic();
  options.url = url;
  options.interval = milliseconds(200);
  options.session_timeout = session_timeout;
  auto started = GroupDirectory::Start(kafka::KafkaConfig{broker.bootstrap_servers(), {}},
                                       std::move(options), [role] {
                                         GroupPeer self;
                                         self.role = role;
                                         self.lag = role == "leader" ? 0 : 7;
                                         self.offsets = {{0, 10}};
                                         return self;
                                       });
  EXPECT_TRUE(started) << started.error().message;
  return started ? std::move(started).value() : nullptr;
}

const GroupPeer* Find(const GroupView& view, const std::string& url) {
  auto it = std::find_if(view.engines.begin(), view.engines.end(),
                         [&](const GroupPeer& e) { return e.url == url; });
  return it == view.engines.end() ? nullptr : &*it;
}

// Polls `directory`'s view every 20 ms until `wanted` holds, up to 60 s; the last view.
GroupView WaitUntil(const GroupDirectory& directory,
                    const std::function<bool(const GroupView&)>& wanted) {
  const auto deadline = std::chrono::steady_clock::now() + seconds(60);
  GroupView view = directory.View();
  while (!wanted(view) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
    view = directory.View();
  }
  return view;
}

TEST(GroupDirectory, EnginesHearEachOtherAndTheSilentAndTheGoneAreTold) {
  auto broker = TestBroker::Start(2);
  ASSERT_TRUE(broker) << broker.error().message;
  const std::string a = "http://a.test:8080", b = "http://b.test:8080", c = "http://c.test:8080";
  const milliseconds timeout(1500);
  auto dir_a = Start(broker.value(), a, "leader", timeout);
  auto dir_b = Start(broker.value(), b, "follower", timeout);
  auto dir_c = Start(broker.value(), c, "follower", timeout);
  ASSERT_TRUE(dir_a && dir_b && dir_c);

  const auto all_live = [&](const GroupView& view) {
    if (view.engines.size() != 3) return false;
    return std::all_of(view.engines.begin(), view.engines.end(),
                       [](const GroupPeer& e) { return e.live; });
  };
  for (const GroupDirectory* directory : {dir_a.get(), dir_b.get(), dir_c.get()}) {
    const GroupView view = WaitUntil(*directory, all_live);
    ASSERT_TRUE(all_live(view)) << "an engine does not list all three live";
    EXPECT_EQ(view.problem, "");
    EXPECT_EQ(Find(view, a)->role, "leader");
    EXPECT_EQ(Find(view, a)->lag, 0);
    EXPECT_EQ(Find(view, b)->role, "follower");
    EXPECT_EQ(Find(view, b)->lag, 7);
    EXPECT_EQ(Find(view, c)->offsets, (std::map<int32_t, int64_t>{{0, 10}}));
    EXPECT_EQ(std::count_if(view.engines.begin(), view.engines.end(),
                            [](const GroupPeer& e) { return e.self; }),
              1);
  }

  // C killed: it says nothing more. A and B list it silent, with when it was last heard of.
  dir_c->Abandon();
  const auto killed_at = InstantOf(std::chrono::system_clock::now());
  for (const GroupDirectory* directory : {dir_a.get(), dir_b.get()}) {
    const GroupView view = WaitUntil(*directory, [&](const GroupView& v) {
      const GroupPeer* e = Find(v, c);
      return e != nullptr && !e->live;
    });
    const GroupPeer* silent = Find(view, c);
    ASSERT_NE(silent, nullptr) << "the killed engine is no longer listed";
    EXPECT_FALSE(silent->live);
    EXPECT_LE(silent->heard, killed_at);
    EXPECT_TRUE(Find(view, a)->live);
    EXPECT_TRUE(Find(view, b)->live);
  }

  // B stopped cleanly: it leaves the list, rather than being listed silent.
  dir_b.reset();
  const GroupView after_b =
      WaitUntil(*dir_a, [&](const GroupView& v) { return Find(v, b) == nullptr; });
  EXPECT_EQ(Find(after_b, b), nullptr) << "an engine stopped cleanly is still listed";
  ASSERT_NE(Find(after_b, c), nullptr);
  EXPECT_FALSE(Find(after_b, c)->live);

  // D starts later: from the topic it learns of A (live) and C (silent), not B.
  auto dir_d = Start(broker.value(), "http://d.test:8080", "follower", timeout);
  ASSERT_TRUE(dir_d);
  const GroupView seen_by_d = WaitUntil(*dir_d, [&](const GroupView& v) {
    const GroupPeer* e = Find(v, a);
    return e != nullptr && e->live && Find(v, c) != nullptr;
  });
  ASSERT_NE(Find(seen_by_d, a), nullptr);
  EXPECT_TRUE(Find(seen_by_d, a)->live);
  ASSERT_NE(Find(seen_by_d, c), nullptr);
  EXPECT_FALSE(Find(seen_by_d, c)->live);
  EXPECT_EQ(Find(seen_by_d, b), nullptr);
}

TEST(GroupDirectory, ADirectoryThatCannotBeReadIsSaidAndTheEngineStillListsItself) {
  auto broker = TestBroker::Start(1);
  ASSERT_TRUE(broker) << broker.error().message;
  daemon::DirectoryOptions options;
  options.topic = broker.value().directory_topic() + "-missing";
  options.url = "http://lonely.test:8080";
  // A topic that does not exist (a consumer does not make it on the fly).
  kafka::KafkaConfig config{broker.value().bootstrap_servers(), {}};
  auto started = GroupDirectory::Start(config, std::move(options), [] {
    GroupPeer self;
    self.role = "follower";
    return self;
  });
  ASSERT_TRUE(started) << started.error().message;
  const GroupView view =
      WaitUntil(*started.value(), [](const GroupView& v) { return !v.problem.empty(); });
  EXPECT_NE(view.problem.find("-missing"), std::string::npos) << view.problem;
  ASSERT_EQ(view.engines.size(), 1u);
  EXPECT_TRUE(view.engines[0].self);
  EXPECT_EQ(view.engines[0].url, "http://lonely.test:8080");
}

}  // namespace
}  // namespace casewatch
