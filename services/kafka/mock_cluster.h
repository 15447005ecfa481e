#pragma once
// MockCluster: librdkafka's mock cluster (rdkafka_mock.h), a real Kafka-protocol broker over TCP
// inside this process. The development broker (`casewatch dev-broker`) and the test broker.
//
// Limits of the mock in librdkafka 2.0.2: each partition keeps only about its last 5 MiB; a fetch
// returns at most one stored batch per partition; an empty fetch waits fetch.wait.max.ms;
// transactions are not real; offsets-for-times is not supported; brokers listen on 127.0.0.1 at
// ports the kernel picks (no fixed port).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"

namespace casewatch::kafka {

// Kafka protocol request types (the protocol's ApiKey numbers) that errors can be injected into.
enum class ApiKey : int16_t {
  kProduce = 0,
  kFetch = 1,
  kListOffsets = 2,
  kMetadata = 3,
  kOffsetCommit = 8,
  kOffsetFetch = 9,
  kFindCoordinator = 10,
  kInitProducerId = 22,
};

// Errors a mock broker can answer a request with. All are retryable: clients recover from them.
enum class RequestError {
  kNotLeaderForPartition,  // NOT_LEADER_OR_FOLLOWER: the client refreshes metadata and retries
  kLeaderNotAvailable,
  kRequestTimedOut,
  kNetworkException,
  kDisconnect,  // the broker closes the connection instead of answering
};

// Owns the mock cluster and the librdkafka handle it runs under (the cluster is destroyed
// first). The brokers run on the cluster's own thread from Start until destruction. Move-only.
// Threads: every method may be called from any thread (the mock serialises them).
class MockCluster {
 public:
  // Starts `brokers` brokers (ids 1..brokers) listening on 127.0.0.1.
  [[nodiscard]] static Result<MockCluster> Start(int brokers = 1);

  ~MockCluster();
  MockCluster(MockCluster&&) noexcept;
  MockCluster& operator=(MockCluster&&) noexcept;

  // "127.0.0.1:PORT,..." for bootstrap.servers.
  const std::string& bootstrap_servers() const;
  int broker_count() const;

  // Creates a topic (replicated on every broker, leaders spread over them).
  [[nodiscard]] Result<void> CreateTopic(std::string_view topic, int partitions);

  // A down broker drops its connections and refuses new ones until it is up again. Ids start at
  // 1; an unknown id is logged and ignored.
  void SetBrokerDown(int32_t broker_id);
  void SetBrokerUp(int32_t broker_id);

  // Makes `broker_id` the leader of one partition of `topic` (-1: no leader); clients learn it
  // from their next metadata request.
  void SetPartitionLeader(std::string_view topic, int32_t partition, int32_t broker_id);

  // Delays every answer of a broker by `rtt` (0 to stop).
  void SetBrokerRtt(int32_t broker_id, std::chrono::milliseconds rtt);

  // The next `count` requests of `api` (to any broker) fail with `error`.
  void InjectRequestErrors(ApiKey api, int count,
                           RequestError error = RequestError::kNotLeaderForPartition);
  // Drops the injected errors of `api` not yet used.
  void ClearRequestErrors(ApiKey api);

 private:
  struct Impl;
  explicit MockCluster(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace casewatch::kafka
