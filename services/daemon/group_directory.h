#pragma once
// GroupDirectory: how the engines of a group (casewatchd --group) know of each other. Each
// writes a record about itself to the group's directory, a compacted topic of one partition
// (--group-directory-topic, default casewatchd-group-directory, made by deploy/topics.sh), every
// 2 s, keyed by the address it serves HTTP on (--advertise-url), and each reads the whole topic.
// So any engine can say which engines the group has, which leads, how far each has applied the
// events topic, and which have gone silent since when (GET /api/v1/group, /metrics).
//
// - A clean stop writes a tombstone: the engine leaves the directory at once.
// - An engine not heard from within the group's session timeout is silent (killed, frozen, cut
//   off); it is listed as such, with when it was last heard of, until it writes again or a day
//   has passed.
// - The record's value is one line of fields, e.g.
//     role=leader started=2026-12-06T22:00:00Z lag=0 catching_up=0
//     as_of=2026-12-06T22:01:00Z offsets=0:5459,1:4708
//   (one line; as_of=- before anything is projected). Fields this build does not know are
//   skipped, so a newer engine's records are read by an older one during a rolling upgrade.
// - When it was heard is the record's timestamp, from the writer's clock: the engines' clocks
//   must agree to well within the session timeout (NTP).
//
// The first piece of the directory docs/partitioned-group.md plans: routing reads to the owners
// of partitions and choosing standbys will read it too.
//
// A thread of its own reads and writes; Engines may be called from any thread.

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "services/engine/engine_status.h"
#include "services/http/api.h"
#include "services/http/live_view.h"
#include "services/kafka/kafka_config.h"

namespace casewatch::daemon {

struct DirectoryOptions {
  std::string topic = "casewatchd-group-directory";
  std::string url;  // this engine's name in the group: where it serves HTTP
  std::chrono::milliseconds interval{2000};
  // Not heard from for longer: silent.
  std::chrono::milliseconds session_timeout{6000};
  // Silent for longer: no longer listed (an engine removed without a clean stop).
  std::chrono::hours forget_after{24};
};

// What this engine says of itself; `url`, `self`, `live`, `heard` and `started` are the
// directory's to fill.
using SelfReport = std::function<http::GroupPeer()>;

// What an engine says of itself, from its live view: role, lag, and what its counts reflect.
http::GroupPeer SelfOf(const engine::EngineStatus& status, const http::Snapshot& snapshot);

// The tasks this engine (the group's `self`) keeps a copy of, with `replicas` copies of each
// (--standby-replicas): of each of `partitions` it does not hold (`held`, from the group's
// assignment), the standbys are the `replicas` live engines of the directory, other than the
// engine whose record names the partition among its offsets (its owner), ranked highest by
// rendezvous hashing of their url and the partition. Every engine reads the same directory, so
// all choose the same; when an engine joins or leaves, only the tasks it ranks for move.
std::vector<int32_t> StandbyTasks(const http::GroupView& group, std::span<const int32_t> held,
                                  int32_t partitions, int replicas);

// One directory record, as written and read.
std::string EncodeDirectoryRecord(const http::GroupPeer& engine);
// `key` is the engine's url, `heard` the record's timestamp. InvalidArgument naming the field
// that does not parse.
[[nodiscard]] Result<http::GroupPeer> DecodeDirectoryRecord(std::string_view key,
                                                            std::string_view value, Instant heard);

class GroupDirectory {
 public:
  // Starts reading and writing in the background. Never waits for the brokers: while the
  // directory cannot be read, GroupView::problem says why and the thread keeps trying.
  [[nodiscard]] static Result<std::unique_ptr<GroupDirectory>> Start(
      const kafka::KafkaConfig& config, DirectoryOptions options, SelfReport self);
  // Leaves the directory (a tombstone, delivered within 2 s when the brokers can take it), then
  // stops the thread.
  ~GroupDirectory();
  GroupDirectory(const GroupDirectory&) = delete;
  GroupDirectory& operator=(const GroupDirectory&) = delete;

  http::GroupView View() const;
  // Stops writing without leaving the directory, as a killed engine would (tests).
  void Abandon();

 private:
  struct Impl;
  explicit GroupDirectory(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace casewatch::daemon
