// GET /internal/v1/counts: what an engine whose partitions are shared out in a group gives the
// other engines of its group, so that any of them answers a live report for the whole topic:
// the per-allocation counts of the partitions its own tasks hold, as of its last write, and the
// records they reflect (store::v1::PeerCounts, binary protobuf). Everything, so an inspector's
// token (casewatchd --peer-token-file) or --no-auth only.
#include "services/http/handlers/handlers.h"

namespace casewatch::http {

HttpResponse HandlePeerCounts(ApiState& state, Call& call) {
  if (auto known = call.params.OnlyThese({}); !known) return ErrorResponse(known.error());
  if (!call.principal->scope.empty()) {
    return ErrorResponse(Problem::kForbidden,
                         "a peer's counts cover every unit: only an inspector's token (the one "
                         "the group's engines hold, casewatchd --peer-token-file) may read them");
  }
  if (state.options.view == nullptr) {
    return ErrorResponse(Problem::kNotFound, "this engine keeps no live counts");
  }
  const auto snapshot = state.options.view->snapshot();
  if (!snapshot->as_of) {
    return ErrorResponse(Problem::kNotReady, "the engine has not projected anything yet");
  }
  HttpResponse answer;
  answer.content_type = "application/x-protobuf";
  answer.body = PeerCountsOf(*snapshot).SerializeAsString();
  return answer;
}

}  // namespace casewatch::http
