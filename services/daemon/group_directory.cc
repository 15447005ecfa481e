#include "services/daemon/group_directory.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <functional>
#include <iterator>
#include <map>
#include <thread>

#include "base/mutex.h"
#include "base/partition_offsets.h"
#include "services/kafka/consumer.h"
#include "services/kafka/producer.h"

namespace casewatch::daemon {
namespace {

constexpr auto kPoll = std::chrono::milliseconds(100);
constexpr auto kRetry = std::chrono::seconds(1);
constexpr auto kWarnEvery = std::chrono::seconds(30);

std::string InstantOrDash(const std::optional<Instant>& instant) {
  return instant ? FormatInstant(*instant) : "-";
}

// When a record was written: its timestamp, or (a record without one) when it was read.
Instant HeardAt(int64_t timestamp_ms) {
  if (timestamp_ms < 0) return InstantOf(std::chrono::system_clock::now());
  return InstantOf(std::chrono::system_clock::time_point(std::chrono::milliseconds(timestamp_ms)));
}

}  // namespace

http::GroupPeer SelfOf(const engine::EngineStatus& status, const http::Snapshot& snapshot) {
  http::GroupPeer engine;
  engine.role = status.role;
  engine.lag = status.lag;
  engine.catching_up = status.catching_up;
  engine.as_of = snapshot.as_of;
  engine.offsets = snapshot.consumed;
  return engine;
}

std::string EncodeDirectoryRecord(const http::GroupPeer& engine) {
  std::string record =
      fmt::format("role={} started={} lag={} catching_up={} as_of={} offsets={}", engine.role,
                  FormatInstant(engine.started), engine.lag, engine.catching_up ? 1 : 0,
                  InstantOrDash(engine.as_of), FormatPartitionOffsets(engine.offsets));
  if (!engine.standby.empty()) {
    fmt::format_to(std::back_inserter(record), " standby={}", fmt::join(engine.standby, ","));
  }
  return record;
}

std::vector<int32_t> StandbyTasks(const http::GroupView& group, std::span<const int32_t> held,
                                  int32_t partitions, int replicas) {
  std::vector<int32_t> mine;
  const auto self = std::find_if(group.engines.begin(), group.engines.end(),
                                 [](const http::GroupPeer& e) { return e.self; });
  if (self == group.engines.end() || replicas <= 0) return mine;
  // FNV-1a of the url and the partition: the same on every engine and every build.
  const auto weight = [](const std::string& url, int32_t partition) {
    uint64_t hash = 14695981039346656037ull;
    for (const char c : fmt::format("{}#{}", url, partition)) {
      hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    }
    return hash;
  };
  for (int32_t p = 0; p < partitions; ++p) {
    if (std::find(held.begin(), held.end(), p) != held.end()) continue;
    std::vector<std::pair<uint64_t, const std::string*>> ranked;
    for (const http::GroupPeer& e : group.engines) {
      if (!e.live || e.url.empty() || (!e.self && e.offsets.count(p) > 0)) continue;
      ranked.emplace_back(weight(e.url, p), &e.url);
    }
    const size_t keep = std::min(ranked.size(), static_cast<size_t>(replicas));
    std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(keep),
                      ranked.end(), std::greater<>());
    for (size_t i = 0; i < keep; ++i) {
      if (*ranked[i].second == self->url) mine.push_back(p);
    }
  }
  return mine;
}

Result<http::GroupPeer> DecodeDirectoryRecord(std::string_view key, std::string_view value,
                                              Instant heard) {
  http::GroupPeer engine;
  engine.url = std::string(key);
  engine.heard = heard;
  for (std::string_view rest = value; !rest.empty();) {
    const size_t space = rest.find(' ');
    const std::string_view field = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
    const size_t equals = field.find('=');
    if (equals == std::string_view::npos) continue;
    const std::string_view name = field.substr(0, equals);
    const std::string_view text = field.substr(equals + 1);
    const auto bad = [&](std::string_view why) {
      return InvalidArgument(fmt::format("the group directory's record of {}: {}={}: {}", key,
                                         name, text, why));
    };
    if (name == "role") {
      const bool word = !text.empty() && text.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") ==
                                             std::string_view::npos;
      if (!word) return bad("not a role (lower-case letters)");
      engine.role = std::string(text);
    } else if (name == "started" || (name == "as_of" && text != "-")) {
      auto instant = ParseInstant(text);
      if (!instant) return bad(instant.error().message);
      if (name == "started") {
        engine.started = instant.value();
      } else {
        engine.as_of = instant.value();
      }
    } else if (name == "lag") {
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), engine.lag);
      if (error != std::errc() || end != text.data() + text.size()) return bad("not a number");
    } else if (name == "catching_up") {
      if (text != "0" && text != "1") return bad("not 0 or 1");
      engine.catching_up = text == "1";
    } else if (name == "offsets") {
      auto offsets = ParsePartitionOffsets(text);
      if (!offsets) return bad(offsets.error().message);
      engine.offsets = std::move(offsets).value();
    } else if (name == "standby") {
      for (std::string_view list = text; !list.empty();) {
        const size_t comma = list.find(',');
        const std::string_view item = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
        int32_t partition = -1;
        const auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), partition);
        if (error != std::errc() || end != item.data() + item.size() || partition < 0) {
          return bad("not a list of partitions");
        }
        engine.standby.push_back(partition);
      }
    }
  }
  if (engine.role.empty()) {
    return InvalidArgument(fmt::format("the group directory's record of {} has no role", key));
  }
  return engine;
}

struct GroupDirectory::Impl {
  kafka::KafkaConfig config;
  DirectoryOptions options;
  SelfReport self;
  Instant started;
  std::optional<kafka::Producer> producer;
  std::optional<kafka::Consumer> consumer;
  std::atomic<bool> stopping{false};
  std::atomic<bool> abandoned{false};
  std::thread thread;

  mutable Mutex mutex;
  std::map<std::string, http::GroupPeer> others CW_GUARDED_BY(mutex);
  // Why the directory cannot be read, and why this engine's record cannot be written: each ""
  // once it can again.
  std::string read_problem CW_GUARDED_BY(mutex);
  std::string write_problem CW_GUARDED_BY(mutex);

  void SetReadProblem(std::string text) {
    MutexLock lock(mutex);
    read_problem = std::move(text);
  }
  void SetWriteProblem(std::string text) {
    MutexLock lock(mutex);
    write_problem = std::move(text);
  }

  // Opens what is missing and assigns the topic from its beginning.
  Result<void> Connect() {
    if (!producer) {
      CW_TRY(opened, kafka::Producer::Open(config));
      producer.emplace(std::move(opened));
    }
    if (!consumer) {
      CW_TRY(opened, kafka::Consumer::Open(config, options.topic));
      CW_TRY(partitions, opened.Partitions(std::chrono::seconds(5)));
      std::vector<kafka::PartitionStart> starts;
      for (int32_t p : partitions) starts.push_back({p, kafka::kBeginning});
      CW_TRY(opened.Assign(starts));
      consumer.emplace(std::move(opened));
    }
    return Ok();
  }

  http::GroupPeer Self() const {
    http::GroupPeer engine = self();
    engine.url = options.url;
    engine.self = true;
    engine.live = true;
    engine.started = started;
    engine.heard = InstantOf(std::chrono::system_clock::now());
    if (engine.role.empty()) engine.role = "starting";
    return engine;
  }

  std::string WriteProblem(const Error& error) const {
    return fmt::format("writing this engine's record to the group's directory {}: {}",
                       options.topic, error.message);
  }

  void Write(const std::string& value) {
    const auto on_delivery = [this](Result<void> delivered) {
      SetWriteProblem(delivered ? "" : WriteProblem(delivered.error()));
    };
    auto produced = producer->Produce(options.topic, options.url, value, on_delivery);
    if (!produced) SetWriteProblem(WriteProblem(produced.error()));
  }

  void Read() {
    auto batch = consumer->Poll(1000, kPoll);
    if (!batch) {
      SetReadProblem(fmt::format("reading the group's directory {}: {}", options.topic,
                                 batch.error().message));
      consumer.reset();  // assigned again from the beginning at the next Connect
      return;
    }
    MutexLock lock(mutex);
    read_problem.clear();
    for (const kafka::Message& m : batch.value().messages()) {
      if (m.key == options.url) continue;  // this engine speaks for itself
      if (m.value.empty()) {
        others.erase(std::string(m.key));  // a clean stop
        continue;
      }
      auto engine = DecodeDirectoryRecord(m.key, m.value, HeardAt(m.timestamp_ms));
      if (!engine) {
        spdlog::warn("{} (skipped)", engine.error().message);
        continue;
      }
      others[engine.value().url] = std::move(engine).value();
    }
  }

  void Serve() {
    auto next_write = std::chrono::steady_clock::now();
    auto last_warning = std::chrono::steady_clock::time_point();
    while (!stopping.load()) {
      if (auto connected = Connect(); !connected) {
        SetReadProblem(fmt::format("the group's directory {} cannot be read: {}", options.topic,
                                   connected.error().message));
        const auto now = std::chrono::steady_clock::now();
        if (now - last_warning >= kWarnEvery) {
          last_warning = now;
          spdlog::warn("the group's directory {} cannot be read yet ({}); deploy/topics.sh "
                       "creates it. Until it can, this engine lists only itself and the "
                       "engines last heard of",
                       options.topic, connected.error().message);
        }
        std::this_thread::sleep_for(kRetry);
        continue;
      }
      if (std::chrono::steady_clock::now() >= next_write) {
        Write(EncodeDirectoryRecord(Self()));
        next_write = std::chrono::steady_clock::now() + options.interval;
      }
      producer->Poll(std::chrono::milliseconds(0));
      Read();
    }
  }
};

GroupDirectory::GroupDirectory(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<GroupDirectory>> GroupDirectory::Start(const kafka::KafkaConfig& config,
                                                              DirectoryOptions options,
                                                              SelfReport self) {
  if (options.url.empty()) return InvalidArgument("the group directory needs this engine's url");
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->options = std::move(options);
  impl->self = std::move(self);
  impl->started = InstantOf(std::chrono::system_clock::now());
  Impl* raw = impl.get();
  std::unique_ptr<GroupDirectory> directory(new GroupDirectory(std::move(impl)));
  raw->thread = std::thread([raw] { raw->Serve(); });
  return directory;
}

GroupDirectory::~GroupDirectory() {
  impl_->stopping = true;
  if (impl_->thread.joinable()) impl_->thread.join();
  if (impl_->abandoned.load() || !impl_->producer) return;
  impl_->Write("");  // a tombstone: this engine has left
  if (auto flushed = impl_->producer->Flush(std::chrono::seconds(2)); !flushed) {
    spdlog::warn("the group's directory {}: leaving it: {}; the others will list this engine as "
                 "silent",
                 impl_->options.topic, flushed.error().message);
  }
}

void GroupDirectory::Abandon() {
  impl_->abandoned = true;
  impl_->stopping = true;
  if (impl_->thread.joinable()) impl_->thread.join();
}

http::GroupView GroupDirectory::View() const {
  http::GroupView view;
  view.engines.push_back(impl_->Self());
  const auto now = std::chrono::system_clock::now();
  const Instant live_since = InstantOf(now - impl_->options.session_timeout);
  const Instant forgotten_before = InstantOf(now - impl_->options.forget_after);
  MutexLock lock(impl_->mutex);
  view.problem = impl_->read_problem;
  if (!impl_->write_problem.empty()) {
    view.problem += (view.problem.empty() ? "" : "; ") + impl_->write_problem;
  }
  for (const auto& [url, engine] : impl_->others) {
    if (engine.heard < forgotten_before) continue;
    view.engines.push_back(engine);
    view.engines.back().live = engine.heard >= live_since;
  }
  std::sort(view.engines.begin(), view.engines.end(),
            [](const http::GroupPeer& a, const http::GroupPeer& b) { return a.url < b.url; });
  return view;
}

}  // namespace casewatch::daemon
