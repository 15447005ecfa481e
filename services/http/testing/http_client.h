#pragma once
// Tests only: a blocking HTTP/1.1 client over a real socket to 127.0.0.1 (Boost.Beast), plain or
// TLS without certificate verification, and a reader of a server-sent event stream that reads on
// its own thread. Every call has a generous timeout and never throws: a request that got no HTTP
// answer has status 0 and says why in `error`.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace casewatch::http::testing {

struct HttpCall {
  std::string method = "GET";
  std::string target;                                        // path and query
  std::vector<std::pair<std::string, std::string>> headers;  // sent as given
  std::string body;
};

struct HttpReply {
  int status = 0;                              // 0: no HTTP answer (see error)
  std::string error;                           // why there was no answer
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  // The header's value, or "" when absent; `name` in any case.
  std::string Header(std::string_view name) const;
};

// A self-signed certificate for 127.0.0.1 (its subject and its address), made in `dir` by the
// openssl command-line tool (scripts/setup.sh installs it): the PEM files, or why there are none.
struct Certificate {
  std::string cert;   // its path
  std::string key;    // its private key's path
  std::string error;  // "" when made
};
Certificate MakeCertificate(const std::string& dir, const std::string& name);

// One request on a new connection to 127.0.0.1:`port`, which is closed afterwards.
HttpReply Fetch(uint16_t port, const HttpCall& call, bool tls = false,
                std::chrono::seconds timeout = std::chrono::seconds(30));

// GET `target` on a new plain connection, read in the background until destruction.
class EventStreamReader {
 public:
  struct Event {
    std::string type;  // "message" when the block names none
    std::string data;  // the data lines joined by '\n'
  };

  EventStreamReader(uint16_t port, std::string target,
                    std::vector<std::pair<std::string, std::string>> headers);
  ~EventStreamReader();
  EventStreamReader(const EventStreamReader&) = delete;
  EventStreamReader& operator=(const EventStreamReader&) = delete;

  // Waits until `done(every complete event so far)` holds; false after `timeout` or when the
  // connection ended without it holding.
  bool WaitFor(const std::function<bool(const std::vector<Event>&)>& done,
               std::chrono::seconds timeout = std::chrono::seconds(30));
  // The status line and headers, once received ("" before).
  std::string head() const;
  std::vector<Event> events() const;
  bool closed() const;

 private:
  void Run(uint16_t port, const std::string& request);
  std::vector<Event> ParseLocked() const;

  mutable std::mutex mutex_;  // guards raw_, closed_, socket_fd_
  std::condition_variable changed_;
  std::string raw_;
  bool closed_ = false;
  int socket_fd_ = -1;
  bool stopping_ = false;
  std::thread thread_;
};

// Tests of the transport itself (limits, framing, floods), on plain sockets. `source` is the
// loopback address the connection comes from (127.0.0.2 is another peer than 127.0.0.1).

// Sends `bytes` as they are on a new connection to 127.0.0.1:`port` and returns everything
// received until the server closes the connection or `quiet` passes without a byte.
std::string RawExchange(uint16_t port, std::string_view bytes,
                        std::chrono::milliseconds quiet = std::chrono::milliseconds(2000),
                        const std::string& source = "127.0.0.1");

// A connection to 127.0.0.1:`port` that sends nothing: its descriptor (the caller closes it), or
// -1 when the connection could not be made.
int OpenIdleConnection(uint16_t port, const std::string& source = "127.0.0.1");

// Whether the server has closed the connection `fd` (reads without blocking).
bool ClosedByPeer(int fd);

// `text` percent-encoded for a query value.
std::string UrlEncode(std::string_view text);

}  // namespace casewatch::http::testing
