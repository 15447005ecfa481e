#pragma once
// The flags that choose a report (--as-of, --policy, --from, --to, scope, --case-items,
// --min-cases), shared by every command that prints one, and their checked form.

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "base/temp_dir.h"
#include "projections/scores.h"
#include "services/store/store.h"

namespace casewatch::cli {

struct ReportRequest {
  Instant as_of;
  Policy policy;
  Period period;
  Scope scope;
  bool case_items = false;
  int64_t min_cases = kDefaultMinCases;
};

struct ReportFlags {
  std::string as_of;
  std::string policy_file;
  std::string from;
  std::string to;
  std::optional<std::string> region, pdu, team, offender_manager;
  bool case_items = false;
  std::string min_cases = std::to_string(kDefaultMinCases);

  // Checks the flags and reads the policy file; the error names the bad flag or key.
  [[nodiscard]] Result<ReportRequest> Resolve() const;
};

void AddReportFlags(CLI::App& cmd, ReportFlags& flags);

// An instant flag such as --as-of: an RFC 3339 instant, or a date YYYY-MM-DD meaning the end of
// that day (23:59:59.999999999Z), so that `--as-of 2025-06-30` counts all of 30 June.
[[nodiscard]] Result<Instant> ParseAsOfFlag(std::string_view text);
// A date flag such as --from/--to: a date YYYY-MM-DD, or an RFC 3339 instant meaning its UTC date.
[[nodiscard]] Result<Date> ParseDateFlag(std::string_view text);
// --min-cases: a whole number of cases from 0 (mark nothing) to 1,000,000.
[[nodiscard]] Result<int64_t> ParseMinCasesFlag(std::string_view text);

// Opens an engine's stores in `data` read-only, as secondaries keeping their own files in
// `scratch` (so it works while the engine runs): its one store, or the stores of its tasks
// (casewatchd --tasks keeps one per partition in DATA/tasks/p<N>).
[[nodiscard]] Result<std::vector<std::unique_ptr<store::StoreReader>>> OpenEngineStores(
    const std::string& data, const TempDir& scratch);
// The same, and when `flags.as_of` is empty sets it to the instant their projections are at (the
// earliest of the tasks').
[[nodiscard]] Result<std::vector<std::unique_ptr<store::StoreReader>>> OpenStoresForReport(
    const std::string& data, const TempDir& scratch, ReportFlags& flags);

// Reads and checks a policy file; the error names the path and the bad key.
[[nodiscard]] Result<Policy> ReadPolicyFile(const std::string& path);

// Reads a whole (small) file; the error names the path and the OS reason.
[[nodiscard]] Result<std::string> ReadSmallFile(const std::string& path);
// Writes (replaces) a file; the error names the path and the OS reason.
[[nodiscard]] Result<void> WriteFile(const std::string& path, std::string_view contents);

}  // namespace casewatch::cli
