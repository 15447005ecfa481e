// casewatch token add: makes an access token for casewatchd's HTTP API and records only its
// SHA-256 (with the holder's name, role and scope) in the tokens file given to `casewatchd
// --tokens`. The token itself is printed once, to be handed to its holder.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "base/temp_dir.h"
#include "services/cli/commands.h"
#include "services/cli/report_flags.h"
#include "services/http/auth.h"
#include "services/reports/store_report.h"
#include "services/store/store.h"

namespace casewatch::cli {
namespace {

struct TokenFlags {
  std::string file;
  std::string name;
  std::string role;
  std::string region;
  std::string pdu;
  std::string team;
  std::string offender_manager;
  std::string data;  // the engine's store, to check a viewer's scope against
};

std::optional<std::string> NonEmpty(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string>(s);
}

int AddToken(const TokenFlags& flags) {
  auto role = http::ParseRole(flags.role);
  if (!role) {
    std::fprintf(stderr, "casewatch token add: --role: %s\n", role.error().message.c_str());
    return 2;
  }
  const Scope scope{NonEmpty(flags.region), NonEmpty(flags.pdu), NonEmpty(flags.team),
                    NonEmpty(flags.offender_manager)};
  const bool scoped = scope.region || scope.pdu || scope.team || scope.offender_manager;
  if (role.value() == http::Role::kViewer && !scoped) {
    std::fprintf(stderr,
                 "casewatch token add: a viewer needs a scope: --region, --pdu, --team or "
                 "--offender-manager\n");
    return 2;
  }
  if (role.value() == http::Role::kViewer) {
    if (auto checked = http::CheckViewerScope(scope); !checked) {
      std::fprintf(stderr,
                   "casewatch token add: %s (--region, --pdu, --team, --offender-manager)\n",
                   checked.error().message.c_str());
      return 2;
    }
  }
  if (role.value() == http::Role::kViewer && !flags.data.empty()) {
    TempDir scratch;  // the secondary's own files, removed afterwards
    auto opened = OpenEngineStores(flags.data, scratch);  // one store, or a task's each
    if (!opened) {
      std::fprintf(stderr, "casewatch token add: --data: %s\n", opened.error().message.c_str());
      return ExitCodeOf(opened.error());
    }
    std::vector<const store::StoreReader*> stores;
    for (const auto& store : opened.value()) stores.push_back(store.get());
    if (auto known = reports::CheckScopeInStores(stores, scope); !known) {
      std::fprintf(stderr, "casewatch token add: %s; no token made\n",
                   known.error().message.c_str());
      return 2;
    }
  } else if (role.value() == http::Role::kViewer) {
    std::fprintf(stderr,
                 "casewatch token add: the scope was not checked against any cases (give --data "
                 "with the engine's store to check it)\n");
  }
  if (role.value() != http::Role::kViewer && scoped) {
    std::fprintf(stderr, "casewatch token add: only a viewer has a scope (%s sees everything)\n",
                 flags.role.c_str());
    return 2;
  }
  auto token = http::AddToken(flags.file, flags.name, role.value(), scope);
  if (!token) {
    std::fprintf(stderr, "casewatch token add: %s\n", token.error().message.c_str());
    return ExitCodeOf(token.error());
  }
  std::printf("%s\n", token.value().c_str());
  std::fprintf(stderr,
               "casewatch token add: %s (%s) added to %s. The token above is not stored anywhere: "
               "hand it over now. casewatchd reads the file when it starts.\n",
               flags.name.c_str(), flags.role.c_str(), flags.file.c_str());
  return 0;
}

}  // namespace

void AddTokenCommand(CLI::App& root, int& exit_code) {
  auto* token = root.add_subcommand("token", "Access tokens for casewatchd's HTTP API");
  token->require_subcommand(1);
  auto flags = std::make_shared<TokenFlags>();
  auto* add = token->add_subcommand(
      "add", "Make a token: prints it once, records its SHA-256, name, role and scope in FILE");
  add->add_option("--tokens", flags->file, "The tokens file (created if missing)")->required();
  add->add_option("--name", flags->name, "Who holds it (appears in the audit log)")->required();
  add->add_option("--role", flags->role,
                  "viewer (reads one scope), inspector (reads everything), publisher (POSTs "
                  "events)")
      ->required();
  add->add_option("--region", flags->region, "A viewer's region");
  add->add_option("--pdu", flags->pdu, "A viewer's probation delivery unit");
  add->add_option("--team", flags->team, "A viewer's team");
  add->add_option("--offender-manager", flags->offender_manager, "A viewer's practitioner");
  add->add_option("--data", flags->data,
                  "The engine's store: a viewer's scope must name an allocation some case has "
                  "(a typo is refused, with the closest names)");
  add->callback([flags, &exit_code] { exit_code = AddToken(*flags); });
}

}  // namespace casewatch::cli
