#include "services/http/peer_client.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "base/log_throttle.h"

namespace casewatch::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

constexpr std::string_view kTarget = "/internal/v1/counts";
constexpr uint64_t kMaxBody = 256ull << 20;  // every allocation of a national service, and more

struct HostPort {
  std::string host;
  std::string port;
};

Result<HostPort> ParseHttpUrl(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) {
    return FailedPrecondition(
        fmt::format("{}: only http:// peers are asked for their counts", url));
  }
  std::string_view rest = std::string_view(url).substr(kScheme.size());
  rest = rest.substr(0, rest.find('/'));
  HostPort out;
  if (rest.starts_with('[')) {  // [v6 address]:port
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return InvalidArgument(url + ": an unclosed [");
    out.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (rest.starts_with(':')) out.port = std::string(rest.substr(1));
  } else {
    const size_t colon = rest.rfind(':');
    out.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) out.port = std::string(rest.substr(colon + 1));
  }
  if (out.port.empty()) out.port = "80";
  if (out.host.empty()) return InvalidArgument(url + ": no host");
  return out;
}

}  // namespace

Result<store::v1::PeerCounts> FetchPeerCounts(const std::string& url, const std::string& token,
                                              std::chrono::milliseconds timeout) {
  CW_TRY(where, ParseHttpUrl(url));
  asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  beast::flat_buffer buffer;
  bhttp::request<bhttp::empty_body> request{bhttp::verb::get, std::string(kTarget), 11};
  request.set(bhttp::field::host, where.host);
  if (!token.empty()) request.set(bhttp::field::authorization, "Bearer " + token);
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(kMaxBody);
  beast::error_code failed;
  std::string_view step = "resolving";
  bool done = false;
  // Each step starts the next, or records why it failed; run_for bounds them all.
  const auto finish = [&](beast::error_code ec) {
    failed = ec;
    done = true;
  };
  const auto read = [&] {
    step = "reading the answer";
    bhttp::async_read(stream, buffer, parser,
                      [&](beast::error_code read_ec, size_t) { finish(read_ec); });
  };
  const auto send = [&] {
    step = "sending";
    bhttp::async_write(stream, request, [&](beast::error_code sent_ec, size_t) {
      if (sent_ec) return finish(sent_ec);
      read();
    });
  };
  resolver.async_resolve(
      where.host, where.port,
      [&](beast::error_code resolve_ec, const tcp::resolver::results_type& found) {
        if (resolve_ec) return finish(resolve_ec);
        step = "connecting";
        stream.async_connect(found, [&](beast::error_code connect_ec, const tcp::endpoint&) {
          if (connect_ec) return finish(connect_ec);
          send();
        });
      });
  io.run_for(timeout);
  if (!done) {
    return Unavailable(fmt::format("{}{}: no answer within {} ms ({})", url, kTarget,
                                   timeout.count(), step));
  }
  if (failed) {
    return Unavailable(fmt::format("{}{}: {}: {}", url, kTarget, step, failed.message()));
  }
  const auto& response = parser.get();
  if (response.result_int() != 200) {
    return Unavailable(fmt::format("{}{}: {} {}", url, kTarget, response.result_int(),
                                   response.body().substr(0, 300)));
  }
  store::v1::PeerCounts counts;
  if (!counts.ParseFromString(response.body())) {
    return DataLoss(fmt::format("{}{}: the answer is not PeerCounts", url, kTarget));
  }
  return counts;
}

std::vector<PeerAnswer> AskPeers(const GroupView& group, std::span<const int32_t> missing,
                                 const std::string& token, std::chrono::milliseconds timeout) {
  static LogThrottle throttle(std::chrono::minutes(1), 1);
  std::vector<PeerAnswer> answers;
  for (const GroupPeer& peer : group.engines) {
    if (peer.self || !peer.live) continue;
    const bool holds = std::any_of(missing.begin(), missing.end(),
                                   [&](int32_t p) { return peer.offsets.count(p) > 0; });
    if (!holds) continue;
    auto fetched = FetchPeerCounts(peer.url, token, timeout);
    if (!fetched) {
      uint64_t held_back = 0;
      if (throttle.Allow("peer", held_back)) {
        spdlog::warn("group: the counts of {} are left out of a live answer: {}{}", peer.url,
                     fetched.error().message, HeldBackNote(held_back));
      }
      continue;
    }
    answers.push_back(PeerAnswer{peer.url, std::move(fetched).value()});
  }
  return answers;
}

}  // namespace casewatch::http
