#include "services/http/params.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <iterator>

namespace casewatch::http {
namespace {

constexpr size_t kMaxParamLength = 200;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string PercentEncode(std::string_view in) {
  std::string out;
  for (const char ch : in) {
    const auto byte = static_cast<unsigned char>(ch);
    if (std::isalnum(byte) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      out += ch;
    } else {
      fmt::format_to(std::back_inserter(out), "%{:02X}", byte);
    }
  }
  return out;
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

Result<Params> Params::Parse(std::string_view query) {
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
    if (!name || !value) {
      return InvalidArgument(fmt::format("malformed percent-encoding in \"{}\"", pair));
    }
    if (value->size() > kMaxParamLength) {
      return InvalidArgument(
          fmt::format("parameter {} is longer than {} characters", *name, kMaxParamLength));
    }
    if (!params.values_.emplace(*name, *value).second) {
      return InvalidArgument(fmt::format("parameter {} is given more than once", *name));
    }
  }
  return params;
}

Result<void> Params::OnlyThese(std::initializer_list<std::string_view> allowed) const {
  for (const auto& [name, value] : values_) {
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      std::string list;
      for (std::string_view a : allowed) list += fmt::format("{}{}", list.empty() ? "" : ", ", a);
      return InvalidArgument(
          fmt::format("unknown parameter \"{}\" (this endpoint takes: {})", name, list));
    }
  }
  return Ok();
}

std::optional<std::string> Params::Get(std::string_view name) const {
  const auto found = values_.find(std::string(name));
  return found == values_.end() ? std::nullopt : std::optional<std::string>(found->second);
}

Result<reports::GroupBy> ParseGroupBy(const Params& params, reports::GroupBy fallback) {
  const auto name = params.Get("by");
  if (!name) return fallback;
  const auto found =
      std::find(reports::kGroupByNames.begin() + 1, reports::kGroupByNames.end(), *name);
  if (found == reports::kGroupByNames.end()) {
    return InvalidArgument(
        fmt::format("by: \"{}\" is not one of region, pdu, team, offender_manager", *name));
  }
  return static_cast<reports::GroupBy>(found - reports::kGroupByNames.begin());
}

std::string ScopeQuery(const Scope& scope, reports::GroupBy by) {
  std::string query;
  const auto add = [&](std::string_view name, const std::optional<std::string>& value) {
    if (!value) return;
    fmt::format_to(std::back_inserter(query), "{}{}={}", query.empty() ? "" : "&", name,
                   PercentEncode(*value));
  };
  add("region", scope.region);
  add("pdu", scope.pdu);
  add("team", scope.team);
  add("offender_manager", scope.offender_manager);
  if (by != reports::GroupBy::kNone) {
    add("by", std::string(reports::kGroupByNames[static_cast<size_t>(by)]));
  }
  return query;
}

Result<Scope> ParseScope(const Params& params) {
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
    if (!*level) continue;
    if ((*level)->empty()) {
      return InvalidArgument(fmt::format("{} must not be empty (leave it out instead)", name));
    }
    if (std::any_of((*level)->begin(), (*level)->end(), [](char ch) {
          return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f;
        })) {
      return InvalidArgument(fmt::format("{} has a control character; no name holds one", name));
    }
  }
  return requested;
}

std::optional<Scope> Narrow(const Principal& principal, const Scope& requested) {
  return EffectiveScope(principal, requested);
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

Result<std::vector<int32_t>> ParsePartitionList(std::string_view text) {
  std::vector<int32_t> partitions;
  while (true) {
    const std::string_view one = text.substr(0, text.find(','));
    if (one.empty() || one.size() > 6 ||
        !std::all_of(one.begin(), one.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      return InvalidArgument(fmt::format(
          "\"{}\" is not a partition (partitions are numbers from 0, comma-separated)", one));
    }
    int32_t partition = 0;
    for (char ch : one) partition = partition * 10 + (ch - '0');
    if (std::find(partitions.begin(), partitions.end(), partition) != partitions.end()) {
      return InvalidArgument(fmt::format("partition {} is named twice", partition));
    }
    partitions.push_back(partition);
    if (one.size() == text.size()) return partitions;
    text.remove_prefix(one.size() + 1);
  }
}

Result<Instant> ParseInstantParam(std::string_view text) { return ParseInstant(text); }
Result<Date> ParseDateParam(std::string_view text) { return ParseDate(text); }

Result<Page> ParsePage(const Params& params, std::string_view page_name,
                       std::string_view size_name, int64_t fallback, int64_t max) {
  CW_TRY(number, Optional<int64_t>(params, page_name, ParsePositive, "a page number from 1"));
  CW_TRY(size, Optional<int64_t>(params, size_name, ParsePositive,
                                 fmt::format("a number from 1 to {}", max)));
  Page page{number.value_or(1), size.value_or(fallback)};
  if (page.size > max) return InvalidArgument(fmt::format("{}: at most {}", size_name, max));
  return page;
}

Result<ReportQuery> ParseReportQuery(const Params& params) {
  ReportQuery query;
  CW_TRY(scope, ParseScope(params));
  query.scope = std::move(scope);
  CW_TRY(as_of, Optional<Instant>(params, "as_of", ParseInstantParam,
                                  "an RFC 3339 instant such as 2026-03-31T23:59:59Z"));
  query.as_of = as_of;
  CW_TRY(from, Optional<Date>(params, "from", ParseDateParam, "a date YYYY-MM-DD"));
  query.from = from;
  CW_TRY(to, Optional<Date>(params, "to", ParseDateParam, "a date YYYY-MM-DD"));
  query.to = to;
  if (query.from && query.to && *query.from > *query.to) {
    return InvalidArgument(
        fmt::format("from {} is after to {}", FormatDate(*query.from), FormatDate(*query.to)));
  }
  CW_TRY(items, Optional<bool>(params, "case_items", ParseBool, "true or false"));
  query.case_items = items.value_or(false);
  return query;
}

}  // namespace casewatch::http
