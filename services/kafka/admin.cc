#include "services/kafka/admin.h"

#include <fmt/format.h>

#include "services/kafka/internal/client.h"

namespace casewatch::kafka {
namespace {

struct NewTopicDeleter {
  void operator()(rd_kafka_NewTopic_t* topic) const { rd_kafka_NewTopic_destroy(topic); }
};
using NewTopicPtr = std::unique_ptr<rd_kafka_NewTopic_t, NewTopicDeleter>;

struct AdminOptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* options) const {
    rd_kafka_AdminOptions_destroy(options);
  }
};
using AdminOptionsPtr = std::unique_ptr<rd_kafka_AdminOptions_t, AdminOptionsDeleter>;

struct EventDeleter {
  void operator()(rd_kafka_event_t* event) const { rd_kafka_event_destroy(event); }
};
using EventPtr = std::unique_ptr<rd_kafka_event_t, EventDeleter>;

// Sends one admin request (`send`, given the options and the queue for its answer) and waits for
// the answer: the event, or an error naming `what` when it failed or did not come.
template <typename Send>
Result<EventPtr> Call(rd_kafka_t* client, rd_kafka_admin_op_t op, const std::string& brokers,
                      const char* what, std::chrono::milliseconds timeout, Send send) {
  AdminOptionsPtr options(rd_kafka_AdminOptions_new(client, op));
  char reason[512] = "";
  if (rd_kafka_AdminOptions_set_operation_timeout(options.get(), internal::TimeoutMs(timeout),
                                                  reason, sizeof(reason)) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    return InvalidArgument(fmt::format("{}: {}", what, reason));
  }
  internal::QueuePtr queue(rd_kafka_queue_new(client));
  send(options.get(), queue.get());
  // The answer, or the request's own timeout (librdkafka's request.timeout.ms), comes back as
  // one event; the extra second only covers delivering it.
  EventPtr event(rd_kafka_queue_poll(queue.get(),
                                     internal::TimeoutMs(timeout + std::chrono::seconds(1))));
  if (!event) return Unavailable(fmt::format("{}: no answer from {}", what, brokers));
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return internal::ToError(rd_kafka_event_error(event.get()),
                             fmt::format("{} on {}", what, brokers));
  }
  return event;
}

}  // namespace

Result<void> CreateTopics(const KafkaConfig& config, const std::vector<NewTopic>& topics,
                          std::chrono::milliseconds timeout) {
  CW_TRY(conf, internal::MakeConf(config, {}));
  CW_TRY(client, internal::NewClient(RD_KAFKA_PRODUCER, std::move(conf)));

  std::vector<NewTopicPtr> owned;
  std::vector<rd_kafka_NewTopic_t*> requests;
  for (const NewTopic& topic : topics) {
    char reason[512] = "";
    NewTopicPtr request(rd_kafka_NewTopic_new(topic.name.c_str(), topic.partitions,
                                              topic.replication_factor, reason, sizeof(reason)));
    if (!request) return InvalidArgument(fmt::format("topic {}: {}", topic.name, reason));
    for (const Property& c : topic.configs) {
      if (rd_kafka_NewTopic_set_config(request.get(), c.key.c_str(), c.value.c_str()) !=
          RD_KAFKA_RESP_ERR_NO_ERROR) {
        return InvalidArgument(fmt::format("topic {}: config {}={}", topic.name, c.key, c.value));
      }
    }
    requests.push_back(request.get());
    owned.push_back(std::move(request));
  }

  CW_TRY(event, Call(client.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS, config.brokers, "create topics",
                     timeout, [&](rd_kafka_AdminOptions_t* options, rd_kafka_queue_t* queue) {
                       rd_kafka_CreateTopics(client.get(), requests.data(), requests.size(),
                                             options, queue);
                     }));
  const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event.get());
  size_t count = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &count);
  for (size_t i = 0; i < count; ++i) {
    const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    const char* detail = rd_kafka_topic_result_error_string(results[i]);
    return internal::ToError(err, fmt::format("create topic {}{}{}",
                                              rd_kafka_topic_result_name(results[i]),
                                              detail != nullptr ? ": " : "",
                                              detail != nullptr ? detail : ""));
  }
  return Ok();
}

Result<void> DeleteRecordsBefore(const KafkaConfig& config, const std::string& topic,
                                 int32_t partition, int64_t offset,
                                 std::chrono::milliseconds timeout) {
  CW_TRY(conf, internal::MakeConf(config, {}));
  CW_TRY(client, internal::NewClient(RD_KAFKA_PRODUCER, std::move(conf)));
  const internal::PartitionListPtr before(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(before.get(), topic.c_str(), partition)->offset = offset;
  const std::unique_ptr<rd_kafka_DeleteRecords_t, decltype(&rd_kafka_DeleteRecords_destroy)>
      request(rd_kafka_DeleteRecords_new(before.get()), &rd_kafka_DeleteRecords_destroy);
  rd_kafka_DeleteRecords_t* requests[] = {request.get()};
  CW_TRY(event, Call(client.get(), RD_KAFKA_ADMIN_OP_DELETERECORDS, config.brokers,
                     "delete records", timeout,
                     [&](rd_kafka_AdminOptions_t* options, rd_kafka_queue_t* queue) {
                       rd_kafka_DeleteRecords(client.get(), requests, 1, options, queue);
                     }));
  const rd_kafka_topic_partition_list_t* result =
      rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(event.get()));
  for (int i = 0; result != nullptr && i < result->cnt; ++i) {
    if (result->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return internal::ToError(result->elems[i].err,
                               fmt::format("delete records of {} [{}] before {}", topic,
                                           result->elems[i].partition, offset));
    }
  }
  return Ok();
}

}  // namespace casewatch::kafka
