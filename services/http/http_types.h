#pragma once
// A request as the API sees it, and its answer: the transport (server.h) fills the one and sends
// the other.

#include <string>
#include <utility>
#include <vector>

#include "projections/scores.h"
#include "services/http/auth.h"

namespace casewatch::http {

struct HttpRequest {
  std::string method;  // GET, POST, ...
  std::string target;  // path and query, as received
  std::string authorization;
  std::string if_none_match;  // the If-None-Match header (GET /internal/v1/counts)
  std::string body;
  std::string remote;  // peer address, for the audit log
  // Set by Api::Authenticate: the holder of the Authorization header's token (nullptr: none or
  // not recognised), so that the rate limiter and the handler look it up once.
  bool authenticated = false;
  const Principal* principal = nullptr;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // GET /api/v1/stream: the server turns the connection into an event stream for this scope.
  bool event_stream = false;
  Scope stream_scope;
};

}  // namespace casewatch::http
