// casewatch rebuild --data DIR: recomputes every projection from the engine's event store, e.g.
// after a policy change. The engine must be stopped (the store is opened read-write).
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "services/cli/commands.h"
#include "services/cli/report_flags.h"
#include "services/engine/engine.h"

namespace casewatch::cli {
namespace {

struct RebuildOptions {
  std::string data;
  std::string policy_file;
  std::string as_of;
};

int RunRebuild(const RebuildOptions& options) {
  auto fail = [](const std::string& message) {
    fmt::print(stderr, "casewatch rebuild: {}\n", message);
    return 2;
  };
  engine::EngineOptions engine_options;
  engine::RebuildRequest request;
  request.started = InstantOf(std::chrono::system_clock::now());
  if (!options.policy_file.empty()) {
    auto text = ReadSmallFile(options.policy_file);
    if (!text) return fail(text.error().message);
    auto policy = ParsePolicy(text.value());
    if (!policy) return fail(fmt::format("{}: {}", options.policy_file, policy.error().message));
    engine_options.policy = std::move(policy).value();
    engine_options.policy_text = std::move(text).value();
    std::error_code ignored;
    request.policy_path = std::filesystem::absolute(options.policy_file, ignored).string();
  }
  if (!std::filesystem::exists(std::filesystem::path(options.data) / "CURRENT")) {
    return fail(fmt::format("no engine store in {}", options.data));
  }
  store::StoreOptions store_options;
  store_options.for_rebuild = true;  // this command is what finishes (or upgrades) one
  auto store = store::Store::Open(options.data, store_options);
  if (!store) return fail(store.error().message);
  for (const std::string& warning : store.value()->recovery_warnings()) {
    fmt::print(stderr, "casewatch rebuild: {}\n", warning);
  }
  auto unfinished = store.value()->UnfinishedRebuild();
  if (!unfinished) return fail(unfinished.error().message);
  if (unfinished.value()) {
    fmt::print(stderr, "casewatch rebuild: finishing the rebuild started at {}\n",
               FormatInstant(Instant{unfinished.value()->started_seconds(), 0}));
  }
  // T: the given instant, else where the engine's projections were (kept in the marker of an
  // interrupted rebuild, which cleared them).
  if (!options.as_of.empty()) {
    auto parsed = ParseAsOfFlag(options.as_of);
    if (!parsed) return fail("--as-of: " + parsed.error().message);
    request.as_of = parsed.value();
  } else {
    auto projected = store.value()->ProjectionInstant();
    if (!projected) return fail(projected.error().message);
    if (projected.value()) {
      request.as_of = *projected.value();
    } else if (unfinished.value()) {
      request.as_of = Instant{unfinished.value()->as_of_seconds(), unfinished.value()->as_of_nanos()};
    } else {
      return fail("the store has no projection instant; give --as-of");
    }
  }
  const auto started = std::chrono::steady_clock::now();
  const bool tty = isatty(fileno(stderr));
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  auto rebuilt = engine::Engine::Rebuild(
      *store.value(), std::move(engine_options), request, [&](uint64_t events) {
        const double seconds = elapsed();
        fmt::print(stderr, "{}rebuild: {} events, {:.0f} events/s{}", tty ? "\r" : "", events,
                   seconds > 0 ? events / seconds : 0.0, tty ? "" : "\n");
      });
  if (!rebuilt) return fail(rebuilt.error().message);
  const double seconds = elapsed();
  fmt::print(stderr, "{}casewatch rebuild: {} cases re-evaluated as of {} in {:.2f} s\n",
             tty ? "\n" : "", rebuilt.value().cases_evaluated, FormatInstant(request.as_of),
             seconds);
  return 0;
}

}  // namespace

void AddRebuildCommand(CLI::App& root, int& exit_code) {
  auto options = std::make_shared<RebuildOptions>();
  CLI::App* cmd = root.add_subcommand(
      "rebuild",
      "Recompute every projection (items, per-allocation counts, deadlines) from an engine's "
      "event store, e.g. after a policy change. Stop the engine first; start it again with the "
      "same --policy. An interrupted rebuild leaves the store refused by every reader until the "
      "same command is run again and finishes.");
  cmd->add_option("--data", options->data, "The engine's store directory")->required();
  cmd->add_option("--policy", options->policy_file,
                  "Policy file to evaluate under (default: the default policy, docs/rules.md "
                  "section 8)");
  cmd->add_option("--as-of", options->as_of,
                  "Evaluate at this instant: an RFC 3339 timestamp, or a date YYYY-MM-DD meaning "
                  "the end of that day (default: the store's projection instant)");
  cmd->callback([options, &exit_code] { exit_code = RunRebuild(*options); });
}

}  // namespace casewatch::cli
