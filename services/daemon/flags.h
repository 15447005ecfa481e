#pragma once
// casewatchd's settings: the flags, and the config file of `key = value` lines that may give the
// same settings (named like the long flags) and librdkafka properties (keys with a dot).

#include <CLI/CLI.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "projections/scores.h"
#include "services/kafka/kafka_config.h"

namespace casewatch::daemon {

struct Flags {
  std::string data;
  std::string brokers;
  std::string config;
  std::string topic = "case-events";
  std::string alerts_topic = "case-alerts";
  std::string dead_letter_topic = "case-events-dlq";
  std::string derived_topic = "case-events-derived";
  std::string alerts_format = "json";
  std::string outbox_delivery = "auto";
  std::string transactional_id;
  std::string outbox_progress_topic = "casewatchd-outbox-progress";
  // --tasks, exactly once: task N's progress goes to partition N of this topic.
  std::string tasks_progress_topic = "casewatchd-tasks-progress";
  std::string group;
  // One engine per partition of the events topic, each a task with a store of its own
  // (DATA/tasks/p<N>), in this process (docs/partitioned-group.md).
  bool tasks = false;
  double group_session_timeout = 6;
  // With --tasks --group: how many other engines keep a copy of each task (-1: not given, 1).
  int standby_replicas = -1;
  std::string group_directory_topic = "casewatchd-group-directory";
  // --tasks --group: where the engines claim event ids (daemon::IdsTopic).
  std::string event_ids_topic = "casewatchd-event-ids";
  std::string advertise_url;  // "": http(s)://HOST:PORT, HOST the --http-address or the host name
  std::string policy;
  std::string clock = "wall";
  std::string clock_start;
  double clock_speed = 1.0;
  std::vector<std::string> kafka_properties;
  std::string log_format = "text";
  std::string log_level = "info";
  size_t max_batch = 5000;
  size_t cache_mib = 256;
  int64_t min_cases = kDefaultMinCases;  // reports: a score on fewer cases is "too few to rate"
  // HTTP
  bool no_http = false;
  bool read_only = false;  // serve the store's dashboard and API only: no broker, no engine
  int http_port = 8080;
  std::string http_address = "0.0.0.0";
  bool no_auth = false;
  std::string tokens;
  // With --tasks --group: a file holding the token this engine presents to the others to ask for
  // their counts (an inspector's, in their --tokens file). "": under --no-auth, none is needed.
  std::string peer_token_file;
  std::string peer_ca_file;  // --tasks --group: what peers' TLS certificates must chain to
  // --tasks --group: how often a live answer with the other engines' counts is made again per
  // scope (http::MergedCountsCache); 0: at every request; -1: not given (250).
  int peer_refresh_ms = -1;
  std::string tls_cert;
  std::string tls_key;
  std::string audit_log;
  double rate_limit = 100;
  size_t max_body_mib = 16;
  int http_threads = 2;
  size_t http_max_connections = 0;
  size_t http_max_connections_per_address = 0;
};

// Registers every flag of casewatchd on `app`, filling `flags`.
void AddFlags(CLI::App& app, Flags& flags);

// Applies the config file at `path`: engine settings for the flags not given on the command line
// (a flag wins over the file), librdkafka properties into `properties`. The error names the line.
[[nodiscard]] Result<void> ApplyConfigFile(const std::string& path, CLI::App& app,
                                           std::vector<kafka::Property>& properties);

// After a refused command line: a message naming the first argument no flag took (a mistyped flag,
// with the flags it was probably meant to be), or nullopt when there is none.
std::optional<std::string> UnknownFlagMessage(const CLI::App& app);

// --advertise-url as given: http:// or https:// and a host, with no spaces or quotes (it names
// the engine in its group's directory and in /metrics labels).
[[nodiscard]] Result<void> CheckAdvertiseUrl(const std::string& url);

// Reads a whole (small) file; the error names `what` (the flag) and the path.
[[nodiscard]] Result<std::string> ReadFile(const std::string& path, std::string_view what);

}  // namespace casewatch::daemon
