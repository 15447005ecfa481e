#include "services/http/server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <sys/resource.h>

#include <deque>
#include <list>
#include <map>
#include <thread>
#include <unordered_map>

#include "base/log_throttle.h"
#include "base/mutex.h"
#include "projections/report_json.h"
#include "services/records/alert_json.h"
#include "services/records/case_projection.h"
#include "services/http/framing.h"
#include "services/http/params.h"

namespace casewatch::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// Token buckets per caller (Api::CallerKey: a recognised token's holder, else the address).
class RateLimiter {
 public:
  RateLimiter(double rate, double burst) : rate_(rate), burst_(std::max(burst, 1.0)) {}

  // Whether a request may go ahead now; otherwise the seconds until one may.
  std::optional<double> Take(const std::string& caller) {
    if (rate_ <= 0) return std::nullopt;
    const auto now = Clock::now();
    MutexLock lock(mutex_);
    if (buckets_.size() > 100000) buckets_.clear();  // bounded: forgetting only forgives
    auto [it, added] = buckets_.try_emplace(caller, Bucket{burst_, now});
    Bucket& b = it->second;
    if (!added) {
      b.tokens =
          std::min(burst_, b.tokens + std::chrono::duration<double>(now - b.at).count() * rate_);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return std::nullopt;
    }
    return (1 - b.tokens) / rate_;
  }

 private:
  struct Bucket {
    double tokens;
    Clock::time_point at;
  };
  const double rate_;
  const double burst_;
  Mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_ CW_GUARDED_BY(mutex_);
};

// A client of GET /api/v1/stream: gets the scope's report when it changes and the alerts in its
// scope. Lives on its connection's strand.
class StreamClient {
 public:
  virtual ~StreamClient() = default;
  virtual void Update(
      std::shared_ptr<const Snapshot> snapshot,
      std::shared_ptr<const std::vector<alerts::v1::ObligationMissedAlert>> alerts) = 0;
  virtual void Close() = 0;
  virtual const Scope& scope() const = 0;  // set before it is added to the streams
};


// Open connections, overall and by peer address, against their caps. Declared in Impl before
// the io_context, so that it outlives the sessions the io_context destroys.
class ConnectionCounter {
 public:
  ConnectionCounter(size_t max_total, size_t max_per_address)
      : max_total_(max_total), max_per_address_(max_per_address) {}

  // Takes a place for a connection from `address`; false (and counted as refused) when a cap is
  // reached.
  bool Take(const std::string& address) {
    MutexLock lock(mutex_);
    size_t& mine = by_address_[address];
    if (total_ >= max_total_ || mine >= max_per_address_) {
      if (mine == 0) by_address_.erase(address);
      ++refused_;
      return false;
    }
    ++mine;
    ++total_;
    return true;
  }

  void Release(const std::string& address) {
    MutexLock lock(mutex_);
    const auto found = by_address_.find(address);
    if (found == by_address_.end()) return;
    if (--found->second == 0) by_address_.erase(found);
    --total_;
  }

  size_t total() const {
    MutexLock lock(mutex_);
    return total_;
  }
  uint64_t refused() const {
    MutexLock lock(mutex_);
    return refused_;
  }
  size_t max_total() const { return max_total_; }
  size_t max_per_address() const { return max_per_address_; }

 private:
  const size_t max_total_;
  const size_t max_per_address_;
  mutable Mutex mutex_;
  size_t total_ CW_GUARDED_BY(mutex_) = 0;
  uint64_t refused_ CW_GUARDED_BY(mutex_) = 0;
  std::unordered_map<std::string, size_t> by_address_ CW_GUARDED_BY(mutex_);
};

// The overall cap: as configured, else three quarters of what the descriptor limit leaves after a
// reserve for the store's files, the Kafka clients and the audit log.
size_t ConnectionCap(size_t configured) {
  if (configured > 0) return configured;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 10000;
  constexpr size_t kReserve = 512;
  const size_t usable = limit.rlim_cur > kReserve * 2 ? limit.rlim_cur - kReserve : limit.rlim_cur / 2;
  return std::max<size_t>(16, std::min<size_t>(usable * 3 / 4, 100000));
}

}  // namespace

struct Server::Impl {
  ServerOptions options;
  Api& api;
  LiveView& view;
  ConnectionCounter connections;
  LogThrottle log_throttle;
  std::atomic<uint64_t> accept_errors{0};
  std::chrono::milliseconds accept_backoff{0};
  asio::io_context io;
  std::optional<asio::ssl::context> tls;
  // The acceptor, its back-off timer and their handlers run on one strand: accepting, backing
  // off and closing at shutdown never run on two I/O threads at once.
  asio::strand<asio::io_context::executor_type> accept_strand{asio::make_strand(io)};
  tcp::acceptor acceptor{accept_strand};
  asio::thread_pool workers;
  // Streams whose reports add other engines' counts (Api::MergesStreams) are updated here, in
  // order, off the I/O threads.
  asio::strand<asio::thread_pool::executor_type> stream_merges{asio::make_strand(workers)};
  std::vector<std::thread> threads;
  RateLimiter limiter;
  std::atomic<bool> stopping{false};

  // Stream clients, and what is waiting to be sent to them: written by the engine's thread
  // (OnCommit) and the I/O threads (Flush, AddStream).
  Mutex streams_mutex;
  std::list<std::weak_ptr<StreamClient>> streams CW_GUARDED_BY(streams_mutex);
  std::atomic<size_t> stream_count{0};
  std::shared_ptr<const Snapshot> pending_snapshot CW_GUARDED_BY(streams_mutex);
  std::vector<alerts::v1::ObligationMissedAlert> pending_alerts CW_GUARDED_BY(streams_mutex);
  bool flush_scheduled CW_GUARDED_BY(streams_mutex) = false;
  Clock::time_point last_flush CW_GUARDED_BY(streams_mutex);  // when streams last got a change
  asio::steady_timer flush_timer{io};
  asio::steady_timer accept_timer{accept_strand};

  Impl(const ServerOptions& o, Api& a, LiveView& v)
      : options(o),
        api(a),
        view(v),
        connections(ConnectionCap(o.max_connections),
                    o.max_connections_per_address > 0
                        ? o.max_connections_per_address
                        : std::clamp<size_t>(ConnectionCap(o.max_connections) / 4, 1, 1024)),
        workers(static_cast<size_t>(std::max(1, o.worker_threads))),
        limiter(o.rate_per_second, o.rate_burst) {}

  void Accept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  void OnCommit(std::shared_ptr<const Snapshot> snapshot,
                std::span<const alerts::v1::ObligationMissedAlert> alerts);
  void Flush();
  bool AddStream(std::weak_ptr<StreamClient> client) {
    MutexLock lock(streams_mutex);
    if (stream_count.load() >= options.max_stream_clients) return false;
    streams.push_back(std::move(client));
    ++stream_count;
    return true;
  }
  void RemoveStream() { --stream_count; }
};

namespace {

template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>>, public StreamClient {
 public:
  Session(Server::Impl& server, Stream stream, std::string remote)
      : server_(server), stream_(std::move(stream)), remote_(std::move(remote)) {}

  ~Session() override {
    if (streaming_) server_.RemoveStream();
    server_.connections.Release(remote_);
  }

  void Start() {
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(10));
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return;  // not TLS, or gave up: nothing to answer
                                self->Read();
                              });
    } else {
      Read();
    }
  }

  void Update(
      std::shared_ptr<const Snapshot> snapshot,
      std::shared_ptr<const std::vector<alerts::v1::ObligationMissedAlert>> alerts) override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this(), snapshot, alerts] {
      self->SendUpdate(snapshot, alerts.get());
    });
  }

  const Scope& scope() const override { return scope_; }

  void Close() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      beast::error_code ignored;
      beast::get_lowest_layer(self->stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
      beast::get_lowest_layer(self->stream_).close();
    });
  }

 private:
  // A request: first its header block as raw bytes (checked for folded lines, which the parser
  // would silently unfold), then the parser reads it again from the buffer, with the body.
  void Read() {
    beast::get_lowest_layer(stream_).expires_after(server_.options.idle_timeout);
    ReadHead();
  }

  void ReadHead() {
    const std::string_view buffered(static_cast<const char*>(buffer_.data().data()),
                                     buffer_.size());
    const size_t end = buffered.find("\r\n\r\n");
    if (end != std::string_view::npos) {
      if (auto refused = CheckHeaderBlock(buffered.substr(0, end + 4))) {
        return Reject(Problem::kBadRequest, *refused);
      }
      return ReadMessage();
    }
    if (buffered.size() > server_.options.max_header_bytes) {
      return Reject(Problem::kHeadersTooLarge, "the request headers are too large");
    }
    stream_.async_read_some(
        buffer_.prepare(4096), [self = this->shared_from_this()](beast::error_code ec, size_t n) {
          self->buffer_.commit(n);
          if (ec) return self->OnRead(ec);
          self->ReadHead();
        });
  }

  void ReadMessage() {
    parser_.emplace();
    parser_->body_limit(server_.options.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(server_.options.max_header_bytes));
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::ssl::error::stream_truncated || ec == asio::error::eof) {
      return Shutdown();
    }
    if (ec == bhttp::error::body_limit) {
      return Reject(
          Problem::kTooLarge,
          fmt::format("the request body is larger than {} bytes", server_.options.max_body_bytes));
    }
    if (ec == bhttp::error::header_limit) {
      return Reject(Problem::kHeadersTooLarge, "the request headers are too large");
    }
    if (ec) return Reject(Problem::kBadRequest, "malformed HTTP request");

    bhttp::request<bhttp::string_body> message = parser_->release();
    RequestFraming framing;
    framing.version = message.version();
    for (const auto& field : message) {
      if (field.name() == bhttp::field::transfer_encoding) {
        framing.transfer_encodings.emplace_back(field.value());
      } else if (field.name() == bhttp::field::content_length) {
        ++framing.content_lengths;
      } else if (field.name() == bhttp::field::host) {
        ++framing.hosts;
      }
    }
    version_ = message.version();
    if (auto refused = CheckFraming(framing)) return Reject(Problem::kBadRequest, *refused);
    HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    request.authorization = std::string(message[bhttp::field::authorization]);
    request.if_none_match = std::string(message[bhttp::field::if_none_match]);
    request.body = std::move(message.body());
    request.remote = remote_;
    keep_alive_ = message.keep_alive();
    head_ = message.method() == bhttp::verb::head;

    server_.api.Authenticate(request);
    if (auto wait = server_.api.Unlimited(request) ? std::nullopt
                                                    : server_.limiter.Take(Api::CallerKey(request))) {
      server_.api.CountRejected(429);
      HttpResponse limited = ErrorResponse(Problem::kRateLimited, "too many requests; slow down");
      limited.headers.emplace_back("Retry-After",
                                   std::to_string(static_cast<int>(std::ceil(*wait))));
      return Send(std::move(limited));
    }
    if (server_.api.Blocking(request)) {
      asio::post(server_.workers, [self = this->shared_from_this(), request = std::move(request)] {
        HttpResponse response = self->server_.api.Handle(request);
        asio::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
          self->Send(std::move(response));
        });
      });
      return;
    }
    HttpResponse response = server_.api.Handle(request);
    if (response.event_stream && response.status == 200) return BeginStream(response.stream_scope);
    Send(std::move(response));
  }

  void Reject(Problem problem, std::string message) {
    server_.api.CountRejected(StatusOf(problem));
    keep_alive_ = false;  // the rest of the stream cannot be trusted
    Send(ErrorResponse(problem, message));
  }

  void Send(HttpResponse response) {
    auto out = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(response.status), version_ ? version_ : 11);
    out->set(bhttp::field::server, "casewatchd");
    if (!response.content_type.empty()) {
      out->set(bhttp::field::content_type, response.content_type);
    }
    out->set("X-Content-Type-Options", "nosniff");
    if (response.content_type.starts_with("text/html")) {
      out->set("Content-Security-Policy",
               "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
               "frame-ancestors 'none'");
      out->set("Referrer-Policy", "no-referrer");
    }
    for (auto& [name, value] : response.headers) out->set(name, value);
    out->keep_alive(keep_alive_);
    const size_t length = response.body.size();
    if (!head_) out->body() = std::move(response.body);
    if (response.status != 304) out->content_length(length);  // 304: none, and no body
    bhttp::async_write(stream_, *out,
                       [self = this->shared_from_this(), out](beast::error_code ec, size_t) {
                         if (ec || !self->keep_alive_) return self->Shutdown();
                         self->Read();
                       });
  }

  void Shutdown() {
    beast::error_code ignored;
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
    } else {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
  }

  // --- GET /api/v1/stream ---

  void BeginStream(const Scope& scope) {
    scope_ = scope;
    if (!server_.AddStream(this->weak_from_this())) {
      server_.api.CountRejected(503);
      keep_alive_ = false;
      return Send(
          ErrorResponse(Problem::kTooManyStreams, "too many open event streams; retry later"));
    }
    streaming_ = true;
    beast::get_lowest_layer(stream_).expires_never();
    Queue(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        "X-Accel-Buffering: no\r\nConnection: keep-alive\r\nServer: casewatchd\r\n\r\n"
        "retry: 2000\n\n");
    if (server_.api.MergesStreams()) {  // the other engines' counts added, off this thread
      asio::post(server_.stream_merges, [self = this->shared_from_this()] {
        auto merged = self->server_.api.StreamSnapshot(self->scope_);
        if (merged->missing.empty()) self->Update(std::move(merged), nullptr);
      });
    } else {
      SendUpdate(server_.view.snapshot(), nullptr);
    }
    keepalive_.emplace(stream_.get_executor());
    Keepalive();
    freshness_timer_.emplace(stream_.get_executor());
    SendFreshness();
    // Reads only to notice the client leaving.
    beast::get_lowest_layer(stream_).async_read_some(
        asio::buffer(discard_), [self = this->shared_from_this()](beast::error_code ec, size_t) {
          if (ec) self->EndStream();
        });
  }

  void Keepalive() {
    keepalive_->expires_after(server_.options.keepalive);
    keepalive_->async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec || self->closed_) return;
      self->Queue(": keepalive\n\n");
      self->Keepalive();
    });
  }

  // The engine's freshness (FreshnessJson) when it has changed since the last sent, looked at
  // every freshness_interval: a dashboard says when its figures are behind or cut off from a
  // partition, and when they are current again, with or without new commits.
  void SendFreshness() {
    if (closed_) return;
    std::string freshness = FreshnessJson(server_.view.status());
    if (freshness != last_freshness_) {
      Queue("event: freshness\ndata: " + freshness + "\n\n");
      last_freshness_ = std::move(freshness);
    }
    freshness_timer_->expires_after(server_.options.freshness_interval);
    freshness_timer_->async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (!ec) self->SendFreshness();
    });
  }

  void SendUpdate(const std::shared_ptr<const Snapshot>& snapshot,
                  const std::vector<alerts::v1::ObligationMissedAlert>* alerts) {
    if (closed_ || !streaming_) return;
    // One chunk per update: the outbox bound counts updates a client is behind, not the alerts
    // of one write (a deadline sweep can raise thousands at once).
    std::string chunk;
    // Tasks a moment apart (one has moved to the next instant): all of them as they stood at the
    // earliest's, when kept; otherwise no report until they are at one instant again.
    std::shared_ptr<const Snapshot> whole = snapshot;
    if (whole && whole->as_of && !whole->one_instant) {
      whole = server_.view.SnapshotAt(*whole->as_of);
    }
    if (whole && whole->as_of) {
      auto report = whole->Report(server_.view.policy(), server_.view.min_cases(), scope_);
      if (!last_report_ || *last_report_ != *report) {
        last_report_ = report;
        chunk += "event: report\ndata: " + *report + "\n\n";
      }
    }
    if (alerts != nullptr) {
      for (const auto& alert : *alerts) {
        if (!scope_.Matches(records::AllocationOf(alert))) continue;
        chunk += "event: alert\ndata: " + records::AlertJson(alert) + "\n\n";
      }
    }
    if (!chunk.empty()) Queue(std::move(chunk));
  }

  void Queue(std::string chunk) {
    if (closed_) return;
    if (outbox_.size() > 256) return EndStream();  // a client this far behind is gone
    outbox_.push_back(std::move(chunk));
    if (outbox_.size() == 1) WriteNext();
  }

  void WriteNext() {
    asio::async_write(stream_, asio::buffer(outbox_.front()),
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return self->EndStream();
                        self->outbox_.pop_front();
                        if (!self->outbox_.empty()) self->WriteNext();
                      });
  }

  void EndStream() {
    if (closed_) return;
    closed_ = true;
    if (keepalive_) keepalive_->cancel();
    if (freshness_timer_) freshness_timer_->cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream_).close();
  }

  Server::Impl& server_;
  Stream stream_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bool keep_alive_ = false;
  bool head_ = false;
  unsigned version_ = 11;

  bool streaming_ = false;
  bool closed_ = false;
  Scope scope_;
  std::shared_ptr<const std::string> last_report_;
  std::deque<std::string> outbox_;
  std::optional<asio::steady_timer> keepalive_;
  std::optional<asio::steady_timer> freshness_timer_;
  std::string last_freshness_;
  std::array<char, 256> discard_{};
};

}  // namespace

void Server::Impl::Accept() {
  acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
    OnAccept(ec, std::move(socket));
  });
}

void Server::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (stopping) return;
  uint64_t held_back = 0;
  if (ec) {
    // Out of descriptors (or buffers): accepting again at once would fail again at once, in a
    // loop. Pause, longer each time it fails in a row, up to a second.
    accept_errors.fetch_add(1, std::memory_order_relaxed);
    accept_backoff = std::clamp(accept_backoff * 2, std::chrono::milliseconds(10),
                                std::chrono::milliseconds(1000));
    if (log_throttle.Allow("accept", held_back)) {
      spdlog::warn("http: accept failed: {}; pausing {} ms before the next{}", ec.message(),
                   accept_backoff.count(), HeldBackNote(held_back));
    }
    accept_timer.expires_after(accept_backoff);
    accept_timer.async_wait([this](beast::error_code wait_error) {
      if (!wait_error && !stopping) Accept();
    });
    return;
  }
  accept_backoff = std::chrono::milliseconds(0);
  beast::error_code ignored;
  const std::string remote = socket.remote_endpoint(ignored).address().to_string();
  if (!connections.Take(remote)) {
    if (log_throttle.Allow("cap", held_back)) {
      spdlog::warn("http: a connection from {} closed at once: {} connections are open (at most {}, "
                   "and at most {} from one address){}",
                   remote, connections.total(), connections.max_total(),
                   connections.max_per_address(), HeldBackNote(held_back));
    }
    socket.close(ignored);
    return Accept();
  }
  socket.set_option(tcp::no_delay(true), ignored);
  if (tls) {
    std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
        *this, beast::ssl_stream<beast::tcp_stream>(std::move(socket), *tls), remote)
        ->Start();
  } else {
    std::make_shared<Session<beast::tcp_stream>>(*this, beast::tcp_stream(std::move(socket)), remote)
        ->Start();
  }
  Accept();
}

// Engine thread: remember the newest snapshot and alerts; the I/O threads send them at most
// every stream_interval.
void Server::Impl::OnCommit(std::shared_ptr<const Snapshot> snapshot,
                            std::span<const alerts::v1::ObligationMissedAlert> alerts) {
  MutexLock lock(streams_mutex);
  if (streams.empty()) return;
  pending_snapshot = std::move(snapshot);
  pending_alerts.insert(pending_alerts.end(), alerts.begin(), alerts.end());
  if (flush_scheduled) return;
  flush_scheduled = true;
  // After a quiet spell the change goes out at once; writes within stream_interval of the last
  // sending are merged into the next.
  const auto now = Clock::now();
  const auto wait = last_flush + options.stream_interval > now
                        ? std::chrono::duration_cast<std::chrono::milliseconds>(
                              last_flush + options.stream_interval - now)
                        : std::chrono::milliseconds(0);
  asio::post(io, [this, wait] {
    flush_timer.expires_after(wait);
    flush_timer.async_wait([this](beast::error_code ec) {
      if (!ec) Flush();
    });
  });
}

void Server::Impl::Flush() {
  std::vector<std::shared_ptr<StreamClient>> clients;
  std::shared_ptr<const Snapshot> snapshot;
  auto alerts = std::make_shared<std::vector<alerts::v1::ObligationMissedAlert>>();
  {
    MutexLock lock(streams_mutex);
    flush_scheduled = false;
    last_flush = Clock::now();
    snapshot = std::move(pending_snapshot);
    alerts->swap(pending_alerts);
    for (auto it = streams.begin(); it != streams.end();) {
      if (auto client = it->lock()) {
        clients.push_back(std::move(client));
        ++it;
      } else {
        it = streams.erase(it);
      }
    }
  }
  if (api.MergesStreams()) {
    // Each scope's counts with the other engines' added, once per scope, in order. A report
    // still lacking some partitions is not sent (the client keeps the last whole one; the
    // freshness events say what is missing), only the alerts.
    asio::post(stream_merges, [this, clients = std::move(clients), alerts] {
      std::map<std::string, std::shared_ptr<const Snapshot>> by_scope;
      for (const auto& client : clients) {
        const std::string key = ScopeQuery(client->scope(), reports::GroupBy::kNone);
        auto found = by_scope.find(key);
        if (found == by_scope.end()) {
          auto merged = api.StreamSnapshot(client->scope());
          found = by_scope.emplace(key, merged->missing.empty() ? merged : nullptr).first;
        }
        client->Update(found->second, alerts);
      }
    });
    return;
  }
  for (const auto& client : clients) client->Update(snapshot, alerts);
}

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options, Api& api,
                                              LiveView& view) {
  auto impl = std::make_unique<Impl>(options, api, view);
  if (options.tls_certificate.empty() != options.tls_private_key.empty()) {
    return InvalidArgument("TLS needs both --tls-cert and --tls-key");
  }
  if (!options.tls_certificate.empty()) {
    impl->tls.emplace(asio::ssl::context::tls_server);
    boost::system::error_code ec;
    impl->tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                           asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                           asio::ssl::context::no_tlsv1_1);
    impl->tls->use_certificate_chain_file(options.tls_certificate, ec);
    if (ec) {
      return InvalidArgument(
          fmt::format("--tls-cert {}: {}", options.tls_certificate, ec.message()));
    }
    impl->tls->use_private_key_file(options.tls_private_key, asio::ssl::context::pem, ec);
    if (ec) {
      return InvalidArgument(
          fmt::format("--tls-key {}: {}", options.tls_private_key, ec.message()));
    }
  }
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(options.address, ec);
  if (ec)
    return InvalidArgument(fmt::format("http address \"{}\": {}", options.address, ec.message()));
  const tcp::endpoint endpoint(address, options.port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Unavailable(fmt::format("http: cannot listen on {}:{}: {}", options.address,
                                   options.port, ec.message()));
  }
  Impl* raw = impl.get();
  view.SetListener([raw](std::shared_ptr<const Snapshot> snapshot,
                         std::span<const alerts::v1::ObligationMissedAlert> alerts) {
    raw->OnCommit(std::move(snapshot), alerts);
  });
  api.set_server_stats([raw] {
    ServerStats stats;
    stats.stream_clients = raw->stream_count.load();
    stats.connections = raw->connections.total();
    stats.max_connections = raw->connections.max_total();
    stats.connections_refused = raw->connections.refused();
    stats.accept_errors = raw->accept_errors.load();
    return stats;
  });
  raw->Accept();
  for (int i = 0; i < std::max(1, options.io_threads); ++i) {
    raw->threads.emplace_back([raw] { raw->io.run(); });
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  impl_->stopping = true;
  impl_->view.SetListener({});
  asio::post(impl_->accept_strand, [impl = impl_.get()] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
    impl->accept_timer.cancel();
    MutexLock lock(impl->streams_mutex);
    for (auto& weak : impl->streams) {
      if (auto client = weak.lock()) client->Close();
    }
  });
  impl_->workers.join();
  impl_->io.stop();
  for (std::thread& t : impl_->threads) t.join();
  impl_->api.set_server_stats({});
}

uint16_t Server::port() const { return impl_->acceptor.local_endpoint().port(); }
bool Server::tls() const { return impl_->tls.has_value(); }
size_t Server::stream_clients() const { return impl_->stream_count.load(); }
size_t Server::connections() const { return impl_->connections.total(); }
size_t Server::max_connections() const { return impl_->connections.max_total(); }
size_t Server::max_connections_per_address() const {
  return impl_->connections.max_per_address();
}

}  // namespace casewatch::http
