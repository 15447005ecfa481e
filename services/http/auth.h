#pragma once
// Who may call the HTTP API: bearer tokens from a file that holds only their SHA-256, each with a
// role. A viewer sees one part of the organisation (a region, delivery unit, team or
// practitioner); an inspector reads everything; a publisher may only POST events. Scope narrowing
// is enforced here: a request may narrow the caller's scope but never leave it.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/result.h"
#include "projections/scores.h"

namespace casewatch::http {

enum class Role { kViewer, kInspector, kPublisher, kLocal };  // kLocal: --no-auth

std::string_view NameOf(Role role);
[[nodiscard]] Result<Role> ParseRole(std::string_view name);

struct Principal {
  std::string name;
  Role role = Role::kViewer;
  Scope scope;  // a viewer's; empty (everything) for the others

  bool CanRead() const { return role != Role::kPublisher; }
  bool CanPublish() const { return role == Role::kPublisher || role == Role::kLocal; }
};

// Ok when `scope` may be a viewer's: at least one level, and every level above the lowest named
// (a PDU with its region, a team with its region and PDU, a practitioner with all three), since
// the same name can appear in several places of the organisation.
[[nodiscard]] Result<void> CheckViewerScope(const Scope& scope);

// The principal of `--no-auth`: reads and publishes, sees everything.
Principal LocalPrincipal();

// The scope a request may see: the caller's scope with the request's filters added. nullopt when
// a filter contradicts the caller's scope (a viewer of region A asking for region B).
std::optional<Scope> EffectiveScope(const Principal& principal, const Scope& requested);

// Whether `principal` may see a case allocated to `allocation`.
bool MaySee(const Principal& principal, const Allocation& allocation);

class TokenRegistry {
 public:
  // Reads a tokens file (casewatch.http.v1.TokenFile as JSON); errors name the file and entry.
  [[nodiscard]] static Result<TokenRegistry> Load(const std::filesystem::path& path);
  [[nodiscard]] static Result<TokenRegistry> Parse(std::string_view json, std::string_view source);

  // The holder of `token`, or nullptr.
  const Principal* Find(std::string_view token) const;
  size_t size() const { return by_hash_.size(); }

 private:
  std::unordered_map<std::string, Principal> by_hash_;  // hex SHA-256 -> holder
};

std::string Sha256Hex(std::string_view data);

// A new random token ("cw_" + 43 base64url characters: 256 bits from the OS's CSPRNG).
[[nodiscard]] Result<std::string> NewToken();

// Adds an entry for a new token to `path` (created when missing) and returns the token, which is
// stored nowhere else: it must be handed to its holder now.
[[nodiscard]] Result<std::string> AddToken(const std::filesystem::path& path,
                                           const std::string& name, Role role, const Scope& scope);

}  // namespace casewatch::http
