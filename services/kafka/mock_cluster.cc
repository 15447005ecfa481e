#include "services/kafka/mock_cluster.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <vector>

#include "services/kafka/internal/client.h"
// After client.h, which includes rdkafka.h: rdkafka_mock.h needs it first.
#include <librdkafka/rdkafka_mock.h>

namespace casewatch::kafka {
namespace {

struct MockDeleter {
  void operator()(rd_kafka_mock_cluster_t* cluster) const {
    rd_kafka_mock_cluster_destroy(cluster);
  }
};
using MockPtr = std::unique_ptr<rd_kafka_mock_cluster_t, MockDeleter>;

rd_kafka_resp_err_t ToResponse(RequestError error) {
  switch (error) {
    case RequestError::kNotLeaderForPartition:
      return RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION;
    case RequestError::kLeaderNotAvailable:
      return RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE;
    case RequestError::kRequestTimedOut:
      return RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT;
    case RequestError::kNetworkException:
      return RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION;
    case RequestError::kDisconnect:
      return RD_KAFKA_RESP_ERR__TRANSPORT;
  }
  return RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION;
}

}  // namespace

// `client` only hosts the cluster (its thread and logging); `cluster` is declared after it so
// that it is destroyed first.
struct MockCluster::Impl {
  internal::ClientPtr client;
  MockPtr cluster;
  std::string bootstrap_servers;
  int brokers = 0;

  void Check(rd_kafka_resp_err_t err, std::string_view what) const {
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      spdlog::warn("mock Kafka cluster: {}: {}", what, rd_kafka_err2str(err));
    }
  }
};

MockCluster::MockCluster(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MockCluster::~MockCluster() = default;
MockCluster::MockCluster(MockCluster&&) noexcept = default;
MockCluster& MockCluster::operator=(MockCluster&&) noexcept = default;

Result<MockCluster> MockCluster::Start(int brokers) {
  if (brokers < 1 || brokers > 64) {
    return InvalidArgument(fmt::format("mock Kafka cluster: {} brokers (1 to 64)", brokers));
  }
  auto impl = std::make_unique<Impl>();
  // The hosting handle never connects anywhere; only its warnings are worth showing.
  // socket.nagle.disable also applies to the brokers' own sockets: without it, answers to requests
  // sent back to back wait for the client's delayed ACK (40 ms each on Linux loopback).
  const Property settings[] = {{"log_level", "4"},
                               {"client.id", "casewatch-mock-cluster"},
                               {"socket.nagle.disable", "true"}};
  Result<internal::ConfPtr> conf = internal::MakeConf(KafkaConfig{}, settings);
  if (!conf) return conf.error();
  Result<internal::ClientPtr> client =
      internal::NewClient(RD_KAFKA_PRODUCER, std::move(conf).value());
  if (!client) return client.error();
  impl->client = std::move(client).value();
  impl->cluster.reset(rd_kafka_mock_cluster_new(impl->client.get(), brokers));
  if (!impl->cluster) {
    return IoError("mock Kafka cluster: cannot start (could not listen on 127.0.0.1?)");
  }
  impl->bootstrap_servers = rd_kafka_mock_cluster_bootstraps(impl->cluster.get());
  impl->brokers = brokers;
  return MockCluster(std::move(impl));
}

const std::string& MockCluster::bootstrap_servers() const { return impl_->bootstrap_servers; }
int MockCluster::broker_count() const { return impl_->brokers; }

Result<void> MockCluster::CreateTopic(std::string_view topic, int partitions) {
  if (topic.empty() || partitions < 1) {
    return InvalidArgument(
        fmt::format("mock Kafka cluster: cannot create topic \"{}\" with {} "
                    "partitions",
                    topic, partitions));
  }
  const std::string name(topic);
  const rd_kafka_resp_err_t err =
      rd_kafka_mock_topic_create(impl_->cluster.get(), name.c_str(), partitions, impl_->brokers);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return internal::ToError(err, fmt::format("mock Kafka cluster: create topic \"{}\"", name));
  }
  return Ok();
}

void MockCluster::SetBrokerDown(int32_t broker_id) {
  impl_->Check(rd_kafka_mock_broker_set_down(impl_->cluster.get(), broker_id),
               fmt::format("broker {} down", broker_id));
}

void MockCluster::SetPartitionLeader(std::string_view topic, int32_t partition,
                                     int32_t broker_id) {
  const std::string name(topic);
  impl_->Check(
      rd_kafka_mock_partition_set_leader(impl_->cluster.get(), name.c_str(), partition, broker_id),
      fmt::format("{} partition {} led by broker {}", topic, partition, broker_id));
}

void MockCluster::SetBrokerUp(int32_t broker_id) {
  impl_->Check(rd_kafka_mock_broker_set_up(impl_->cluster.get(), broker_id),
               fmt::format("broker {} up", broker_id));
}

void MockCluster::SetBrokerRtt(int32_t broker_id, std::chrono::milliseconds rtt) {
  impl_->Check(
      rd_kafka_mock_broker_set_rtt(impl_->cluster.get(), broker_id, internal::TimeoutMs(rtt)),
      fmt::format("broker {} rtt", broker_id));
}

void MockCluster::InjectRequestErrors(ApiKey api, int count, RequestError error) {
  if (count <= 0) return;
  const std::vector<rd_kafka_resp_err_t> errors(static_cast<size_t>(count), ToResponse(error));
  rd_kafka_mock_push_request_errors_array(impl_->cluster.get(), static_cast<int16_t>(api),
                                          errors.size(), errors.data());
}

void MockCluster::ClearRequestErrors(ApiKey api) {
  rd_kafka_mock_clear_request_errors(impl_->cluster.get(), static_cast<int16_t>(api));
}

}  // namespace casewatch::kafka
