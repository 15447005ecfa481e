#include "services/cli/report_flags.h"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "services/reports/store_report.h"

namespace casewatch::cli {

Result<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<void> WriteFile(const std::string& path, std::string_view contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return IoError(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  out.close();
  if (!out) return IoError(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  return Ok();
}

namespace {

// casewatchd --tasks's layout: no store in DATA itself, one per partition in DATA/tasks/p<N>.
bool HoldsTasks(const std::string& data) {
  const std::filesystem::path dir(data);
  return !std::filesystem::exists(dir / "CURRENT") && std::filesystem::is_directory(dir / "tasks");
}

}  // namespace

Result<std::vector<std::unique_ptr<store::StoreReader>>> OpenEngineStores(
    const std::string& data, const TempDir& scratch) {
  if (scratch.path().empty()) return IoError("cannot create a temporary directory");
  std::vector<std::unique_ptr<store::StoreReader>> stores;
  if (!HoldsTasks(data)) {
    CW_TRY(store, store::StoreReader::OpenSecondary(data, scratch.path()));
    stores.push_back(std::move(store));
    return stores;
  }
  for (int partition = 0;; ++partition) {
    const std::filesystem::path dir =
        std::filesystem::path(data) / "tasks" / fmt::format("p{}", partition);
    if (!std::filesystem::exists(dir)) break;
    CW_TRY(store, store::StoreReader::OpenSecondary(
                      dir, scratch.path() / fmt::format("p{}", partition)));
    stores.push_back(std::move(store));
  }
  if (stores.empty()) {
    return NotFound(fmt::format("{}/tasks holds no task's store (p0, p1, ...)", data));
  }
  return stores;
}

Result<std::vector<std::unique_ptr<store::StoreReader>>> OpenStoresForReport(
    const std::string& data, const TempDir& scratch, ReportFlags& flags) {
  CW_TRY(stores, OpenEngineStores(data, scratch));
  if (flags.as_of.empty()) {
    std::vector<const store::StoreReader*> readers;
    for (const auto& store : stores) readers.push_back(store.get());
    CW_TRY(projected, reports::EarliestProjectionInstant(readers));
    if (!projected) {
      return InvalidArgument(stores.size() == 1
                                 ? "the engine has not applied anything to this store yet; give "
                                   "--as-of"
                                 : "the engine has not applied anything to these stores yet; "
                                   "give --as-of");
    }
    flags.as_of = FormatInstant(*projected);
  }
  return stores;
}

Result<Policy> ReadPolicyFile(const std::string& path) {
  CW_TRY(text, ReadSmallFile(path));
  auto policy = ParsePolicy(text);
  if (!policy) return InvalidArgument(fmt::format("{}: {}", path, policy.error().message));
  return std::move(policy).value();
}

Result<Instant> ParseAsOfFlag(std::string_view text) {
  if (text.size() == 10) {  // the length of YYYY-MM-DD: a date or nothing
    if (auto date = ParseDate(text)) return EndOfDay(date.value());
  } else if (auto instant = ParseInstant(text)) {
    return instant.value();
  }
  return InvalidArgument(
      fmt::format("'{}' is neither a date YYYY-MM-DD (meaning the end of that day) nor an RFC 3339 "
                  "timestamp (e.g. 2013-09-30T23:59:59Z)",
                  text));
}

Result<Date> ParseDateFlag(std::string_view text) {
  if (text.size() == 10) {
    if (auto date = ParseDate(text)) return date.value();
  } else if (auto instant = ParseInstant(text)) {
    return DateOf(instant.value());
  }
  return InvalidArgument(
      fmt::format("'{}' is neither a date YYYY-MM-DD nor an RFC 3339 timestamp (e.g. "
                  "2013-09-30T23:59:59Z, whose UTC date is taken)",
                  text));
}

Result<int64_t> ParseMinCasesFlag(std::string_view text) {
  constexpr int64_t kMost = 1'000'000;
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < 0 ||
      value > kMost) {
    return InvalidArgument(
        fmt::format("'{}' is not a number of cases from 0 (mark no score) to {}", text, kMost));
  }
  return value;
}

void AddReportFlags(CLI::App& cmd, ReportFlags& flags) {
  cmd.add_option("--as-of", flags.as_of,
                 "Evaluation time T: an RFC 3339 timestamp (e.g. 2013-09-30T09:30:00Z), or a date "
                 "YYYY-MM-DD meaning the end of that day (23:59:59.999999999Z); events after T "
                 "are not considered")
      ->required();
  cmd.add_option("--policy", flags.policy_file,
                 "Policy file (JSON, docs/rules.md section 8); defaults apply without it");
  cmd.add_option("--from", flags.from,
                 "First decision date of the period, YYYY-MM-DD, or a timestamp whose UTC date is "
                 "taken (default: unbounded)");
  cmd.add_option("--to", flags.to,
                 "Last decision date of the period, YYYY-MM-DD, or a timestamp whose UTC date is "
                 "taken (default: the date of T)");
  cmd.add_option("--region", flags.region, "Only cases allocated to this region");
  cmd.add_option("--pdu", flags.pdu, "Only cases allocated to this probation delivery unit");
  cmd.add_option("--team", flags.team, "Only cases allocated to this team");
  cmd.add_option("--offender-manager", flags.offender_manager,
                 "Only cases allocated to this offender manager");
  cmd.add_flag("--case-items", flags.case_items,
               "Also list every item of every counted case in scope (sorted by case, indicator, "
               "due date)");
  cmd.add_option("--min-cases", flags.min_cases,
                 "Mark a score resting on fewer relevant cases than this \"too few cases to "
                 "rate\" (too_few_cases in the JSON; scores and ratings are unchanged); 0 marks "
                 "none")
      ->capture_default_str();
}

Result<ReportRequest> ReportFlags::Resolve() const {
  ReportRequest request;
  auto as_of_parsed = ParseAsOfFlag(as_of);
  if (!as_of_parsed) return InvalidArgument("--as-of: " + as_of_parsed.error().message);
  request.as_of = as_of_parsed.value();

  std::optional<Date> from_date, to_date;
  if (!from.empty()) {
    auto d = ParseDateFlag(from);
    if (!d) return InvalidArgument("--from: " + d.error().message);
    from_date = d.value();
  }
  if (!to.empty()) {
    auto d = ParseDateFlag(to);
    if (!d) return InvalidArgument("--to: " + d.error().message);
    to_date = d.value();
  }
  auto period = MakePeriod(from_date, to_date, request.as_of);
  if (!period) return InvalidArgument("--from/--to: " + period.error().message);
  request.period = period.value();

  if (!policy_file.empty()) {
    CW_TRY(policy, ReadPolicyFile(policy_file));
    request.policy = std::move(policy);
  }
  request.scope = Scope{region, pdu, team, offender_manager};
  request.case_items = case_items;
  auto min = ParseMinCasesFlag(min_cases);
  if (!min) return InvalidArgument("--min-cases: " + min.error().message);
  request.min_cases = min.value();
  return request;
}

}  // namespace casewatch::cli
