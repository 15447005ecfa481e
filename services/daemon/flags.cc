#include "services/daemon/flags.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "base/closest_names.h"

namespace casewatch::daemon {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// The long names of the flags, without the dashes: the config file's settings.
std::vector<std::string> SettingNames(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* option : app.get_options()) {
    for (const std::string& l : option->get_lnames()) names.push_back(l);
  }
  return names;
}

}  // namespace

Result<void> CheckAdvertiseUrl(const std::string& url) {
  const size_t slashes = url.find("://");
  const bool scheme = url.starts_with("http://") || url.starts_with("https://");
  if (!scheme || url.size() <= slashes + 3 ||
      url.find_first_of(" \t\r\n\"\\") != std::string::npos) {
    return InvalidArgument(fmt::format(
        "--advertise-url {}: expected http://HOST:PORT or https://HOST:PORT, with no spaces or "
        "quotes",
        url));
  }
  return Ok();
}

Result<std::string> ReadFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError(fmt::format("{} {}: cannot be read", what, path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void AddFlags(CLI::App& app, Flags& flags) {
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
  app.add_option("--derived-topic", flags.derived_topic,
                 "The engine's derived events (obligation_missed): published there and read back "
                 "by a store rebuilt from Kafka")
      ->capture_default_str();
  app.add_option("--alerts-format", flags.alerts_format,
                 "Alert encoding: json (protobuf JSON mapping) or protobuf")
      ->check(CLI::IsMember({"json", "protobuf"}))
      ->capture_default_str();
  app.add_option("--outbox-delivery", flags.outbox_delivery,
                 "Publishing alerts and dead letters: exactly-once (Kafka transactions; consumers "
                 "read with isolation.level=read_committed), at-least-once (idempotent producer), "
                 "or auto: exactly-once unless the brokers are librdkafka's mock cluster (the "
                 "embedded development broker, `casewatch dev-broker`)")
      ->check(CLI::IsMember({"auto", "exactly-once", "at-least-once"}))
      ->capture_default_str();
  app.add_option("--transactional-id", flags.transactional_id,
                 "Exactly once: the producer's transactional.id (default casewatchd-TOPIC, TOPIC "
                 "the events topic); a new id publishes the store's outbox from its start");
  app.add_option("--outbox-progress-topic", flags.outbox_progress_topic,
                 "Exactly once: the compacted topic where each transaction records the last "
                 "outbox record it published (deploy/topics.sh creates it)")
      ->capture_default_str();
  app.add_option("--tasks-progress-topic", flags.tasks_progress_topic,
                 "--tasks, exactly once: the compacted topic where task N records its progress, "
                 "on partition N, apart from the other tasks' (as many partitions as the events "
                 "topic; deploy/topics.sh creates it)")
      ->capture_default_str();
  app.add_option("--group", flags.group,
                 "Several casewatchd on one events topic, each with its own store: the Kafka "
                 "consumer group they join. One leads (derives and publishes alerts, exactly "
                 "once); the others follow into their stores and serve reads, and one of them "
                 "takes over when the leader stops or is lost (services/daemon/README.md)");
  app.add_option("--group-session-timeout", flags.group_session_timeout,
                 "With --group: seconds the group waits for a leader it no longer hears from "
                 "before another engine leads (6 to 300; the brokers' "
                 "group.min.session.timeout.ms allows 6 by default)")
      ->check(CLI::Range(1.0, 300.0))
      ->capture_default_str();
  app.add_option("--event-ids-topic", flags.event_ids_topic,
                 "--tasks --group: the topic where the engines claim each new event id, so that "
                 "an id accepted for a case of one engine's partitions is refused for another "
                 "engine's (deploy/topics.sh creates it; kept for ever, as the events are)")
      ->capture_default_str();
  app.add_option("--group-directory-topic", flags.group_directory_topic,
                 "With --group: the compacted topic where the group's engines say who and where "
                 "they are, every 2 s (GET /api/v1/group; deploy/topics.sh creates it)")
      ->capture_default_str();
  app.add_option("--advertise-url", flags.advertise_url,
                 "With --group: where the other engines and clients reach this engine's HTTP API, "
                 "its name in the group (default http://HOST:PORT, HOST the --http-address, or "
                 "this machine's host name when that is 0.0.0.0; https with --tls-cert)");
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
  app.add_option("--max-batch", flags.max_batch,
                 "Most records applied in one atomic write (ten times as many while catching up)")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--history-cache-mib", flags.cache_mib, "Memory for cached case histories")
      ->capture_default_str();
  app.add_option("--min-cases", flags.min_cases,
                 "Reports: mark a score resting on fewer relevant cases than this \"too few cases "
                 "to rate\" (too_few_cases in the JSON; scores and ratings are unchanged); 0 "
                 "marks none. As casewatch replay/report/inspect --min-cases")
      ->check(CLI::Range(int64_t{0}, int64_t{1000000}))
      ->capture_default_str();
  app.add_flag("--tasks", flags.tasks,
               "One engine per partition of the events topic, each with a store of its own "
               "(DATA/tasks/p<N>) and its own transactional id, in this process; answers add "
               "them up");
  app.add_option("--standby-replicas", flags.standby_replicas,
                 "With --tasks --group: how many other engines keep a copy of each task, "
                 "following its partition into a store of their own, so that one given the "
                 "task takes it over at once (default 1; 0: none, a task moved is caught up "
                 "from Kafka)")
      ->check(CLI::Range(0, 1000));
  app.add_flag("--no-http", flags.no_http, "Serve no HTTP API or dashboard");
  app.add_flag("--read-only", flags.read_only,
               "Serve the store's dashboard and API as they are, with no broker and no engine "
               "(e.g. the demo's store after it stopped); POST /api/v1/events is refused");
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
  app.add_option("--peer-token-file", flags.peer_token_file,
                 "With --tasks --group: a file holding the access token (an inspector's, in the "
                 "other engines' --tokens file) this engine presents to the others to add their "
                 "partitions' counts to its live reports; not needed with --no-auth");
  app.add_option("--peer-ca-file", flags.peer_ca_file,
                 "With --tasks --group: the CA certificates (PEM) the other engines' TLS "
                 "certificates (--tls-cert) must chain to when this engine asks them for their "
                 "partitions; default: this machine's trust store");
  app.add_option("--peer-refresh-ms", flags.peer_refresh_ms,
                 "With --tasks --group: a live report or breakdown adding the other engines' "
                 "counts is made again at most this often per scope (meanwhile the last one is "
                 "given, at most four times as old; it names its instant and offsets); 0: the "
                 "other engines are asked at every request (default 250)")
      ->check(CLI::Range(0, 60000));
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
      return InvalidArgument(fmt::format("{}:{}: unknown setting \"{}\"{}", path, number, key,
                                         DidYouMean(key, SettingNames(app))));
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

std::optional<std::string> UnknownFlagMessage(const CLI::App& app) {
  const std::vector<std::string> leftovers = app.remaining(false);
  if (leftovers.empty()) return std::nullopt;
  // A mistyped flag's value is left over too: name the flag, not its value.
  for (const std::string& arg : leftovers) {
    if (!arg.starts_with("-")) continue;
    const std::string wanted = arg.substr(0, arg.find('='));
    std::vector<std::string> flags;
    for (const CLI::Option* option : app.get_options()) {
      for (const std::string& l : option->get_lnames()) flags.push_back("--" + l);
      // One letter is near every other: short flags are candidates only for a single dash.
      if (wanted.starts_with("--")) continue;
      for (const std::string& s : option->get_snames()) flags.push_back("-" + s);
    }
    return fmt::format("casewatchd: unknown flag {}{}\nRun `casewatchd --help` for its flags.\n",
                       wanted, DidYouMean(wanted, flags));
  }
  return fmt::format(
      "casewatchd: unexpected argument \"{}\" (it takes only flags)\nRun `casewatchd --help` for "
      "its flags.\n",
      leftovers.front());
}

}  // namespace casewatch::daemon
