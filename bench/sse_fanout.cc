// sse_fanout: how long casewatchd takes to bring a new report to many open event streams (issue 4).
// Not a test: it prints.
//   sse_fanout --port P --clients 500 [--pid PID] ROUND.ndjson...
// Opens N connections to GET /api/v1/stream (national scope; no auth, so casewatchd runs with
// --no-auth), waits until every one has its first `event: report`, then for each file: POSTs it
// to /api/v1/events (events of new cases, so the national report changes), polls /metrics until
// the engine has durably applied them (the commit), and times until every stream has its next
// `event: report`. With --pid it also reads casewatchd's RSS and CPU time from /proc.
// The streams run on one Asio thread; the POST and the /metrics polls on the main thread.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace casewatch::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// When each stream received each `event: report`. Written by the streams' thread, read by the
// main thread; `mutex` guards both vectors.
struct Arrivals {
  std::mutex mutex;
  std::vector<std::vector<Clock::time_point>> reports;  // per client
  std::vector<std::string> errors;                      // per client; empty while healthy

  explicit Arrivals(size_t clients) : reports(clients), errors(clients) {}

  // Each client's report count so far.
  std::vector<size_t> Counts() {
    std::lock_guard lock(mutex);
    std::vector<size_t> counts;
    for (const auto& r : reports) counts.push_back(r.size());
    return counts;
  }

  // How many clients have a report after their first `seen[i]`, and when the first and the last
  // of them got it.
  struct Progress {
    size_t done = 0;
    size_t failed = 0;
    Clock::time_point first = Clock::time_point::max();
    Clock::time_point last = Clock::time_point::min();
  };
  Progress Reached(const std::vector<size_t>& seen) {
    std::lock_guard lock(mutex);
    Progress p;
    for (size_t i = 0; i < reports.size(); ++i) {
      if (!errors[i].empty()) ++p.failed;
      if (reports[i].size() <= seen[i]) continue;
      ++p.done;
      p.first = std::min(p.first, reports[i][seen[i]]);
      p.last = std::max(p.last, reports[i][seen[i]]);
    }
    return p;
  }
};

// One GET /api/v1/stream connection; counts `event: report` lines. Runs on the streams' thread.
class StreamClient : public std::enable_shared_from_this<StreamClient> {
 public:
  StreamClient(asio::io_context& io, tcp::endpoint server, size_t index, Arrivals& arrivals)
      : socket_(io), server_(server), index_(index), arrivals_(arrivals) {}

  void Start() {
    socket_.async_connect(server_, [self = shared_from_this()](beast::error_code connected) {
      if (connected) return self->Fail("connect: " + connected.message());
      self->request_ = fmt::format(
          "GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAccept: text/event-stream\r\n\r\n",
          self->server_.port());
      asio::async_write(self->socket_, asio::buffer(self->request_),
                        [self](beast::error_code ec, size_t) {
                          if (ec) return self->Fail("write: " + ec.message());
                          self->Read();
                        });
    });
  }

  void Close() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

 private:
  void Read() {
    socket_.async_read_some(asio::buffer(chunk_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) return self->Fail("read: " + ec.message());
                              self->OnData(n);
                              self->Read();
                            });
  }

  // Lines of the response (headers first, then the event stream); a line "event: report" marks
  // a report. Only the unfinished last line is kept.
  void OnData(size_t n) {
    const auto now = Clock::now();
    pending_.append(chunk_.data(), n);
    size_t begin = 0;
    for (size_t end; (end = pending_.find('\n', begin)) != std::string::npos; begin = end + 1) {
      std::string_view line(pending_.data() + begin, end - begin);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line == "event: report") {
        std::lock_guard lock(arrivals_.mutex);
        arrivals_.reports[index_].push_back(now);
      }
    }
    pending_.erase(0, begin);
  }

  void Fail(std::string what) {
    std::lock_guard lock(arrivals_.mutex);
    if (arrivals_.errors[index_].empty()) arrivals_.errors[index_] = std::move(what);
  }

  tcp::socket socket_;
  tcp::endpoint server_;
  size_t index_;
  Arrivals& arrivals_;
  std::string request_;
  std::array<char, 16384> chunk_{};
  std::string pending_;
};

// A keep-alive HTTP/1.1 connection for the main thread's requests.
class HttpClient {
 public:
  HttpClient(asio::io_context& io, tcp::endpoint server) : stream_(io), server_(server) {
    stream_.connect(server_);
  }

  bhttp::response<bhttp::string_body> Send(bhttp::verb verb, const std::string& target,
                                           std::string body = {},
                                           const std::string& content_type = {}) {
    bhttp::request<bhttp::string_body> request(verb, target, 11);
    request.set(bhttp::field::host, fmt::format("127.0.0.1:{}", server_.port()));
    if (!content_type.empty()) request.set(bhttp::field::content_type, content_type);
    request.body() = std::move(body);
    request.prepare_payload();
    bhttp::write(stream_, request);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 << 20);
    bhttp::read(stream_, buffer_, parser);
    return parser.release();
  }

 private:
  beast::tcp_stream stream_;
  tcp::endpoint server_;
  beast::flat_buffer buffer_;
};

// A counter or gauge of /metrics (a line "name value").
std::optional<double> Metric(const std::string& text, std::string_view name) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > name.size() && line.compare(0, name.size(), name) == 0 &&
        line[name.size()] == ' ') {
      return std::stod(line.substr(name.size() + 1));
    }
  }
  return std::nullopt;
}

// casewatchd's resident memory (MiB), peak resident memory (MiB) and CPU time (s), from /proc.
struct ProcessSample {
  double rss_mib = 0;
  double peak_rss_mib = 0;
  double cpu_seconds = 0;
};

ProcessSample Sample(int pid) {
  ProcessSample s;
  if (pid <= 0) return s;
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) s.rss_mib = std::stod(line.substr(6)) / 1024;
    if (line.starts_with("VmHWM:")) s.peak_rss_mib = std::stod(line.substr(6)) / 1024;
  }
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the command name, which is in parentheses and may contain spaces.
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::vector<std::string> f((std::istream_iterator<std::string>(fields)),
                             std::istream_iterator<std::string>());
  if (f.size() > 13) {  // utime and stime are fields 14 and 15 of stat, 12 and 13 here
    s.cpu_seconds =
        (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  return s;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot be read");
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Waits until every client has a report after its first `seen[i]`, or `timeout`; prints what is
// missing.
Arrivals::Progress WaitForReports(Arrivals& arrivals, const std::vector<size_t>& seen,
                                  std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    Arrivals::Progress p = arrivals.Reached(seen);
    if (p.done + p.failed >= arrivals.reports.size()) return p;
    if (Clock::now() > deadline) {
      fmt::print(stderr,
                 "sse_fanout: after {} s only {} of {} streams have a new report ({} failed)\n",
                 timeout.count(), p.done, arrivals.reports.size(), p.failed);
      return p;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

int Run(int port, size_t clients, int pid, const std::vector<std::string>& rounds) {
  const tcp::endpoint server(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port));
  const ProcessSample before = Sample(pid);

  asio::io_context io;
  Arrivals arrivals(clients);
  std::vector<std::shared_ptr<StreamClient>> streams;
  const auto connect_started = Clock::now();
  for (size_t i = 0; i < clients; ++i) {
    streams.push_back(std::make_shared<StreamClient>(io, server, i, arrivals));
    streams.back()->Start();
  }
  auto work = asio::make_work_guard(io);
  std::thread streams_thread([&io] { io.run(); });

  const Arrivals::Progress first =
      WaitForReports(arrivals, std::vector<size_t>(clients, 0), std::chrono::seconds(60));
  const double connect_ms = Ms(first.last - connect_started);
  const ProcessSample connected = Sample(pid);
  fmt::print("sse_fanout: {} of {} streams open with their first report in {:.0f} ms ({} failed)\n",
             first.done, clients, connect_ms, first.failed);
  if (first.failed > 0) {
    std::lock_guard lock(arrivals.mutex);
    for (const std::string& e : arrivals.errors) {
      if (!e.empty()) {
        fmt::print(stderr, "sse_fanout: first failure: {}\n", e);
        break;
      }
    }
  }

  asio::io_context main_io;
  HttpClient http(main_io, server);
  std::vector<double> commit_to_all, commit_to_first, spread, post_to_all, cpu;
  size_t delivered_everywhere = 0;
  for (size_t r = 0; r < rounds.size(); ++r) {
    const std::string body = ReadFile(rounds[r]);
    const auto metrics_before = http.Send(bhttp::verb::get, "/metrics").body();
    const double accepted_before =
        Metric(metrics_before, "casewatch_events_accepted_total").value_or(0);
    const ProcessSample cpu_before = Sample(pid);
    const std::vector<size_t> seen = arrivals.Counts();
    const auto post_started = Clock::now();
    const auto posted =
        http.Send(bhttp::verb::post, "/api/v1/events", body, "application/x-ndjson");
    const auto post_done = Clock::now();
    if (posted.result_int() != 200) {
      fmt::print(stderr, "sse_fanout: POST /api/v1/events: {} {}\n", posted.result_int(),
                 posted.body().substr(0, 300));
      break;
    }
    const std::string& answer = posted.body();
    const size_t at = answer.rfind("\"accepted\":");
    const double accepted = at == std::string::npos ? 0 : std::stod(answer.substr(at + 11));
    // The commit: the engine has durably applied every accepted event.
    Clock::time_point committed;
    for (;;) {
      const auto polled = Clock::now();
      const std::string m = http.Send(bhttp::verb::get, "/metrics").body();
      const double applied = Metric(m, "casewatch_events_accepted_total").value_or(0) +
                             Metric(m, "casewatch_events_duplicate_total").value_or(0) +
                             Metric(m, "casewatch_events_rejected_total").value_or(0);
      const double baseline =
          accepted_before + Metric(metrics_before, "casewatch_events_duplicate_total").value_or(0) +
          Metric(metrics_before, "casewatch_events_rejected_total").value_or(0);
      if (applied >= baseline + accepted) {
        committed = polled;  // it was applied by the time this poll was sent at the latest
        break;
      }
      if (polled - post_done > std::chrono::seconds(30)) {
        fmt::print(stderr, "sse_fanout: the engine did not apply the events in 30 s\n");
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    const Arrivals::Progress p = WaitForReports(arrivals, seen, std::chrono::seconds(30));
    const ProcessSample cpu_after = Sample(pid);
    if (p.done == 0) break;
    if (p.done == clients) ++delivered_everywhere;
    commit_to_all.push_back(Ms(p.last - committed));
    commit_to_first.push_back(Ms(p.first - committed));
    spread.push_back(Ms(p.last - p.first));
    post_to_all.push_back(Ms(p.last - post_started));
    cpu.push_back(cpu_after.cpu_seconds - cpu_before.cpu_seconds);
    fmt::print(
        "sse_fanout: round {}: {} events accepted (POST {:.0f} ms); {} of {} streams got the new "
        "report: commit->first {:.0f} ms, commit->all {:.0f} ms (first->last {:.1f} ms), "
        "POST->all {:.0f} ms; casewatchd CPU {:.2f} s\n",
        r + 1, accepted, Ms(post_done - post_started), p.done, clients, commit_to_first.back(),
        commit_to_all.back(), spread.back(), post_to_all.back(), cpu.back());
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  const ProcessSample after = Sample(pid);

  for (auto& s : streams) asio::post(io, [s] { s->Close(); });
  work.reset();
  io.stop();
  streams_thread.join();

  const auto median = [](std::vector<double> v) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const auto max = [](const std::vector<double>& v) {
    return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end());
  };
  // One line for scripts.
  fmt::print(
      "sse_fanout: clients={} connected={} connect_ms={:.0f} rounds={} rounds_to_all={} "
      "commit_to_first_ms={:.0f} commit_to_all_ms={:.0f} commit_to_all_max_ms={:.0f} "
      "spread_ms={:.1f} post_to_all_ms={:.0f} cpu_s_per_round={:.2f} rss_before_mib={:.0f} "
      "rss_streams_mib={:.0f} rss_after_mib={:.0f} peak_rss_mib={:.0f}\n",
      clients, first.done, connect_ms, commit_to_all.size(), delivered_everywhere,
      median(commit_to_first), median(commit_to_all), max(commit_to_all), median(spread),
      median(post_to_all), median(cpu), before.rss_mib, connected.rss_mib, after.rss_mib,
      after.peak_rss_mib);
  return delivered_everywhere == rounds.size() && first.done == clients ? 0 : 1;
}

}  // namespace
}  // namespace casewatch::bench

int main(int argc, char** argv) {
  CLI::App app{"sse_fanout: time for casewatchd to bring a new report to N open event streams"};
  int port = 0;
  size_t clients = 500;
  int pid = 0;
  std::vector<std::string> rounds;
  app.add_option("--port", port, "casewatchd's HTTP port (on 127.0.0.1, started with --no-auth)")
      ->required();
  app.add_option("--clients", clients, "Event streams to open")->capture_default_str();
  app.add_option("--pid", pid, "casewatchd's process id, for its RSS and CPU time");
  app.add_option("rounds", rounds,
                 "NDJSON files of new cases' events, one per round, POSTed to /api/v1/events")
      ->required()
      ->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);
  try {
    return casewatch::bench::Run(port, clients, pid, rounds);
  } catch (const std::exception& e) {
    fmt::print(stderr, "sse_fanout: {}\n", e.what());
    return 1;
  }
}
