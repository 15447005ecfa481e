// GET /internal/v1/counts: what an engine whose partitions are shared out in a group gives the
// other engines of its group, so that any of them answers a live report for the whole topic:
// the counts of the partitions its own tasks hold, as of its last write, within the scope asked
// for (region, pdu, team, offender_manager) and summed by the groups of `by` (none: one sum),
// and the records they reflect (store::v1::PeerCounts, binary protobuf; PeerCountsOf). Any
// unit, so an inspector's token (casewatchd --peer-token-file) or --no-auth only.
//
// With `partitions=3,7`: the counts of the copies this engine keeps of those partitions for the
// engines they are given to (--standby-replicas), apart from its own tasks, for an engine that
// cannot get them from the partitions' owner (killed, cut off, not yet replaced). Each copy is
// as of its own last write (an engine at another instant does not add it); `consumed` names the
// partitions answered, and 404 says none of them is kept here.
//
// With `as_of` (an instant, RFC 3339): the counts as of that instant when this engine keeps its
// counts of then (LiveView::SnapshotAt: its tasks move to the next second a moment apart, and
// so do the engines of a group), and otherwise as of the latest instant all its tasks stood at
// together. The asking engine adds only counts at its own instant (WithPeers).
//
// Each answer carries an ETag naming the snapshot (this process and the snapshot's version): a
// peer that sends it back (If-None-Match) for the same query while the counts are unchanged gets
// 304 and no body, and uses the counts it already has. The counts are serialized once per
// snapshot and query.
#include <fmt/format.h>

#include <random>

#include "services/http/handlers/handlers.h"

namespace casewatch::http {
namespace {

// This process, in the ETag: a restarted engine numbers its snapshots from 0 again.
uint64_t ProcessNonce() {
  static const uint64_t nonce = [] {
    std::random_device device;
    return (static_cast<uint64_t>(device()) << 32) ^ device();
  }();
  return nonce;
}

}  // namespace

HttpResponse HandlePeerCounts(ApiState& state, Call& call) {
  if (auto known = call.params.OnlyThese(
          {"region", "pdu", "team", "offender_manager", "by", "partitions", "as_of"});
      !known) {
    return ErrorResponse(known.error());
  }
  auto scope = ParseScope(call.params);
  if (!scope) return ErrorResponse(scope.error());
  auto by = ParseGroupBy(call.params, reports::GroupBy::kNone);
  if (!by) return ErrorResponse(by.error());
  if (auto refused = RefuseScopedPeer(call, "a peer's counts")) return *refused;
  std::optional<std::vector<int32_t>> partitions;
  if (const auto text = call.params.Get("partitions")) {
    auto parsed = ParsePartitionList(*text);
    if (!parsed) return ErrorResponse(InvalidArgument("partitions: " + parsed.error().message));
    partitions = std::move(parsed).value();
  }
  if (state.options.view == nullptr) {
    return ErrorResponse(Problem::kNotFound, "this engine keeps no live counts");
  }
  HttpResponse answer;
  if (partitions) {
    const auto copies = state.options.view->Copies(*partitions);
    if (copies.empty()) {
      return ErrorResponse(Problem::kNotFound,
                           fmt::format("this engine keeps no copy of partitions {}",
                                       FormatMissing(*partitions)));
    }
    std::string tag = fmt::format("\"{:016x}-{}\"", ProcessNonce(), CopiesTag(copies));
    if (call.request.if_none_match == tag) {
      answer.status = 304;
      answer.content_type.clear();
    } else {
      answer.content_type = "application/x-protobuf";
      answer.body = PeerCountsOf(copies, scope.value(), by.value()).SerializeAsString();
    }
    answer.headers.emplace_back("ETag", std::move(tag));
    return answer;
  }
  std::shared_ptr<const Snapshot> snapshot;
  if (const auto text = call.params.Get("as_of")) {
    auto at = ParseInstant(*text);
    if (!at) return ErrorResponse(InvalidArgument("as_of: " + at.error().message));
    snapshot = state.options.view->SnapshotAt(at.value());
    if (!snapshot) snapshot = state.options.view->LatestWhole();
  }
  if (!snapshot) snapshot = state.options.view->snapshot();
  if (!snapshot->as_of) {
    return ErrorResponse(Problem::kNotReady, "the engine has not projected anything yet");
  }
  std::string tag = fmt::format("\"{:016x}-{}\"", ProcessNonce(), snapshot->version);
  if (call.request.if_none_match == tag) {
    answer.status = 304;
    answer.content_type.clear();
  } else {
    answer.content_type = "application/x-protobuf";
    answer.body = *snapshot->PeerCountsBytes(scope.value(), by.value());
  }
  answer.headers.emplace_back("ETag", std::move(tag));
  return answer;
}

}  // namespace casewatch::http
