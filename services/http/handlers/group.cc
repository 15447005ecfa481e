// GET /api/v1/group: the engines of this engine's group (casewatchd --group) as the group's
// directory last heard of them: which are live and which silent since when, which one leads, and
// how far each has applied the events topic. Any engine of the group gives the same list (each
// from its own read of the directory, so they may differ by the seconds between two records).
#include "services/http/handlers/handlers.h"

namespace casewatch::http {
namespace {

void WriteGroupPeer(JsonWriter& out, const GroupPeer& peer) {
  out.BeginObject().Key("url").String(peer.url).Key("self").Bool(peer.self);
  out.Key("live").Bool(peer.live).Key("role").String(peer.role);
  out.Key("heard").String(FormatInstant(peer.heard));
  out.Key("started").String(FormatInstant(peer.started));
  out.Key("lag").Int(peer.lag).Key("catching_up").Bool(peer.catching_up).Key("as_of");
  WriteInstant(out, peer.as_of);
  out.Key("offsets").BeginObject();
  for (const auto& [partition, offset] : peer.offsets) {
    out.Key(std::to_string(partition)).Int(offset);
  }
  out.EndObject().Key("standby").BeginArray();
  for (int32_t partition : peer.standby) out.Int(partition);
  out.EndArray().EndObject();
}

}  // namespace

HttpResponse HandleGroup(ApiState& state, Call& call) {
  if (auto known = call.params.OnlyThese({}); !known) return ErrorResponse(known.error());
  JsonWriter out;
  out.BeginObject().Key("group");
  if (state.options.group.empty() || !state.options.group_view) {
    out.Null().Key("engines").BeginArray().EndArray().Key("problem").Null().EndObject();
    return Json(200, out.Take());
  }
  const GroupView view = state.options.group_view();
  out.String(state.options.group).Key("engines").BeginArray();
  for (const GroupPeer& peer : view.engines) WriteGroupPeer(out, peer);
  out.EndArray().Key("problem");
  if (view.problem.empty()) {
    out.Null();
  } else {
    out.String(view.problem);
  }
  out.EndObject();
  return Json(200, out.Take());
}

}  // namespace casewatch::http
