#pragma once
// A request's query parameters, percent-decoded and checked, and the typed form of each
// endpoint's query. Errors are InvalidArgument naming the parameter (answered 400); whether the
// caller may see the scope asked for is the handler's question (Narrow), not the parser's.

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "projections/calendar.h"
#include "projections/scores.h"
#include "services/http/auth.h"
#include "services/reports/store_report.h"

namespace casewatch::http {

// `in` with %XX and '+' decoded; nullopt when a % is not followed by two hex digits.
std::optional<std::string> PercentDecode(std::string_view in);

// `in` with every byte but letters, digits and -._~ as %XX: a query parameter's value.
std::string PercentEncode(std::string_view in);

// Query parameters, each at most once and at most 200 characters.
class Params {
 public:
  // Parses a query string (after the '?'); the error names the malformed parameter.
  [[nodiscard]] static Result<Params> Parse(std::string_view query);

  // Fails naming the first parameter not in `allowed`.
  [[nodiscard]] Result<void> OnlyThese(std::initializer_list<std::string_view> allowed) const;
  std::optional<std::string> Get(std::string_view name) const;
  bool Has(std::string_view name) const { return values_.count(std::string(name)) > 0; }

 private:
  std::map<std::string, std::string> values_;
};

// The scope filters region, pdu, team and offender_manager as given (not yet narrowed to the
// caller's scope): none empty, none with a control character.
[[nodiscard]] Result<Scope> ParseScope(const Params& params);

// `by` (region, pdu, team or offender_manager), or `fallback` when it is not given.
[[nodiscard]] Result<reports::GroupBy> ParseGroupBy(const Params& params,
                                                    reports::GroupBy fallback);

// The query (after the '?') that ParseScope and ParseGroupBy read back as `scope` and `by`.
std::string ScopeQuery(const Scope& scope, reports::GroupBy by);

// The caller's scope with the request's filters added; Problem::kOutsideScope's case when they
// contradict it.
std::optional<Scope> Narrow(const Principal& principal, const Scope& requested);

// An optional parameter parsed by `parse`; the error says what form `name` takes.
template <class T>
[[nodiscard]] Result<std::optional<T>> Optional(const Params& params, std::string_view name,
                                                Result<T> (*parse)(std::string_view),
                                                std::string_view form);

Result<bool> ParseBool(std::string_view text);        // true/false/1/0
Result<int64_t> ParsePositive(std::string_view text);  // 1..999999999
Result<Instant> ParseInstantParam(std::string_view text);
Result<Date> ParseDateParam(std::string_view text);
// Partitions of the events topic, comma-separated ("0,3,7"): each 0..999999, none twice.
Result<std::vector<int32_t>> ParsePartitionList(std::string_view text);

// A page of a list: `page` from 1, `page_size` from 1 to `max` (default `fallback`).
struct Page {
  int64_t number = 1;
  int64_t size = 50;
  uint64_t offset() const { return static_cast<uint64_t>((number - 1) * size); }
};
[[nodiscard]] Result<Page> ParsePage(const Params& params, std::string_view page_name,
                                     std::string_view size_name, int64_t fallback, int64_t max);

// GET /api/v1/report and /api/v1/breakdown.
struct ReportQuery {
  Scope scope;  // as asked for
  std::optional<Instant> as_of;
  std::optional<Date> from;
  std::optional<Date> to;
  bool case_items = false;
  // The live answer (the engine's last write, no period, no case items) comes from memory.
  bool live() const { return !as_of && !from && !to && !case_items; }
};
[[nodiscard]] Result<ReportQuery> ParseReportQuery(const Params& params);

template <class T>
Result<std::optional<T>> Optional(const Params& params, std::string_view name,
                                  Result<T> (*parse)(std::string_view), std::string_view form) {
  auto text = params.Get(name);
  if (!text) return std::optional<T>();
  auto parsed = parse(*text);
  if (!parsed) {
    return InvalidArgument(std::string(name) + ": \"" + *text + "\" is not " + std::string(form));
  }
  return std::optional<T>(parsed.value());
}

}  // namespace casewatch::http
