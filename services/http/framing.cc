#include "services/http/framing.h"

#include <algorithm>
#include <cctype>

namespace casewatch::http {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::optional<std::string> CheckHeaderBlock(std::string_view head) {
  // After the request line, a line starting with a space or tab continues the previous field.
  const size_t first_line_end = head.find('\n');
  if (first_line_end == std::string_view::npos) return std::nullopt;
  for (size_t at = first_line_end; at != std::string_view::npos && at + 1 < head.size();
       at = head.find('\n', at + 1)) {
    const char next = head[at + 1];
    if (next == ' ' || next == '\t') {
      return "a header field is folded onto the next line (obsolete line folding is not accepted)";
    }
  }
  return std::nullopt;
}

std::optional<std::string> CheckFraming(const RequestFraming& request) {
  if (!request.transfer_encodings.empty()) {
    if (request.version < 11) return "Transfer-Encoding is not allowed in an HTTP/1.0 request";
    if (request.content_lengths > 0) {
      return "a request may not have both Transfer-Encoding and Content-Length";
    }
    // The final coding is the last one of the last field.
    std::string_view last = request.transfer_encodings.back();
    if (const size_t comma = last.rfind(','); comma != std::string_view::npos) {
      last = last.substr(comma + 1);
    }
    if (const size_t semicolon = last.find(';'); semicolon != std::string_view::npos) {
      last = last.substr(0, semicolon);
    }
    if (!EqualsIgnoringCase(Trim(last), "chunked")) {
      return "the final Transfer-Encoding must be chunked (the body's length could not be known)";
    }
  }
  if (request.version >= 11 && request.hosts != 1) {
    return request.hosts == 0 ? "an HTTP/1.1 request needs a Host header"
                              : "a request may have only one Host header";
  }
  return std::nullopt;
}

}  // namespace casewatch::http
