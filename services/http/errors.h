#pragma once
// Every way the API says no, in one table: each Problem has its HTTP status and the `code` of the
// JSON body {"error":{"code","message"}}, and each library error kind its Problem. Messages are
// the caller's to read: internal failures say only that the server failed (the log has the rest).

#include <string_view>

#include "base/result.h"
#include "services/http/http_types.h"

namespace casewatch::http {

enum class Problem {
  kBadRequest,        // 400 bad_request: the HTTP itself is malformed
  kInvalidParameter,  // 400 invalid_parameter
  kEmptyBody,         // 400 empty_body
  kUnauthenticated,   // 401 unauthenticated
  kForbidden,         // 403 forbidden: the caller's role may not do this
  kOutsideScope,      // 403 outside_scope: the caller's scope does not reach that far
  kNotFound,          // 404 not_found
  kMethodNotAllowed,  // 405 method_not_allowed
  kConflict,          // 409 conflict
  kTooLarge,          // 413 too_large
  kTooManyEvents,     // 413 too_many_events
  kRateLimited,       // 429 rate_limited
  kHeadersTooLarge,   // 431 headers_too_large
  kInternal,          // 500 internal
  kDataLoss,          // 500 data_loss
  kNotReady,          // 503 not_ready: the store cannot answer yet (nothing projected, ...)
  kUnavailable,       // 503 unavailable: try again later
  kAuditUnavailable,  // 503 audit_unavailable
  kTooManyStreams,    // 503 too_many_streams
};

int StatusOf(Problem problem);
std::string_view CodeOf(Problem problem);

// The Problem a library error kind is answered with.
Problem ProblemOf(ErrorKind kind);

// {"error":{"code":...,"message":...}} with the problem's status.
HttpResponse ErrorResponse(Problem problem, std::string_view message);
// A library error as an answer: its Problem and message, except for internal, I/O and data-loss
// failures, whose message is logged and replaced by a neutral one.
HttpResponse ErrorResponse(const Error& error);

// A JSON answer.
HttpResponse Json(int status, std::string body);

}  // namespace casewatch::http
