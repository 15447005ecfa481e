// casewatchd: the engine. Consumes case events from Kafka exactly once into its RocksDB store,
// keeps the projections current, and raises missed-obligation alerts. See services/engine/README.md
// and deploy/ for production.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include "services/daemon/kafka_event_publisher.h"
#include "services/engine/runner.h"
#include "services/http/api.h"
#include "services/http/server.h"
#include "services/kafka/mock_cluster.h"

namespace casewatch::engine {

extern "C" void OnSignal(int);

namespace {

std::atomic<bool> g_stop{false};

struct Flags {
  std::string data;
  std::string brokers;
  std::string config;
  std::string topic = "case-events";
  std::string alerts_topic = "case-alerts";
  std::string dead_letter_topic = "case-events-dlq";
  std::string alerts_format = "json";
  std::string policy;
  std::string clock = "wall";
  std::string clock_start;
  double clock_speed = 1.0;
  std::vector<std::string> kafka_properties;
  std::string log_format = "text";
  std::string log_level = "info";
  size_t max_batch = 5000;
  size_t cache_mib = 256;
  // HTTP
  bool no_http = false;
  int http_port = 8080;
  std::string http_address = "0.0.0.0";
  bool no_auth = false;
  std::string tokens;
  std::string tls_cert;
  std::string tls_key;
  std::string audit_log;
  double rate_limit = 100;
  size_t max_body_mib = 16;
  int http_threads = 2;
  size_t http_max_connections = 0;
  size_t http_max_connections_per_address = 0;
};

// The HTTP side of casewatchd: the live view the API reads, the API, its server, and the
// producer POST /api/v1/events publishes with.
struct HttpService {
  std::unique_ptr<http::LiveView> view;
  std::optional<http::TokenRegistry> tokens;
  std::unique_ptr<http::AuditLog> audit;
  std::optional<kafka::Producer> producer;
  std::unique_ptr<daemon::KafkaEventPublisher> publisher;
  std::unique_ptr<http::Api> api;
  std::unique_ptr<http::Server> server;
};

Result<void> StartHttp(const Flags& flags, const store::Store& store, RunnerOptions& options,
                       HttpService& service) {
  std::string address = flags.http_address;
  if (flags.no_auth) {
    if (address != "0.0.0.0" && address != "127.0.0.1" && address != "::1") {
      return InvalidArgument("--no-auth serves loopback only: leave out --http-address");
    }
    if (address == "0.0.0.0") address = "127.0.0.1";
    spdlog::warn("http: --no-auth: no access control; serving loopback ({}) only", address);
  } else if (flags.tokens.empty()) {
    return InvalidArgument(
        "the HTTP API needs access tokens: --tokens FILE (make one with `casewatch token add`), "
        "or --no-auth for local development (loopback only), or --no-http");
  } else {
    CW_TRY(tokens, http::TokenRegistry::Load(flags.tokens));
    spdlog::info("http: {} access tokens from {}", tokens.size(), flags.tokens);
    service.tokens.emplace(std::move(tokens));
  }
  const std::string audit_path = flags.audit_log.empty()
                                     ? (std::filesystem::path(flags.data) / "audit.log").string()
                                     : flags.audit_log;
  CW_TRY(audit, http::AuditLog::Open(audit_path));
  service.audit = std::move(audit);
  service.view = std::make_unique<http::LiveView>(options.engine.policy);
  CW_TRY(service.view->Load(store));
  http::LiveView* view = service.view.get();
  options.engine.on_commit = [view](const CommitInfo& info) { view->OnCommit(info); };
  CW_TRY(producer, kafka::Producer::Open(options.kafka));
  service.producer.emplace(std::move(producer));
  service.publisher = std::make_unique<daemon::KafkaEventPublisher>(*service.producer);

  http::ApiOptions api;
  api.store = &store;
  api.view = view;
  api.tokens = service.tokens ? &*service.tokens : nullptr;
  api.audit = service.audit.get();
  api.publisher = service.publisher.get();
  api.topic = options.engine.topic;
  api.dead_letter_topic = options.engine.dead_letter_topic;
  api.clock = options.clock;
  service.api = std::make_unique<http::Api>(std::move(api));

  http::ServerOptions server;
  server.address = address;
  server.port = static_cast<uint16_t>(flags.http_port);
  server.io_threads = flags.http_threads;
  server.tls_certificate = flags.tls_cert;
  server.tls_private_key = flags.tls_key;
  server.rate_per_second = flags.rate_limit;
  server.rate_burst = flags.rate_limit * 2;
  server.max_body_bytes = flags.max_body_mib << 20;
  server.max_connections = flags.http_max_connections;
  server.max_connections_per_address = flags.http_max_connections_per_address;
  CW_TRY(started, http::Server::Start(server, *service.api, *view));
  service.server = std::move(started);
  const std::string host = address.find(':') != std::string::npos ? "[" + address + "]" : address;
  spdlog::info(
      "http: listening on {}://{}:{} (dashboard at /, API at /api/v1/; at most {} connections, {} "
      "from one address)",
      service.server->tls() ? "https" : "http", host == "0.0.0.0" ? "127.0.0.1" : host,
      service.server->port(), service.server->max_connections(),
      service.server->max_connections_per_address());
  return Ok();
}

Result<std::string> ReadFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError(fmt::format("{} {}: cannot be read", what, path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// The config file: `key = value` lines. Keys without a dot are engine settings named like the
// long flags; keys with a dot are librdkafka properties. Values already set by flags win.
Result<void> ApplyConfigFile(const std::string& path, CLI::App& app,
                             std::vector<kafka::Property>& properties) {
  CW_TRY(text, ReadFile(path, "--config"));
  std::istringstream lines(text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    const std::string_view trimmed = Trim(line);
    if (trimmed.empty() || trimmed.front() == '#') continue;
    const size_t equals = trimmed.find('=');
    if (equals == std::string_view::npos) {
      return InvalidArgument(fmt::format("{}:{}: expected key = value", path, number));
    }
    const std::string key(Trim(trimmed.substr(0, equals)));
    const std::string value(Trim(trimmed.substr(equals + 1)));
    if (key.find('.') != std::string::npos) {
      properties.push_back(kafka::Property{key, value});
      continue;
    }
    CLI::Option* option = key == "config" ? nullptr : app.get_option_no_throw("--" + key);
    if (option == nullptr) {
      return InvalidArgument(fmt::format("{}:{}: unknown setting \"{}\"", path, number, key));
    }
    if (option->count() > 0) continue;  // the flag wins
    try {
      option->add_result(value);
      option->run_callback();
    } catch (const CLI::ParseError& e) {
      return InvalidArgument(fmt::format("{}:{}: {}: {}", path, number, key, e.what()));
    }
  }
  return Ok();
}

void SetUpLogging(const Flags& flags) {
  auto logger = spdlog::stdout_logger_mt("casewatchd");
  if (flags.log_format == "json") {
    // Messages never contain double quotes or backslashes (see the log calls).
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","message":"%v"})",
                        spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(spdlog::level::from_str(flags.log_level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

std::function<Instant()> MakeClock(const Flags& flags, Result<void>& error) {
  if (flags.clock == "wall") return WallClock;
  auto start = ParseInstant(flags.clock_start);
  if (!start) {
    error = InvalidArgument("--clock-start: " + start.error().message +
                            " (a simulated clock needs its start instant)");
    return {};
  }
  if (flags.clock_speed < 0) {
    error = InvalidArgument("--clock-speed: must be 0 (frozen) or more");
    return {};
  }
  const auto began = std::chrono::steady_clock::now();
  const Instant origin = start.value();
  const double speed = flags.clock_speed;
  return [origin, began, speed] {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count() * speed;
    const auto whole = static_cast<int64_t>(elapsed);
    const auto nanos =
        static_cast<int64_t>(origin.nanos) + static_cast<int64_t>((elapsed - whole) * 1e9);
    return Instant{origin.seconds + whole + nanos / 1000000000,
                   static_cast<int32_t>(nanos % 1000000000)};
  };
}

// RocksDB's files, the Kafka clients and HTTP connections all take descriptors: use all the
// (hard) limit allows rather than the shell's usual soft 1024.
void RaiseDescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    spdlog::warn("cannot raise the open-file limit to {}: {}", limit.rlim_max, std::strerror(errno));
  }
}

int Run(const Flags& flags, std::vector<kafka::Property> properties) {
  SetUpLogging(flags);
  RaiseDescriptorLimit();
  RunnerOptions options;
  options.kafka.properties = std::move(properties);
  for (const std::string& p : flags.kafka_properties) {
    const size_t equals = p.find('=');
    if (equals == std::string::npos) {
      spdlog::error("--kafka-property {}: expected KEY=VALUE", p);
      return 2;
    }
    options.kafka.properties.push_back(kafka::Property{p.substr(0, equals), p.substr(equals + 1)});
  }
  options.engine.topic = flags.topic;
  options.engine.alerts_topic = flags.alerts_topic;
  options.engine.dead_letter_topic = flags.dead_letter_topic;
  options.engine.alert_format =
      flags.alerts_format == "protobuf" ? AlertFormat::kProtobuf : AlertFormat::kJson;
  options.engine.history_cache_bytes = flags.cache_mib << 20;
  options.max_batch = flags.max_batch;
  if (!flags.policy.empty()) {
    auto text = ReadFile(flags.policy, "--policy");
    if (!text) {
      spdlog::error("{}", text.error().message);
      return 2;
    }
    auto policy = ParsePolicy(text.value());
    if (!policy) {
      spdlog::error("--policy {}: {}", flags.policy, policy.error().message);
      return 2;
    }
    options.engine.policy = std::move(policy).value();
    options.engine.policy_text = std::move(text).value();
  }
  Result<void> clock_error = Ok();
  options.clock = MakeClock(flags, clock_error);
  if (!clock_error) {
    spdlog::error("{}", clock_error.error().message);
    return 2;
  }

  std::optional<kafka::MockCluster> embedded;
  options.kafka.brokers = flags.brokers;
  if (flags.brokers.empty()) {
    auto cluster = kafka::MockCluster::Start(1);
    if (!cluster) {
      spdlog::error("starting the embedded development broker: {}", cluster.error().message);
      return 1;
    }
    embedded.emplace(std::move(cluster).value());
    for (const std::string& topic : {flags.topic, flags.alerts_topic, flags.dead_letter_topic}) {
      if (auto created = embedded->CreateTopic(topic, 4); !created) {
        spdlog::error("embedded broker: {}", created.error().message);
        return 1;
      }
    }
    options.kafka.brokers = embedded->bootstrap_servers();
    spdlog::warn(
        "no brokers configured: started an embedded development broker at {} (librdkafka's mock "
        "cluster; in-memory, for development only). Publish with: casewatch publish --brokers {} "
        "FILE",
        options.kafka.brokers, options.kafka.brokers);
  }

  auto store = store::Store::Open(flags.data);
  if (!store) {
    spdlog::error("{}", store.error().message);
    return ExitCodeOf(store.error());
  }
  for (const std::string& warning : store.value()->recovery_warnings()) spdlog::critical("{}", warning);
  spdlog::info("casewatchd: store {}, brokers {}, topic {}", flags.data, options.kafka.brokers,
               flags.topic);
  HttpService http;
  if (!flags.no_http) {
    if (auto started = StartHttp(flags, *store.value(), options, http); !started) {
      spdlog::error("{}", started.error().message);
      return ExitCodeOf(started.error());
    }
  }
  http::LiveView* view = http.view.get();
  auto ran =
      RunEngine(*store.value(), std::move(options), g_stop, [view](const RunnerStatus& status) {
        if (view != nullptr) view->OnStatus(status);
      });
  http.server.reset();  // the engine has stopped: close the connections before the store
  if (!ran) {
    spdlog::error("{}", ran.error().message);
    return ExitCodeOf(ran.error());
  }
  spdlog::info("casewatchd: stopped cleanly");
  return 0;
}

}  // namespace

extern "C" void OnSignal(int) { g_stop.store(true); }

}  // namespace casewatch::engine

int main(int argc, char** argv) {
  // First of all: a SIGTERM at any point means "stop cleanly", never "die mid-write".
  std::signal(SIGTERM, casewatch::engine::OnSignal);
  std::signal(SIGINT, casewatch::engine::OnSignal);
  using casewatch::engine::Flags;
  Flags flags;
  CLI::App app{
      "casewatchd: consumes case events from Kafka exactly once into a RocksDB store, keeps the "
      "oversight indicators current and raises missed-obligation alerts"};
  app.add_option("--data", flags.data, "Store directory (created if missing)")->required();
  app.add_option("--brokers", flags.brokers,
                 "Kafka bootstrap servers HOST:PORT[,...]; none: start an embedded development "
                 "broker (not for production)");
  app.add_option("--config", flags.config,
                 "Config file of key = value lines: engine settings named like these flags "
                 "(brokers, topic, ...) and librdkafka properties (keys with a dot, e.g. "
                 "security.protocol). Flags win over the file");
  app.add_option("--topic", flags.topic, "Events topic")->capture_default_str();
  app.add_option("--alerts-topic", flags.alerts_topic, "Missed-obligation alerts topic")
      ->capture_default_str();
  app.add_option("--dead-letter-topic", flags.dead_letter_topic,
                 "Rejected events, as casewatch.store.v1.DeadLetter records")
      ->capture_default_str();
  app.add_option("--alerts-format", flags.alerts_format,
                 "Alert encoding: json (protobuf JSON mapping) or protobuf")
      ->check(CLI::IsMember({"json", "protobuf"}))
      ->capture_default_str();
  app.add_option("--policy", flags.policy,
                 "Policy file (docs/rules.md section 8); a change needs `casewatch rebuild`");
  app.add_option("--clock", flags.clock, "wall, or simulated (with --clock-start/--clock-speed)")
      ->check(CLI::IsMember({"wall", "simulated"}))
      ->capture_default_str();
  app.add_option("--clock-start", flags.clock_start, "Simulated clock: start instant (RFC 3339)");
  app.add_option("--clock-speed", flags.clock_speed,
                 "Simulated clock: simulated seconds per real second (0 = frozen)")
      ->capture_default_str();
  app.add_option("--kafka-property", flags.kafka_properties,
                 "A librdkafka property KEY=VALUE (repeatable), e.g. security.protocol=SASL_SSL");
  app.add_option("--log-format", flags.log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--log-level", flags.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  app.add_option("--max-batch", flags.max_batch, "Most records applied in one atomic write")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--history-cache-mib", flags.cache_mib, "Memory for cached case histories")
      ->capture_default_str();
  app.add_flag("--no-http", flags.no_http, "Serve no HTTP API or dashboard");
  app.add_option("--http-port", flags.http_port,
                 "HTTP port of the API and dashboard (0: any free port; the log says which)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app.add_option("--http-address", flags.http_address, "Address to serve HTTP on")
      ->capture_default_str();
  app.add_flag("--no-auth", flags.no_auth,
               "No access tokens (local development only): serves loopback only");
  app.add_option("--tokens", flags.tokens,
                 "Access tokens file (JSON, SHA-256 of each token with its role and scope; make "
                 "entries with `casewatch token add`)");
  app.add_option("--tls-cert", flags.tls_cert, "TLS certificate chain (PEM): serve HTTPS");
  app.add_option("--tls-key", flags.tls_key, "TLS private key (PEM)");
  app.add_option("--audit-log", flags.audit_log,
                 "Audit log of case-timeline access (default DATA/audit.log)");
  app.add_option("--http-rate-limit", flags.rate_limit,
                 "Requests per second per caller (bursts of twice that); 0: unlimited")
      ->check(CLI::Range(0.0, 1e9))
      ->capture_default_str();
  app.add_option("--http-max-body-mib", flags.max_body_mib, "Largest request body (POST events)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--http-threads", flags.http_threads, "HTTP I/O threads")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--http-max-connections", flags.http_max_connections,
                 "Most open HTTP connections (0: three quarters of what the open-file limit leaves "
                 "after the store's share); more are closed at once")
      ->check(CLI::Range(size_t{0}, size_t{1000000}))
      ->capture_default_str();
  app.add_option("--http-max-connections-per-address", flags.http_max_connections_per_address,
                 "Most open HTTP connections from one peer address (0: 1024, or a quarter of "
                 "--http-max-connections if less; a proxy in front counts as one address)")
      ->check(CLI::Range(size_t{0}, size_t{1000000}))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  std::vector<casewatch::kafka::Property> properties;
  if (!flags.config.empty()) {
    if (auto applied = casewatch::engine::ApplyConfigFile(flags.config, app, properties);
        !applied) {
      std::fprintf(stderr, "casewatchd: %s\n", applied.error().message.c_str());
      return 2;
    }
  }
  return casewatch::engine::Run(flags, std::move(properties));
}
