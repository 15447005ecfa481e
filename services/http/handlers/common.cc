#include "base/partition_offsets.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include "services/http/handlers/handlers.h"
#include "services/records/case_projection.h"

namespace casewatch::http {

void WriteScope(JsonWriter& out, const Scope& scope) {
  out.BeginObject();
  out.Key("region").NullableString(scope.region);
  out.Key("pdu").NullableString(scope.pdu);
  out.Key("team").NullableString(scope.team);
  out.Key("offender_manager").NullableString(scope.offender_manager);
  out.EndObject();
}

void WriteInstant(JsonWriter& out, const std::optional<Instant>& instant) {
  if (instant) {
    out.String(FormatInstant(*instant));
  } else {
    out.Null();
  }
}

void AddSnapshotHeaders(HttpResponse& response, const Snapshot& snapshot) {
  if (!snapshot.consumed.empty()) {
    response.headers.emplace_back("Casewatch-Offsets", FormatPartitionOffsets(snapshot.consumed));
  }
  if (snapshot.cases_pending > 0) {
    response.headers.emplace_back("Casewatch-Pending", std::to_string(snapshot.cases_pending));
  }
  if (!snapshot.missing.empty()) {
    response.headers.emplace_back("Casewatch-Missing", FormatMissing(snapshot.missing));
  }
  if (!snapshot.copies.empty()) {
    response.headers.emplace_back("Casewatch-Copies", FormatMissing(snapshot.copies));
  }
}

std::optional<HttpResponse> RefuseScopedPeer(const Call& call, std::string_view what) {
  if (call.principal->scope.empty()) return std::nullopt;
  return ErrorResponse(Problem::kForbidden,
                       fmt::format("{} cover every unit: only an inspector's token (the one the "
                                   "group's engines hold, casewatchd --peer-token-file) may read "
                                   "them",
                                   what));
}

bool MayAskPeers(const ApiState& state) {
  return state.options.peer_counts && state.options.view != nullptr &&
         !state.options.view->snapshot()->missing.empty();
}

namespace {

// The earliest instant of the answers at one instant; nullopt when there is none.
std::optional<Instant> EarliestInstant(std::span<const PeerAnswer> answers) {
  std::optional<Instant> earliest;
  for (const PeerAnswer& answer : answers) {
    if (!answer.counts || !answer.counts->one_instant()) continue;
    const Instant at{answer.counts->as_of_seconds(), answer.counts->as_of_nanos()};
    if (!earliest || at < *earliest) earliest = at;
  }
  return earliest;
}

}  // namespace

std::shared_ptr<const Snapshot> LiveSnapshot(ApiState& state, const Scope& scope,
                                             reports::GroupBy by, std::vector<std::string>& peers) {
  if (state.merged_counts && MayAskPeers(state)) {
    MergedCounts kept = state.merged_counts->Get(scope, by);
    peers = std::move(kept.peers);
    return std::move(kept.snapshot);
  }
  return MergedLiveSnapshot(state, scope, by, peers);
}

bool HoldsMergedCounts(const ApiState& state, const Principal* principal, const Params& params,
                       bool breakdown) {
  if (!state.merged_counts || principal == nullptr) return false;
  auto query = ParseReportQuery(params);
  if (!query || !query.value().live()) return false;
  const std::optional<Scope> scope = Narrow(*principal, query.value().scope);
  if (!scope) return false;
  reports::GroupBy by = reports::GroupBy::kNone;
  if (breakdown) {
    auto parsed = ParseGroupBy(params, reports::GroupBelow(*scope));
    if (!parsed) return false;
    by = parsed.value();
  }
  return state.merged_counts->Holds(*scope, by);
}

std::shared_ptr<const Snapshot> MergedLiveSnapshot(ApiState& state, const Scope& scope,
                                                   reports::GroupBy by,
                                                   std::vector<std::string>& peers) {
  const LiveView& view = *state.options.view;
  std::shared_ptr<const Snapshot> snapshot = view.snapshot();
  if (!snapshot->as_of) return snapshot;
  if (!snapshot->one_instant) {
    // A task has moved on to the next instant: every task as they all stood at the earliest's.
    if (auto then = view.SnapshotAt(*snapshot->as_of)) snapshot = std::move(then);
  }
  if (snapshot->missing.empty()) return snapshot;
  std::vector<PeerAnswer> answers;
  if (state.options.peer_counts && snapshot->one_instant) {
    answers = state.options.peer_counts(snapshot->missing, scope, by, *snapshot->as_of);
    // An engine that has not reached this instant yet answers as of its own: every engine as of
    // that one, when this engine kept its counts of then (the others did, too).
    if (const auto behind = EarliestInstant(answers); behind && *behind < *snapshot->as_of) {
      if (auto then = view.SnapshotAt(*behind)) {
        snapshot = std::move(then);
        answers = state.options.peer_counts(snapshot->missing, scope, by, *behind);
      }
    }
  }
  // The partitions no engine answered for, from the copies this engine keeps of them.
  std::vector<int32_t> uncovered = snapshot->missing;
  for (const PeerAnswer& answer : answers) {
    std::erase_if(uncovered, [&](int32_t p) { return answer.counts->consumed().count(p) > 0; });
  }
  if (const auto copies = view.Copies(uncovered); !copies.empty()) {
    answers.push_back(PeerAnswer{
        "", CopiesTag(copies),
        std::make_shared<const store::v1::PeerCounts>(PeerCountsOf(copies, scope, by)), true});
  }
  if (answers.empty()) return snapshot;
  // The same local snapshot, scope and grouping and the same peers' snapshots: the same merge (a
  // peer without a tag is never taken for the same).
  std::string key = fmt::format("{} {}", snapshot->version, ScopeQuery(scope, by));
  for (const PeerAnswer& answer : answers) {
    if (answer.tag.empty()) key.clear();
    if (key.empty()) break;
    fmt::format_to(std::back_inserter(key), " {} {}", answer.url, answer.tag);
  }
  if (!key.empty()) {
    MutexLock lock(state.merged_mutex);
    if (state.merged && state.merged_key == key) {
      peers = state.merged_peers;
      return state.merged;
    }
  }
  auto merged = WithPeers(*snapshot, answers, peers);
  if (!key.empty()) {
    MutexLock lock(state.merged_mutex);
    state.merged_key = std::move(key);
    state.merged = merged;
    state.merged_peers = peers;
  }
  return merged;
}

void AddLiveHeaders(HttpResponse& response, const Snapshot& snapshot,
                    const std::vector<std::string>& peers) {
  AddSnapshotHeaders(response, snapshot);
  if (peers.empty()) return;
  std::string named;
  for (const std::string& url : peers) named += (named.empty() ? "" : ",") + url;
  response.headers.emplace_back("Casewatch-Peers", std::move(named));
}

void AddPeerHeaders(HttpResponse& response, const std::vector<std::string>& peers,
                    const std::vector<int32_t>& missing) {
  if (peers.empty()) return;
  std::string named;
  for (const std::string& url : peers) named += (named.empty() ? "" : ",") + url;
  response.headers.emplace_back("Casewatch-Peers", std::move(named));
  if (!missing.empty()) response.headers.emplace_back("Casewatch-Missing", FormatMissing(missing));
}

std::string FormatMissing(const std::vector<int32_t>& partitions) {
  std::string text;
  for (int32_t partition : partitions) {
    fmt::format_to(std::back_inserter(text), "{}{}", text.empty() ? "" : ",", partition);
  }
  return text;
}

std::vector<const store::StoreReader*> ServingStores(const ApiState& state) {
  const std::vector<const store::StoreReader*>& all = state.options.stores;
  if (state.options.view == nullptr) return all;
  const auto snapshot = state.options.view->snapshot();
  if (snapshot->missing.empty()) return all;
  std::vector<const store::StoreReader*> serving;
  for (size_t t = 0; t < all.size(); ++t) {
    if (std::find(snapshot->missing.begin(), snapshot->missing.end(), static_cast<int32_t>(t)) ==
        snapshot->missing.end()) {
      serving.push_back(all[t]);
    }
  }
  return serving;
}

namespace {

// CheckScopeIsKnown for a request's filters, narrowed to the caller's scope, against the
// engine's current allocations within the caller's scope (a viewer is never told the names of
// units beyond its own). Ok when the request has no filters, or nothing in the caller's scope has
// been projected yet.
Result<void> CheckRequestedScope(const ApiState& state, const Scope& mine, const Scope& requested,
                                 const Scope& narrowed) {
  if (requested.empty()) return Ok();
  const auto snapshot = state.options.view->snapshot();
  KnownAllocations known;
  for (const auto& counts : snapshot->scopes) {
    if (counts->cases() == 0) continue;
    const Allocation allocation = records::AllocationOf(*counts);
    if (narrowed.Matches(allocation)) return Ok();
    if (mine.Matches(allocation)) known.Add(allocation);
  }
  if (known.list().empty()) return Ok();  // nothing to check against yet
  return CheckScopeIsKnown(narrowed, known.list());
}

}  // namespace

ScopeOrAnswer CallerScope(const ApiState& state, const Call& call, const Scope& requested,
                          bool past) {
  std::optional<Scope> narrowed = Narrow(*call.principal, requested);
  if (!narrowed) {
    return {std::nullopt, ErrorResponse(Problem::kOutsideScope,
                                        "the requested scope is outside what this access token "
                                        "may see")};
  }
  if (auto known = CheckRequestedScope(state, call.principal->scope, requested, *narrowed);
      !known) {
    HttpResponse refusal = ErrorResponse(Problem::kInvalidParameter, known.error().message);
    if (!past && !MayAskPeers(state)) return {std::nullopt, std::move(refusal)};
    return {std::move(narrowed), {}, std::move(refusal)};
  }
  return {std::move(narrowed), {}};
}

ScopeOrAnswer CallerScope(const ApiState& state, const Call& call) {
  auto requested = ParseScope(call.params);
  if (!requested) return {std::nullopt, ErrorResponse(requested.error())};
  return CallerScope(state, call, requested.value());
}

}  // namespace casewatch::http
