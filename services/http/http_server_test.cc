// casewatchd's HTTP server over real sockets: event streams, TLS, keep-alive, the limits it
// enforces itself (rate, header and body size, streams), request framing, and the files it serves
// with their headers. The API's answers are http_api_test.cc's.
#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "services/http/testing/harness.h"
#include "services/kafka/consumer.h"

namespace casewatch::http {
namespace {

namespace ht = casewatch::http::testing;
using casewatch::TempDir;
using namespace ht;  // the harness and the shared tokens, JSON and event helpers
using reports::StoreReportRequest;

// --- GET /api/v1/stream ---

bool CountOf(const std::vector<EventStreamReader::Event>& events, std::string_view type,
             size_t wanted) {
  return static_cast<size_t>(std::count_if(events.begin(), events.end(), [&](const auto& e) {
           return e.type == type;
         })) >= wanted;
}

std::string LastReport(const EventStreamReader& reader) {
  std::string last;
  for (const auto& e : reader.events()) {
    if (e.type == "report") last = e.data;
  }
  return last;
}

std::string WithoutNewline(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

bool HasAlertFor(const std::vector<EventStreamReader::Event>& events, std::string_view case_id) {
  return std::any_of(events.begin(), events.end(), [&](const auto& e) {
    return e.type == "alert" &&
           e.data.find(fmt::format("\"case_id\":\"{}\"", case_id)) != std::string::npos;
  });
}

TEST(HttpStream, SendsTheReportThenEachChangeAndTheAlertsInItsScope) {
  Harness h;
  const std::vector<std::pair<std::string, std::string>> inspector = {
      {"Authorization", Bearer(kInspectorToken)}};
  const std::vector<std::pair<std::string, std::string>> viewer = {
      {"Authorization", Bearer(kViewerToken)}};
  EventStreamReader everything(h.port(), "/api/v1/stream", inspector);
  EventStreamReader home(h.port(), "/api/v1/stream", viewer);
  const Scope home_scope{h.home().region, {}, {}, {}};
  ASSERT_TRUE(everything.WaitFor([](const auto& e) { return CountOf(e, "report", 1); }));
  ASSERT_TRUE(home.WaitFor([](const auto& e) { return CountOf(e, "report", 1); }));
  EXPECT_NE(everything.head().find("HTTP/1.1 200"), std::string::npos) << everything.head();
  EXPECT_NE(everything.head().find("Content-Type: text/event-stream"), std::string::npos);
  EXPECT_EQ(LastReport(everything), WithoutNewline(h.Expected(Scope{})));
  EXPECT_EQ(LastReport(home), WithoutNewline(h.Expected(home_scope)));

  // A commit: both get the new report.
  h.OpenCase("C-STREAM-A", h.OtherAllocation());
  ASSERT_TRUE(everything.WaitFor([](const auto& e) { return CountOf(e, "report", 2); }))
      << everything.events().size();
  ASSERT_TRUE(home.WaitFor([](const auto& e) { return CountOf(e, "report", 2); }));
  EXPECT_EQ(LastReport(everything), WithoutNewline(h.Expected(Scope{})));
  EXPECT_EQ(LastReport(home), WithoutNewline(h.Expected(home_scope)));

  // A missed obligation outside the viewer's region, then one inside it.
  const auto other_alert = h.AdvanceUntilMissed("C-STREAM-A");
  ASSERT_TRUE(other_alert);
  ASSERT_TRUE(everything.WaitFor([](const auto& e) { return HasAlertFor(e, "C-STREAM-A"); }));
  h.OpenCase("C-STREAM-B", h.HomeAllocation());
  const auto home_alert = h.AdvanceUntilMissed("C-STREAM-B");
  ASSERT_TRUE(home_alert);
  ASSERT_TRUE(home.WaitFor([](const auto& e) { return HasAlertFor(e, "C-STREAM-B"); }));
  ASSERT_TRUE(everything.WaitFor([](const auto& e) { return HasAlertFor(e, "C-STREAM-B"); }));
  // One more change, so that whatever was sent before it has arrived.
  h.AdvanceTo(Instant{h.now().seconds + 86400, 0});
  const std::string final_home = WithoutNewline(h.Expected(home_scope));
  ASSERT_TRUE(home.WaitFor([&](const auto& events) {
    for (auto e = events.rbegin(); e != events.rend(); ++e) {
      if (e->type == "report") return e->data == final_home;
    }
    return false;
  }));
  EXPECT_FALSE(HasAlertFor(home.events(), "C-STREAM-A"));
  for (const auto& e : home.events()) {
    if (e.type != "alert") continue;
    JsonDoc alert(e.data);
    EXPECT_EQ(Str(alert["region"]), *h.home().region) << e.data;
  }
  for (const auto& e : everything.events()) {
    if (e.type != "alert" || e.data.find("C-STREAM-B") == std::string::npos) continue;
    JsonDoc alert(e.data);
    EXPECT_EQ(Str(alert["indicator"]), home_alert->indicator());
    EXPECT_EQ(Str(alert["due"]), home_alert->due());
    EXPECT_EQ(Str(alert["team"]), *h.home().team);
    EXPECT_EQ(Str(alert["event_id"]), home_alert->event_id());
  }
}

// The stream says how current its figures are: at once, then whenever that changes, without a
// commit (a partition cut off while nothing is written); the same freshness does not repeat.
TEST(HttpStream, SaysWhenAPartitionIsCutOffAndWhenItIsBack) {
  HarnessOptions options;
  options.server.freshness_interval = std::chrono::milliseconds(20);
  Harness h(options);
  h.ReportStatus(/*lag=*/0, {{0, 0}, {1, 0}});
  EventStreamReader reader(h.port(), "/api/v1/stream",
                           {{"Authorization", Bearer(kInspectorToken)}});
  auto freshness = [](const std::vector<EventStreamReader::Event>& events) {
    std::vector<std::string> sent;
    for (const auto& e : events) {
      if (e.type == "freshness") sent.push_back(e.data);
    }
    return sent;
  };
  const std::string current = R"({"lag":0,"catching_up":false,"behind":[],"unavailable":[]})";
  ASSERT_TRUE(reader.WaitFor([&](const auto& e) { return !freshness(e).empty(); }));
  EXPECT_EQ(freshness(reader.events()).front(), current);

  h.ReportStatus(/*lag=*/12, {{0, 0}, {1, 12, Instant{1796531467, 0}}});
  const std::string cut_off =
      R"({"lag":12,"catching_up":false,"behind":[{"partition":1,"lag":12}],)"
      R"("unavailable":[{"partition":1,"since":"2026-12-06T04:31:07Z","lag":12}]})";
  ASSERT_TRUE(reader.WaitFor([&](const auto& e) { return freshness(e).back() == cut_off; }))
      << freshness(reader.events()).back();
  h.ReportStatus(/*lag=*/0, {{0, 0}, {1, 0}});
  ASSERT_TRUE(reader.WaitFor([&](const auto& e) { return freshness(e).back() == current; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // ten looks, nothing new
  EXPECT_EQ(freshness(reader.events()),
            (std::vector<std::string>{current, cut_off, current}));
}

// A deadline sweep can raise many alerts in one write (every case opened on one day misses its
// first obligation on the same night); a client that keeps reading gets them all.
TEST(HttpStream, AWriteRaisingManyAlertsReachesAClientThatKeepsReading) {
  Harness h;
  EventStreamReader reader(h.port(), "/api/v1/stream",
                           {{"Authorization", Bearer(kInspectorToken)}});
  ASSERT_TRUE(reader.WaitFor([](const auto& e) { return CountOf(e, "report", 1); }));
  constexpr int kCases = 400;
  std::vector<std::string> opened;
  const Instant now = h.now();
  for (int i = 0; i < kCases; ++i) {
    opened.push_back(
        EnvelopeBytes(EnvelopeJson(fmt::format("e-burst-{}", i), fmt::format("C-BURST-{}", i),
                                   Instant{now.seconds - 3600, 0}, h.HomeAllocation())));
  }
  h.Apply(opened, Instant{now.seconds + 3600, 0});
  ASSERT_TRUE(h.AdvanceUntilMissed("C-BURST-0"));
  std::set<std::string> raised;
  for (const auto& alert : h.alerts()) {
    if (alert.case_id().starts_with("C-BURST-")) raised.insert(alert.case_id());
  }
  ASSERT_EQ(raised.size(), static_cast<size_t>(kCases)) << "the alerts came in one write";
  const auto burst_alerts = [](const std::vector<EventStreamReader::Event>& events) {
    std::set<std::string> seen;
    for (const auto& e : events) {
      if (e.type != "alert") continue;
      const size_t at = e.data.find("\"case_id\":\"C-BURST-");
      if (at != std::string::npos)
        seen.insert(e.data.substr(at + 11, e.data.find('"', at + 11) - at - 11));
    }
    return seen;
  };
  reader.WaitFor([&](const auto& events) { return burst_alerts(events).size() == kCases; });
  EXPECT_EQ(burst_alerts(reader.events()), raised);
  EXPECT_FALSE(reader.closed()) << "the server ended the stream";
}

TEST(HttpStream, TheAccessTokenMayComeAsAQueryParameterThereOnly) {
  Harness h;
  EventStreamReader reader(h.port(), fmt::format("/api/v1/stream?access_token={}", kViewerToken),
                           {});
  ASSERT_TRUE(reader.WaitFor([](const auto& e) { return CountOf(e, "report", 1); }))
      << reader.head();
  EXPECT_EQ(LastReport(reader), WithoutNewline(h.Expected(Scope{h.home().region, {}, {}, {}})));

  EXPECT_EQ(h.SocketGet("/api/v1/stream?access_token=cw_wrong", "").status, 401);
  EXPECT_EQ(h.SocketGet(fmt::format("/api/v1/report?access_token={}", kViewerToken), "").status, 401);
  EXPECT_EQ(h.SocketGet(fmt::format("/api/v1/stream?access_token={}", kPublisherToken), "").status, 403);
}

TEST(HttpEvents, AnEmptyBodyIs400AndAnOversizedOne413) {
  HarnessOptions options;
  options.kafka = true;
  options.server.max_body_bytes = 4096;
  Harness h(options);
  for (std::string_view empty : {"", "\n\n", "  \r\n\t\n"}) {
    const HttpReply reply = h.SocketPost("/api/v1/events", std::string(empty), kPublisherToken);
    EXPECT_EQ(reply.status, 400) << reply.body;
    EXPECT_EQ(ErrorCode(reply), "empty_body");
  }
  std::string big;
  while (big.size() <= 4096) {
    big += EnvelopeJson(fmt::format("e-big-{}", big.size()), "C-BIG", h.now(), h.HomeAllocation());
    big += "\n";
  }
  const HttpReply reply = h.SocketPost("/api/v1/events", big, kPublisherToken);
  EXPECT_EQ(reply.status, 413) << reply.error << reply.body;
  EXPECT_NE(ErrorMessage(reply).find("4096"), std::string::npos) << reply.body;
  // None of it was published, and the server still takes the next request: the one event on the
  // topic is the one sent after.
  const HttpReply after = h.SocketPost(
      "/api/v1/events", EnvelopeJson("e-after", "C-AFTER", h.now(), h.HomeAllocation()) + "\n",
      kPublisherToken);
  ASSERT_EQ(after.status, 200) << after.body;
  const auto published = ReadTopic(h.brokers(), h.topics().events, 1);
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].first, "C-AFTER");
}

// --- limits ---

TEST(HttpLimits, ABurstAboveTheRateGets429WithRetryAfter) {
  HarnessOptions options;
  options.server.rate_per_second = 5;
  options.server.rate_burst = 5;
  Harness h(options);
  int ok = 0;
  int limited = 0;
  HttpReply refusal;
  for (int i = 0; i < 30; ++i) {
    const HttpReply reply = h.SocketGet("/healthz", "");
    if (reply.status == 200) ++ok;
    if (reply.status == 429) {
      ++limited;
      refusal = reply;
    }
  }
  EXPECT_GE(ok, 5);
  EXPECT_EQ(ok + limited, 30);
  ASSERT_GE(limited, 1);
  EXPECT_EQ(refusal.status, 429);
  EXPECT_EQ(ErrorCode(refusal), "rate_limited");
  const std::string retry = refusal.Header("retry-after");
  ASSERT_FALSE(retry.empty());
  EXPECT_GE(std::stoi(retry), 1);
  // Callers are told apart by their token: another caller is not limited by the first.
  EXPECT_EQ(h.SocketGet("/api/v1/report").status, 200);
}

// A caller is its token only once the token is recognised: unknown tokens (a guesser's, or a
// flood's with a new one each time) come from the same address and share its limit.
TEST(HttpLimits, UnknownTokensShareTheLimitOfTheirAddress) {
  HarnessOptions options;
  options.server.rate_per_second = 5;
  options.server.rate_burst = 5;
  Harness h(options);
  int unauthenticated = 0;
  int limited = 0;
  for (int i = 0; i < 30; ++i) {
    const HttpReply reply = h.SocketGet("/api/v1/report", fmt::format("cw_guess_{}", i));
    if (reply.status == 401) ++unauthenticated;
    if (reply.status == 429) ++limited;
  }
  EXPECT_EQ(unauthenticated + limited, 30);
  EXPECT_GE(limited, 1) << "30 guesses in a row were all answered";
  EXPECT_LE(unauthenticated, 25);
}

TEST(HttpLimits, OversizedHeadersAre431) {
  Harness h;
  ht::HttpCall call;
  call.target = "/healthz";
  call.headers.emplace_back("X-Padding", std::string(20000, 'p'));
  const HttpReply reply = ht::Fetch(h.port(), call);
  EXPECT_EQ(reply.status, 431) << reply.error << reply.body;
  EXPECT_EQ(h.SocketGet("/healthz", "").status, 200);
}

int Responses(const std::string& received) {
  int n = 0;
  for (size_t at = received.find("\r\nServer: casewatchd\r\n"); at != std::string::npos;
       at = received.find("\r\nServer: casewatchd\r\n", at + 1)) {
    ++n;
  }
  return n;
}

TEST(HttpFraming, ABodyWhoseLengthCannotBeKnownIs400AndNothingAfterItIsAnswered) {
  Harness h;
  // A second request hidden after a body framed with a coding that is not chunked: a proxy that
  // reads the first differently would have smuggled the second through.
  const std::string hidden = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  for (std::string_view coding : {"xchunked", "identity", "gzip", "chunked, identity",
                                  "chunked;q=1, gzip"}) {
    const std::string received = ht::RawExchange(
        h.port(),
        fmt::format("POST /api/v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: {}\r\n\r\n{}",
                    coding, hidden));
    EXPECT_TRUE(received.starts_with("HTTP/1.1 400")) << coding << ": " << received;
    EXPECT_EQ(Responses(received), 1) << coding << ": the hidden request was answered: " << received;
    EXPECT_TRUE(received.find("Transfer-Encoding") != std::string::npos ||
                received.find("malformed") != std::string::npos)
        << received;
  }
  // Both framings at once, or Transfer-Encoding in HTTP/1.0: refused too.
  EXPECT_TRUE(ht::RawExchange(h.port(),
                              "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + hidden)
                  .starts_with("HTTP/1.1 400"));
  const std::string old = ht::RawExchange(
      h.port(), "POST /api/v1/events HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + hidden);
  EXPECT_TRUE(old.starts_with("HTTP/1.0 400")) << old;
  EXPECT_EQ(Responses(old), 1) << old;
  // A properly chunked request is answered, and so is the next one on the connection.
  const std::string good = ht::RawExchange(
      h.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
                    hidden, std::chrono::milliseconds(500));
  EXPECT_TRUE(good.starts_with("HTTP/1.1 200")) << good;
  EXPECT_EQ(Responses(good), 2) << good;
}

TEST(HttpFraming, AFoldedHeaderLineOrAMissingHostIs400) {
  Harness h;
  const std::string folded = ht::RawExchange(
      h.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\r\n b\r\n\r\n");
  EXPECT_TRUE(folded.starts_with("HTTP/1.1 400")) << folded;
  EXPECT_NE(folded.find("folded"), std::string::npos) << folded;
  const std::string no_host = ht::RawExchange(h.port(), "GET /healthz HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(no_host.starts_with("HTTP/1.1 400")) << no_host;
  EXPECT_NE(no_host.find("Host"), std::string::npos) << no_host;
  const std::string two_hosts =
      ht::RawExchange(h.port(), "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
  EXPECT_TRUE(two_hosts.starts_with("HTTP/1.1 400")) << two_hosts;
  // HTTP/1.0 needs no Host.
  const std::string http10 = ht::RawExchange(h.port(), "GET /healthz HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(http10.starts_with("HTTP/1.0 200")) << http10;
}

TEST(HttpLimits, StreamsBeyondTheMaximumGet503) {
  HarnessOptions options;
  options.server.max_stream_clients = 1;
  Harness h(options);
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"Authorization", Bearer(kInspectorToken)}};
  EventStreamReader first(h.port(), "/api/v1/stream", auth);
  ASSERT_TRUE(first.WaitFor([](const auto& e) { return CountOf(e, "report", 1); }));
  const HttpReply second = h.SocketGet("/api/v1/stream");
  EXPECT_EQ(second.status, 503) << second.body;
  EXPECT_EQ(ErrorCode(second), "too_many_streams");
  const HttpReply metrics = h.SocketGet("/metrics");
  EXPECT_NE(metrics.body.find("\ncasewatch_http_stream_clients 1\n"), std::string::npos)
      << metrics.body;
}

// --- files ---

TEST(HttpFiles, TheDashboardAndOpenApiAreServedWithoutAToken) {
  Harness h;
  const HttpReply index = h.SocketGet("/", "");
  ASSERT_EQ(index.status, 200);
  EXPECT_TRUE(index.Header("content-type").starts_with("text/html"))
      << index.Header("content-type");
  EXPECT_NE(index.Header("content-security-policy").find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(index.Header("x-content-type-options"), "nosniff");
  EXPECT_EQ(h.SocketGet("/index.html", "").body, index.body);
  const HttpReply openapi = h.SocketGet("/api/v1/openapi.json", "");
  ASSERT_EQ(openapi.status, 200);
  EXPECT_EQ(Str(JsonDoc(openapi.body)["openapi"]).substr(0, 2), "3.");
  ht::HttpCall post;
  post.method = "POST";
  post.target = "/";
  const HttpReply refused = ht::Fetch(h.port(), post);
  EXPECT_EQ(refused.status, 405);
  EXPECT_EQ(refused.Header("allow"), "GET, HEAD");
}

// --- TLS ---

TEST(HttpTls, HttpsWorksAndPlainHttpToTheTlsPortGetsNoAnswer) {
  TempDir keys;
  const ht::Certificate made = ht::MakeCertificate(keys.path().string(), "server");
  ASSERT_EQ(made.error, "");
  const std::string& cert = made.cert;
  const std::string& key = made.key;

  HarnessOptions options;
  options.server.tls_certificate = cert;
  options.server.tls_private_key = key;
  Harness h(options);
  ht::HttpCall call;
  call.target = "/api/v1/report";
  call.headers.emplace_back("Authorization", Bearer(kInspectorToken));
  const HttpReply secure = ht::Fetch(h.port(), call, /*tls=*/true);
  ASSERT_EQ(secure.status, 200) << secure.error << secure.body;
  EXPECT_EQ(secure.body, h.Expected(Scope{}));

  const HttpReply plain = ht::Fetch(h.port(), call, /*tls=*/false, std::chrono::seconds(20));
  EXPECT_EQ(plain.status, 0) << plain.body;
  // The server still serves TLS afterwards.
  EXPECT_EQ(ht::Fetch(h.port(), call, /*tls=*/true).status, 200);

  // A certificate without its key is refused at start.
  ServerOptions half;
  half.address = "127.0.0.1";
  half.port = 0;
  half.tls_certificate = cert;
  LiveView view(Policy{});
  Api api(ApiOptions{});
  auto refused = Server::Start(half, api, view);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("tls"), std::string::npos) << refused.error().message;
}

}  // namespace
}  // namespace casewatch::http
