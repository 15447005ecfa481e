// GET /metrics: Prometheus text — the engine's counters and lag (in all and per partition), the
// HTTP server's connections and streams, and the answers by route and status class.
#include <fmt/format.h>

#include <algorithm>

#include "services/http/handlers/handlers.h"

namespace casewatch::http {

HttpResponse HandleMetrics(ApiState& state, Call&) {
  const auto status = state.options.view->status();
  std::string out;
  const auto metric = [&](std::string_view name, std::string_view type, std::string_view help,
                          auto value) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name,
                   type, name, value);
  };
  metric("casewatch_events_accepted_total", "counter", "Events accepted since start.",
         status.counters.accepted);
  metric("casewatch_events_duplicate_total", "counter", "Redelivered events ignored.",
         status.counters.duplicates);
  metric("casewatch_events_rejected_total", "counter", "Events dead-lettered.",
         status.counters.rejected);
  metric("casewatch_obligations_missed_total", "counter", "Missed-obligation alerts raised.",
         status.counters.missed_obligations);
  metric("casewatch_batches_total", "counter", "Atomic store writes of consumed batches.",
         status.counters.batches);
  metric("casewatch_cases_evaluated_total", "counter", "Case re-evaluations.",
         status.counters.cases_evaluated);
  metric("casewatch_cases_pending", "gauge",
         "Large cases with stored events not yet in their projection (caught up within a second, "
         "or when idle).",
         status.counters.cases_pending);
  metric("casewatch_consumer_lag", "gauge", "Records on the brokers not yet applied (-1 unknown).",
         status.lag);
  if (!status.partitions.empty()) {
    out += "# HELP casewatch_consumer_partition_lag Records of one partition of the events topic "
           "on the brokers not yet applied (-1 unknown).\n"
           "# TYPE casewatch_consumer_partition_lag gauge\n";
    for (const engine::PartitionStatus& p : status.partitions) {
      fmt::format_to(std::back_inserter(out),
                     "casewatch_consumer_partition_lag{{partition=\"{}\"}} {}\n", p.partition,
                     p.lag);
    }
    out += "# HELP casewatch_consumer_partition_available 1 while the brokers serve the "
           "partition, 0 while it has no leader or its leader cannot be reached (its lag is then "
           "the last known).\n"
           "# TYPE casewatch_consumer_partition_available gauge\n";
    for (const engine::PartitionStatus& p : status.partitions) {
      fmt::format_to(std::back_inserter(out),
                     "casewatch_consumer_partition_available{{partition=\"{}\"}} {}\n",
                     p.partition, p.unavailable_since ? 0 : 1);
    }
  }
  if (!status.role.empty()) {
    metric("casewatch_group_leader", "gauge",
           "1 while this engine leads its group (derives and publishes), 0 while it follows.",
           status.role == "leader" ? 1 : 0);
    metric("casewatch_group_leader_terms_total", "counter",
           "How many times this engine has come to lead since it started.", status.leader_terms);
  }
  if (state.options.group_view) {
    // The group as its directory knows it: an alert on live < the engines deployed catches a
    // lost engine from any other one.
    const std::vector<GroupPeer> peers = state.options.group_view().engines;
    metric("casewatch_group_engines_live", "gauge",
           "Engines of the group heard from within the session timeout, this one included.",
           std::count_if(peers.begin(), peers.end(), [](const GroupPeer& p) { return p.live; }));
    metric("casewatch_group_engines_silent", "gauge",
           "Engines of the group not heard from within the session timeout (killed, cut off or "
           "frozen; a clean stop leaves the directory).",
           std::count_if(peers.begin(), peers.end(), [](const GroupPeer& p) { return !p.live; }));
    metric("casewatch_group_leaders_live", "gauge",
           "Live engines of the group saying they lead: 1 in a healthy group; 0 for longer than "
           "a failover, or 2 for longer than a session timeout, wants a look.",
           std::count_if(peers.begin(), peers.end(),
                         [](const GroupPeer& p) { return p.live && p.role == "leader"; }));
    out += "# HELP casewatch_group_engine_lag Records of the events topic an engine of the group "
           "had not applied when it last wrote to the directory (-1 unknown).\n"
           "# TYPE casewatch_group_engine_lag gauge\n";
    // Label values as the exposition format escapes them: what another engine wrote is not
    // trusted to be tidy.
    const auto label = [](std::string_view value) {
      std::string escaped;
      for (char c : value) {
        if (c == '\\') {
          escaped += "\\\\";
        } else if (c == '"') {
          escaped += "\\\"";
        } else if (c == '\n') {
          escaped += "\\n";
        } else {
          escaped += c;
        }
      }
      return escaped;
    };
    for (const GroupPeer& p : peers) {
      fmt::format_to(std::back_inserter(out),
                     "casewatch_group_engine_lag{{engine=\"{}\",role=\"{}\",live=\"{}\"}} {}\n",
                     label(p.url), label(p.role), p.live ? 1 : 0, p.lag);
    }
    out += "# HELP casewatch_group_engine_tasks Partitions an engine of the group serves (owned) "
           "and keeps a copy of for another engine (standby; --tasks --group), as it last wrote "
           "to the directory.\n"
           "# TYPE casewatch_group_engine_tasks gauge\n";
    for (const GroupPeer& p : peers) {
      for (const auto& [kind, count] : {std::pair{"owned", p.offsets.size()},
                                        std::pair{"standby", p.standby.size()}}) {
        fmt::format_to(std::back_inserter(out),
                       "casewatch_group_engine_tasks{{engine=\"{}\",kind=\"{}\"}} {}\n",
                       label(p.url), kind, count);
      }
    }
  }
  if (state.options.event_id_claims) {
    const EventIdClaims claims = state.options.event_id_claims();
    metric("casewatch_event_id_claims_written_total", "counter",
           "Claims on event ids new to the service this engine wrote to the ids topic.",
           claims.written);
    metric("casewatch_event_id_claims_read_total", "counter",
           "Claims on event ids, every engine's, this engine's ledger read since start.",
           claims.read);
    metric("casewatch_event_id_ledger_caught_up", "gauge",
           "1 once the ledger has read what the ids topic held when the engine started (until "
           "then no task accepts an event new to its store).",
           claims.caught_up ? 1 : 0);
    metric("casewatch_event_id_claims_waiting", "gauge",
           "Batches of tasks here waiting for claims on their new event ids now.", claims.waiting);
  }
  metric("casewatch_outbox_published_total", "counter", "Alerts and dead letters published.",
         status.published);
  metric("casewatch_kafka_transient_errors_total", "counter", "Transient consumer errors.",
         status.transient_errors);
  const auto snapshot = state.options.view->snapshot();
  metric("casewatch_projection_instant_seconds", "gauge", "The engine clock of the last write.",
         snapshot->as_of ? snapshot->as_of->seconds : 0);
  metric("casewatch_ready", "gauge", "1 once caught up after starting.",
         state.options.view->ready() ? 1 : 0);
  ServerStats server;
  {
    MutexLock lock(state.stats_mutex);
    if (state.server_stats) server = state.server_stats();
  }
  metric("casewatch_http_stream_clients", "gauge", "Open event streams.", server.stream_clients);
  metric("casewatch_http_connections", "gauge", "Open HTTP connections.", server.connections);
  metric("casewatch_http_connections_max", "gauge", "The most HTTP connections served at once.",
         server.max_connections);
  metric("casewatch_http_connections_refused_total", "counter",
         "Connections closed at once: over the overall or the per-address cap.",
         server.connections_refused);
  metric("casewatch_http_accept_errors_total", "counter",
         "Failed accepts (e.g. out of file descriptors), each followed by a pause.",
         server.accept_errors);
  out += "# HELP casewatch_http_requests_total HTTP answers by route and status class.\n";
  out += "# TYPE casewatch_http_requests_total counter\n";
  for (const auto& route : state.routes) {
    for (int k = 1; k <= 5; ++k) {
      const uint64_t n = route->by_class[k].load();
      if (n > 0) {
        fmt::format_to(std::back_inserter(out),
                       "casewatch_http_requests_total{{route=\"{}\",code=\"{}xx\"}} {}\n",
                       route->name, k, n);
      }
    }
  }
  out += "# HELP casewatch_http_request_seconds_total Time spent answering, by route.\n";
  out += "# TYPE casewatch_http_request_seconds_total counter\n";
  for (const auto& route : state.routes) {
    fmt::format_to(std::back_inserter(out),
                   "casewatch_http_request_seconds_total{{route=\"{}\"}} {}\n", route->name,
                   route->micros_total.load() / 1e6);
  }
  HttpResponse response;
  response.content_type = "text/plain; version=0.0.4";
  response.body = std::move(out);
  return response;
}

}  // namespace casewatch::http
