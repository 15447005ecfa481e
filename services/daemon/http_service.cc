#include "services/daemon/http_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>

#include "services/daemon/clock.h"
#include "services/http/peer_client.h"

namespace casewatch::daemon {

HttpService::~HttpService() {
  server.reset();  // no request is answered once the rest goes
  api.reset();
  directory_started = nullptr;
  directory.reset();
}

namespace {

// --advertise-url (checked by Application::Start), or the default: where this engine's server is
// reached.
std::string AdvertisedUrl(const Flags& flags, bool tls, const std::string& address,
                          uint16_t port) {
  if (!flags.advertise_url.empty()) return flags.advertise_url;
  std::string host = address;
  if (host == "0.0.0.0" || host == "::") {
    char name[256] = {};
    host = gethostname(name, sizeof name - 1) == 0 && name[0] != '\0' ? name : "localhost";
  } else if (host.find(':') != std::string::npos) {
    host = "[" + host + "]";
  }
  return fmt::format("{}://{}:{}", tls ? "https" : "http", host, port);
}

// How long a live answer waits for another engine's counts before naming its partitions missing.
constexpr std::chrono::milliseconds kPeerTimeout{500};
constexpr std::chrono::milliseconds kPeerRefresh{250};  // --peer-refresh-ms not given

// --peer-token-file's token, checked against this engine's own tokens: the others hold the same
// file, so a token this engine does not take as an inspector's they would refuse too. nullopt
// (with a warning) when none is given: live answers then leave the others' partitions out.
Result<std::optional<std::string>> PeerToken(const Flags& flags,
                                             const http::TokenRegistry* tokens) {
  if (flags.peer_token_file.empty()) {
    if (tokens != nullptr) {
      spdlog::warn("http: no --peer-token-file: live reports leave out (and name, "
                   "Casewatch-Missing) the partitions the group's other engines hold");
    }
    return std::optional<std::string>();
  }
  // Application::Start refuses --peer-token-file with --no-auth.
  if (tokens == nullptr) return InvalidArgument("--peer-token-file without --tokens");
  CW_TRY(text, ReadFile(flags.peer_token_file, "--peer-token-file"));
  const size_t end = text.find_last_not_of(" \t\r\n");
  const std::string token = end == std::string::npos ? std::string() : text.substr(0, end + 1);
  const http::Principal* holder = tokens->Find(token);
  if (holder == nullptr || holder->role != http::Role::kInspector) {
    return InvalidArgument(fmt::format(
        "--peer-token-file {}: {}; the engines of a group present an inspector's token to each "
        "other (`casewatch token add --role inspector --name peers`, in the --tokens file of "
        "every engine)",
        flags.peer_token_file,
        holder == nullptr ? "the token is not in --tokens " + flags.tokens
                          : "the token is a " + std::string(http::NameOf(holder->role)) + "'s"));
  }
  return std::optional<std::string>(token);
}

}  // namespace

Result<void> StartHttp(const Flags& flags, const std::vector<const store::StoreReader*>& stores,
                       RunnerOptions& options, HttpService& service, const IdsTopic* event_ids) {
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
  service.view = std::make_unique<http::LiveView>(options.engine.policy, flags.min_cases);
  CW_TRY(service.view->Load(stores, options.engine.topic, flags.tasks));
  http::LiveView* view = service.view.get();
  if (flags.read_only) {
    // Nothing will change: the store is as up to date as it will be.
    engine::EngineStatus status;
    status.lag = 0;
    view->OnStatus(status);
  } else {
    options.engine.on_commit = [view](const engine::CommitInfo& info) { view->OnCommit(info); };
    CW_TRY(producer, kafka::Producer::Open(options.kafka));
    service.producer.emplace(std::move(producer));
    service.publisher = std::make_unique<KafkaEventPublisher>(*service.producer);
  }

  http::ApiOptions api;
  api.stores = stores;
  api.view = view;
  api.tokens = service.tokens ? &*service.tokens : nullptr;
  api.audit = service.audit.get();
  api.publisher = service.publisher.get();
  api.topic = options.engine.topic;
  api.dead_letter_topic = options.engine.dead_letter_topic;
  api.clock = options.clock;
  api.wall_clock = WallClock;
  api.read_only = flags.read_only;
  if (!flags.group.empty()) {
    api.group = flags.group;
    api.group_view = [&service] {
      const GroupDirectory* directory = service.directory_started.load();
      return directory != nullptr ? directory->View() : http::GroupView{};
    };
  }
  if (event_ids != nullptr) {
    api.event_id_claims = [event_ids] {
      return http::EventIdClaims{event_ids->claims_written(), event_ids->claims_read(),
                                 event_ids->caught_up(), event_ids->waiting()};
    };
  }
  if (!flags.group.empty() && flags.tasks) {
    CW_TRY(token, PeerToken(flags, service.tokens ? &*service.tokens : nullptr));
    if (token) api.peer_principal = service.tokens->Find(*token);
    if (token || flags.no_auth) {
      CW_TRY(counter, http::PeerCounter::Open(token.value_or(""), kPeerTimeout,
                                              flags.peer_ca_file));
      api.peer_refresh = std::chrono::milliseconds(
          flags.peer_refresh_ms < 0 ? kPeerRefresh.count() : flags.peer_refresh_ms);
      api.peer_counts = [&service, counter](std::span<const int32_t> missing, const Scope& scope,
                                            reports::GroupBy by, Instant at) {
        const GroupDirectory* directory = service.directory_started.load();
        if (directory == nullptr) return std::vector<http::PeerAnswer>{};
        return counter->Ask(directory->View(), missing, scope, by, at);
      };
      api.peer_case = [&service, counter](std::span<const int32_t> missing, std::string_view id,
                                          std::string_view query) -> std::optional<http::PeerCase> {
        const GroupDirectory* directory = service.directory_started.load();
        if (directory == nullptr) return std::nullopt;
        return counter->FindCase(directory->View(), missing, id, query);
      };
      api.peer_worklist = [&service, counter](std::span<const int32_t> missing,
                                              std::string_view query) {
        const GroupDirectory* directory = service.directory_started.load();
        if (directory == nullptr) return std::vector<http::PeerWork>{};
        return counter->Worklist(directory->View(), missing, query);
      };
      api.peer_trend = [&service, counter](std::span<const int32_t> missing,
                                           std::string_view query) {
        const GroupDirectory* directory = service.directory_started.load();
        if (directory == nullptr) return std::vector<http::PeerTrendAnswer>{};
        return counter->Trend(directory->View(), missing, query);
      };
    }
  }
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
  if (flags.group.empty()) return Ok();
  const std::string url =
      AdvertisedUrl(flags, service.server->tls(), address, service.server->port());
  DirectoryOptions directory;
  directory.topic = flags.group_directory_topic;
  directory.url = url;
  directory.session_timeout = options.group_session_timeout;
  CW_TRY(joined, GroupDirectory::Start(options.kafka, std::move(directory), [view, &service] {
           http::GroupPeer self = SelfOf(view->status(), *view->snapshot());
           MutexLock lock(service.standby_mutex);
           self.standby = service.standby;
           return self;
         }));
  service.directory = std::move(joined);
  service.directory_started = service.directory.get();
  spdlog::info("group {}: this engine is {} in the group's directory {}", flags.group, url,
               flags.group_directory_topic);
  return Ok();
}


}  // namespace casewatch::daemon
