#include "services/http/testing/http_client.h"

#include <fmt/format.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <limits>

namespace casewatch::http::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string RequestText(uint16_t port, const std::string& method, const std::string& target,
                        const std::vector<std::pair<std::string, std::string>>& headers,
                        const std::string& body, bool close) {
  std::string text = fmt::format("{} {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n", method, target, port);
  for (const auto& [name, value] : headers) text += fmt::format("{}: {}\r\n", name, value);
  if (!body.empty() || method == "POST") {
    text += fmt::format("Content-Length: {}\r\n", body.size());
  }
  if (close) text += "Connection: close\r\n";
  text += "\r\n";
  text += body;
  return text;
}

}  // namespace

Certificate MakeCertificate(const std::string& dir, const std::string& name) {
  Certificate made{fmt::format("{}/{}.pem", dir, name), fmt::format("{}/{}-key.pem", dir, name),
                   ""};
  const std::string log = fmt::format("{}/{}-openssl.log", dir, name);
  const std::string command = fmt::format(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
      "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout '{}' -out '{}' > '{}' "
      "2>&1",
      made.key, made.cert, log);
  if (std::system(command.c_str()) != 0) {
    made.error = fmt::format("{} failed (the openssl command-line tool makes the test's "
                             "certificates; scripts/setup.sh installs it); see {}",
                             command, log);
  }
  return made;
}

std::string HttpReply::Header(std::string_view name) const {
  const auto found = headers.find(Lower(name));
  return found == headers.end() ? std::string() : found->second;
}

HttpReply Fetch(uint16_t port, const HttpCall& call, bool tls, std::chrono::seconds timeout) {
  asio::io_context io;
  HttpReply reply;
  // The request is written as raw bytes so that tests can send what Beast would refuse to.
  const std::string request = RequestText(port, call.method, call.target, call.headers, call.body,
                                          /*close=*/true);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(std::numeric_limits<uint64_t>::max());
  if (call.method == "HEAD") parser.skip(true);
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  const auto fail = [&](std::string_view what, const beast::error_code& ec) {
    if (reply.error.empty()) reply.error = fmt::format("{}: {}", what, ec.message());
  };
  const auto read = [&](auto& stream) {
    bhttp::async_read(stream, buffer, parser, [&](beast::error_code ec, size_t) {
      if (ec) return fail("read", ec);
      const auto& message = parser.get();
      reply.status = static_cast<int>(message.result_int());
      for (const auto& field : message) {
        const auto name = field.name_string();
        reply.headers[Lower(std::string_view(name.data(), name.size()))] =
            std::string(field.value());
      }
      reply.body = message.body();
      reply.error.clear();  // an answer after a failed write (e.g. 413) still counts
    });
  };
  const auto write_then_read = [&](auto& stream) {
    asio::async_write(stream, asio::buffer(request), [&](beast::error_code ec, size_t) {
      if (ec) fail("write", ec);  // the server may have answered without reading it all
      read(stream);
    });
  };
  if (tls) {
    asio::ssl::context context(asio::ssl::context::tls_client);
    context.set_verify_mode(asio::ssl::verify_none);
    beast::ssl_stream<beast::tcp_stream> stream(io, context);
    beast::get_lowest_layer(stream).expires_after(timeout);
    beast::get_lowest_layer(stream).async_connect(endpoint, [&](beast::error_code ec) {
      if (ec) return fail("connect", ec);
      stream.async_handshake(asio::ssl::stream_base::client, [&](beast::error_code handshake) {
        if (handshake) return fail("TLS handshake", handshake);
        write_then_read(stream);
      });
    });
    io.run();
  } else {
    beast::tcp_stream stream(io);
    stream.expires_after(timeout);
    stream.async_connect(endpoint, [&](beast::error_code ec) {
      if (ec) return fail("connect", ec);
      write_then_read(stream);
    });
    io.run();
  }
  if (reply.status == 0 && reply.error.empty()) reply.error = "no answer";
  return reply;
}

EventStreamReader::EventStreamReader(uint16_t port, std::string target,
                                     std::vector<std::pair<std::string, std::string>> headers) {
  const std::string request = RequestText(port, "GET", target, headers, "", /*close=*/false);
  thread_ = std::thread([this, port, request] { Run(port, request); });
}

EventStreamReader::~EventStreamReader() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    if (socket_fd_ >= 0) ::shutdown(socket_fd_, SHUT_RDWR);  // unblocks the reading thread
  }
  thread_.join();
}

void EventStreamReader::Run(uint16_t port, const std::string& request) {
  asio::io_context io;
  tcp::socket socket(io);
  beast::error_code ec;
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  {
    std::lock_guard lock(mutex_);
    if (!ec && !stopping_) socket_fd_ = socket.native_handle();
    if (ec || stopping_) {
      closed_ = true;
      changed_.notify_all();
      return;
    }
  }
  asio::write(socket, asio::buffer(request), ec);
  std::array<char, 16384> chunk;
  while (!ec) {
    const size_t n = socket.read_some(asio::buffer(chunk), ec);
    std::lock_guard lock(mutex_);
    raw_.append(chunk.data(), n);
    changed_.notify_all();
  }
  std::lock_guard lock(mutex_);
  closed_ = true;
  socket_fd_ = -1;
  changed_.notify_all();
}

std::vector<EventStreamReader::Event> EventStreamReader::ParseLocked() const {
  std::vector<Event> events;
  const size_t body = raw_.find("\r\n\r\n");
  if (body == std::string::npos) return events;
  size_t at = body + 4;
  while (true) {
    const size_t end = raw_.find("\n\n", at);
    if (end == std::string::npos) break;
    Event event{"message", ""};
    bool has_data = false;
    std::string_view block(raw_.data() + at, end - at);
    while (!block.empty()) {
      const size_t newline = block.find('\n');
      std::string_view line = block.substr(0, newline);
      block = newline == std::string_view::npos ? std::string_view() : block.substr(newline + 1);
      if (line.starts_with("event: ")) {
        event.type = std::string(line.substr(7));
      } else if (line.starts_with("data: ")) {
        if (has_data) event.data += '\n';
        event.data += line.substr(6);
        has_data = true;
      }
    }
    if (has_data) events.push_back(std::move(event));
    at = end + 2;
  }
  return events;
}

bool EventStreamReader::WaitFor(const std::function<bool(const std::vector<Event>&)>& done,
                                std::chrono::seconds timeout) {
  std::unique_lock lock(mutex_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (done(ParseLocked())) return true;
    if (closed_) return false;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
      return done(ParseLocked());
    }
  }
}

std::string EventStreamReader::head() const {
  std::lock_guard lock(mutex_);
  const size_t end = raw_.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : raw_.substr(0, end + 2);
}

std::vector<EventStreamReader::Event> EventStreamReader::events() const {
  std::lock_guard lock(mutex_);
  return ParseLocked();
}

bool EventStreamReader::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

namespace {

int ConnectFrom(uint16_t port, const std::string& source) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in from{};
  from.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &from.sin_addr);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

std::string RawExchange(uint16_t port, std::string_view bytes, std::chrono::milliseconds quiet,
                        const std::string& source) {
  const int fd = ConnectFrom(port, source);
  if (fd < 0) return {};
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string received;
  char chunk[16384];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(quiet.count())) <= 0) break;
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    received.append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  return received;
}

int OpenIdleConnection(uint16_t port, const std::string& source) { return ConnectFrom(port, source); }

bool ClosedByPeer(int fd) {
  char byte;
  const ssize_t n = ::recv(fd, &byte, 1, MSG_DONTWAIT | MSG_PEEK);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

std::string UrlEncode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace casewatch::http::testing
