#pragma once
// The HTTP server of casewatchd (Boost.Beast on Asio): HTTP/1.1 with keep-alive, optional TLS,
// a few I/O threads for quick answers and a separate pool for those that read the store or
// publish, per-caller rate limits, request size limits, and server-sent event streams fed by the
// live view. Handlers are in api.h.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"
#include "services/http/api.h"
#include "services/http/live_view.h"

namespace casewatch::http {

struct ServerOptions {
  std::string address = "0.0.0.0";
  uint16_t port = 8080;  // 0: any free port (see Server::port)
  int io_threads = 2;
  int worker_threads = 2;       // store scans, re-evaluations, publishing
  std::string tls_certificate;  // PEM chain; with tls_private_key turns TLS on
  std::string tls_private_key;
  size_t max_body_bytes = size_t{16} << 20;
  size_t max_header_bytes = size_t{16} << 10;
  double rate_per_second = 100;  // per caller (token, or address without one); 0: unlimited
  double rate_burst = 200;
  size_t max_stream_clients = 2000;
  // Open connections at most: overall (0: from the process's descriptor limit, leaving room for
  // the store's files) and from one peer address (0: 1024, or a quarter of the overall cap if
  // that is less, so that one peer cannot take every place). A connection beyond either is
  // closed at once.
  size_t max_connections = 0;
  size_t max_connections_per_address = 0;
  std::chrono::seconds idle_timeout{60};
  std::chrono::milliseconds stream_interval{250};  // the most often a stream sends scores
  std::chrono::seconds keepalive{15};
  // How often a stream looks at the engine's freshness (lag, partitions behind or unavailable)
  // and sends it when it has changed.
  std::chrono::milliseconds freshness_interval{1000};
};

class Server {
 public:
  // Binds and starts serving on its own threads. `api` and `view` must outlive the server.
  [[nodiscard]] static Result<std::unique_ptr<Server>> Start(const ServerOptions& options, Api& api,
                                                             LiveView& view);
  ~Server();  // stops: closes every connection, joins the threads

  uint16_t port() const;
  bool tls() const;
  size_t stream_clients() const;
  size_t connections() const;
  size_t max_connections() const;              // the overall cap in force
  size_t max_connections_per_address() const;  // the per-address cap in force

  struct Impl;  // server.cc's; public only so that its connection classes can name it

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace casewatch::http
