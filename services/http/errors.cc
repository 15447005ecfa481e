#include "services/http/errors.h"

#include <spdlog/spdlog.h>

#include <array>

#include "base/json_writer.h"
#include "base/log_throttle.h"

namespace casewatch::http {
namespace {

struct ProblemInfo {
  Problem problem;
  int status;
  std::string_view code;
};

constexpr std::array<ProblemInfo, 19> kProblems = {{
    {Problem::kBadRequest, 400, "bad_request"},
    {Problem::kInvalidParameter, 400, "invalid_parameter"},
    {Problem::kEmptyBody, 400, "empty_body"},
    {Problem::kUnauthenticated, 401, "unauthenticated"},
    {Problem::kForbidden, 403, "forbidden"},
    {Problem::kOutsideScope, 403, "outside_scope"},
    {Problem::kNotFound, 404, "not_found"},
    {Problem::kMethodNotAllowed, 405, "method_not_allowed"},
    {Problem::kConflict, 409, "conflict"},
    {Problem::kTooLarge, 413, "too_large"},
    {Problem::kTooManyEvents, 413, "too_many_events"},
    {Problem::kRateLimited, 429, "rate_limited"},
    {Problem::kHeadersTooLarge, 431, "headers_too_large"},
    {Problem::kInternal, 500, "internal"},
    {Problem::kDataLoss, 500, "data_loss"},
    {Problem::kNotReady, 503, "not_ready"},
    {Problem::kUnavailable, 503, "unavailable"},
    {Problem::kAuditUnavailable, 503, "audit_unavailable"},
    {Problem::kTooManyStreams, 503, "too_many_streams"},
}};

constexpr bool InTableOrder() {
  for (size_t i = 0; i < kProblems.size(); ++i) {
    if (static_cast<size_t>(kProblems[i].problem) != i) return false;
  }
  return true;
}
static_assert(InTableOrder(), "kProblems lists every Problem in declaration order");

}  // namespace

int StatusOf(Problem problem) { return kProblems[static_cast<size_t>(problem)].status; }
std::string_view CodeOf(Problem problem) { return kProblems[static_cast<size_t>(problem)].code; }

Problem ProblemOf(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidArgument:
      return Problem::kInvalidParameter;
    case ErrorKind::kNotFound:
      return Problem::kNotFound;
    case ErrorKind::kConflict:
      return Problem::kConflict;
    case ErrorKind::kFailedPrecondition:
      return Problem::kNotReady;
    case ErrorKind::kUnavailable:
      return Problem::kUnavailable;
    case ErrorKind::kDataLoss:
      return Problem::kDataLoss;
    case ErrorKind::kIo:
    case ErrorKind::kInternal:
      return Problem::kInternal;
  }
  return Problem::kInternal;
}

HttpResponse Json(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

HttpResponse ErrorResponse(Problem problem, std::string_view message) {
  JsonWriter out;
  out.BeginObject().Key("error").BeginObject();
  out.Key("code").String(CodeOf(problem)).Key("message").String(message);
  out.EndObject().EndObject();
  return Json(StatusOf(problem), out.Take());
}

HttpResponse ErrorResponse(const Error& error) {
  const Problem problem = ProblemOf(error.kind);
  if (StatusOf(problem) < 500) return ErrorResponse(problem, error.message);
  if (problem == Problem::kNotReady || problem == Problem::kUnavailable) {
    return ErrorResponse(problem, error.message);
  }
  static LogThrottle throttle;
  uint64_t held_back = 0;
  if (throttle.Allow(CodeOf(problem), held_back)) {
    spdlog::error("http: a request failed: {}{}", error.message, HeldBackNote(held_back));
  }
  return ErrorResponse(problem, problem == Problem::kDataLoss
                                    ? "stored data could not be read; see the server's log"
                                    : "the server failed to answer; see its log");
}

}  // namespace casewatch::http
