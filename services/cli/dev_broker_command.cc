// `casewatch dev-broker`: librdkafka's mock cluster as a standalone local Kafka broker, with the
// project's topics, until SIGINT or SIGTERM. For development and tests; nothing is persisted.
//
// librdkafka 2.0.2's mock brokers listen on ports the kernel picks. To give clients a fixed
// address, a small TCP forwarder listens on --port and relays each connection to the broker.
// Clients bootstrap through it; the metadata they then receive names the broker's own address
// (127.0.0.1:<its port>), which they connect to directly. Both are on 127.0.0.1, so this is for
// clients on this machine only.
#include <fmt/format.h>

// Boost 1.74's Asio uses std::exchange without including <utility> (fails with GCC 12, C++20),
// so <utility> must come before it.
// clang-format off
#include <utility>
#include <boost/asio.hpp>
// clang-format on

#include <array>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "services/cli/commands.h"
#include "services/kafka/mock_cluster.h"

namespace casewatch::cli {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

struct DevBrokerOptions {
  int port = 9092;
  int partitions = 4;
  std::vector<std::string> topics = {"case-events", "case-alerts", "case-events-dlq",
                                     "case-events-derived"};
};

// One client connection relayed to the broker: bytes are copied both ways until either side
// closes, then both sockets are closed. Owned by the shared_ptrs its pending handlers hold; runs
// on the io_context's one thread.
class Relay : public std::enable_shared_from_this<Relay> {
 public:
  Relay(tcp::socket client, const tcp::endpoint& broker)
      : client_(std::move(client)), broker_(client_.get_executor()), target_(broker) {}

  void Start() {
    broker_.async_connect(target_, [self = shared_from_this()](const boost::system::error_code& e) {
      if (e) {
        std::fprintf(stderr, "dev-broker: cannot reach the broker: %s\n", e.message().c_str());
        self->Close();
        return;
      }
      const asio::ip::tcp::no_delay no_delay(true);
      boost::system::error_code ignored;
      self->client_.set_option(no_delay, ignored);
      self->broker_.set_option(no_delay, ignored);
      self->Pump(self->client_, self->broker_, self->upstream_);
      self->Pump(self->broker_, self->client_, self->downstream_);
    });
  }

 private:
  using Buffer = std::array<char, 64 * 1024>;

  void Pump(tcp::socket& from, tcp::socket& to, Buffer& buffer) {
    from.async_read_some(asio::buffer(buffer), [self = shared_from_this(), &from, &to, &buffer](
                                                   const boost::system::error_code& e, size_t n) {
      if (e) {
        self->Close();
        return;
      }
      asio::async_write(
          to, asio::buffer(buffer.data(), n),
          [self, &from, &to, &buffer](const boost::system::error_code& written, size_t) {
            if (written) {
              self->Close();
              return;
            }
            self->Pump(from, to, buffer);
          });
    });
  }

  void Close() {
    boost::system::error_code ignored;
    client_.close(ignored);
    broker_.close(ignored);
  }

  tcp::socket client_;
  tcp::socket broker_;
  tcp::endpoint target_;
  Buffer upstream_{};
  Buffer downstream_{};
};

// Accepts connections on 127.0.0.1:port and relays each to `broker`. Runs on the io_context's
// one thread; stops accepting when destroyed or when the io_context stops.
class Forwarder {
 public:
  Forwarder(asio::io_context& io, const tcp::endpoint& broker) : acceptor_(io), broker_(broker) {}

  [[nodiscard]] Result<void> Listen(int port) {
    const tcp::endpoint local(asio::ip::address_v4::loopback(), static_cast<uint16_t>(port));
    boost::system::error_code e;
    acceptor_.open(local.protocol(), e);
    if (!e) acceptor_.set_option(tcp::acceptor::reuse_address(true), e);
    if (!e) acceptor_.bind(local, e);
    if (!e) acceptor_.listen(asio::socket_base::max_listen_connections, e);
    if (e) return IoError(fmt::format("cannot listen on 127.0.0.1:{}: {}", port, e.message()));
    Accept();
    return Ok();
  }

 private:
  void Accept() {
    acceptor_.async_accept([this](const boost::system::error_code& e, tcp::socket client) {
      if (e == asio::error::operation_aborted) return;
      if (!e) std::make_shared<Relay>(std::move(client), broker_)->Start();
      Accept();
    });
  }

  tcp::acceptor acceptor_;
  tcp::endpoint broker_;
};

// "127.0.0.1:PORT" (the first of a bootstrap list) as an endpoint.
Result<tcp::endpoint> FirstBroker(const std::string& bootstrap) {
  const std::string first = bootstrap.substr(0, bootstrap.find(','));
  const size_t colon = first.rfind(':');
  boost::system::error_code e;
  const auto address = asio::ip::make_address(first.substr(0, colon), e);
  if (colon == std::string::npos || e) {
    return Internal(fmt::format("unexpected mock broker address \"{}\"", bootstrap));
  }
  return tcp::endpoint(address, static_cast<uint16_t>(std::stoi(first.substr(colon + 1))));
}

int RunDevBroker(const DevBrokerOptions& options) {
  Result<kafka::MockCluster> cluster = kafka::MockCluster::Start(1);
  if (!cluster) {
    fmt::print(stderr, "casewatch dev-broker: {}\n", cluster.error().message);
    return 2;
  }
  for (const std::string& topic : options.topics) {
    if (Result<void> created = cluster.value().CreateTopic(topic, options.partitions); !created) {
      fmt::print(stderr, "casewatch dev-broker: {}\n", created.error().message);
      return 2;
    }
  }
  const std::string& own_address = cluster.value().bootstrap_servers();

  asio::io_context io;
  std::unique_ptr<Forwarder> forwarder;
  std::string address = own_address;
  if (options.port != 0) {
    Result<tcp::endpoint> broker = FirstBroker(own_address);
    if (!broker) {
      fmt::print(stderr, "casewatch dev-broker: {}\n", broker.error().message);
      return 2;
    }
    forwarder = std::make_unique<Forwarder>(io, broker.value());
    if (Result<void> listening = forwarder->Listen(options.port); !listening) {
      fmt::print(stderr, "casewatch dev-broker: {}\n", listening.error().message);
      return 2;
    }
    address = fmt::format("127.0.0.1:{}", options.port);
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&io](const boost::system::error_code&, int) { io.stop(); });

  std::string topics;
  for (const std::string& topic : options.topics) {
    topics += (topics.empty() ? "" : ", ") + topic;
  }
  if (options.topics.size() == 1) {
    fmt::print("dev-broker: listening on {} (topic {}, {} partitions)\n", address, topics,
               options.partitions);
  } else {
    fmt::print("dev-broker: listening on {} (topics {}; {} partitions each)\n", address, topics,
               options.partitions);
  }
  std::fflush(stdout);
  if (forwarder) {
    fmt::print(stderr,
               "dev-broker: clients bootstrap through {} and then connect to the broker itself "
               "at {}; both are on this machine only. Ctrl-C stops it.\n",
               address, own_address);
  }
  io.run();
  forwarder.reset();
  fmt::print(stderr, "dev-broker: stopped\n");
  return 0;
}

}  // namespace

void AddDevBrokerCommand(CLI::App& root, int& exit_code) {
  auto options = std::make_shared<DevBrokerOptions>();
  CLI::App* cmd = root.add_subcommand(
      "dev-broker",
      "Run a local Kafka broker for development and tests (librdkafka's mock cluster, in memory: "
      "nothing is kept; each partition holds only its last ~5 MiB) until SIGINT/SIGTERM. Prints "
      "its bootstrap address on stdout. The mock broker listens on a port the kernel picks, so a "
      "TCP forwarder on --port relays clients to it: they bootstrap through 127.0.0.1:PORT and "
      "then connect to the broker's own 127.0.0.1 port, named in the metadata. Local clients "
      "only.");
  cmd->add_option("--port", options->port,
                  "Port on 127.0.0.1 to bootstrap through (default 9092); 0 = no forwarder: print "
                  "the broker's own address")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--partitions", options->partitions, "Partitions per topic (default 4)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--topic", options->topics,
                  "Topic to create; repeat for several (default: case-events, case-alerts, "
                  "case-events-dlq, case-events-derived)");
  cmd->callback([options, &exit_code] { exit_code = RunDevBroker(*options); });
}

}  // namespace casewatch::cli
