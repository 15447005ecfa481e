#pragma once
// Engine: applies consumed records to the store exactly once and keeps the projections current.
//
// Each call to Apply takes one batch of records from the events topic and makes one atomic store
// write holding: the accepted events (history, arrival order, id index), the dead letters of the
// rejected ones, the re-evaluated projections of every case they touched (and of every case whose
// items fell due meanwhile), the per-allocation counts, obligation_missed events with their alerts
// in the outbox, and the next offset of each partition. A crash anywhere leaves the store at a
// batch boundary; consumption resumes from the stored offsets, and nothing is applied twice.
//
// The engine knows nothing of Kafka: the daemon's loop (services/daemon/engine_loop.h) feeds it.
// Not thread-safe: one thread calls Apply and AdvanceTo. Owns a bounded cache of case histories;
// the store is the truth.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "casewatch/alerts/v1/alert.pb.h"
#include "projections/policy.h"
#include "services/store/store.h"

namespace casewatch::engine {

class IdCheck;  // id_claims.h

enum class AlertFormat { kJson, kProtobuf };

// What one durable write changed, for readers in the same process (the HTTP API's live view).
// Pointers and views are valid during the on_commit call only.
struct CommitInfo {
  Instant as_of;                                      // the projection instant now stored
  std::vector<const store::v1::ScopeCounts*> scopes;  // the allocations whose counts changed
  std::vector<std::pair<std::string_view, const store::v1::CaseProjection*>> cases;  // re-projected
  std::span<const alerts::v1::ObligationMissedAlert> alerts;  // raised by this write
  // What the store now reflects: per partition of options.topic, the offset after the last
  // record consumed (every record below it is applied, none above); a partition not in it has
  // none of its records applied (empty until the store's first record).
  const std::map<int32_t, int64_t>* consumed = nullptr;
  // Cases with stored events not yet in their projection (catching up, a large case between its
  // turns): while any is, the counts lag the offsets above.
  uint64_t cases_pending = 0;
};

struct EngineOptions {
  Policy policy;
  std::string policy_text;  // the policy file as given ("" = defaults): stored to detect changes
  std::string topic = "case-events";
  std::string alerts_topic = "case-alerts";
  std::string dead_letter_topic = "case-events-dlq";
  // Every obligation_missed event the engine writes is also published here (through the outbox,
  // keyed by case): the log of record keeps the derived events with the events, so a store
  // rebuilt from Kafka has the same ones (RestoreDerived). "" = not published.
  std::string derived_topic = "case-events-derived";
  AlertFormat alert_format = AlertFormat::kJson;
  size_t history_cache_bytes = size_t{256} << 20;
  bool sync_writes = true;  // fsync each batch's write (durable); off only for benchmarks' bulk
  // Bounds the cases re-evaluated in one write beyond a batch's own: due ones, pending ones.
  size_t max_cases_per_write = 20000;
  // A case with more events than this is re-evaluated at most once per large_case_interval (or
  // ten times its last re-evaluation's duration, if longer) while its events keep arriving (they
  // are stored at once, and the case marked pending in the same write), and whenever the engine
  // is idle: one huge case cannot slow every batch.
  size_t large_case_events = 20000;
  std::chrono::milliseconds large_case_interval{1000};
  // Called on the engine's thread after each durable write (not during Rebuild).
  std::function<void(const CommitInfo&)> on_commit;
  // One of several tasks of a process, each an engine over a store of its own partitions
  // (docs/partitioned-group.md): the ids every task holds, and this engine's task number. An id
  // new to this store but held by another task is a duplicate or a conflict, as in one store.
  // nullptr: the engine's store holds every case.
  IdCheck* id_claims = nullptr;
  size_t task = 0;
  // A task's engine: the partition of derived_topic its derived events go to (its own partition
  // of the events topic, so that a store rebuilt for the task restores its own from there). -1:
  // by the case's key.
  int32_t derived_partition = -1;
};

// One consumed record; views valid during the call.
struct InputRecord {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string_view key;
  std::string_view value;
  std::string_view source;  // where it came from, for its dead letter ("kafka")
};

struct RebuildRequest {
  Instant as_of;            // the instant to evaluate at
  std::string policy_path;  // the policy file as given (for the command that would finish it)
  Instant started;          // wall clock, for messages
};

struct EngineCounters {
  uint64_t accepted = 0;
  uint64_t duplicates = 0;
  uint64_t rejected = 0;
  uint64_t missed_obligations = 0;
  uint64_t batches = 0;
  uint64_t cases_evaluated = 0;
  uint64_t derived_restored = 0;  // obligation_missed events restored from the derived topic
  uint64_t cases_pending = 0;  // cases with stored events not yet projected (a gauge)
};

// The event_id of an envelope as written to the events or derived topic.
[[nodiscard]] Result<std::string> EventIdOf(std::string_view envelope);

class Engine {
 public:
  // Opens the engine over `store`: loads the per-allocation counts and the deadlines. Fails if
  // the store's projections were made under another policy (run `casewatch rebuild`).
  [[nodiscard]] static Result<std::unique_ptr<Engine>> Create(store::Store& store,
                                                              EngineOptions options);
  ~Engine();

  // Applies one batch consumed from options.topic, with `now` as the engine clock (T never goes
  // backwards: an earlier `now` is taken as the last T).
  [[nodiscard]] Result<void> Apply(std::span<const InputRecord> records, Instant now);

  // Catching up (far behind the topic: a backfill, a store rebuilt from the topic): stores the
  // batch as Apply does, in one atomic write with the same validation, dead letters, duplicates
  // by event id and offsets, but projects none of the cases it touched: each is marked pending in
  // that write (a crash loses nothing) and projected once later, from all its stored events, by
  // ProjectPending, Apply or AdvanceTo. Cases due by `now` with nothing pending are re-evaluated
  // as Apply would. Until then reports leave out the pending cases' new events.
  [[nodiscard]] Result<void> ApplyDeferred(std::span<const InputRecord> records, Instant now);

  // Restores derived events read back from options.derived_topic, before the events topic is
  // consumed: each obligation_missed event the store lacks is stored as the engine first wrote
  // it, its case marked pending (projected later, once, like ApplyDeferred's); one the store
  // holds is skipped. No alert is raised: the engine that derived it raised it. A projection then
  // finds the item already recorded and derives nothing new, so a store rebuilt from Kafka has
  // the same derived events and alerts as the one it replaces. Anything else on that topic is
  // dead-lettered. One atomic write with the topic's next offsets.
  // `restoring` says whether they are history (before consuming) or news: a follower reads the
  // leader's derived events as it commits them, and hands each one it stores to on_commit's
  // alerts (addressed to the case's allocation in this store), so that the live readers of every
  // engine of a group see every alert (the outbox gets nothing).
  enum class Restoring { kHistory, kNews };
  [[nodiscard]] Result<void> RestoreDerived(std::span<const InputRecord> records, Instant now,
                                            Restoring restoring = Restoring::kHistory);

  // Projects pending cases (and cases due by `now`) in one write of at most
  // options.max_cases_per_write of them; returns how many cases are still pending.
  [[nodiscard]] Result<uint64_t> ProjectPending(Instant now);

  // Re-evaluates the cases whose items can change by `now` (due dates passing, recorded future
  // events coming into view). Writes only when something was due, or when a new day has begun
  // (each day's first write records every allocation's counts: the trend).
  [[nodiscard]] Result<void> AdvanceTo(Instant now);

  // Rebuild: recomputes every projection from the event store at `request.as_of` under
  // options.policy, with progress reports (events read so far). First stores a rebuild marker
  // (Store::BeginRebuild) and clears the projections; the last write stores the policy and the
  // projection instant and deletes the marker. Interrupted anywhere, the store is refused by
  // every opener until a rebuild finishes. The store must be opened for_rebuild; the last write
  // also stores the current format version.
  [[nodiscard]] static Result<EngineCounters> Rebuild(
      store::Store& store, EngineOptions options, const RebuildRequest& request,
      const std::function<void(uint64_t events)>& progress);

  // Leading and following (several engines on one topic, services/daemon/README.md). An engine
  // leads from Create: it derives obligation_missed events and writes them, their alerts and
  // dead letters to the outbox. Follow makes it a follower: it applies the same records, stores
  // dead letters, and derives nothing and writes no outbox record; its store gets the leader's
  // derived events from the log of record (RestoreDerived). The cases in which it sees an
  // obligation missed that no derived event records yet are kept in memory.
  void Follow();
  bool leading() const;
  // A follower leads from now on (the caller has fenced the last leader and restored every
  // derived event it published): the outbox numbering is taken from the store (the publisher's
  // takeover), the cases it kept are re-evaluated, deriving what they owe, in one write; then
  // every case is queued for a sweep (Sweep), which derives anything missed while no engine led.
  // `published_now`: derived events (envelopes) this store holds that no leader had published,
  // which the publisher's takeover publishes now; their alerts go to on_commit with this write,
  // news to this engine's live readers as they are to the followers'.
  [[nodiscard]] Result<void> Lead(Instant now, std::span<const std::string> published_now = {});
  // One write re-evaluating up to kSweepPerWrite cases of the sweep; a no-op when none is left.
  bool sweeping() const;
  [[nodiscard]] Result<void> Sweep(Instant now);
  static constexpr size_t kSweepPerWrite = 1000;

  Instant projection_instant() const;
  const EngineCounters& counters() const;
  // Next offsets to consume per partition of options.topic, as stored.
  [[nodiscard]] Result<std::vector<store::OffsetEntry>> StartOffsets() const;
  // The same for options.derived_topic (RestoreDerived).
  [[nodiscard]] Result<std::vector<store::OffsetEntry>> DerivedStartOffsets() const;

 private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace casewatch::engine
