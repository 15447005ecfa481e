#include "services/http/api.h"

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <map>
#include <variant>

#include "casewatch/events/v1/events.pb.h"
#include "projections/report_json.h"
#include "services/engine/case_projection.h"
#include "services/engine/runner.h"
#include "services/engine/store_report.h"
#include "services/http/assets.h"
#include "base/json_writer.h"
#include "services/ingest/envelope_view.h"
#include "services/ingest/event_content.h"
#include "services/ingest/json_envelope.h"
#include "services/ingest/ndjson_lines.h"
#include "services/ingest/validation.h"

namespace casewatch::http {
namespace {

constexpr size_t kMaxParamLength = 200;
constexpr size_t kMaxPageSize = 500;
constexpr int64_t kDefaultTimelinePage = 1000;  // a case's events or items per answer
constexpr int64_t kMaxTimelinePage = 5000;
constexpr int kMaxTrendDays = 3660;

enum RouteId : size_t {
  kReportRoute,
  kBreakdownRoute,
  kWorklistRoute,
  kCaseRoute,
  kTrendRoute,
  kStreamRoute,
  kMetaRoute,
  kEventsRoute,
  kMetricsRoute,
  kHealthRoute,
  kStaticRoute,
  kOtherRoute,
  kRouteCount,
};
constexpr std::array<std::string_view, kRouteCount> kRouteNames = {
    "report", "breakdown", "worklist", "case",   "trend",  "stream",
    "meta",   "events",    "metrics",  "health", "static", "other"};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> PercentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out.push_back(' ');
    } else if (in[i] == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

// Query parameters, checked against the endpoint's list; each at most once.
class Params {
 public:
  // Parses `query`; an error names the malformed parameter.
  static std::variant<Params, std::string> Parse(std::string_view query) {
    Params params;
    while (!query.empty()) {
      const size_t amp = query.find('&');
      const std::string_view pair = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      if (pair.empty()) continue;
      const size_t equals = pair.find('=');
      auto name = PercentDecode(pair.substr(0, equals));
      auto value = PercentDecode(equals == std::string_view::npos ? std::string_view()
                                                                  : pair.substr(equals + 1));
      if (!name || !value) return fmt::format("malformed percent-encoding in \"{}\"", pair);
      if (value->size() > kMaxParamLength) {
        return fmt::format("parameter {} is longer than {} characters", *name, kMaxParamLength);
      }
      if (!params.values_.emplace(*name, *value).second) {
        return fmt::format("parameter {} is given more than once", *name);
      }
    }
    return params;
  }

  // An error naming the first parameter not in `allowed`.
  std::optional<std::string> Unknown(std::initializer_list<std::string_view> allowed) const {
    for (const auto& [name, value] : values_) {
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        std::string list;
        for (std::string_view a : allowed) list += fmt::format("{}{}", list.empty() ? "" : ", ", a);
        return fmt::format("unknown parameter \"{}\" (this endpoint takes: {})", name, list);
      }
    }
    return std::nullopt;
  }

  std::optional<std::string> Get(std::string_view name) const {
    const auto found = values_.find(std::string(name));
    return found == values_.end() ? std::nullopt : std::optional<std::string>(found->second);
  }
  bool Has(std::string_view name) const { return values_.count(std::string(name)) > 0; }

 private:
  std::map<std::string, std::string> values_;
};

HttpResponse Json(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

void AppendNullableString(std::string& out, const std::optional<std::string>& value) {
  if (value) {
    AppendJsonString(out, *value);
  } else {
    out += "null";
  }
}

void AppendNullableInstant(std::string& out, const std::optional<Instant>& value) {
  if (value) {
    AppendJsonString(out, FormatInstant(*value));
  } else {
    out += "null";
  }
}

void AppendScope(std::string& out, const Scope& scope) {
  out += "{\"region\":";
  AppendNullableString(out, scope.region);
  out += ",\"pdu\":";
  AppendNullableString(out, scope.pdu);
  out += ",\"team\":";
  AppendNullableString(out, scope.team);
  out += ",\"offender_manager\":";
  AppendNullableString(out, scope.offender_manager);
  out += "}";
}

void AppendScore(std::string& out, const std::optional<double>& score) {
  if (score) {
    fmt::format_to(std::back_inserter(out), "{}", *score);
  } else {
    out += "null";
  }
}

std::string_view BearerToken(std::string_view authorization) {
  constexpr std::string_view kPrefix = "Bearer ";
  if (authorization.size() <= kPrefix.size()) return {};
  for (size_t i = 0; i < kPrefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
        std::tolower(static_cast<unsigned char>(kPrefix[i]))) {
      return {};
    }
  }
  return authorization.substr(kPrefix.size());
}

bool ValidCaseId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

HttpResponse FromError(const Error& error) {
  switch (error.kind) {
    case ErrorKind::kInvalidArgument:
      return ErrorResponse(400, "invalid_parameter", error.message);
    case ErrorKind::kNotFound:
      return ErrorResponse(503, "not_ready", error.message);
    case ErrorKind::kUnavailable:
      return ErrorResponse(503, "unavailable", error.message);
    default:
      return ErrorResponse(500, "internal", "the server failed to answer; see its log");
  }
}

}  // namespace

HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message) {
  std::string body = "{\"error\":{\"code\":";
  AppendJsonString(body, code);
  body += ",\"message\":";
  AppendJsonString(body, message);
  body += "}}";
  return Json(status, std::move(body));
}

// One request being handled.
struct Api::Context {
  const HttpRequest& request;
  std::string_view path;
  Params params;
  const Principal* principal;  // the caller: a registry entry, or the --no-auth principal
  RouteId route = kOtherRoute;
};

Api::Api(ApiOptions options) : options_(std::move(options)) {
  for (std::string_view name : kRouteNames) {
    routes_.push_back(std::make_unique<RouteMetrics>());
    routes_.back()->name = name;
  }
}

Api::~Api() = default;

bool Api::Blocking(const HttpRequest& request) const {
  const std::string_view target = request.target;
  const size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  if (request.method == "POST") return true;
  if (path == "/api/v1/report" || path == "/api/v1/breakdown") {
    // Decided from the parameters as the handler will read them (percent-decoded): the live
    // answers come from memory; anything else reads the store.
    auto parsed = Params::Parse(question == std::string_view::npos ? std::string_view()
                                                                   : target.substr(question + 1));
    const Params* params = std::get_if<Params>(&parsed);
    if (params == nullptr) return false;  // a 400, answered at once
    return params->Has("as_of") || params->Has("from") || params->Has("to") ||
           params->Has("case_items");
  }
  return path == "/api/v1/worklist" || path.starts_with("/api/v1/cases/") ||
         path == "/api/v1/trend";
}

void Api::Authenticate(HttpRequest& request) const {
  request.authenticated = true;
  request.principal = options_.tokens != nullptr
                          ? options_.tokens->Find(BearerToken(request.authorization))
                          : nullptr;
}

std::string Api::CallerKey(const HttpRequest& request) {
  return request.principal != nullptr ? "token:" + request.principal->name
                                      : "address:" + request.remote;
}

void Api::CountRejected(int status) {
  routes_[kOtherRoute]->by_class[std::clamp(status / 100, 1, 5)].fetch_add(1);
}

HttpResponse Api::Handle(const HttpRequest& request) {
  const auto started = std::chrono::steady_clock::now();
  const std::string_view target = request.target;
  const size_t question = target.find('?');
  static const Principal kLocal = LocalPrincipal();
  Context context{request, target.substr(0, question), Params{}, &kLocal};
  HttpResponse response;
  auto parsed = Params::Parse(question == std::string_view::npos ? std::string_view()
                                                                 : target.substr(question + 1));
  if (auto* error = std::get_if<std::string>(&parsed)) {
    response = ErrorResponse(400, "invalid_parameter", *error);
  } else {
    context.params = std::move(std::get<Params>(parsed));
    response = Route(context);
  }
  RouteMetrics& metrics = *routes_[context.route];
  metrics.by_class[std::clamp(response.status / 100, 1, 5)].fetch_add(1);
  metrics.micros_total.fetch_add(
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::steady_clock::now() - started)
                                .count()));
  return response;
}

HttpResponse Api::Route(Context& c) {
  const std::string_view path = c.path;
  const std::string& method = c.request.method;
  if (path == "/healthz" || path == "/readyz") {
    c.route = kHealthRoute;
    if (path == "/healthz") return Json(200, "{\"status\":\"ok\"}");
    const bool ready = options_.view->ready();
    return Json(ready ? 200 : 503,
                ready ? "{\"status\":\"ready\"}" : "{\"status\":\"catching_up\"}");
  }
  if (!path.starts_with("/api/") && path != "/metrics") {
    c.route = kStaticRoute;
    if (method != "GET" && method != "HEAD") {
      HttpResponse r = ErrorResponse(405, "method_not_allowed", "only GET is served here");
      r.headers.emplace_back("Allow", "GET, HEAD");
      return r;
    }
    const Asset* asset = FindAsset(path == "/" ? "/index.html" : path);
    if (asset == nullptr) return ErrorResponse(404, "not_found", "no such page");
    HttpResponse r;
    r.content_type = std::string(asset->content_type);
    r.body = std::string(asset->body);
    r.headers.emplace_back("Cache-Control", "no-cache");
    return r;
  }
  if (path == "/api/v1/openapi.json") {
    c.route = kMetaRoute;
    const Asset* asset = FindAsset("/openapi.json");
    return asset == nullptr ? ErrorResponse(404, "not_found", "no OpenAPI document built in")
                            : Json(200, std::string(asset->body));
  }

  // Everything else needs a caller.
  std::string_view token = BearerToken(c.request.authorization);
  const std::optional<std::string> query_token =
      path == "/api/v1/stream" ? c.params.Get("access_token") : std::nullopt;
  if (options_.tokens != nullptr) {
    const Principal* principal = nullptr;
    if (!token.empty()) {
      principal = c.request.authenticated ? c.request.principal : options_.tokens->Find(token);
    } else if (query_token) {  // EventSource sends no headers
      token = *query_token;
      principal = options_.tokens->Find(token);
    }
    if (principal == nullptr) {
      HttpResponse r = ErrorResponse(
          401, "unauthenticated",
          token.empty() ? "this endpoint needs an access token: Authorization: Bearer <token>"
                        : "the access token is not recognised");
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"casewatch\"");
      return r;
    }
    c.principal = principal;
  }

  const auto expect = [&](std::string_view wanted) -> std::optional<HttpResponse> {
    if (method == wanted || (wanted == "GET" && method == "HEAD")) return std::nullopt;
    HttpResponse r =
        ErrorResponse(405, "method_not_allowed", fmt::format("{} takes {} only", path, wanted));
    r.headers.emplace_back("Allow", std::string(wanted));
    return r;
  };
  const auto readers_only = [&]() -> std::optional<HttpResponse> {
    if (c.principal->CanRead()) return std::nullopt;
    return ErrorResponse(403, "forbidden",
                         fmt::format("the {} role may not read this", NameOf(c.principal->role)));
  };
  struct Endpoint {
    std::string_view path;
    RouteId route;
    std::string_view method;
    HttpResponse (Api::*handler)(Context&);
  };
  static constexpr Endpoint kEndpoints[] = {
      {"/api/v1/report", kReportRoute, "GET", &Api::Report},
      {"/api/v1/breakdown", kBreakdownRoute, "GET", &Api::Breakdown},
      {"/api/v1/worklist", kWorklistRoute, "GET", &Api::Worklist},
      {"/api/v1/trend", kTrendRoute, "GET", &Api::Trend},
      {"/api/v1/stream", kStreamRoute, "GET", &Api::Stream},
      {"/api/v1/meta", kMetaRoute, "GET", &Api::Meta},
      {"/api/v1/events", kEventsRoute, "POST", &Api::PostEvents},
  };
  for (const Endpoint& e : kEndpoints) {
    if (path != e.path) continue;
    c.route = e.route;
    if (auto wrong = expect(e.method)) return *wrong;
    if (e.route != kEventsRoute && e.route != kMetaRoute) {
      if (auto denied = readers_only()) return *denied;
    }
    return (this->*e.handler)(c);
  }
  if (path.starts_with("/api/v1/cases/")) {
    c.route = kCaseRoute;
    if (auto wrong = expect("GET")) return *wrong;
    if (auto denied = readers_only()) return *denied;
    return Case(c, path.substr(std::string_view("/api/v1/cases/").size()));
  }
  if (path == "/metrics") {
    c.route = kMetricsRoute;
    if (auto wrong = expect("GET")) return *wrong;
    return Metrics();
  }
  return ErrorResponse(404, "not_found", fmt::format("no endpoint {}", path));
}

namespace {

// The request's scope filters narrowed to the caller's scope, or the 4xx answer.
std::variant<Scope, HttpResponse> RequestScope(const Params& params, const Principal& principal) {
  Scope requested;
  requested.region = params.Get("region");
  requested.pdu = params.Get("pdu");
  requested.team = params.Get("team");
  requested.offender_manager = params.Get("offender_manager");
  for (const auto& [name, level] :
       {std::pair<std::string_view, const std::optional<std::string>*>{"region", &requested.region},
        {"pdu", &requested.pdu},
        {"team", &requested.team},
        {"offender_manager", &requested.offender_manager}}) {
    if (*level && (*level)->empty()) {
      return ErrorResponse(400, "invalid_parameter",
                           fmt::format("{} must not be empty (leave it out instead)", name));
    }
    if (*level && std::any_of((*level)->begin(), (*level)->end(), [](char ch) {
          return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f;
        })) {
      return ErrorResponse(400, "invalid_parameter",
                           fmt::format("{} has a control character; no name holds one", name));
    }
  }
  auto effective = EffectiveScope(principal, requested);
  if (!effective) {
    return ErrorResponse(403, "outside_scope",
                         "the requested scope is outside what this access token may see");
  }
  return *effective;
}

template <class T>
std::variant<std::optional<T>, HttpResponse> Optional(const Params& params, std::string_view name,
                                                      Result<T> (*parse)(std::string_view),
                                                      std::string_view form) {
  auto text = params.Get(name);
  if (!text) return std::optional<T>();
  auto parsed = parse(*text);
  if (!parsed) {
    return ErrorResponse(400, "invalid_parameter",
                         fmt::format("{}: \"{}\" is not {}", name, *text, form));
  }
  return std::optional<T>(parsed.value());
}

Result<bool> ParseBool(std::string_view text) {
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  return InvalidArgument("not a boolean");
}

Result<int64_t> ParsePositive(std::string_view text) {
  int64_t value = 0;
  if (text.empty() || text.size() > 9) return InvalidArgument("not a number");
  for (char ch : text) {
    if (ch < '0' || ch > '9') return InvalidArgument("not a number");
    value = value * 10 + (ch - '0');
  }
  if (value < 1) return InvalidArgument("not positive");
  return value;
}

Result<Instant> ParseInstantParam(std::string_view text) { return ParseInstant(text); }
Result<Date> ParseDateParam(std::string_view text) { return ParseDate(text); }

// The query of a report-like endpoint, validated.
struct ReportQuery {
  Scope scope;
  std::optional<Instant> as_of;
  std::optional<Date> from;
  std::optional<Date> to;
  bool case_items = false;
};

std::variant<ReportQuery, HttpResponse> ParseReportQuery(const Params& params,
                                                         const Principal& principal) {
  ReportQuery query;
  auto scope = RequestScope(params, principal);
  if (auto* error = std::get_if<HttpResponse>(&scope)) return *error;
  query.scope = std::get<Scope>(scope);
  auto as_of = Optional<Instant>(params, "as_of", ParseInstantParam,
                                 "an RFC 3339 instant such as 2026-03-31T23:59:59Z");
  if (auto* error = std::get_if<HttpResponse>(&as_of)) return *error;
  query.as_of = std::get<0>(as_of);
  auto from = Optional<Date>(params, "from", ParseDateParam, "a date YYYY-MM-DD");
  if (auto* error = std::get_if<HttpResponse>(&from)) return *error;
  query.from = std::get<0>(from);
  auto to = Optional<Date>(params, "to", ParseDateParam, "a date YYYY-MM-DD");
  if (auto* error = std::get_if<HttpResponse>(&to)) return *error;
  query.to = std::get<0>(to);
  if (query.from && query.to && *query.from > *query.to) {
    return ErrorResponse(
        400, "invalid_parameter",
        fmt::format("from {} is after to {}", FormatDate(*query.from), FormatDate(*query.to)));
  }
  auto items = Optional<bool>(params, "case_items", ParseBool, "true or false");
  if (auto* error = std::get_if<HttpResponse>(&items)) return *error;
  query.case_items = std::get<0>(items).value_or(false);
  return query;
}

}  // namespace

HttpResponse Api::Report(Context& c) {
  if (auto unknown = c.params.Unknown(
          {"region", "pdu", "team", "offender_manager", "as_of", "from", "to", "case_items"})) {
    return ErrorResponse(400, "invalid_parameter", *unknown);
  }
  auto parsed = ParseReportQuery(c.params, *c.principal);
  if (auto* error = std::get_if<HttpResponse>(&parsed)) return *error;
  const ReportQuery& q = std::get<ReportQuery>(parsed);
  if (!q.as_of && !q.from && !q.to && !q.case_items) {
    const auto snapshot = options_.view->snapshot();
    if (!snapshot->as_of) {
      return ErrorResponse(503, "not_ready", "the engine has not projected anything yet");
    }
    return Json(200, *snapshot->Report(options_.view->policy(), q.scope));
  }
  engine::StoreReportRequest request;
  request.as_of = q.as_of;
  request.from = q.from;
  request.to = q.to;
  request.scope = q.scope;
  request.case_items = q.case_items;
  auto report = engine::ReportFromStore(*options_.store, request);
  if (!report) return FromError(report.error());
  return Json(200, std::move(report).value().json);
}

HttpResponse Api::Breakdown(Context& c) {
  if (auto unknown = c.params.Unknown(
          {"region", "pdu", "team", "offender_manager", "as_of", "from", "to", "by"})) {
    return ErrorResponse(400, "invalid_parameter", *unknown);
  }
  auto parsed = ParseReportQuery(c.params, *c.principal);
  if (auto* error = std::get_if<HttpResponse>(&parsed)) return *error;
  const ReportQuery& q = std::get<ReportQuery>(parsed);
  engine::GroupBy by = engine::GroupBelow(q.scope);
  if (auto name = c.params.Get("by")) {
    const auto found =
        std::find(engine::kGroupByNames.begin() + 1, engine::kGroupByNames.end(), *name);
    if (found == engine::kGroupByNames.end()) {
      return ErrorResponse(400, "invalid_parameter",
                           fmt::format("by: \"{}\" is not one of region, pdu, team, "
                                       "offender_manager",
                                       *name));
    }
    by = static_cast<engine::GroupBy>(found - engine::kGroupByNames.begin());
  }
  engine::StoreReport report;
  if (!q.as_of && !q.from && !q.to) {
    const auto snapshot = options_.view->snapshot();
    if (!snapshot->as_of) {
      return ErrorResponse(503, "not_ready", "the engine has not projected anything yet");
    }
    report = snapshot->Breakdown(options_.view->policy(), q.scope, by);
  } else {
    engine::StoreReportRequest request;
    request.as_of = q.as_of;
    request.from = q.from;
    request.to = q.to;
    request.scope = q.scope;
    request.group_by = by;
    auto stored = engine::ReportFromStore(*options_.store, request);
    if (!stored) return FromError(stored.error());
    report = std::move(stored).value();
  }
  std::string body = "{\"as_of\":";
  AppendJsonString(body, FormatInstant(report.as_of));
  body += ",\"scope\":";
  AppendScope(body, q.scope);
  body += ",\"by\":";
  AppendJsonString(body, engine::kGroupByNames[static_cast<size_t>(by)]);
  body += ",\"rows\":[";
  const int levels = static_cast<int>(by);
  for (size_t i = 0; i < report.groups.size(); ++i) {
    const engine::GroupReport& group = report.groups[i];
    if (i > 0) body += ",";
    const auto level = [&](int n, const std::string& value) {
      return n <= levels ? std::optional<std::string>(value) : std::nullopt;
    };
    body += "{\"region\":";
    AppendNullableString(body, level(1, group.key.region));
    body += ",\"pdu\":";
    AppendNullableString(body, level(2, group.key.pdu));
    body += ",\"team\":";
    AppendNullableString(body, level(3, group.key.team));
    body += ",\"offender_manager\":";
    AppendNullableString(body, level(4, group.key.offender_manager));
    body += ",\"report\":";
    body += group.json;
    body += "}";
  }
  body += "]}";
  return Json(200, std::move(body));
}

HttpResponse Api::Worklist(Context& c) {
  if (auto unknown = c.params.Unknown(
          {"region", "pdu", "team", "offender_manager", "status", "page", "page_size"})) {
    return ErrorResponse(400, "invalid_parameter", *unknown);
  }
  auto scope = RequestScope(c.params, *c.principal);
  if (auto* error = std::get_if<HttpResponse>(&scope)) return *error;
  WorkFilter filter = WorkFilter::kAll;
  if (auto status = c.params.Get("status")) {
    if (*status == "overdue") {
      filter = WorkFilter::kOverdue;
    } else if (*status == "pending") {
      filter = WorkFilter::kPending;
    } else if (*status != "all") {
      return ErrorResponse(
          400, "invalid_parameter",
          fmt::format("status: \"{}\" is not one of all, overdue, pending", *status));
    }
  }
  auto page = Optional<int64_t>(c.params, "page", ParsePositive, "a page number from 1");
  if (auto* error = std::get_if<HttpResponse>(&page)) return *error;
  auto page_size = Optional<int64_t>(c.params, "page_size", ParsePositive,
                                     fmt::format("a number from 1 to {}", kMaxPageSize));
  if (auto* error = std::get_if<HttpResponse>(&page_size)) return *error;
  const int64_t number = std::get<0>(page).value_or(1);
  const int64_t size = std::get<0>(page_size).value_or(50);
  if (size > static_cast<int64_t>(kMaxPageSize)) {
    return ErrorResponse(400, "invalid_parameter",
                         fmt::format("page_size: at most {}", kMaxPageSize));
  }
  const WorklistPage work =
      options_.view->Worklist(std::get<Scope>(scope), filter,
                              static_cast<size_t>((number - 1) * size), static_cast<size_t>(size));
  const Date today = DateOf(work.as_of.value_or(Instant{}));
  std::string body = "{\"as_of\":";
  AppendNullableInstant(body, work.as_of);
  body += ",\"scope\":";
  AppendScope(body, std::get<Scope>(scope));
  fmt::format_to(std::back_inserter(body), ",\"total\":{},\"page\":{},\"page_size\":{},\"items\":[",
                 work.total, number, size);
  for (size_t i = 0; i < work.items.size(); ++i) {
    const WorkItem& item = work.items[i];
    if (i > 0) body += ",";
    body += "{\"case_id\":";
    AppendJsonString(body, item.case_id);
    body += ",\"indicator\":";
    AppendJsonString(body, InfoOf(item.indicator).id);
    body += ",\"outcome\":";
    AppendJsonString(body, NameOf(InfoOf(item.indicator).outcome));
    body += ",\"due\":";
    AppendJsonString(body, FormatDate(item.due));
    fmt::format_to(std::back_inserter(body), ",\"status\":\"{}\",\"days_overdue\":{}",
                   item.overdue ? "OVERDUE" : "PENDING", today.days - item.due.days);
    body += ",\"region\":";
    AppendJsonString(body, item.allocation->region);
    body += ",\"pdu\":";
    AppendJsonString(body, item.allocation->pdu);
    body += ",\"team\":";
    AppendJsonString(body, item.allocation->team);
    body += ",\"offender_manager\":";
    AppendJsonString(body, item.allocation->offender_manager);
    body += "}";
  }
  body += "]}";
  return Json(200, std::move(body));
}

HttpResponse Api::Case(Context& c, std::string_view case_id) {
  if (auto unknown = c.params.Unknown({"page", "page_size", "items_page", "items_page_size"})) {
    return ErrorResponse(400, "invalid_parameter", *unknown);
  }
  auto decoded = PercentDecode(case_id);
  if (!decoded || !ValidCaseId(*decoded)) {
    return ErrorResponse(400, "invalid_parameter",
                         "a case id is 1 to 128 characters of A-Z, a-z, 0-9, _ and -");
  }
  // A case's events and items come a page at a time (a case can hold hundreds of thousands).
  struct Pager {
    std::string_view page_name, size_name;
    int64_t page = 1, size = kDefaultTimelinePage;
  };
  Pager events{"page", "page_size"}, items{"items_page", "items_page_size"};
  for (Pager* pager : {&events, &items}) {
    auto page = Optional<int64_t>(c.params, pager->page_name, ParsePositive, "a page number from 1");
    if (auto* error = std::get_if<HttpResponse>(&page)) return *error;
    auto size = Optional<int64_t>(c.params, pager->size_name, ParsePositive,
                                  fmt::format("a number from 1 to {}", kMaxTimelinePage));
    if (auto* error = std::get_if<HttpResponse>(&size)) return *error;
    pager->page = std::get<0>(page).value_or(1);
    pager->size = std::get<0>(size).value_or(kDefaultTimelinePage);
    if (pager->size > kMaxTimelinePage) {
      return ErrorResponse(400, "invalid_parameter",
                           fmt::format("{}: at most {}", pager->size_name, kMaxTimelinePage));
    }
  }
  const std::string id = *decoded;
  auto read_projection = options_.store->ReadProjection(id);
  if (!read_projection) return FromError(read_projection.error());
  const std::optional<store::v1::CaseProjection>& projection = read_projection.value();
  // Only a viewer has a scope: the others see every case.
  const bool visible = projection && MaySee(*c.principal, engine::AllocationOf(*projection));
  const int status = visible ? 200 : 404;
  if (options_.audit != nullptr) {
    auto recorded =
        options_.audit->RecordCaseAccess(engine::WallClock(), c.principal->name,
                                         NameOf(c.principal->role), id, c.request.remote, status);
    if (!recorded) {  // no audit record, no answer
      return ErrorResponse(503, "audit_unavailable", "the audit log cannot be written");
    }
  }
  if (!visible) return ErrorResponse(404, "not_found", "no such case in your scope");
  const store::v1::CaseProjection& p = *projection;
  JsonWriter out;
  out.BeginObject().Key("case_id").String(id).Key("as_of");
  const auto snapshot = options_.view->snapshot();
  if (snapshot->as_of) {
    out.String(FormatInstant(*snapshot->as_of));
  } else {
    out.Null();
  }
  out.Key("counted").Bool(p.counted()).Key("allocation").BeginObject();
  out.Key("region").String(p.region()).Key("pdu").String(p.pdu());
  out.Key("team").String(p.team()).Key("offender_manager").String(p.offender_manager());
  out.EndObject();
  out.Key("events").BeginArray();
  Result<void> failure = Ok();
  google::protobuf::util::JsonPrintOptions json;
  json.preserve_proto_field_names = true;
  auto total_events = options_.store->ReadCasePage(
      id, static_cast<uint64_t>((events.page - 1) * events.size),
      static_cast<uint64_t>(events.size), [&](std::string_view bytes) {
        events::v1::Envelope envelope;
        if (!envelope.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
          failure = IoError("a stored event does not parse");
          return;
        }
        const auto* reflection = envelope.GetReflection();
        const auto* oneof = envelope.GetDescriptor()->FindOneofByName("payload");
        const auto* field = reflection->GetOneofFieldDescriptor(envelope, oneof);
        out.BeginObject().Key("event_id").String(envelope.event_id());
        out.Key("type").String(field != nullptr ? field->name() : "unknown");
        out.Key("occurred_at")
            .String(FormatInstant(
                Instant{envelope.occurred_at().seconds(), envelope.occurred_at().nanos()}));
        out.Key("recorded_at");
        if (envelope.has_recorded_at()) {
          out.String(FormatInstant(
              Instant{envelope.recorded_at().seconds(), envelope.recorded_at().nanos()}));
        } else {
          out.Null();
        }
        out.Key("source").String(envelope.source()).Key("payload");
        if (field == nullptr) {
          out.Raw("{}");
        } else {
          std::string payload;
          const auto printed = google::protobuf::util::MessageToJsonString(
              reflection->GetMessage(envelope, field), &payload, json);
          if (!printed.ok()) {
            failure = IoError("a stored event cannot be written as JSON");
            payload = "{}";
          }
          out.Raw(payload);
        }
        out.EndObject();
      });
  if (!total_events) return FromError(total_events.error());
  if (!failure) return FromError(failure.error());
  out.EndArray();
  out.Key("events_total").Uint(total_events.value());
  out.Key("page").Int(events.page).Key("page_size").Int(events.size);
  out.Key("items").BeginArray();
  const int64_t first_item = (items.page - 1) * items.size;
  for (int64_t i = first_item; i < p.items_size() && i < first_item + items.size; ++i) {
    const store::v1::StoredItem& item = p.items(static_cast<int>(i));
    const auto item_status = static_cast<ItemStatus>(item.status());
    out.BeginObject();
    out.Key("indicator").String(InfoOf(static_cast<Indicator>(item.indicator())).id);
    out.Key("due").String(FormatDate(Date{item.due()}));
    out.Key("status").String(NameOf(item_status));
    out.Key("fulfilled_by");
    if (item.fulfilled_by().empty()) {
      out.Null();
    } else {
      out.String(item.fulfilled_by());
    }
    out.Key("decided_on");
    if (item_status == ItemStatus::kPending) {
      out.Null();
    } else {
      out.String(FormatDate(Date{item.decided_on()}));
    }
    out.Key("overdue").Bool(item.overdue()).EndObject();
  }
  out.EndArray();
  out.Key("items_total").Int(p.items_size());
  out.Key("items_page").Int(items.page).Key("items_page_size").Int(items.size);
  out.EndObject();
  return Json(200, out.Take());
}

HttpResponse Api::Trend(Context& c) {
  if (auto unknown =
          c.params.Unknown({"region", "pdu", "team", "offender_manager", "from", "to"})) {
    return ErrorResponse(400, "invalid_parameter", *unknown);
  }
  auto scope_or = RequestScope(c.params, *c.principal);
  if (auto* error = std::get_if<HttpResponse>(&scope_or)) return *error;
  const Scope scope = std::get<Scope>(scope_or);
  auto from_or = Optional<Date>(c.params, "from", ParseDateParam, "a date YYYY-MM-DD");
  if (auto* error = std::get_if<HttpResponse>(&from_or)) return *error;
  auto to_or = Optional<Date>(c.params, "to", ParseDateParam, "a date YYYY-MM-DD");
  if (auto* error = std::get_if<HttpResponse>(&to_or)) return *error;
  const auto snapshot = options_.view->snapshot();
  const Date today = DateOf(snapshot->as_of.value_or(Instant{}));
  const Date to = std::get<0>(to_or).value_or(today);
  const Date from = std::get<0>(from_or).value_or(to + (-89));
  if (from > to) return ErrorResponse(400, "invalid_parameter", "from is after to");
  if (to.days - from.days >= kMaxTrendDays) {
    return ErrorResponse(400, "invalid_parameter",
                         fmt::format("a trend spans at most {} days", kMaxTrendDays));
  }
  const Policy& policy = options_.view->policy();
  std::string body = "{\"scope\":";
  AppendScope(body, scope);
  body += ",\"from\":";
  AppendJsonString(body, FormatDate(from));
  body += ",\"to\":";
  AppendJsonString(body, FormatDate(to));
  body += ",\"days\":[";
  bool first_day = true;
  std::optional<Date> current;
  std::unique_ptr<engine::GroupedReportBuilder> builder;
  const auto flush = [&] {
    if (!builder) return;
    const casewatch::Report report = builder->FinishScope();
    if (!first_day) body += ",";
    first_day = false;
    body += "{\"date\":";
    AppendJsonString(body, FormatDate(*current));
    fmt::format_to(std::back_inserter(body), ",\"cases\":{},\"indicators\":{{", report.cases);
    for (int i = 0; i < kIndicatorCount; ++i) {
      if (i > 0) body += ",";
      AppendJsonString(body, kIndicators[i].id);
      body += ":";
      AppendScore(body, report.indicators[i].score);
    }
    body += "},\"outcomes\":{";
    for (int o = 0; o < kOutcomeCount; ++o) {
      if (o > 0) body += ",";
      AppendJsonString(body, NameOf(static_cast<Outcome>(o)));
      body += ":";
      AppendScore(body, report.outcomes[o].score);
    }
    body += "}}";
    builder.reset();
  };
  auto scanned =
      options_.store->ScanDaily(from, to, [&](Date day, const store::v1::ScopeCounts& counts) {
        if (!current || *current != day) {
          flush();
          current = day;
          const Instant start{static_cast<int64_t>(day.days) * 86400, 0};
          builder = std::make_unique<engine::GroupedReportBuilder>(
              policy, start, Period{std::nullopt, day}, scope, engine::GroupBy::kNone);
        }
        builder->AddCounts(counts);
      });
  if (!scanned) return FromError(scanned.error());
  flush();
  body += "]}";
  return Json(200, std::move(body));
}

HttpResponse Api::Stream(Context& c) {
  if (auto unknown =
          c.params.Unknown({"region", "pdu", "team", "offender_manager", "access_token"})) {
    return ErrorResponse(400, "invalid_parameter", *unknown);
  }
  auto scope = RequestScope(c.params, *c.principal);
  if (auto* error = std::get_if<HttpResponse>(&scope)) return *error;
  HttpResponse response;
  response.event_stream = true;
  response.stream_scope = std::get<Scope>(scope);
  response.content_type = "text/event-stream";
  return response;
}

HttpResponse Api::Meta(Context& c) {
  if (auto unknown = c.params.Unknown({})) return ErrorResponse(400, "invalid_parameter", *unknown);
  std::string body = "{\"principal\":{\"name\":";
  AppendJsonString(body, c.principal->name);
  body += ",\"role\":";
  AppendJsonString(body, NameOf(c.principal->role));
  body += ",\"scope\":";
  AppendScope(body, c.principal->scope);
  body += "},\"as_of\":";
  const auto snapshot = options_.view->snapshot();
  AppendNullableInstant(body, snapshot->as_of);
  const Policy& policy = options_.view->policy();
  fmt::format_to(std::back_inserter(body),
                 ",\"ready\":{},\"policy\":{{\"ratings\":{{\"rating_outstanding\":{},"
                 "\"rating_good\":{},\"rating_requires_improvement\":{}}}}},\"indicators\":[",
                 options_.view->ready(), policy.rating_outstanding, policy.rating_good,
                 policy.rating_requires_improvement);
  for (int i = 0; i < kIndicatorCount; ++i) {
    if (i > 0) body += ",";
    body += "{\"id\":";
    AppendJsonString(body, kIndicators[i].id);
    body += ",\"outcome\":";
    AppendJsonString(body, NameOf(kIndicators[i].outcome));
    body += "}";
  }
  body += "],\"outcomes\":[";
  for (int o = 0; o < kOutcomeCount; ++o) {
    if (o > 0) body += ",";
    AppendJsonString(body, NameOf(static_cast<Outcome>(o)));
  }
  body += "]}";
  return Json(200, std::move(body));
}

HttpResponse Api::PostEvents(Context& c) {
  if (!c.principal->CanPublish()) {
    return ErrorResponse(403, "forbidden",
                         fmt::format("the {} role may not publish events; a publisher token may",
                                     NameOf(c.principal->role)));
  }
  if (auto unknown = c.params.Unknown({})) return ErrorResponse(400, "invalid_parameter", *unknown);
  if (options_.producer == nullptr) {
    return ErrorResponse(503, "unavailable", "publishing over HTTP is not enabled");
  }
  const std::string& body = c.request.body;
  enum class Outcome { kPublish, kRejected, kDuplicate, kConflict };
  struct Line {
    uint64_t number;
    std::string_view text;
    Outcome outcome = Outcome::kPublish;
    std::string event_id;
    std::string error;  // rejected or conflict: why
    events::v1::Envelope envelope;
    ingest::ContentFingerprint content;
    std::optional<Result<void>> delivery;
  };
  std::vector<Line> lines;
  ingest::NdjsonLines split(body);
  while (std::optional<ingest::NdjsonLine> line = split.Next()) {
    if (lines.size() >= options_.max_events_per_request) {
      return ErrorResponse(413, "too_many_events",
                           fmt::format("at most {} events per request; split the file",
                                       options_.max_events_per_request));
    }
    lines.push_back(Line{line->number, line->text});
  }
  if (lines.empty()) {
    return ErrorResponse(400, "empty_body", "expected events as JSON lines (NDJSON), one per line");
  }
  ingest::JsonEnvelopeParser parser;
  const Instant now = options_.clock ? options_.clock() : Instant{};
  const ingest::ValidationOptions live = ingest::ValidationOptions::Live(now);
  for (Line& line : lines) {
    auto parsed = parser.Parse(line.text, line.envelope);
    if (parsed) parsed = ingest::ValidateEnvelope(line.envelope, live);
    if (!parsed) {
      line.outcome = Outcome::kRejected;
      line.error = parsed.error().message;
      continue;
    }
    line.event_id = line.envelope.event_id();
    ingest::EnvelopeView view;
    ingest::ViewOf(line.envelope, view);
    line.content = ingest::FingerprintOf(view);
  }
  // What the engine already holds, and repeats within the request: a duplicate is not sent
  // again, a conflict (the same id, other content) is refused as the engine would refuse it.
  std::vector<std::string_view> ids;
  std::vector<Line*> valid;
  for (Line& line : lines) {
    if (line.outcome != Outcome::kPublish) continue;
    ids.push_back(line.event_id);
    valid.push_back(&line);
  }
  if (options_.store != nullptr && !ids.empty()) {
    auto stored = options_.store->FindIds(ids);
    if (!stored) return FromError(stored.error());
    for (size_t i = 0; i < valid.size(); ++i) {
      const std::optional<store::IdEntry>& entry = stored.value()[i];
      if (!entry) continue;
      const bool same = entry->content[0] == valid[i]->content.high &&
                        entry->content[1] == valid[i]->content.low;
      valid[i]->outcome = same ? Outcome::kDuplicate : Outcome::kConflict;
      if (!same) {
        valid[i]->error = fmt::format(
            "event_id \"{}\" was already accepted with different content (stored event #{})",
            valid[i]->event_id, entry->sequence);
      }
    }
  }
  std::unordered_map<std::string_view, const Line*> first_here;
  for (Line* line : valid) {
    if (line->outcome != Outcome::kPublish) continue;
    const auto [first, added] = first_here.emplace(line->event_id, line);
    if (added) continue;
    const bool same = first->second->content == line->content;
    line->outcome = same ? Outcome::kDuplicate : Outcome::kConflict;
    if (!same) {
      line->error = fmt::format(
          "event_id \"{}\" is also on line {} of this request with different content",
          line->event_id, first->second->number);
    }
  }

  std::lock_guard lock(publish_mutex_);
  for (Line& line : lines) {
    if (line.outcome == Outcome::kRejected || line.outcome == Outcome::kConflict) {
      // Refused lines are dead-lettered as Kafka's are, so nothing offered is lost.
      store::v1::DeadLetter letter;
      letter.set_value(std::string(line.text));
      letter.set_source("http");
      letter.set_reason(line.error);
      letter.set_received_at_seconds(now.seconds);
      letter.set_received_at_nanos(now.nanos);
      (void)options_.producer->Produce(options_.dead_letter_topic, "", letter.SerializeAsString(),
                                       [](Result<void>) {});
      continue;
    }
    if (line.outcome != Outcome::kPublish) continue;
    Line* target = &line;
    for (int attempt = 0;; ++attempt) {
      auto produced = options_.producer->Produce(
          options_.topic, line.envelope.case_id(), line.envelope.SerializeAsString(),
          [target](Result<void> done) { target->delivery = std::move(done); });
      if (produced) break;
      if (!IsRetryable(produced.error()) || attempt >= 100) {
        line.delivery = produced.error();
        break;
      }
      options_.producer->Poll(std::chrono::milliseconds(50));  // local queue full: drain
    }
  }
  auto flushed = options_.producer->Flush(std::chrono::seconds(15));
  int accepted = 0, rejected = 0, duplicates = 0, conflicts = 0, failed = 0;
  JsonWriter out;
  out.BeginObject().Key("results").BeginArray();
  for (const Line& line : lines) {
    out.BeginObject().Key("line").Uint(line.number);
    switch (line.outcome) {
      case Outcome::kRejected:
        ++rejected;
        out.Key("status").String("rejected").Key("error").String(line.error);
        break;
      case Outcome::kConflict:
        ++conflicts;
        out.Key("status").String("conflict").Key("event_id").String(line.event_id);
        out.Key("error").String(line.error);
        break;
      case Outcome::kDuplicate:
        ++duplicates;
        out.Key("status").String("duplicate").Key("event_id").String(line.event_id);
        break;
      case Outcome::kPublish:
        if (line.delivery && *line.delivery) {
          ++accepted;
          out.Key("status").String("accepted").Key("event_id").String(line.event_id);
        } else {
          ++failed;
          out.Key("status").String("failed").Key("event_id").String(line.event_id);
          out.Key("error").String(fmt::format(
              "not delivered to the event log ({}); send it again",
              line.delivery ? line.delivery->error().message
                            : (flushed ? std::string("no report") : flushed.error().message)));
        }
        break;
    }
    out.EndObject();
  }
  out.EndArray();
  out.Key("accepted").Int(accepted).Key("rejected").Int(rejected);
  out.Key("duplicates").Int(duplicates).Key("conflicts").Int(conflicts);
  out.Key("failed").Int(failed).EndObject();
  return Json(failed > 0 ? 503 : 200, out.Take());
}

HttpResponse Api::Metrics() {
  const engine::RunnerStatus status = options_.view->status();
  std::string out;
  const auto metric = [&](std::string_view name, std::string_view type, std::string_view help,
                          auto value) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name,
                   type, name, value);
  };
  metric("casewatch_events_accepted_total", "counter", "Events accepted since start.",
         status.counters.accepted);
  metric("casewatch_events_duplicate_total", "counter", "Redelivered events ignored.",
         status.counters.duplicates);
  metric("casewatch_events_rejected_total", "counter", "Events dead-lettered.",
         status.counters.rejected);
  metric("casewatch_obligations_missed_total", "counter", "Missed-obligation alerts raised.",
         status.counters.missed_obligations);
  metric("casewatch_batches_total", "counter", "Atomic store writes of consumed batches.",
         status.counters.batches);
  metric("casewatch_cases_evaluated_total", "counter", "Case re-evaluations.",
         status.counters.cases_evaluated);
  metric("casewatch_cases_pending", "gauge",
         "Large cases with stored events not yet in their projection (caught up within a second, "
         "or when idle).",
         status.counters.cases_pending);
  metric("casewatch_consumer_lag", "gauge", "Records on the brokers not yet applied (-1 unknown).",
         status.lag);
  metric("casewatch_outbox_published_total", "counter", "Alerts and dead letters published.",
         status.published);
  metric("casewatch_kafka_transient_errors_total", "counter", "Transient consumer errors.",
         status.transient_errors);
  const auto snapshot = options_.view->snapshot();
  metric("casewatch_projection_instant_seconds", "gauge", "The engine clock of the last write.",
         snapshot->as_of ? snapshot->as_of->seconds : 0);
  metric("casewatch_ready", "gauge", "1 once caught up after starting.",
         options_.view->ready() ? 1 : 0);
  const ServerStats server = server_stats_ ? server_stats_() : ServerStats{};
  metric("casewatch_http_stream_clients", "gauge", "Open event streams.", server.stream_clients);
  metric("casewatch_http_connections", "gauge", "Open HTTP connections.", server.connections);
  metric("casewatch_http_connections_max", "gauge", "The most HTTP connections served at once.",
         server.max_connections);
  metric("casewatch_http_connections_refused_total", "counter",
         "Connections closed at once: over the overall or the per-address cap.",
         server.connections_refused);
  metric("casewatch_http_accept_errors_total", "counter",
         "Failed accepts (e.g. out of file descriptors), each followed by a pause.",
         server.accept_errors);
  out += "# HELP casewatch_http_requests_total HTTP answers by route and status class.\n";
  out += "# TYPE casewatch_http_requests_total counter\n";
  for (const auto& route : routes_) {
    for (int k = 1; k <= 5; ++k) {
      const uint64_t n = route->by_class[k].load();
      if (n > 0) {
        fmt::format_to(std::back_inserter(out),
                       "casewatch_http_requests_total{{route=\"{}\",code=\"{}xx\"}} {}\n",
                       route->name, k, n);
      }
    }
  }
  out += "# HELP casewatch_http_request_seconds_total Time spent answering, by route.\n";
  out += "# TYPE casewatch_http_request_seconds_total counter\n";
  for (const auto& route : routes_) {
    fmt::format_to(std::back_inserter(out),
                   "casewatch_http_request_seconds_total{{route=\"{}\"}} {}\n", route->name,
                   route->micros_total.load() / 1e6);
  }
  HttpResponse response;
  response.content_type = "text/plain; version=0.0.4";
  response.body = std::move(out);
  return response;
}

}  // namespace casewatch::http
