#pragma once
// How a request is framed (RFC 9112), checked before it is trusted: the ways one request can hide
// another behind a proxy that frames it differently (request smuggling) are refused, with a 400
// and the connection closed. Pure functions; the server (server.cc) calls them.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace casewatch::http {

// The header block as received (request line to the blank line, CRLFs included): refused when a
// field line is folded onto the next (obs-fold, RFC 9112 section 5.2).
std::optional<std::string> CheckHeaderBlock(std::string_view head);

struct RequestFraming {
  unsigned version = 11;                        // 10 or 11
  std::vector<std::string> transfer_encodings;  // every Transfer-Encoding field, as sent
  int content_lengths = 0;                      // Content-Length fields
  int hosts = 0;                                // Host fields
};

// Refused: a Transfer-Encoding in HTTP/1.0, or whose final coding is not chunked, or beside a
// Content-Length; an HTTP/1.1 request without exactly one Host. The reason, in words.
std::optional<std::string> CheckFraming(const RequestFraming& request);

}  // namespace casewatch::http
