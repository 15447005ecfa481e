// How librdkafka's connection errors are classified and worded (internal/client.h): a refused
// password or an untrusted broker certificate is fatal, and its one message names the cause and
// the settings to check, in the project's words, with librdkafka's own text kept.
#include "services/kafka/internal/client.h"

#include <gtest/gtest.h>

#include <string>

namespace casewatch::kafka::internal {
namespace {

constexpr int kLibrdkafka202 = 0x020002ff;
constexpr int kLibrdkafka261 = 0x020601ff;

constexpr const char* kWrongPassword =
    "sasl_ssl://127.0.0.1:39755/bootstrap: SASL authentication error: Authentication failed "
    "during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512 (after "
    "316ms in state AUTH_REQ)";
constexpr const char* kUntrusted =
    "ssl://127.0.0.1:41111/bootstrap: SSL handshake failed: error:0A000086:SSL "
    "routines::certificate verify failed: broker certificate could not be verified, verify that "
    "ssl.ca.location is correctly configured or root CA certificates are installed (install "
    "ca-certificates package) (after 4ms in state SSL_HANDSHAKE)";

bool Contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

SecuritySettings Scram() {
  return SecuritySettings{"SASL_SSL", "SCRAM-SHA-512", "delius", "/etc/casewatch/kafka-ca.pem"};
}

TEST(SecurityFailure, RefusedCredentialsAndFailedTlsAreFatalNotTransient) {
  for (rd_kafka_resp_err_t err :
       {RD_KAFKA_RESP_ERR__AUTHENTICATION, RD_KAFKA_RESP_ERR__SSL,
        RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED, RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM,
        RD_KAFKA_RESP_ERR_ILLEGAL_SASL_STATE}) {
    EXPECT_TRUE(IsSecurityFailure(err)) << rd_kafka_err2name(err);
    EXPECT_FALSE(IsTransient(err)) << rd_kafka_err2name(err);
    EXPECT_EQ(ToError(err, "Kafka producer").kind, ErrorKind::kInvalidArgument)
        << rd_kafka_err2name(err);
  }
  // A connection dropped, even during the TLS handshake, is retried.
  EXPECT_FALSE(IsSecurityFailure(RD_KAFKA_RESP_ERR__TRANSPORT,
                                 "SSL handshake failed: Disconnected: connecting to a PLAINTEXT "
                                 "broker listener?"));
  EXPECT_TRUE(IsTransient(RD_KAFKA_RESP_ERR__TRANSPORT));
}

TEST(SecurityFailure, CertificateVerificationReportedAsATransportErrorIsOneToo) {
  // librdkafka 2.0.2 reports a verification failure that OpenSSL raises outside its handshake
  // step as __TRANSPORT, without its own words.
  constexpr const char* kReason =
      "sasl_ssl://127.0.0.1:38373/bootstrap: error:0A000086:SSL routines::certificate verify "
      "failed (after 26ms in state SSL_HANDSHAKE)";
  EXPECT_TRUE(IsSecurityFailure(RD_KAFKA_RESP_ERR__TRANSPORT, kReason));
  EXPECT_TRUE(IsSecurityFailureLog("FAIL", kReason));
  EXPECT_TRUE(Contains(SecurityFailure("Kafka producer", RD_KAFKA_RESP_ERR__TRANSPORT, kReason,
                                       Scram(), kLibrdkafka202)
                           .message,
                       "TLS certificate verification failed"));
}

TEST(SecurityFailure, WrongPasswordNamesUserMechanismAndSettingsAndKeepsLibrdkafkasText) {
  const Error error = SecurityFailure("Kafka producer", RD_KAFKA_RESP_ERR__AUTHENTICATION,
                                      kWrongPassword, Scram(), kLibrdkafka261);
  EXPECT_EQ(error.kind, ErrorKind::kInvalidArgument);
  EXPECT_EQ(error.message,
            std::string("Kafka producer: authentication failed: the brokers refused SASL "
                        "authentication as \"delius\" with SCRAM-SHA-512; check sasl.username and "
                        "sasl.password, and that the brokers enable SCRAM-SHA-512 (librdkafka: ") +
                kWrongPassword + ", _AUTHENTICATION)");
}

TEST(SecurityFailure, ScramOnLibrdkafkaBefore261SaysKafka4RefusesItWhateverThePassword) {
  const Error old = SecurityFailure("Kafka producer", RD_KAFKA_RESP_ERR__AUTHENTICATION,
                                    kWrongPassword, Scram(), kLibrdkafka202);
  EXPECT_TRUE(Contains(old.message, "this librdkafka (2.0.2, before 2.6.1) is refused SCRAM by "
                                    "Apache Kafka 4.0 and later even with the right password"))
      << old.message;
  SecuritySettings plain = Scram();
  plain.mechanism = "PLAIN";
  EXPECT_FALSE(Contains(SecurityFailure("Kafka producer", RD_KAFKA_RESP_ERR__AUTHENTICATION,
                                        "refused", plain, kLibrdkafka202)
                            .message,
                        "2.6.1"));
}

TEST(SecurityFailure, UntrustedCertificateNamesVerificationAndTheCaFile) {
  const Error error =
      SecurityFailure("Kafka consumer of \"case-events\"", RD_KAFKA_RESP_ERR__SSL, kUntrusted,
                      Scram(), kLibrdkafka202);
  EXPECT_EQ(error.kind, ErrorKind::kInvalidArgument);
  EXPECT_EQ(error.message,
            std::string("Kafka consumer of \"case-events\": TLS certificate verification failed: "
                        "the broker's certificate is not signed by a CA in ssl.ca.location "
                        "(/etc/casewatch/kafka-ca.pem), or does not name the host connected to; "
                        "check ssl.ca.location (librdkafka: ") +
                kUntrusted + ", _SSL)");
  SecuritySettings system_cas = Scram();
  system_cas.ca_location.clear();
  EXPECT_TRUE(Contains(
      SecurityFailure("Kafka producer", RD_KAFKA_RESP_ERR__SSL, kUntrusted, system_cas, 0)
          .message,
      "ssl.ca.location (not set: the system's CAs)"));
}

TEST(SecurityFailure, OtherTlsFailuresNameTheProtocolAndCaFile) {
  const Error error = SecurityFailure("Kafka producer", RD_KAFKA_RESP_ERR__SSL,
                                      "SSL handshake failed: wrong version number", Scram(), 0);
  EXPECT_TRUE(Contains(error.message, "the TLS handshake with the broker failed; check "
                                      "security.protocol (SASL_SSL)"))
      << error.message;
}

TEST(SecurityFailure, BrokersLinesForItAreDetailNotWarnings) {
  EXPECT_TRUE(IsSecurityFailureLog("FAIL", kWrongPassword));
  EXPECT_TRUE(IsSecurityFailureLog("FAIL", kUntrusted));
  EXPECT_FALSE(IsSecurityFailureLog(
      "FAIL", "ssl://127.0.0.1:1/bootstrap: SSL handshake failed: Disconnected: connecting to a "
              "PLAINTEXT broker listener? (after 1ms in state SSL_HANDSHAKE)"));
  EXPECT_FALSE(IsSecurityFailureLog("FAIL", "127.0.0.1:1/bootstrap: Connect to ipv4#127.0.0.1:1 "
                                            "failed: Connection refused"));
  EXPECT_FALSE(IsSecurityFailureLog("SASL", kWrongPassword));
}

TEST(SecuritySettingsOf, ReadsTheClientsConfiguration) {
  Result<ConfPtr> conf = MakeConf(KafkaConfig{"",
                                              {{"security.protocol", "sasl_plaintext"},
                                               {"sasl.mechanisms", "SCRAM-SHA-512"},
                                               {"sasl.username", "casewatch-engine"},
                                               {"sasl.password", "secret"}}},
                                  {});
  ASSERT_TRUE(conf) << conf.error().message;
  Result<ClientPtr> client = NewClient(RD_KAFKA_PRODUCER, std::move(conf).value());
  ASSERT_TRUE(client) << client.error().message;
  const SecuritySettings settings = SecuritySettingsOf(client.value().get());
  EXPECT_EQ(settings.protocol, "sasl_plaintext");
  EXPECT_EQ(settings.mechanism, "SCRAM-SHA-512");
  EXPECT_EQ(settings.username, "casewatch-engine");
  EXPECT_EQ(settings.ca_location, "");
}

}  // namespace
}  // namespace casewatch::kafka::internal
