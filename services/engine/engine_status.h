#pragma once
// What the engine's loop reports of itself to readers in the same process (readiness, /metrics):
// the engine's counters and what its feed knows (lag, published records).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "projections/calendar.h"
#include "services/engine/engine.h"

namespace casewatch::engine {

// One partition of the events topic the engine reads: how many of its records on the brokers it
// has not yet applied (-1 unknown), and, while the brokers do not serve it (no leader, or its
// leader's broker unreachable), since when (wall clock): its lag is then the last known, and its
// cases are as they stood when it was last read.
struct PartitionStatus {
  int32_t partition = 0;
  int64_t lag = -1;
  std::optional<Instant> unavailable_since;
  bool operator==(const PartitionStatus&) const = default;
};

struct EngineStatus {
  EngineCounters counters;
  int64_t lag = -1;  // records on the brokers not yet applied; -1 unknown
  std::vector<PartitionStatus> partitions;  // by partition, those the engine reads
  uint64_t published = 0;
  uint64_t outbox_pending = 0;
  uint64_t transient_errors = 0;
  // Far behind, storing first (Engine::ApplyDeferred), or projecting the cases that stored
  // (cases_pending): reports leave out those cases' newest events.
  bool catching_up = false;
  Instant projection_instant;
  // Several engines on one events topic (casewatchd --group): "leader" or "follower"; empty for
  // an engine on its own, which always leads.
  std::string role;
  uint64_t leader_terms = 0;  // how many times this engine has come to lead since it started
  // Partitions of the events topic this engine's tasks do not serve (casewatchd --tasks --group:
  // another engine holds them): answers leave their cases out and say so.
  std::vector<int32_t> missing;
  // Partitions whose tasks this engine keeps a copy of for another engine (casewatchd --tasks
  // --group --standby-replicas), each with how far the copy is behind: not served.
  std::vector<PartitionStatus> standby;
};

}  // namespace casewatch::engine
