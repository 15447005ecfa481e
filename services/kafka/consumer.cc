#include "services/kafka/consumer.h"

#include <fmt/format.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_set>

#include "base/log_throttle.h"
#include "services/kafka/internal/client.h"

namespace casewatch::kafka {

namespace internal {

// The messages behind a Batch's views; each is destroyed (handing its buffer back to
// librdkafka) when the Batch goes.
struct BatchStorage {
  std::vector<MessagePtr> messages;
};

}  // namespace internal

Batch::Batch() = default;
Batch::~Batch() = default;
Batch::Batch(Batch&&) noexcept = default;
Batch& Batch::operator=(Batch&&) noexcept = default;

namespace {

using internal::ClientPtr;
using internal::MessagePtr;
using internal::QueuePtr;

constexpr int64_t kNotAssigned = INT64_MIN;
constexpr std::chrono::milliseconds kAssignMetadataWait{500};
constexpr int32_t kMaxPartition = 1 << 20;  // far above any real topic; bounds next_offsets

const Property kConsumerDefaults[] = {
    {"group.id", "casewatchd"},
    {"enable.auto.commit", "false"},
    {"enable.auto.offset.store", "false"},
    {"enable.partition.eof", "true"},  // Poll notes it (at_end) and returns no record for it
    {"auto.offset.reset", "error"},
    {"fetch.wait.max.ms", "10"},
    {"isolation.level", "read_committed"},
};

}  // namespace

// Owns the librdkafka consumer and a reference to its consumer queue (released first, then the
// consumer is closed, then destroyed). `mutex` guards `next_offsets`, which Lag reads from any
// thread; everything else belongs to the polling thread.
struct Consumer::Impl {
  std::string topic;
  std::string brokers;
  ClientPtr client;
  internal::TopicPtr handle;  // created by the first Assign
  QueuePtr queue;
  bool leaders_known = false;          // a metadata request for the topic succeeded
  bool assigned = false;               // Assign was called: records may be on the queue
  std::optional<Error> pending_error;  // fatal, to be returned by the next Poll
  std::atomic<uint64_t> transient_errors{0};
  LogThrottle log_throttle;
  std::vector<rd_kafka_message_t*> scratch;  // Poll's buffer for rd_kafka_consume_batch_queue
  std::set<int32_t> at_end;  // partitions that reported their end (enable.partition.eof=true)

  simdjson::dom::parser stats_parser;

  mutable std::mutex mutex;
  std::vector<int64_t> next_offsets;  // by partition id; kNotAssigned when not assigned
  // By partition id: since when the brokers have not served it (librdkafka's statistics).
  std::vector<std::optional<std::chrono::system_clock::time_point>> unavailable_since;

  ~Impl() {
    queue.reset();
    handle.reset();
    if (client) {
      if (rd_kafka_resp_err_t err = rd_kafka_consumer_close(client.get()); err) {
        spdlog::warn("kafka consumer of {}: close: {}", topic, rd_kafka_err2str(err));
      }
    }
  }

  // A consumer error, from a message or from the error callback: counted and logged when
  // transient, kept as the pending Error when fatal.
  void OnError(rd_kafka_resp_err_t err, std::string_view where, bool from_client) {
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      char reason[512] = "";
      const rd_kafka_resp_err_t cause = rd_kafka_fatal_error(client.get(), reason, sizeof(reason));
      if (!pending_error) {
        pending_error = IoError(fmt::format("Kafka consumer of \"{}\": fatal error: {} ({})", topic,
                                            reason, rd_kafka_err2name(cause)));
      }
      return;
    }
    if (internal::IsSecurityFailure(err, where)) {
      // Refused credentials or certificate: librdkafka would reconnect for ever; fatal instead.
      if (!pending_error) {
        pending_error = internal::SecurityFailure(
            fmt::format("Kafka consumer of \"{}\"", topic), err, where,
            internal::SecuritySettingsOf(client.get()), rd_kafka_version());
      }
      return;
    }
    if (internal::IsTransient(err)) {
      transient_errors.fetch_add(1, std::memory_order_relaxed);
      // Connection-level errors were already logged by librdkafka as they happened.
      uint64_t held_back = 0;
      if (from_client || log_throttle.Allow(where, held_back)) {
        spdlog::log(from_client ? spdlog::level::debug : spdlog::level::warn,
                    "kafka consumer of {}: {}: {} (librdkafka retries){}", topic, where,
                    rd_kafka_err2str(err), HeldBackNote(held_back));
      }
      return;
    }
    if (err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED) {
      // librdkafka looks up the group's coordinator although this consumer joins no group and
      // commits nothing: brokers whose ACLs do not grant the group are no reason to stop.
      uint64_t held_back = 0;
      if (log_throttle.Allow("group authorization", held_back)) {
        spdlog::warn("kafka consumer of {}: {} (ignored: no group is joined){}", topic, where,
                     HeldBackNote(held_back));
      }
      return;
    }
    if (!pending_error) {
      pending_error =
          internal::ToError(err, fmt::format("Kafka consumer of \"{}\": {}", topic, where));
    }
  }

  // A partition whose leader librdkafka does not know when it is assigned starts only after a
  // 500 ms retry; a metadata request for the topic, answered before rd_kafka_assign, avoids that.
  // Waiting as long for it is never slower. Failing is not an error: librdkafka keeps trying in
  // the background and Poll reports what persists.
  void LoadLeaders() {
    if (!handle) handle.reset(rd_kafka_topic_new(client.get(), topic.c_str(), nullptr));
    if (!handle) return;
    const rd_kafka_metadata_t* raw = nullptr;
    const rd_kafka_resp_err_t err = rd_kafka_metadata(client.get(), 0, handle.get(), &raw,
                                                      internal::TimeoutMs(kAssignMetadataWait));
    internal::MetadataPtr metadata(raw);
    leaders_known = err == RD_KAFKA_RESP_ERR_NO_ERROR && metadata->topic_cnt == 1 &&
                    metadata->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR;
  }

  // The fatal error seen so far, taken. Before the first Assign only errors can be on the
  // consumer queue, so they are served here first: Partitions then ends at a refused password.
  std::optional<Error> TakeFatal() {
    if (!assigned) {
      if (rd_kafka_message_t* raw = rd_kafka_consumer_poll(client.get(), 0)) {
        MessagePtr message(raw);
        if (message->err) OnError(message->err, "consumer", /*from_client=*/false);
      }
    }
    std::optional<Error> taken = std::move(pending_error);
    pending_error.reset();
    return taken;
  }

  // librdkafka's statistics (statistics.interval.ms), on the polling thread: a partition of the
  // topic is unavailable while it has no leader or its leader's broker is not up (connected:
  // UP, or UPDATE and REAUTH, which are states of a connection in use). Statistics that cannot
  // be read change nothing.
  void OnStatistics(std::string_view json) {
    simdjson::dom::element root;
    if (stats_parser.parse(json.data(), json.size()).get(root)) return;
    std::unordered_set<int64_t> up;
    simdjson::dom::object broker_stats;
    if (!root["brokers"].get(broker_stats)) {
      for (auto [name, broker] : broker_stats) {
        int64_t id = -1;
        std::string_view state;
        if (!broker["nodeid"].get(id) && !broker["state"].get(state) &&
            (state == "UP" || state == "UPDATE" || state == "REAUTH")) {
          up.insert(id);
        }
      }
    }
    simdjson::dom::object partitions;
    if (root["topics"][topic]["partitions"].get(partitions)) return;
    const auto now = std::chrono::system_clock::now();
    std::lock_guard lock(mutex);
    unavailable_since.resize(next_offsets.size());
    for (auto [key, partition] : partitions) {
      int64_t id = -1;
      int64_t leader = -1;
      if (partition["partition"].get(id) || partition["leader"].get(leader)) continue;
      if (id < 0 || static_cast<size_t>(id) >= next_offsets.size()) continue;
      std::optional<std::chrono::system_clock::time_point>& since =
          unavailable_since[static_cast<size_t>(id)];
      if (leader >= 0 && up.contains(leader)) {
        since.reset();
      } else if (!since) {
        since = now;
      }
    }
  }

  static int OnStatisticsCallback(rd_kafka_t* /*client*/, char* json, size_t size, void* opaque) {
    static_cast<Impl*>(opaque)->OnStatistics(std::string_view(json, size));
    return 0;  // librdkafka frees `json`
  }

  static void OnClientError(rd_kafka_t* /*client*/, int err, const char* reason, void* opaque) {
    static_cast<Impl*>(opaque)->OnError(static_cast<rd_kafka_resp_err_t>(err), reason,
                                        /*from_client=*/true);
  }
};

Consumer::Consumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Consumer::~Consumer() = default;
Consumer::Consumer(Consumer&&) noexcept = default;
Consumer& Consumer::operator=(Consumer&&) noexcept = default;

Result<Consumer> Consumer::Open(const KafkaConfig& config, std::string topic) {
  if (topic.empty()) return InvalidArgument("Kafka consumer: the topic name is empty");
  auto impl = std::make_unique<Impl>();
  impl->topic = std::move(topic);
  impl->brokers = config.brokers;
  Result<internal::ConfPtr> conf = internal::MakeConf(config, kConsumerDefaults);
  if (!conf) return conf.error();
  rd_kafka_conf_set_opaque(conf.value().get(), impl.get());  // Impl is on the heap: it stays put
  rd_kafka_conf_set_error_cb(conf.value().get(), &Impl::OnClientError);
  rd_kafka_conf_set_stats_cb(conf.value().get(), &Impl::OnStatisticsCallback);
  Result<ClientPtr> client = internal::NewClient(RD_KAFKA_CONSUMER, std::move(conf).value());
  if (!client) return client.error();
  impl->client = std::move(client).value();
  // Errors and logs then arrive on the consumer queue, which Poll serves.
  if (rd_kafka_resp_err_t err = rd_kafka_poll_set_consumer(impl->client.get()); err) {
    return internal::ToError(err, "Kafka consumer: cannot use the consumer queue");
  }
  impl->queue.reset(rd_kafka_queue_get_consumer(impl->client.get()));
  if (!impl->queue) {
    return InvalidArgument("Kafka consumer: no consumer queue (is group.id set to empty?)");
  }
  return Consumer(std::move(impl));
}

Result<std::vector<int32_t>> Consumer::Partitions(std::chrono::milliseconds timeout) {
  return internal::TopicPartitions(impl_->client.get(), impl_->topic, impl_->brokers, timeout,
                                   [this] { return impl_->TakeFatal(); });
}

Result<void> Consumer::Assign(std::span<const PartitionStart> starts) {
  internal::PartitionListPtr list(
      rd_kafka_topic_partition_list_new(static_cast<int>(std::max<size_t>(starts.size(), 1))));
  std::vector<int64_t> next_offsets;
  for (const PartitionStart& start : starts) {
    if (start.partition < 0 || start.partition > kMaxPartition ||
        (start.offset < 0 && start.offset != kBeginning)) {
      return InvalidArgument(fmt::format(
          "Kafka consumer of \"{}\": cannot start partition {} at offset {} (partitions are "
          "0..{}, offsets >= 0 or kBeginning)",
          impl_->topic, start.partition, start.offset, kMaxPartition));
    }
    const auto index = static_cast<size_t>(start.partition);
    if (index < next_offsets.size() && next_offsets[index] != kNotAssigned) {
      return InvalidArgument(fmt::format("Kafka consumer of \"{}\": partition {} assigned twice",
                                         impl_->topic, start.partition));
    }
    if (index >= next_offsets.size()) next_offsets.resize(index + 1, kNotAssigned);
    next_offsets[index] = start.offset;
    rd_kafka_topic_partition_list_add(list.get(), impl_->topic.c_str(), start.partition)->offset =
        start.offset;
  }
  impl_->assigned = true;
  if (!impl_->leaders_known && !starts.empty()) impl_->LoadLeaders();
  impl_->at_end.clear();
  if (rd_kafka_resp_err_t err = rd_kafka_assign(impl_->client.get(), list.get()); err) {
    return internal::ToError(err, fmt::format("Kafka consumer of \"{}\": assign", impl_->topic));
  }
  std::lock_guard lock(impl_->mutex);
  impl_->next_offsets = std::move(next_offsets);
  impl_->unavailable_since.assign(impl_->next_offsets.size(), std::nullopt);
  return Ok();
}

Result<Batch> Consumer::Poll(size_t max_messages, std::chrono::milliseconds timeout) {
  Impl& impl = *impl_;
  if (impl.pending_error) {
    Error error = std::move(*impl.pending_error);
    impl.pending_error.reset();
    return error;
  }
  Batch batch;
  if (max_messages == 0) return batch;
  batch.storage_ = std::make_unique<internal::BatchStorage>();
  std::vector<MessagePtr>& owned = batch.storage_->messages;
  const size_t expected = std::min<size_t>(max_messages, 4096);  // a guess, not a limit
  owned.reserve(expected);
  batch.messages_.reserve(expected);
  std::vector<rd_kafka_message_t*>& raw = impl.scratch;
  if (raw.size() < max_messages) raw.resize(max_messages);

  // Takes `count` messages from `raw` into the batch; errors are handled and destroyed.
  auto take = [&](size_t count) {
    for (size_t i = 0; i < count; ++i) {
      MessagePtr message(raw[i]);
      if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          impl.at_end.insert(message->partition);
        } else {
          impl.OnError(message->err,
                       message->rkt != nullptr ? fmt::format("partition {} offset {}",
                                                             message->partition, message->offset)
                                               : std::string("consumer"),
                       /*from_client=*/false);
        }
        continue;
      }
      rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
      const int64_t timestamp = rd_kafka_message_timestamp(message.get(), &type);
      batch.messages_.push_back(
          Message{message->partition, message->offset,
                  std::string_view(static_cast<const char*>(message->key), message->key_len),
                  std::string_view(static_cast<const char*>(message->payload), message->len),
                  type == RD_KAFKA_TIMESTAMP_CREATE_TIME ? timestamp : -1,
                  {}});
      // Owned by the message; absent (an error) when the record has none.
      rd_kafka_headers_t* headers = nullptr;
      if (rd_kafka_message_headers(message.get(), &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name = nullptr;
        const void* value = nullptr;
        size_t size = 0;
        for (size_t h = 0; rd_kafka_header_get_all(headers, h, &name, &value, &size) ==
                           RD_KAFKA_RESP_ERR_NO_ERROR;
             ++h) {
          batch.messages_.back().headers.emplace_back(
              name, std::string_view(static_cast<const char*>(value), size));
        }
      }
      owned.push_back(std::move(message));
    }
  };
  // Whatever has already arrived; if nothing has, wait for the first record (errors do not end
  // the wait), then take what came with it.
  auto drain = [&](size_t room) -> Result<void> {
    const ssize_t got = rd_kafka_consume_batch_queue(impl.queue.get(), 0, raw.data(), room);
    if (got < 0) {
      return internal::ToError(rd_kafka_last_error(),
                               fmt::format("Kafka consumer of \"{}\": poll", impl.topic));
    }
    take(static_cast<size_t>(got));
    return Ok();
  };
  CW_TRY(drain(max_messages));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (batch.messages_.empty() && !impl.pending_error) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    rd_kafka_message_t* first =
        rd_kafka_consumer_poll(impl.client.get(), internal::TimeoutMs(left));
    if (first == nullptr) break;
    raw[0] = first;
    take(1);
    if (!batch.messages_.empty()) {
      CW_TRY(drain(max_messages - batch.messages_.size()));
    }
  }

  if (!batch.messages_.empty()) {
    std::lock_guard lock(impl.mutex);
    for (const Message& m : batch.messages_) {
      const auto index = static_cast<size_t>(m.partition);
      if (index < impl.next_offsets.size() && impl.next_offsets[index] != kNotAssigned) {
        impl.next_offsets[index] = m.offset + 1;
      }
    }
  } else if (impl.pending_error) {
    Error error = std::move(*impl.pending_error);
    impl.pending_error.reset();
    return error;
  }
  return batch;
}

namespace {

// The first offset still to read of partition `p`: `next`, or for a partition read from the
// beginning, the low watermark librdkafka cached (-1 when it has none yet).
int64_t FirstToRead(rd_kafka_t* client, const std::string& topic, size_t p, int64_t next,
                    int64_t* high = nullptr) {
  int64_t low = RD_KAFKA_OFFSET_INVALID;
  int64_t end = RD_KAFKA_OFFSET_INVALID;
  const bool known = rd_kafka_get_watermark_offsets(client, topic.c_str(),
                                                    static_cast<int32_t>(p), &low, &end) == 0;
  if (high != nullptr) *high = known ? end : RD_KAFKA_OFFSET_INVALID;
  if (next != kBeginning) return next;
  return known && low >= 0 ? low : -1;
}

}  // namespace

std::vector<Consumer::PartitionLag> Consumer::PartitionLags() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<PartitionLag> lags;
  for (size_t p = 0; p < impl_->next_offsets.size(); ++p) {
    const int64_t next = impl_->next_offsets[p];
    if (next == kNotAssigned) continue;
    int64_t high = RD_KAFKA_OFFSET_INVALID;
    const int64_t from = FirstToRead(impl_->client.get(), impl_->topic, p, next, &high);
    const int64_t lag = high < 0 || from < 0 ? -1 : std::max<int64_t>(0, high - from);
    lags.push_back(PartitionLag{
        static_cast<int32_t>(p), lag,
        p < impl_->unavailable_since.size() ? impl_->unavailable_since[p] : std::nullopt});
  }
  return lags;
}

int64_t Consumer::Lag() const { return TotalLag(PartitionLags()); }

int64_t Consumer::TotalLag(std::span<const PartitionLag> lags) {
  int64_t lag = 0;
  for (const PartitionLag& p : lags) {
    if (p.lag < 0) return -1;
    lag += p.lag;
  }
  return lags.empty() ? -1 : lag;
}

Result<std::vector<int64_t>> Consumer::EndOffsets(std::chrono::milliseconds timeout) {
  std::vector<int64_t> next;
  {
    std::lock_guard lock(impl_->mutex);
    next = impl_->next_offsets;
  }
  std::vector<int64_t> ends(next.size(), -1);
  for (size_t p = 0; p < next.size(); ++p) {
    if (next[p] == kNotAssigned) continue;
    int64_t low = 0;
    int64_t high = 0;
    if (rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
            impl_->client.get(), impl_->topic.c_str(), static_cast<int32_t>(p), &low, &high,
            internal::TimeoutMs(timeout));
        err) {
      return internal::ToError(
          err, fmt::format("Kafka consumer of \"{}\": the end of partition {} ({})", impl_->topic,
                           p, impl_->brokers));
    }
    ends[p] = high;
  }
  return ends;
}

int64_t Consumer::Behind(std::span<const int64_t> targets) const {
  std::lock_guard lock(impl_->mutex);
  int64_t behind = 0;
  for (size_t p = 0; p < impl_->next_offsets.size() && p < targets.size(); ++p) {
    const int64_t next = impl_->next_offsets[p];
    if (next == kNotAssigned || targets[p] < 0) continue;
    if (impl_->at_end.contains(static_cast<int32_t>(p))) continue;
    const int64_t from =
        std::max<int64_t>(0, FirstToRead(impl_->client.get(), impl_->topic, p, next));
    behind += std::max<int64_t>(0, targets[p] - from);
  }
  return behind;
}

bool Consumer::AtEnd() const {
  std::lock_guard lock(impl_->mutex);
  size_t assigned = 0;
  for (const int64_t next : impl_->next_offsets) assigned += next != kNotAssigned ? 1 : 0;
  return impl_->at_end.size() >= assigned;
}

uint64_t Consumer::transient_errors() const {
  return impl_->transient_errors.load(std::memory_order_relaxed);
}

const std::string& Consumer::topic() const { return impl_->topic; }

Result<void> ReadToEnd(const KafkaConfig& config, const std::string& topic,
                       std::chrono::milliseconds timeout,
                       const std::function<void(const Message&)>& visit,
                       std::span<const PartitionStart> from) {
  KafkaConfig reading = config;
  reading.properties.push_back(Property{"enable.partition.eof", "true"});
  CW_TRY(consumer, Consumer::Open(reading, topic));
  return ReadToEnd(consumer, timeout, visit, from);
}

namespace {
// What is left of `timeout` since `started`, never below nothing.
std::chrono::milliseconds Remaining(std::chrono::steady_clock::time_point started,
                                    std::chrono::milliseconds timeout) {
  const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  return std::max(std::chrono::milliseconds(0), timeout - spent);
}
}  // namespace

// Assigns `starts` and reads them to their ends (ReadToEnd), within `timeout`.
Result<void> ReadAssignedToEnd(Consumer& consumer, std::span<const PartitionStart> starts,
                               std::chrono::milliseconds timeout,
                               const std::function<void(const Message&)>& visit) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  CW_TRY(consumer.Assign(starts));
  while (!consumer.AtEnd()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      size_t at_end = 0;
      {
        std::lock_guard lock(consumer.impl_->mutex);
        at_end = consumer.impl_->at_end.size();
      }
      return Unavailable(fmt::format(
          "reading \"{}\" to its end from {}: {} of the {} partitions read reached it within {} ms",
          consumer.topic(), consumer.impl_->brokers, at_end, starts.size(), timeout.count()));
    }
    // Short waits: the end is a message too, and a reader waiting for it should not wait longer.
    CW_TRY(batch, consumer.Poll(10000, std::chrono::milliseconds(10)));
    for (const Message& m : batch.messages()) visit(m);
  }
  return Ok();
}

Result<void> ReadToEnd(Consumer& consumer, std::chrono::milliseconds timeout,
                       const std::function<void(const Message&)>& visit,
                       std::span<const PartitionStart> from) {
  const auto started = std::chrono::steady_clock::now();
  CW_TRY(partitions, consumer.Partitions(timeout));
  std::vector<PartitionStart> starts;
  for (int32_t partition : partitions) {
    PartitionStart start{partition, kBeginning};
    for (const PartitionStart& given : from) {
      if (given.partition == partition) start.offset = given.offset;
    }
    starts.push_back(start);
  }
  return ReadAssignedToEnd(consumer, starts, Remaining(started, timeout), visit);
}

Result<void> ReadPartitionToEnd(const KafkaConfig& config, const std::string& topic,
                                int32_t partition, std::chrono::milliseconds timeout,
                                const std::function<void(const Message&)>& visit) {
  KafkaConfig reading = config;
  reading.properties.push_back(Property{"enable.partition.eof", "true"});
  CW_TRY(consumer, Consumer::Open(reading, topic));
  return ReadPartitionToEnd(consumer, partition, timeout, visit);
}

Result<void> ReadPartitionToEnd(Consumer& consumer, int32_t partition,
                                std::chrono::milliseconds timeout,
                                const std::function<void(const Message&)>& visit) {
  const auto started = std::chrono::steady_clock::now();
  CW_TRY(partitions, consumer.Partitions(timeout));
  if (std::find(partitions.begin(), partitions.end(), partition) == partitions.end()) {
    return Unavailable(fmt::format("\"{}\" has no partition {} (it has {})", consumer.topic(),
                                   partition, partitions.size()));
  }
  const PartitionStart start{partition, kBeginning};
  return ReadAssignedToEnd(consumer, std::span(&start, 1), Remaining(started, timeout), visit);
}

}  // namespace casewatch::kafka
