#pragma once
// Tests only: casewatchd's HTTP side in the test's process — a RocksDB store in a temp directory
// fed by an engine on the test's thread, the live view fed by its commits, the API, and the Beast
// server on 127.0.0.1 — and what the HTTP tests share (tokens, JSON, events). Get and Post call
// the API in-process; SocketGet and SocketPost go through the server.

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/temp_dir.h"
#include "casewatch/events/v1/events.pb.h"
#include "casewatch/store/v1/records.pb.h"
#include "services/daemon/kafka_event_publisher.h"
#include "services/daemon/testing/kafka_harness.h"
#include "services/engine/engine.h"
#include "services/engine/testing/simulated_stream.h"
#include "services/http/api.h"
#include "services/http/audit_log.h"
#include "services/http/auth.h"
#include "services/http/live_view.h"
#include "services/http/params.h"
#include "services/http/server.h"
#include "services/http/testing/http_client.h"
#include "services/kafka/consumer.h"
#include "services/kafka/mock_cluster.h"
#include "services/kafka/producer.h"
#include "services/records/case_projection.h"
#include "services/reports/store_report.h"

namespace casewatch::http::testing {

using reports::StoreReportRequest;

inline constexpr std::string_view kInspectorToken = "cw_test_inspector";
inline constexpr std::string_view kPublisherToken = "cw_test_publisher";
inline constexpr std::string_view kViewerToken = "cw_test_viewer_region";
inline constexpr std::string_view kTeamViewerToken = "cw_test_viewer_team";

// --- JSON ---

// A parsed document; its elements live as long as it does.
class JsonDoc {
 public:
  explicit JsonDoc(std::string_view text) : parser_(std::make_unique<simdjson::dom::parser>()) {
    auto parsed = parser_->parse(text.data(), text.size());
    if (parsed.error()) {
      ADD_FAILURE() << "not JSON (" << simdjson::error_message(parsed.error()) << "): " << text;
      root_ = parser_->parse("null", 4).value();
      return;
    }
    root_ = parsed.value();
  }
  simdjson::dom::element root() const { return root_; }
  simdjson::dom::element operator[](std::string_view key) const { return root_[key].value(); }

 private:
  std::unique_ptr<simdjson::dom::parser> parser_;
  simdjson::dom::element root_;
};

inline std::string Str(simdjson::dom::element e) {
  if (e.is_null()) return "null";
  return std::string(std::string_view(e));
}

inline std::optional<std::string> NullableStr(simdjson::dom::element e) {
  if (e.is_null()) return std::nullopt;
  return std::string(std::string_view(e));
}

inline std::string ErrorMessage(const HttpReply& reply) {
  JsonDoc doc(reply.body);
  return Str(doc["error"]["message"]);
}

inline std::string ErrorCode(const HttpReply& reply) {
  JsonDoc doc(reply.body);
  return Str(doc["error"]["code"]);
}

// --- events ---

inline std::string EnvelopeJson(std::string_view event_id, std::string_view case_id, Instant occurred,
                         const Allocation& allocation) {
  return fmt::format(
      R"({{"eventId":"{}","caseId":"{}","occurredAt":"{}","caseOpened":{{"caseType":)"
      R"("CASE_TYPE_COMMUNITY_ORDER","region":"{}","pdu":"{}","team":"{}","offenderManager":"{}"}}}})",
      event_id, case_id, FormatInstant(occurred), allocation.region, allocation.pdu,
      allocation.team, allocation.offender_manager);
}

inline std::string EnvelopeBytes(std::string_view json) {
  events::v1::Envelope envelope;
  const auto parsed = google::protobuf::util::JsonStringToMessage(std::string(json), &envelope);
  EXPECT_TRUE(parsed.ok()) << parsed.ToString() << ": " << json;
  return envelope.SerializeAsString();
}

inline std::string Bearer(std::string_view token) { return fmt::format("Bearer {}", token); }

inline std::string ScopeQuery(const Scope& scope) {
  return http::ScopeQuery(scope, reports::GroupBy::kNone);
}

inline const engine::testing::SimulatedStream& Simulation() {
  static const engine::testing::SimulatedStream sim = engine::testing::Simulate(120, 12, 17);
  return sim;
}

// --- the service under test ---

struct HarnessOptions {
  // A Kafka broker (daemon::testing::TestBroker: the mock, or the real cluster of the ctest
  // label real_kafka), and POST /api/v1/events publishing to it.
  bool kafka = false;
  bool ready = true;   // tell the live view the engine has caught up
  // When set, the audit log's path is a symbolic link to this (e.g. /dev/full: a full disk).
  std::string audit_link_to;
  int64_t min_cases = kDefaultMinCases;  // casewatchd --min-cases
  // An engine of a group (casewatchd --group): its name, and what its directory says.
  std::string group;
  std::function<GroupView()> group_view;
  // The other engines' counts (ApiOptions::peer_counts).
  decltype(ApiOptions::peer_counts) peer_counts;
  std::chrono::milliseconds peer_refresh{0};  // ApiOptions::peer_refresh
  // Case timelines from the other engines (ApiOptions::peer_case).
  decltype(ApiOptions::peer_case) peer_case;
  // The other engines' open items (ApiOptions::peer_worklist).
  decltype(ApiOptions::peer_worklist) peer_worklist;
  // The other engines' trends (ApiOptions::peer_trend).
  decltype(ApiOptions::peer_trend) peer_trend;
  // The token the group's engines present to each other (ApiOptions::peer_principal); "": none.
  std::string_view peer_token;
  // The service's partitions shared out among this many tasks, each a store and engine of its
  // own (docs/partitioned-group.md): the simulation's cases split among them by key, task N fed
  // partition N. 1: one store of everything, as casewatchd runs today.
  size_t tasks = 1;
  ServerOptions server;

  HarnessOptions() {
    server.address = "127.0.0.1";
    server.port = 0;
    server.rate_per_second = 0;  // unlimited unless a test says otherwise
    server.max_body_bytes = 16 << 10;
    server.stream_interval = std::chrono::milliseconds(20);
  }
};

// casewatchd in the test's process: the store in a temp directory, the engine fed on the test's
// thread (Apply, AdvanceTo), its commits announced to the live view, the API and the server.
class Harness {
 public:
  explicit Harness(HarnessOptions options = HarnessOptions()) {
    const auto& sim = Simulation();
    if (options.kafka) {
      auto broker = daemon::testing::TestBroker::Start(1);
      if (!broker) Fail("kafka: " + broker.error().message);
      broker_.emplace(std::move(broker).value());
    }
    for (size_t t = 0; t < std::max<size_t>(options.tasks, 1); ++t) {
      auto store = store::Store::Open(dir_.path() / (t == 0 ? "store" : fmt::format("task-{}", t)));
      if (!store) Fail("store: " + store.error().message);
      stores_.push_back(std::move(store).value());
      readers_.push_back(stores_.back().get());
    }
    store_ = stores_.front().get();
    view_ = std::make_unique<LiveView>(Policy{}, options.min_cases);
    if (auto loaded = view_->Load(readers_); !loaded) Fail("view: " + loaded.error().message);
    for (size_t t = 0; t < stores_.size(); ++t) {
      engine::EngineOptions engine_options;
      engine_options.on_commit = [this, t](const engine::CommitInfo& info) {
        alerts_.insert(alerts_.end(), info.alerts.begin(), info.alerts.end());
        view_->OnCommit(info, t);
      };
      auto engine = engine::Engine::Create(*stores_[t], engine_options);
      if (!engine) Fail("engine: " + engine.error().message);
      engines_.push_back(std::move(engine).value());
    }
    engine_ = engines_.front().get();
    std::vector<int64_t>& offsets = next_offsets_;
    offsets.resize(stores_.size());
    for (size_t at = 0; at < sim.records.size(); at += 500) {
      std::vector<std::vector<engine::InputRecord>> batches(stores_.size());
      for (size_t i = at; i < std::min(sim.records.size(), at + 500); ++i) {
        const size_t t = std::hash<std::string>{}(sim.keys[i]) % stores_.size();
        batches[t].push_back(engine::InputRecord{static_cast<int32_t>(t), offsets[t]++,
                                                 sim.keys[i], sim.records[i]});
      }
      for (size_t t = 0; t < stores_.size(); ++t) {
        if (auto applied = engines_[t]->Apply(batches[t], sim.end); !applied) {
          Fail("apply: " + applied.error().message);
        }
      }
    }
    if (options.ready) ReportStatus();
    DiscoverOrganisation();

    const auto entry = [](std::string_view name, std::string_view role, std::string_view token,
                          const Scope& scope) {
      std::string json =
          fmt::format(R"({{"name":"{}","role":"{}","sha256":"{}")", name, role, Sha256Hex(token));
      for (const auto& [field, value] :
           {std::pair<std::string_view, const std::optional<std::string>*>{"region", &scope.region},
            {"pdu", &scope.pdu},
            {"team", &scope.team}}) {
        if (*value) json += fmt::format(R"(,"{}":"{}")", field, **value);
      }
      return json + "}";
    };
    const std::string tokens_json = fmt::format(
        R"({{"tokens":[{},{},{},{}]}})", entry("insp", "inspector", kInspectorToken, {}),
        entry("pub", "publisher", kPublisherToken, {}),
        entry("north-viewer", "viewer", kViewerToken, Scope{home_.region, {}, {}, {}}),
        entry("team-viewer", "viewer", kTeamViewerToken,
              Scope{home_.region, home_.pdu, home_.team, {}}));
    auto tokens = TokenRegistry::Parse(tokens_json, "test tokens");
    if (!tokens) Fail("tokens: " + tokens.error().message);
    tokens_ = std::move(tokens).value();
    audit_path_ = dir_.path() / "audit.log";
    if (!options.audit_link_to.empty()) {
      std::filesystem::create_symlink(options.audit_link_to, audit_path_);
    }
    auto audit = AuditLog::Open(audit_path_);
    if (!audit) Fail("audit: " + audit.error().message);
    audit_ = std::move(audit).value();

    ApiOptions api;
    api.stores = readers_;
    api.view = view_.get();
    api.tokens = &tokens_;
    if (!options.peer_token.empty()) api.peer_principal = tokens_.Find(options.peer_token);
    api.audit = audit_.get();
    if (broker_) {
      api.topic = broker_->topics().events;
      api.dead_letter_topic = broker_->topics().dead_letters;
      auto producer = kafka::Producer::Open(kafka::KafkaConfig{broker_->bootstrap_servers(), {}});
      if (!producer) Fail("producer: " + producer.error().message);
      producer_.emplace(std::move(producer).value());
      publisher_.emplace(*producer_);
      api.publisher = &*publisher_;
    }
    LiveView* view = view_.get();
    api.clock = [view] { return view->snapshot()->as_of.value_or(Instant{}); };
    api.group = options.group;
    api.group_view = options.group_view;
    api.peer_counts = options.peer_counts;
    api.peer_refresh = options.peer_refresh;
    api.peer_case = options.peer_case;
    api.peer_worklist = options.peer_worklist;
    api.peer_trend = options.peer_trend;
    api_ = std::make_unique<Api>(std::move(api));
    auto server = Server::Start(options.server, *api_, *view_);
    if (!server) Fail("server: " + server.error().message);
    server_ = std::move(server).value();
  }

  uint16_t port() const { return server_->port(); }
  store::Store& store() { return *store_; }  // task 0's
  // Every task's store (one unless HarnessOptions::tasks).
  const std::vector<const store::StoreReader*>& stores() const { return readers_; }
  LiveView& view() { return *view_; }
  engine::Engine& engine() { return *engine_; }
  const std::string& brokers() const { return broker_->bootstrap_servers(); }
  const daemon::testing::TopicNames& topics() const { return broker_->topics(); }
  const std::filesystem::path& audit_path() const { return audit_path_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  const std::vector<alerts::v1::ObligationMissedAlert>& alerts() const { return alerts_; }
  Instant now() const { return engine_->projection_instant(); }

  // The organisation as seen in the store: `home_` is a counted allocation (its region is the
  // region viewer's scope, its team the team viewer's), `other_region_` another region with cases.
  const Scope& home() const { return home_; }
  const std::string& other_region() const { return other_region_; }
  Allocation HomeAllocation() const {
    return Allocation{*home_.region, *home_.pdu, *home_.team, *home_.offender_manager};
  }
  Allocation OtherAllocation() const { return other_allocation_; }

  // A request handled in this process, as the server would hand it to the API (what most tests
  // need: the API's answer, without a socket).
  HttpReply Call(const std::string& method, const std::string& target, std::string body,
                 std::string_view token) {
    HttpRequest request;
    request.method = method;
    request.target = target;
    request.body = std::move(body);
    request.remote = "127.0.0.1";
    if (!token.empty()) request.authorization = Bearer(token);
    api_->Authenticate(request);
    const HttpResponse response = api_->Handle(request);
    HttpReply reply;
    reply.status = response.status;
    reply.body = response.body;
    reply.headers["content-type"] = response.content_type;
    for (const auto& [name, value] : response.headers) {
      std::string lower = name;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      reply.headers[lower] = value;
    }
    return reply;
  }
  HttpReply Get(const std::string& target, std::string_view token = kInspectorToken) {
    return Call("GET", target, "", token);
  }
  HttpReply Post(const std::string& target, std::string body, std::string_view token) {
    return Call("POST", target, std::move(body), token);
  }
  // The same over a real connection to the server (its limits, headers and streams).
  HttpReply SocketGet(const std::string& target, std::string_view token = kInspectorToken) {
    HttpCall call;
    call.target = target;
    if (!token.empty()) call.headers.emplace_back("Authorization", Bearer(token));
    return Fetch(port(), call);
  }
  HttpReply SocketPost(const std::string& target, std::string body, std::string_view token) {
    HttpCall call;
    call.method = "POST";
    call.target = target;
    call.body = std::move(body);
    call.headers.emplace_back("Content-Type", "application/x-ndjson");
    if (!token.empty()) call.headers.emplace_back("Authorization", Bearer(token));
    return Fetch(port(), call);
  }

  // The store's report (the `casewatch replay` form) for `request`.
  std::string Expected(const StoreReportRequest& request) const {
    auto report = reports::ReportFromStores(readers_, request);
    EXPECT_TRUE(report) << report.error().message;
    return report ? report.value().json : std::string();
  }
  std::string Expected(const Scope& scope) const {
    StoreReportRequest request;
    request.scope = scope;
    return Expected(request);
  }

  // Applies records (as the next offsets of partition 0, task 0's) with the clock at `now`; with
  // `task`, as that task's (its partition's next offsets), the other tasks' clocks left as they
  // are.
  void Apply(const std::vector<std::string>& records, Instant now, size_t task = 0) {
    std::vector<engine::InputRecord> batch;
    for (const std::string& record : records) {
      batch.push_back(
          engine::InputRecord{static_cast<int32_t>(task), next_offsets_[task]++, "key", record});
    }
    auto applied = engines_[task]->Apply(batch, now);
    ASSERT_TRUE(applied) << applied.error().message;
    ReportStatus();
  }
  // One task's engine's clock moved on alone (the others' left behind).
  void AdvanceTask(size_t task, Instant now) {
    auto advanced = engines_[task]->AdvanceTo(now);
    ASSERT_TRUE(advanced) << advanced.error().message;
  }
  void AdvanceTo(Instant now) {  // every task's engine, one after another
    for (auto& engine : engines_) {
      auto advanced = engine->AdvanceTo(now);
      ASSERT_TRUE(advanced) << advanced.error().message;
    }
    ReportStatus();
  }
  // Opens a community order for `case_id`, an hour before the clock, which moves on an hour.
  void OpenCase(std::string_view case_id, const Allocation& allocation) {
    const Instant now = engine_->projection_instant();
    Apply({EnvelopeBytes(EnvelopeJson(fmt::format("e-open-{}", case_id), case_id,
                                      Instant{now.seconds - 3600, 0}, allocation))},
          Instant{now.seconds + 3600, 0});
  }
  // Advances the clock a day at a time until an obligation of `case_id` is alerted as missed
  // (at most 30 days); the alert.
  std::optional<alerts::v1::ObligationMissedAlert> AdvanceUntilMissed(std::string_view case_id) {
    for (int day = 0; day < 30; ++day) {
      for (const auto& alert : alerts_) {
        if (alert.case_id() == case_id) return alert;
      }
      AdvanceTo(Instant{engine_->projection_instant().seconds + 86400, 0});
    }
    ADD_FAILURE() << "no obligation of " << case_id << " was missed within 30 days";
    return std::nullopt;
  }
  void ReportStatus(int64_t lag = 0, std::vector<engine::PartitionStatus> partitions = {},
                    std::string role = {}) {
    engine::EngineStatus status;
    status.role = std::move(role);
    status.leader_terms = status.role.empty() ? 0 : 1;
    status.counters = engine_->counters();
    status.lag = lag;
    status.partitions = std::move(partitions);
    status.projection_instant = engine_->projection_instant();
    view_->OnStatus(status);
    for (size_t t = 1; t < engines_.size(); ++t) {  // the other tasks: caught up
      engine::EngineStatus task;
      task.counters = engines_[t]->counters();
      task.lag = 0;
      task.projection_instant = engines_[t]->projection_instant();
      view_->OnStatus(task, t);
    }
  }

  // Counted cases by allocation: (case id, allocation) in case id order.
  std::vector<std::pair<std::string, Allocation>> CountedCases() const {
    std::vector<std::pair<std::string, Allocation>> cases;
    for (const store::StoreReader* store : readers_) {
      EXPECT_TRUE(
          store->ScanProjections([&](std::string_view case_id, const store::v1::CaseProjection& p) {
            if (p.counted()) {
              cases.emplace_back(std::string(case_id), records::AllocationOf(p));
            }
          }));
    }
    std::sort(cases.begin(), cases.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    return cases;
  }

 private:
  [[noreturn]] static void Fail(const std::string& message) {
    fmt::print(stderr, "http_test harness: {}\n", message);
    std::abort();
  }

  void DiscoverOrganisation() {
    std::map<std::string, int64_t> cases_by_key;
    std::vector<store::v1::ScopeCounts> all;
    for (const store::StoreReader* store : readers_) {
      if (auto scanned = store->ScanScopes([&](const store::v1::ScopeCounts& c) {
            if (c.cases() > 0) all.push_back(c);
          });
          !scanned) {
        Fail("scan scopes: " + scanned.error().message);
      }
    }
    if (all.empty()) Fail("the simulation left no counted cases");
    // The allocation with the most cases, for scopes with something in them.
    const auto most = std::max_element(
        all.begin(), all.end(), [](const auto& a, const auto& b) { return a.cases() < b.cases(); });
    home_ = Scope{most->region(), most->pdu(), most->team(), most->offender_manager()};
    for (const auto& c : all) {
      if (c.region() != *home_.region) {
        other_region_ = c.region();
        other_allocation_ = records::AllocationOf(c);
        break;
      }
    }
    if (other_region_.empty()) Fail("the simulation has cases in one region only");
  }

  TempDir dir_;
  std::optional<daemon::testing::TestBroker> broker_;
  std::vector<std::unique_ptr<store::Store>> stores_;  // by task
  std::vector<const store::StoreReader*> readers_;
  store::Store* store_ = nullptr;  // task 0's
  std::unique_ptr<LiveView> view_;
  std::vector<alerts::v1::ObligationMissedAlert> alerts_;
  std::vector<std::unique_ptr<engine::Engine>> engines_;
  engine::Engine* engine_ = nullptr;  // task 0's
  std::vector<int64_t> next_offsets_;  // by task
  Scope home_;
  std::string other_region_;
  Allocation other_allocation_;
  std::optional<kafka::Producer> producer_;
  std::optional<daemon::KafkaEventPublisher> publisher_;
  TokenRegistry tokens_;
  std::filesystem::path audit_path_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<Server> server_;
};

// The first `count` records of `topic` (keys and values), waiting up to 30 s for them.
inline std::vector<std::pair<std::string, std::string>> ReadTopic(const std::string& brokers,
                                                           const std::string& topic, size_t count) {
  std::vector<std::pair<std::string, std::string>> records;
  auto consumer = kafka::Consumer::Open(kafka::KafkaConfig{brokers, {}}, topic);
  EXPECT_TRUE(consumer) << consumer.error().message;
  if (!consumer) return records;
  auto partitions = consumer.value().Partitions(std::chrono::seconds(10));
  EXPECT_TRUE(partitions) << partitions.error().message;
  if (!partitions) return records;
  std::vector<kafka::PartitionStart> starts;
  for (int32_t p : partitions.value())
    starts.push_back(kafka::PartitionStart{p, kafka::kBeginning});
  EXPECT_TRUE(consumer.value().Assign(starts));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (records.size() < count && std::chrono::steady_clock::now() < deadline) {
    auto batch = consumer.value().Poll(100, std::chrono::milliseconds(200));
    EXPECT_TRUE(batch) << batch.error().message;
    if (!batch) break;
    for (const kafka::Message& m : batch.value().messages()) {
      records.emplace_back(std::string(m.key), std::string(m.value));
    }
  }
  return records;
}

}  // namespace casewatch::http::testing
