#pragma once
// The endpoints' handlers: each a small function of the API's shared state and one call, which
// validates its parameters and answers. Which path, method and caller reach which handler is the
// route table's business (routes.h). Internal to services/http.

#include <optional>
#include <string_view>

#include "base/json_writer.h"
#include "services/http/api.h"
#include "services/http/params.h"

namespace casewatch::http {

// One request being handled.
struct Call {
  const HttpRequest& request;
  std::string_view path;
  std::string_view path_rest;  // what follows a prefix route's path (a case id)
  Params params;
  const Principal* principal;  // the caller: a registry entry, or the --no-auth principal
};

HttpResponse HandleHealthz(ApiState& state, Call& call);
HttpResponse HandleReadyz(ApiState& state, Call& call);
HttpResponse HandleOpenApi(ApiState& state, Call& call);
HttpResponse HandleStaticFile(ApiState& state, Call& call);
HttpResponse HandleReport(ApiState& state, Call& call);
HttpResponse HandleBreakdown(ApiState& state, Call& call);
HttpResponse HandleWorklist(ApiState& state, Call& call);
HttpResponse HandleCaseTimeline(ApiState& state, Call& call);
// GET /internal/v1/cases/{id}: the timeline from this engine's own stores, for a peer.
HttpResponse HandlePeerCaseTimeline(ApiState& state, Call& call);
HttpResponse HandleTrend(ApiState& state, Call& call);
HttpResponse HandleStream(ApiState& state, Call& call);
HttpResponse HandleMeta(ApiState& state, Call& call);
HttpResponse HandleGroup(ApiState& state, Call& call);
HttpResponse HandlePostEvents(ApiState& state, Call& call);
HttpResponse HandleMetrics(ApiState& state, Call& call);
HttpResponse HandlePeerCounts(ApiState& state, Call& call);
HttpResponse HandlePeerWorklist(ApiState& state, Call& call);
HttpResponse HandlePeerTrend(ApiState& state, Call& call);

// --- What several handlers write ---

// {"region":...,"pdu":...,"team":...,"offender_manager":...}, levels left open as null.
void WriteScope(JsonWriter& out, const Scope& scope);
// An instant in RFC 3339, or null.
void WriteInstant(JsonWriter& out, const std::optional<Instant>& instant);
// What a live answer's counts reflect, from the snapshot it was made from: Casewatch-Offsets
// ("0:5459,1:4708,...": per partition of the events topic, the offset after the last record
// applied; replaying exactly the records below them gives the same answer; a partition not named,
// or no header at all, reflects none of its records) and, while some cases' newest events are
// stored but not yet counted, Casewatch-Pending (how many such cases). And Casewatch-Missing (the
// partitions another engine of the group serves) from the same snapshot: a partition is named
// once, held or missing, even while a task moves (Api::AddFreshness then adds none).
void AddSnapshotHeaders(HttpResponse& response, const Snapshot& snapshot);
// "3,7".
std::string FormatMissing(const std::vector<int32_t>& partitions);
// An answer merged from other engines' (worklists, trends): names the peers added
// (Casewatch-Peers) and the partitions none gave (Casewatch-Missing). With none added it adds
// nothing: the freshness headers name what is missing.
void AddPeerHeaders(HttpResponse& response, const std::vector<std::string>& peers,
                    const std::vector<int32_t>& missing);

// The stores whose cases the answers hold: every task's, but those of tasks another engine of
// the group serves now (Snapshot::missing), whose stores here are not kept current.
std::vector<const store::StoreReader*> ServingStores(const ApiState& state);

// The request's scope: its filters parsed and narrowed to the caller's; the answer otherwise
// (400 for a malformed filter or one that names no allocation any case has, with the closest
// names, once the engine has projected; 403 outside_scope for one beyond the caller's scope).
struct ScopeOrAnswer {
  std::optional<Scope> scope;
  HttpResponse answer;
  // With `past`: the 400 a scope that names no current allocation would get. A report of an
  // earlier instant or period may name a unit that had cases then and has none now; the handler
  // answers this only when the report finds no case either. So too for a live answer to which
  // other engines of the group add their counts: the unit may be one only they hold cases of.
  std::optional<HttpResponse> unknown_now;
};
// `past`: the request is for an earlier instant or a period (see unknown_now).
ScopeOrAnswer CallerScope(const ApiState& state, const Call& call, const Scope& requested,
                          bool past = false);
// The same for the call's own scope parameters.
ScopeOrAnswer CallerScope(const ApiState& state, const Call& call);

// The refusal of an /internal/ route (what another engine of the group reads: `what`, covering
// every unit) to a caller with a scope; nullopt for an inspector's token (the one the group's
// engines hold) or --no-auth.
std::optional<HttpResponse> RefuseScopedPeer(const Call& call, std::string_view what);

// Whether a live report or breakdown now asks other engines of the group for their counts: they
// can be asked (ApiOptions::peer_counts) and the live snapshot misses partitions.
bool MayAskPeers(const ApiState& state);
// The live snapshot; when it misses partitions other engines of the group hold and they can be
// asked (ApiOptions::peer_counts), with their counts within `scope` by `by` added (WithPeers),
// their urls in `peers`: a snapshot for a report or breakdown of that scope by that grouping.
// With ApiOptions::peer_refresh, such a merged snapshot comes from ApiState::merged_counts: made
// at most a few refresh intervals ago.
std::shared_ptr<const Snapshot> LiveSnapshot(ApiState& state, const Scope& scope,
                                             reports::GroupBy by, std::vector<std::string>& peers);
// Whether a live report (or, `breakdown`, a breakdown) with `params` for `principal` (nullptr:
// not known) is answered from merged counts kept (ApiState::merged_counts), without waiting on
// the other engines.
bool HoldsMergedCounts(const ApiState& state, const Principal* principal, const Params& params,
                       bool breakdown);
// The same, the other engines asked now.
std::shared_ptr<const Snapshot> MergedLiveSnapshot(ApiState& state, const Scope& scope,
                                                   reports::GroupBy by,
                                                   std::vector<std::string>& peers);
// A live answer's headers: the snapshot's (AddSnapshotHeaders) and the peers whose counts it
// added (Casewatch-Peers).
void AddLiveHeaders(HttpResponse& response, const Snapshot& snapshot,
                    const std::vector<std::string>& peers);

}  // namespace casewatch::http
