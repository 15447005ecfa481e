#include "services/http/handlers/handlers.h"

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

ScopeOrAnswer CallerScope(const Call& call, const Scope& requested) {
  std::optional<Scope> narrowed = Narrow(*call.principal, requested);
  if (!narrowed) {
    return {std::nullopt, ErrorResponse(Problem::kOutsideScope,
                                        "the requested scope is outside what this access token "
                                        "may see")};
  }
  return {std::move(narrowed), {}};
}

ScopeOrAnswer CallerScope(const Call& call) {
  auto requested = ParseScope(call.params);
  if (!requested) return {std::nullopt, ErrorResponse(requested.error())};
  return CallerScope(call, requested.value());
}

}  // namespace casewatch::http
