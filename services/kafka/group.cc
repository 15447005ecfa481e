#include "services/kafka/group.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "services/kafka/internal/client.h"

namespace casewatch::kafka {
namespace {

constexpr int kPollMs = 100;

// The partitions of `topic` in `list`, in list order.
std::vector<int32_t> PartitionsOf(const std::string& topic,
                                  const rd_kafka_topic_partition_list_t& list) {
  std::vector<int32_t> partitions;
  for (int i = 0; i < list.cnt; ++i) {
    if (topic == list.elems[i].topic) partitions.push_back(list.elems[i].partition);
  }
  return partitions;
}

}  // namespace

// Owns the librdkafka consumer and the thread that serves it. `mutex` guards `failure`; the
// consumer belongs to the thread until Close joins it.
struct GroupMember::Impl {
  GroupMember* owner = nullptr;
  GroupOptions options;
  internal::ClientPtr client;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<bool> synced{false};  // the group has given this member an assignment once
  bool closed = false;
  // Leaving did not finish in time: the client, and this (its callbacks' opaque), are left
  // behind rather than destroyed under a close still running.
  bool abandoned = false;

  mutable std::mutex mutex;  // guards failure and held
  std::optional<Error> failure;
  std::vector<int32_t> held;  // ascending

  void Fail(Error error) {
    std::lock_guard lock(mutex);
    if (!failure) {
      spdlog::error("group {}: {}", options.group, error.message);
      failure = std::move(error);
    }
  }

  // After every change of assignment: the partitions this member holds, and whether partition 0
  // is among them, so that it leads.
  void Refresh(bool lost) {
    rd_kafka_topic_partition_list_t* raw = nullptr;
    std::vector<int32_t> now;
    if (rd_kafka_assignment(client.get(), &raw) == RD_KAFKA_RESP_ERR_NO_ERROR && raw != nullptr) {
      internal::PartitionListPtr list(raw);
      now = PartitionsOf(options.topic, *list);
    }
    std::sort(now.begin(), now.end());
    const bool leads = !now.empty() && now.front() == 0;
    {
      std::lock_guard lock(mutex);
      held = std::move(now);
    }
    if (leads != owner->leads_.exchange(leads)) {
      spdlog::info("group {}: this member {} the leadership{}", options.group,
                   leads ? "holds" : "no longer holds",
                   lost ? " (the group stopped hearing from it: frozen, cut off or too slow)" : "");
    }
  }

  void OnRebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions) {
    // The member's assignor is always cooperative-sticky (Join): the protocol is not asked of
    // librdkafka, whose rd_kafka_rebalance_protocol can hang when called from this callback
    // while the consumer closes (librdkafka issue 4041).
    constexpr bool cooperative = true;
    const bool lost = rd_kafka_assignment_lost(client.get()) != 0;
    synced = true;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      // Nothing is read: each partition starts at its end and is paused at once.
      for (int i = 0; i < partitions->cnt; ++i) partitions->elems[i].offset = RD_KAFKA_OFFSET_END;
      if (cooperative) {
        if (rd_kafka_error_t* error = rd_kafka_incremental_assign(client.get(), partitions)) {
          Fail(IoError(fmt::format("cannot take the partitions the group gave: {}",
                                   rd_kafka_error_string(error))));
          rd_kafka_error_destroy(error);
        }
      } else {
        rd_kafka_assign(client.get(), partitions);
      }
      rd_kafka_pause_partitions(client.get(), partitions);
      if (options.on_assign) {
        const std::vector<int32_t> assigned = PartitionsOf(options.topic, *partitions);
        if (!assigned.empty()) options.on_assign(assigned);
      }
    } else {
      if (options.on_revoke) {
        const std::vector<int32_t> revoked = PartitionsOf(options.topic, *partitions);
        if (!revoked.empty()) options.on_revoke(revoked);
      }
      if (cooperative) {
        if (rd_kafka_error_t* error = rd_kafka_incremental_unassign(client.get(), partitions)) {
          rd_kafka_error_destroy(error);
        }
      } else {
        rd_kafka_assign(client.get(), nullptr);
      }
    }
    Refresh(lost);
  }

  static void RebalanceCallback(rd_kafka_t* /*client*/, rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t* partitions, void* opaque) {
    static_cast<Impl*>(opaque)->OnRebalance(err, partitions);
  }

  void OnError(rd_kafka_resp_err_t err, std::string_view reason) {
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      char text[512] = "";
      const rd_kafka_resp_err_t cause = rd_kafka_fatal_error(client.get(), text, sizeof(text));
      Fail(IoError(fmt::format("fatal error: {} ({})", text, rd_kafka_err2name(cause))));
      return;
    }
    if (internal::IsSecurityFailure(err, reason)) {
      Fail(internal::SecurityFailure(fmt::format("Kafka group member of \"{}\"", options.group),
                                     err, reason, internal::SecuritySettingsOf(client.get()),
                                     rd_kafka_version()));
      return;
    }
    if (err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED ||
        err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
      Fail(internal::ToError(
          err, fmt::format("joining group \"{}\" on topic \"{}\" (the principal needs Read on "
                           "both: deploy/topics.sh --acl)",
                           options.group, options.topic)));
      return;
    }
    // Anything else (a broker down, a coordinator moving) librdkafka recovers from by itself.
    spdlog::debug("group {}: {} ({})", options.group, rd_kafka_err2str(err), reason);
  }

  static void ErrorCallback(rd_kafka_t* /*client*/, int err, const char* reason, void* opaque) {
    static_cast<Impl*>(opaque)->OnError(static_cast<rd_kafka_resp_err_t>(err), reason);
  }

  void Serve() {
    while (!stopping.load()) {
      rd_kafka_message_t* raw = rd_kafka_consumer_poll(client.get(), kPollMs);
      if (raw == nullptr) continue;
      internal::MessagePtr message(raw);
      if (message->err && message->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        OnError(message->err, rd_kafka_message_errstr(message.get()));
      }
    }
  }
};

GroupMember::GroupMember(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GroupMember::~GroupMember() {
  Close();
  if (impl_ && impl_->abandoned) (void)impl_.release();
}

Result<std::unique_ptr<GroupMember>> GroupMember::Join(const KafkaConfig& config,
                                                       GroupOptions options) {
  if (options.group.empty()) return InvalidArgument("Kafka group: the group name is empty");
  if (options.topic.empty()) return InvalidArgument("Kafka group: the topic name is empty");
  const std::string session = std::to_string(options.session_timeout.count());
  const std::string heartbeat =
      std::to_string(std::max<int64_t>(100, options.session_timeout.count() / 6));
  const Property defaults[] = {
      {"group.id", options.group},
      {"partition.assignment.strategy", "cooperative-sticky"},
      {"session.timeout.ms", session},
      {"heartbeat.interval.ms", heartbeat},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "latest"},
  };
  // The caller's properties (TLS, SASL) apply, but not ones that would change what a member is.
  KafkaConfig own = config;
  std::erase_if(own.properties, [](const Property& p) {
    return p.key == "group.id" || p.key == "partition.assignment.strategy" ||
           p.key == "group.instance.id" || p.key == "isolation.level";
  });
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  CW_TRY(conf, internal::MakeConf(own, defaults));
  rd_kafka_conf_set_opaque(conf.get(), impl.get());
  rd_kafka_conf_set_rebalance_cb(conf.get(), &Impl::RebalanceCallback);
  rd_kafka_conf_set_error_cb(conf.get(), &Impl::ErrorCallback);
  CW_TRY(client, internal::NewClient(RD_KAFKA_CONSUMER, std::move(conf)));
  impl->client = std::move(client);
  rd_kafka_poll_set_consumer(impl->client.get());
  internal::PartitionListPtr topics(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(topics.get(), impl->options.topic.c_str(),
                                    RD_KAFKA_PARTITION_UA);
  if (rd_kafka_resp_err_t err = rd_kafka_subscribe(impl->client.get(), topics.get()); err) {
    return internal::ToError(err, fmt::format("Kafka group \"{}\": subscribing to \"{}\"",
                                              impl->options.group, impl->options.topic));
  }
  Impl* raw = impl.get();
  std::unique_ptr<GroupMember> member(new GroupMember(std::move(impl)));
  raw->owner = member.get();
  raw->thread = std::thread([raw] { raw->Serve(); });
  return member;
}

std::vector<int32_t> GroupMember::Held() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->held;
}

std::optional<Error> GroupMember::Failure() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->failure;
}

void GroupMember::Close() {
  if (!impl_ || impl_->closed) return;
  impl_->closed = true;
  impl_->stopping = true;
  if (impl_->thread.joinable()) impl_->thread.join();
  rd_kafka_t* client = impl_->client.get();
  const auto poll_until = [&](const std::function<bool()>& done, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      if (rd_kafka_message_t* raw = rd_kafka_consumer_poll(client, kPollMs)) {
        rd_kafka_message_destroy(raw);
      }
    }
    return done();
  };
  const auto synced = [this] { return impl_->synced.load(); };
  // librdkafka 2.0.2 fails an assertion (rd_kafka_sticky_assignor_state_destroy), destroying
  // the client, when a cooperative-sticky member has joined (the group chose its assignor) but
  // has not yet been given an assignment (librdkafka issue 4312, fixed in 2.3.0; found here by
  // the group test's rolling restart and group_member_test's churn). A member stopped before its
  // first assignment waits for it: 5 s, then, if it has joined, up to 30 s more while the
  // others' rebalances go on. One that never joined is destroyed without a word (the group
  // notices after the session timeout; it held nothing). One that joined and still has nothing
  // after that is left behind, not destroyed: the process is stopping.
  if (!poll_until(synced, std::chrono::seconds(5)) &&
      std::strcmp(rd_kafka_rebalance_protocol(client), "NONE") != 0 &&
      !poll_until(synced, std::chrono::seconds(30))) {
    spdlog::warn("group {}: no assignment came within 35 s of stopping; leaving the group to "
                 "notice after the session timeout",
                 impl_->options.group);
    (void)impl_->client.release();
    impl_->abandoned = true;
  } else if (impl_->synced) {
    // librdkafka 2.0.2 can hang for ever in rd_kafka_consumer_close when an incremental
    // assignment arrives while it closes (librdkafka issue 4527, fixed in 2.4.0). So the member
    // leaves first: unsubscribing revokes what it holds through the rebalance callback, served
    // here until nothing is assigned; only then is it closed, with nothing left to assign. The
    // close is still given at most 10 s: past that it is left behind (its thread and client, as
    // the process is stopping), not waited on for ever.
    rd_kafka_unsubscribe(client);
    poll_until([this] { return Held().empty(); }, std::chrono::seconds(5));
    auto closing = std::make_shared<std::promise<rd_kafka_resp_err_t>>();
    std::future<rd_kafka_resp_err_t> closed = closing->get_future();
    std::thread([client, closing] { closing->set_value(rd_kafka_consumer_close(client)); })
        .detach();
    if (closed.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      spdlog::warn("group {}: leaving the group did not finish within 10 s; the others will "
                   "notice after the session timeout",
                   impl_->options.group);
      (void)impl_->client.release();  // still in use by the close: never destroyed
      impl_->abandoned = true;
    } else if (rd_kafka_resp_err_t err = closed.get(); err) {
      spdlog::warn("group {}: leaving: {}", impl_->options.group, rd_kafka_err2str(err));
    }
  } else {
    rd_kafka_destroy_flags(impl_->client.release(), RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  }
  leads_ = false;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->held.clear();
  }
  impl_->client.reset();
}

}  // namespace casewatch::kafka
