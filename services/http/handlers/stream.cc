// GET /api/v1/stream: server-sent events for a scope (the report when it changes, the alerts in
// it); the server turns the connection into the stream once this has checked the request.
#include "services/http/handlers/handlers.h"

namespace casewatch::http {

HttpResponse HandleStream(ApiState& state, Call& call) {
  if (auto known =
          call.params.OnlyThese({"region", "pdu", "team", "offender_manager", "access_token"});
      !known) {
    return ErrorResponse(known.error());
  }
  auto narrowed = CallerScope(state, call);
  if (!narrowed.scope) return narrowed.answer;
  HttpResponse response;
  response.event_stream = true;
  response.stream_scope = *narrowed.scope;
  response.content_type = "text/event-stream";
  return response;
}

}  // namespace casewatch::http
