#include "services/http/peer_client.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <set>

#include "base/log_throttle.h"
#include "services/http/params.h"

namespace casewatch::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

constexpr std::string_view kTarget = "/internal/v1/counts";
constexpr std::string_view kCaseTarget = "/internal/v1/cases/";
constexpr std::string_view kWorklistTarget = "/internal/v1/worklist";
constexpr std::string_view kTrendTarget = "/internal/v1/trend";
constexpr uint64_t kMaxBody = 256ull << 20;  // every allocation of a national service, and more
constexpr size_t kMaxKept = 4096;             // answers kept for If-None-Match

struct HostPort {
  std::string host;
  std::string port;
  bool tls = false;  // https://
};

Result<HostPort> ParsePeerUrl(const std::string& url) {
  HostPort out;
  std::string_view rest = url;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
    out.tls = true;
  } else {
    return FailedPrecondition(
        fmt::format("{}: only http:// and https:// engines are asked for their counts", url));
  }
  rest = rest.substr(0, rest.find('/'));
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
  if (out.port.empty()) out.port = out.tls ? "443" : "80";
  if (out.host.empty()) return InvalidArgument(url + ": no host");
  return out;
}

// One GET of a peer's counts on a shared io_context: resolve, connect, send, read. Each step
// starts the next or records why it failed; the caller's run_for bounds them all.
class Fetch {
 public:
  // `tls`: how a peer at https:// is checked.
  Fetch(asio::io_context& io, std::string url, HostPort where, const std::string& target,
        const std::string& token, const std::string& tag, asio::ssl::context& tls)
      : url_(std::move(url)), where_(std::move(where)), resolver_(io), plain_(io) {
    if (where_.tls) tls_.emplace(io, tls);
    request_ = {bhttp::verb::get, target, 11};
    request_.set(bhttp::field::host, where_.host);
    if (!token.empty()) request_.set(bhttp::field::authorization, "Bearer " + token);
    if (!tag.empty()) request_.set(bhttp::field::if_none_match, tag);
    parser_.body_limit(kMaxBody);
  }

  void Start() {
    resolver_.async_resolve(
        where_.host, where_.port,
        [this](beast::error_code ec, const tcp::resolver::results_type& found) {
          if (ec) return Finish(ec);
          step_ = "connecting";
          beast::tcp_stream& socket = tls_ ? beast::get_lowest_layer(*tls_) : plain_;
          socket.async_connect(found, [this](beast::error_code connect_ec, const tcp::endpoint&) {
            if (connect_ec) return Finish(connect_ec);
            if (!tls_) return Send(plain_);
            step_ = "the TLS handshake (checking its certificate)";
            // The name the certificate must bear, sent as SNI too (not for an address).
            beast::error_code not_address;
            static_cast<void>(asio::ip::make_address(where_.host, not_address));
            if (not_address) SSL_set_tlsext_host_name(tls_->native_handle(), where_.host.c_str());
            tls_->set_verify_callback(asio::ssl::host_name_verification(where_.host));
            tls_->async_handshake(asio::ssl::stream_base::client,
                                  [this](beast::error_code shake_ec) {
                                    if (shake_ec) return Finish(shake_ec);
                                    Send(*tls_);
                                  });
          });
        });
  }

  const std::string& url() const { return url_; }
  std::string target() const { return std::string(request_.target()); }

  // The peer's answer, once it has come whole; why there is none otherwise.
  Result<bhttp::response<bhttp::string_body>*> Response(std::chrono::milliseconds timeout) {
    const auto target = request_.target();
    const std::string path(target.substr(0, target.find('?')));
    if (!done_) {
      return Unavailable(fmt::format("{}{}: no answer within {} ms ({})", url_, path,
                                     timeout.count(), step_));
    }
    if (failed_) {
      return Unavailable(fmt::format("{}{}: {}: {}", url_, path, step_, failed_.message()));
    }
    return &parser_.get();
  }

  // The answer: 200 with the counts, 304 (unchanged since `tag`) with none, or why there is none.
  struct Answer {
    std::string tag;
    std::shared_ptr<const store::v1::PeerCounts> counts;  // nullptr: unchanged (304)
  };
  Result<Answer> Take(std::chrono::milliseconds timeout) {
    CW_TRY(response, Response(timeout));
    Answer answer;
    answer.tag = std::string((*response)[bhttp::field::etag]);
    if (response->result_int() == 304) return answer;
    if (response->result_int() != 200) {
      return Unavailable(fmt::format("{}{}: {} {}", url_, kTarget, response->result_int(),
                                     response->body().substr(0, 300)));
    }
    auto counts = std::make_shared<store::v1::PeerCounts>();
    if (!counts->ParseFromString(response->body())) {
      return DataLoss(fmt::format("{}{}: the answer is not PeerCounts", url_, kTarget));
    }
    answer.counts = std::move(counts);
    return answer;
  }

 private:
  template <class Stream>
  void Send(Stream& stream) {
    step_ = "sending";
    bhttp::async_write(stream, request_, [this, &stream](beast::error_code sent_ec, size_t) {
      if (sent_ec) return Finish(sent_ec);
      step_ = "reading the answer";
      bhttp::async_read(stream, buffer_, parser_,
                        [this](beast::error_code read_ec, size_t) { Finish(read_ec); });
    });
  }

  void Finish(beast::error_code ec) {
    failed_ = ec;
    done_ = true;
  }

  const std::string url_;
  const HostPort where_;
  tcp::resolver resolver_;
  beast::tcp_stream plain_;                                   // http://
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;  // https://
  beast::flat_buffer buffer_;
  bhttp::request<bhttp::empty_body> request_;
  bhttp::response_parser<bhttp::string_body> parser_;
  std::string_view step_ = "resolving";
  beast::error_code failed_;
  bool done_ = false;
};

// Starts a GET at each live engine of `group` other than this one for which `target_of` gives a
// target ("": not asked), on `io`. `tag_of(url, target)`: the ETag to send back (If-None-Match;
// "" none); `refused(url, why)`: an engine that cannot be asked (not at http://).
std::vector<std::unique_ptr<Fetch>> AskEngines(
    asio::io_context& io, const GroupView& group,
    const std::function<std::string(const GroupPeer&)>& target_of, const std::string& token,
    const std::function<std::string(const std::string&, const std::string&)>& tag_of,
    const std::function<void(const std::string&, const std::string&)>& refused,
    asio::ssl::context& tls) {
  std::vector<std::unique_ptr<Fetch>> fetches;
  for (const GroupPeer& peer : group.engines) {
    if (peer.self || !peer.live) continue;
    const std::string target = target_of(peer);
    if (target.empty()) continue;
    auto where = ParsePeerUrl(peer.url);
    if (!where) {
      refused(peer.url, where.error().message);
      continue;
    }
    fetches.push_back(std::make_unique<Fetch>(io, peer.url, std::move(where).value(), target,
                                              token, tag_of(peer.url, target), tls));
    fetches.back()->Start();
  }
  return fetches;
}

// `target` for an engine whose directory record names any of `missing` (it holds them).
std::function<std::string(const GroupPeer&)> HoldersOf(std::span<const int32_t> missing,
                                                       std::string target) {
  return [missing, target = std::move(target)](const GroupPeer& peer) {
    const bool holds = std::any_of(missing.begin(), missing.end(),
                                   [&](int32_t p) { return peer.offsets.count(p) > 0; });
    return holds ? target : std::string();
  };
}

// What an answer to `target` from engine `url` is kept by: the two, but the instant asked for
// (as_of=, always the last parameter). The answer's tag names the snapshot it is of, whichever
// instant was asked for.
std::string KeptKey(const std::string& url, std::string_view target) {
  if (const size_t at = target.find("as_of="); at != std::string_view::npos && at > 0) {
    target = target.substr(0, at - 1);  // and its ? or &
  }
  return url + std::string(target);
}

// Logs (at most once a minute) that what engine `url` holds is left out of an answer, and why.
void LeftOut(const std::string& url, const std::string& why) {
  static LogThrottle throttle(std::chrono::minutes(1), 1);
  uint64_t held_back = 0;
  if (throttle.Allow("peer", held_back)) {
    spdlog::warn("group: what {} holds is left out of a live answer: {}{}", url, why,
                 HeldBackNote(held_back));
  }
}

// GET `path`?`query` of the live engines of `group`, other than this one, whose records name any
// of `missing`, at once: each answer that is a `Proto`, by url; the others logged (LeftOut).
template <class Proto>
std::vector<PeerReply<Proto>> Gather(
    const GroupView& group, std::span<const int32_t> missing, std::string_view path,
    std::string_view query, const std::string& token, std::chrono::milliseconds timeout,
    asio::ssl::context& tls) {
  std::string target(path);
  if (!query.empty()) target += fmt::format("?{}", query);
  asio::io_context io;  // before the fetches: they are destroyed first, their handlers unrun
  const auto fetches = AskEngines(
      io, group, HoldersOf(missing, target), token,
      [](const std::string&, const std::string&) { return std::string(); }, LeftOut, tls);
  std::vector<PeerReply<Proto>> answers;
  if (fetches.empty()) return answers;
  io.run_for(timeout);
  for (const auto& fetch : fetches) {
    auto response = fetch->Response(timeout);
    if (!response) {
      LeftOut(fetch->url(), response.error().message);
      continue;
    }
    if (response.value()->result_int() != 200) {
      LeftOut(fetch->url(), fmt::format("{}{}: {} {}", fetch->url(), path,
                                        response.value()->result_int(),
                                        response.value()->body().substr(0, 300)));
      continue;
    }
    auto answer = std::make_shared<Proto>();
    if (!answer->ParseFromString(response.value()->body())) {
      LeftOut(fetch->url(), fmt::format("{}{}: not the answer asked for", fetch->url(), path));
      continue;
    }
    answers.push_back(PeerReply<Proto>{fetch->url(), std::move(answer)});
  }
  return answers;
}

}  // namespace

PeerCounter::PeerCounter(std::string token, std::chrono::milliseconds timeout)
    : token_(std::move(token)),
      timeout_(timeout),
      tls_(std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client)) {
  tls_->set_verify_mode(asio::ssl::verify_peer);
  beast::error_code ec;
  tls_->set_default_verify_paths(ec);
  if (ec) spdlog::warn("group: this machine's trust store cannot be read ({})", ec.message());
}

Result<std::shared_ptr<PeerCounter>> PeerCounter::Open(std::string token,
                                                       std::chrono::milliseconds timeout,
                                                       const std::string& ca_file) {
  auto counter = std::make_shared<PeerCounter>(std::move(token), timeout);
  if (ca_file.empty()) return counter;
  auto tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  tls->set_verify_mode(asio::ssl::verify_peer);
  beast::error_code ec;
  tls->load_verify_file(ca_file, ec);
  if (ec) {
    return InvalidArgument(fmt::format("--peer-ca-file {}: no certificate (PEM) can be read from "
                                       "it ({})",
                                       ca_file, ec.message()));
  }
  counter->tls_ = std::move(tls);
  return counter;
}

std::vector<PeerAnswer> PeerCounter::Ask(const GroupView& group, std::span<const int32_t> missing,
                                         const Scope& scope, reports::GroupBy by,
                                         std::optional<Instant> at) {
  const auto& warn = LeftOut;
  const std::string query = ScopeQuery(scope, by);
  const std::string target =
      query.empty() ? std::string(kTarget) : fmt::format("{}?{}", kTarget, query);
  const std::string owners_target =
      at ? fmt::format("{}{}as_of={}", target, query.empty() ? "?" : "&", FormatInstant(*at))
         : target;
  std::map<std::string, PeerAnswer> last;  // by url and target: those kept of this query's
  {
    MutexLock lock(mutex_);
    for (const GroupPeer& peer : group.engines) {
      for (auto kept = last_.lower_bound(peer.url + target);
           kept != last_.end() && kept->first.starts_with(peer.url + target); ++kept) {
        last.insert(*kept);
      }
    }
  }
  const auto tag_of = [&](const std::string& url, const std::string& asked) {
    const auto kept = last.find(KeptKey(url, asked));
    return kept == last.end() ? std::string() : kept->second.tag;
  };
  std::vector<PeerAnswer> answers;
  std::vector<std::string> keys;  // answers[i]'s, to keep it by
  // Asks the engines `target_of` names at once, and adds their answers.
  const auto ask = [&](const std::function<std::string(const GroupPeer&)>& target_of,
                       bool copies) {
    asio::io_context io;  // before the fetches: they are destroyed first, their handlers unrun
    const auto fetches = AskEngines(io, group, target_of, token_, tag_of, warn, *tls_);
    if (fetches.empty()) return;
    io.run_for(timeout_);
    for (const auto& fetch : fetches) {
      auto answer = fetch->Take(timeout_);
      if (!answer) {
        warn(fetch->url(), answer.error().message);
        continue;
      }
      const std::string key = KeptKey(fetch->url(), fetch->target());
      if (answer.value().counts) {
        answers.push_back(
            PeerAnswer{fetch->url(), answer.value().tag, answer.value().counts, copies});
      } else if (const auto kept = last.find(key);
                 kept != last.end() && kept->second.tag == answer.value().tag) {
        answers.push_back(kept->second);  // unchanged
      } else {
        warn(fetch->url(), "a 304 for counts this engine does not have");
        continue;
      }
      keys.push_back(key);
    }
  };
  ask(HoldersOf(missing, owners_target), /*copies=*/false);
  // Partitions no owner answered for (killed, cut off, not yet given to another engine): from
  // the engines keeping a copy of them, each asked for the copies it keeps.
  std::set<int32_t> uncovered(missing.begin(), missing.end());
  for (const PeerAnswer& answer : answers) {
    for (const auto& [partition, next] : answer.counts->consumed()) uncovered.erase(partition);
  }
  if (!uncovered.empty()) {
    ask(
        [&](const GroupPeer& peer) {
          std::vector<int32_t> kept;
          for (int32_t p : peer.standby) {
            if (uncovered.count(p)) kept.push_back(p);
          }
          if (kept.empty()) return std::string();
          return fmt::format("{}{}partitions={}", target, query.empty() ? "?" : "&",
                             fmt::join(kept, ","));
        },
        /*copies=*/true);
  }
  MutexLock lock(mutex_);
  if (last_.size() > kMaxKept) last_.clear();  // engines gone, scopes no longer asked for
  for (size_t i = 0; i < answers.size(); ++i) {
    if (!answers[i].tag.empty()) last_[keys[i]] = answers[i];
  }
  return answers;
}

std::optional<PeerCase> PeerCounter::FindCase(const GroupView& group,
                                              std::span<const int32_t> missing,
                                              std::string_view id, std::string_view query) {
  std::string target = std::string(kCaseTarget) + PercentEncode(id);
  if (!query.empty()) target += fmt::format("?{}", query);
  std::set<std::string> answered;  // the engines that answered, with the case or without
  // Asks the engines `target_of` names at once: the answer of the one that has the case.
  const auto ask = [&](const std::function<std::string(const GroupPeer&)>& target_of)
      -> std::optional<PeerCase> {
    asio::io_context io;  // before the fetches: they are destroyed first, their handlers unrun
    const auto fetches = AskEngines(
        io, group, target_of, token_,
        [](const std::string&, const std::string&) { return std::string(); },
        [](const std::string&, const std::string&) {},  // said by Ask, at most once a minute
        *tls_);
    if (fetches.empty()) return std::nullopt;
    // Each case is in one partition, so at most one engine has it: the others answer 404 at
    // once. Waits for every answer, or the timeout.
    io.run_for(timeout_);
    for (const auto& fetch : fetches) {
      auto response = fetch->Response(timeout_);
      if (!response) continue;
      answered.insert(fetch->url());
      if (response.value()->result_int() != 200) continue;
      auto& answer = *response.value();
      return PeerCase{fetch->url(), std::string(answer["Casewatch-Case-Allocation"]),
                      std::move(answer.body()), std::string(answer["Casewatch-Copies"])};
    }
    return std::nullopt;
  };
  if (auto found = ask(HoldersOf(missing, target))) return found;
  // A partition whose owner did not answer (or has none): the engines keeping a copy of it.
  std::set<int32_t> unanswered(missing.begin(), missing.end());
  for (const GroupPeer& peer : group.engines) {
    if (!answered.count(peer.url)) continue;
    for (const auto& [partition, next] : peer.offsets) unanswered.erase(partition);
  }
  if (unanswered.empty()) return std::nullopt;
  const std::string from_copies =
      target + (query.empty() ? "?" : "&") + "copies=true";
  return ask([&](const GroupPeer& peer) {
    const bool keeps = std::any_of(peer.standby.begin(), peer.standby.end(),
                                   [&](int32_t p) { return unanswered.count(p) > 0; });
    return keeps ? from_copies : std::string();
  });
}

std::vector<PeerWork> PeerCounter::Worklist(const GroupView& group,
                                            std::span<const int32_t> missing,
                                            std::string_view query) {
  return Gather<store::v1::PeerWorklist>(group, missing, kWorklistTarget, query, token_, timeout_,
                                         *tls_);
}

std::vector<PeerTrendAnswer> PeerCounter::Trend(const GroupView& group,
                                                std::span<const int32_t> missing,
                                                std::string_view query) {
  return Gather<store::v1::PeerTrend>(group, missing, kTrendTarget, query, token_, timeout_,
                                      *tls_);
}

}  // namespace casewatch::http
