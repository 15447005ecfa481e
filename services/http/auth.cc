#include "services/http/auth.h"

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "casewatch/http/v1/tokens.pb.h"

namespace casewatch::http {
namespace {

bool IsHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::optional<std::string> NonEmpty(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string>(s);
}

// A filter may be added when the caller's scope leaves that level open, or repeats it.
bool Narrow(const std::optional<std::string>& mine, const std::optional<std::string>& asked,
            std::optional<std::string>& out) {
  if (mine && asked && *mine != *asked) return false;
  out = mine ? mine : asked;
  return true;
}

// Replaces `path` with `contents` in a file that is owner-only (0600) from the moment it exists
// (never world-readable, whatever the umask) and whole: written to a temporary beside it, synced,
// then renamed over it.
Result<void> WritePrivateFile(const std::filesystem::path& path, std::string_view contents) {
  const std::string temporary = path.string() + ".new";
  ::unlink(temporary.c_str());  // a leftover from a crash; O_EXCL below refuses anything else
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return IoError(fmt::format("{}: cannot be created: {}", temporary, std::strerror(errno)));
  }
  size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = errno;
      ::close(fd);
      ::unlink(temporary.c_str());
      return IoError(fmt::format("{}: cannot be written: {}", temporary, std::strerror(error)));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(temporary.c_str());
    return IoError(fmt::format("{}: cannot be written: {}", temporary, std::strerror(errno)));
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    return IoError(fmt::format("{}: cannot be replaced: {}", path.string(), std::strerror(error)));
  }
  return Ok();
}

}  // namespace

std::string_view NameOf(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kInspector:
      return "inspector";
    case Role::kPublisher:
      return "publisher";
    case Role::kLocal:
      return "local";
  }
  return "?";
}

Result<Role> ParseRole(std::string_view name) {
  if (name == "viewer") return Role::kViewer;
  if (name == "inspector") return Role::kInspector;
  if (name == "publisher") return Role::kPublisher;
  return InvalidArgument(
      fmt::format("role \"{}\" is not one of viewer, inspector, publisher", name));
}

Result<void> CheckViewerScope(const Scope& scope) {
  const std::optional<std::string>* levels[] = {&scope.region, &scope.pdu, &scope.team,
                                                &scope.offender_manager};
  static constexpr std::string_view kNames[] = {"region", "pdu", "team", "offender_manager"};
  int lowest = -1;
  for (int i = 0; i < 4; ++i) {
    if (*levels[i]) lowest = i;
  }
  if (lowest < 0) {
    return InvalidArgument("a viewer needs a scope (region, pdu, team or offender_manager)");
  }
  for (int i = 0; i < lowest; ++i) {
    if (!*levels[i]) {
      return InvalidArgument(fmt::format(
          "a viewer's scope must name every level above its own: {} \"{}\" needs its {} too (the "
          "same name can exist elsewhere in the organisation)",
          kNames[lowest], **levels[lowest], kNames[i]));
    }
  }
  return Ok();
}

Principal LocalPrincipal() { return Principal{"local", Role::kLocal, Scope{}}; }

std::optional<Scope> EffectiveScope(const Principal& principal, const Scope& requested) {
  Scope out;
  if (!Narrow(principal.scope.region, requested.region, out.region) ||
      !Narrow(principal.scope.pdu, requested.pdu, out.pdu) ||
      !Narrow(principal.scope.team, requested.team, out.team) ||
      !Narrow(principal.scope.offender_manager, requested.offender_manager, out.offender_manager)) {
    return std::nullopt;
  }
  return out;
}

bool MaySee(const Principal& principal, const Allocation& allocation) {
  return principal.CanRead() && principal.scope.Matches(allocation);
}

Result<TokenRegistry> TokenRegistry::Load(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError(fmt::format("--tokens {}: cannot be read", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path.string());
}

Result<TokenRegistry> TokenRegistry::Parse(std::string_view json, std::string_view source) {
  v1::TokenFile file;
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &file);
  if (!parsed.ok()) {
    return InvalidArgument(
        fmt::format("{}: not a tokens file ({}); expected "
                    "{{\"tokens\":[{{\"name\",\"role\",\"sha256\",...}}]}}",
                    source, parsed.ToString()));
  }
  TokenRegistry registry;
  std::unordered_map<std::string, int> names;
  for (int i = 0; i < file.tokens_size(); ++i) {
    const v1::Token& t = file.tokens(i);
    const std::string where = fmt::format("{}: token {} (\"{}\")", source, i + 1, t.name());
    if (t.name().empty()) return InvalidArgument(where + ": has no name");
    if (!names.emplace(t.name(), i).second) return InvalidArgument(where + ": name used twice");
    auto role = ParseRole(t.role());
    if (!role) return InvalidArgument(where + ": " + role.error().message);
    if (!IsHex64(t.sha256())) {
      return InvalidArgument(where + ": sha256 must be 64 lower-case hex digits");
    }
    Principal principal{t.name(), role.value(), Scope{}};
    if (role.value() == Role::kViewer) {
      principal.scope = Scope{NonEmpty(t.region()), NonEmpty(t.pdu()), NonEmpty(t.team()),
                              NonEmpty(t.offender_manager())};
      if (auto checked = CheckViewerScope(principal.scope); !checked) {
        return InvalidArgument(where + ": " + checked.error().message);
      }
    }
    if (!registry.by_hash_.emplace(t.sha256(), std::move(principal)).second) {
      return InvalidArgument(where + ": the same token as another entry");
    }
  }
  return registry;
}

const Principal* TokenRegistry::Find(std::string_view token) const {
  if (token.empty()) return nullptr;
  const auto found = by_hash_.find(Sha256Hex(token));
  return found == by_hash_.end() ? nullptr : &found->second;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i)
    fmt::format_to(std::back_inserter(hex), "{:02x}", digest[i]);
  return hex;
}

Result<std::string> NewToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return Internal("no random bytes from OpenSSL");
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string token = "cw_";
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    buffer = buffer << 8 | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      token.push_back(kAlphabet[(buffer >> bits) & 63]);
    }
  }
  if (bits > 0) token.push_back(kAlphabet[(buffer << (6 - bits)) & 63]);
  return token;
}

Result<std::string> AddToken(const std::filesystem::path& path, const std::string& name, Role role,
                             const Scope& scope) {
  v1::TokenFile file;
  if (std::filesystem::exists(path)) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) return IoError(fmt::format("{}: cannot be read", path.string()));
    CW_TRY(TokenRegistry::Parse(text.str(), path.string()));  // refuse to extend a broken file
    if (!google::protobuf::util::JsonStringToMessage(text.str(), &file).ok()) {
      return Internal(fmt::format("{}: parsed once but not twice", path.string()));
    }
  }
  CW_TRY(token, NewToken());
  v1::Token* entry = file.add_tokens();
  entry->set_name(name);
  entry->set_role(std::string(NameOf(role)));
  entry->set_sha256(Sha256Hex(token));
  entry->set_region(scope.region.value_or(""));
  entry->set_pdu(scope.pdu.value_or(""));
  entry->set_team(scope.team.value_or(""));
  entry->set_offender_manager(scope.offender_manager.value_or(""));
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = true;
  std::string json;
  if (const auto printed = google::protobuf::util::MessageToJsonString(file, &json, options);
      !printed.ok()) {
    return InvalidArgument(fmt::format("the new entry cannot be written as JSON ({}); are the "
                                       "name and scope valid UTF-8?",
                                       printed.ToString()));
  }
  CW_TRY(TokenRegistry::Parse(json, path.string()));
  CW_TRY(WritePrivateFile(path, json));
  return token;
}

}  // namespace casewatch::http
