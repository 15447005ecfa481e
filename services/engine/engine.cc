#include "services/engine/engine.h"
#include "services/engine/id_claims.h"
#include "services/engine/id_filter.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <list>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "casewatch/alerts/v1/alert.pb.h"
#include "projections/evaluation.h"
#include "services/records/alert_json.h"
#include "services/records/case_projection.h"
#include "services/records/stored_history.h"
#include "services/ingest/event_content.h"
#include "services/ingest/validation.h"
#include "services/ingest/wire_decoder.h"

namespace casewatch::engine {
namespace {

using records::AddContribution;
using records::AlertJson;
using records::EmptyScopeCounts;
using records::ForEachHistory;
using records::LoadHistory;
using records::MissedObligation;
using records::MissedObligations;
using records::ObligationMissedEvent;
using records::ObligationMissedEventId;
using records::ProjectCase;
using store::v1::CaseProjection;
using store::v1::ScopeCounts;

// Envelope field 4 (recorded_at), length-delimited: appended when a publisher left it out, which
// protobuf reads as setting it (the field was absent, so nothing merges).
std::string WithRecordedAt(std::string_view envelope, Instant recorded_at) {
  google::protobuf::Timestamp timestamp;
  timestamp.set_seconds(recorded_at.seconds);
  timestamp.set_nanos(recorded_at.nanos);
  const std::string encoded = timestamp.SerializeAsString();
  std::string out(envelope);
  out.push_back(static_cast<char>((4 << 3) | 2));
  out.push_back(static_cast<char>(encoded.size()));  // a Timestamp is at most 22 bytes
  out += encoded;
  return out;
}

std::string ScopeKeyOf(const CaseProjection& p) {
  return store::ScopeKey(p.region(), p.pdu(), p.team(), p.offender_manager());
}

// The alert for an obligation_missed event, addressed to the case's allocation in `projection`.
alerts::v1::ObligationMissedAlert AlertOf(const events::v1::Envelope& event,
                                          const CaseProjection& projection) {
  alerts::v1::ObligationMissedAlert alert;
  alert.set_event_id(event.event_id());
  alert.set_case_id(event.case_id());
  alert.set_indicator(event.obligation_missed().indicator());
  alert.set_due(FormatDate(DateOf(Instant{event.obligation_missed().due().seconds(), 0})));
  *alert.mutable_missed_at() = event.occurred_at();
  alert.set_region(projection.region());
  alert.set_pdu(projection.pdu());
  alert.set_team(projection.team());
  alert.set_offender_manager(projection.offender_manager());
  return alert;
}

bool SameContent(const ingest::ContentFingerprint& a, const std::array<uint64_t, 2>& b) {
  return a.high == b[0] && a.low == b[1];
}

// Releases a task's id claims when the write that made them is over (durable or failed).
struct ReleaseClaims {
  IdCheck* claims;
  size_t task;
  ReleaseClaims(IdCheck* c, size_t t) : claims(c), task(t) {}
  ReleaseClaims(const ReleaseClaims&) = delete;
  ReleaseClaims& operator=(const ReleaseClaims&) = delete;
  ~ReleaseClaims() {
    if (claims != nullptr) claims->Release(task);
  }
};

// The ids of the case's obligation_missed events: one pass, then each lookup is a hash (a case
// with many missed obligations made one pass per obligation quadratic).
std::unordered_set<std::string> MissedEventIds(const CaseHistory& history) {
  std::unordered_set<std::string> ids;
  for (const CaseEvent& e : history.events()) {
    if (e.type == EventType::kObligationMissed) ids.emplace(history.event_id(e));
  }
  return ids;
}

size_t BytesOf(const CaseHistory& history) {
  return sizeof(CaseHistory) + history.events().size() * sizeof(CaseEvent) +
         history.events().size() * 48;  // ids and details in the text store, roughly
}

}  // namespace

struct Engine::Impl {
  struct CachedCase {
    std::unique_ptr<CaseHistory> history;
    std::optional<CaseProjection> projection;  // as stored; nullopt when none is
    bool projection_loaded = false;
    std::list<std::string>::iterator recency;
    size_t bytes = 0;
  };

  Impl(store::Store& s, EngineOptions o)
      : store(s), options(std::move(o)), evaluator(options.policy), batch(s.NewWriteBatch()) {}

  store::Store& store;
  EngineOptions options;
  Evaluator evaluator;
  Instant as_of{std::numeric_limits<int64_t>::min() / 2, 0};
  EngineCounters counters;
  uint64_t next_event_sequence = 0;
  uint64_t next_dead_letter_sequence = 0;
  uint64_t next_outbox_sequence = 0;

  std::unordered_map<std::string, CachedCase> cases;
  std::list<std::string> recency;  // most recent first
  size_t cache_bytes = 0;

  std::unordered_map<std::string, ScopeCounts> scopes;
  std::set<std::pair<int64_t, std::string>> deadlines;
  std::unordered_map<std::string, int64_t> deadline_of;

  // A store that was empty when opened, while it catches up (until the first live batch): every
  // event id it holds, approximately, so that new ids -- nearly all -- need no look-up.
  std::optional<IdFilter> new_store_ids;

  // The write being built.
  store::WriteBatch batch;
  std::vector<store::WriteBatch::NewEvent> deferred_events;  // StoreDeferred's, for batch
  // Envelopes this batch completed (recorded_at added), kept until PutDeferredEvents (stable
  // addresses: StoreDeferred's events view them).
  std::deque<std::string> made_envelopes;
  std::unordered_set<std::string> dirty_cases;
  // Large cases: not before this may one be re-evaluated again while its events keep coming.
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> next_large_turn;
  std::set<std::string> pending;  // stored events not yet in the projection (also in the store)
  // options.topic's next offset per partition, as stored (CommitInfo::consumed); `staged`: this
  // write's, in `consumed` once it is durable.
  std::map<int32_t, int64_t> consumed;
  std::map<int32_t, int64_t> staged_offsets;
  // Following (Engine::Follow): nothing derived, nothing in the outbox. `owed`: cases in which an
  // obligation was seen missed with no derived event recording it yet, derived if this engine
  // comes to lead. `sweep`: after Lead, every case, re-evaluated a few at a time.
  bool leading = true;
  std::set<std::string> owed;
  std::set<std::string> sweep;
  std::unordered_set<std::string> dirty_scopes;
  std::vector<alerts::v1::ObligationMissedAlert> alerts;  // raised by it

  Result<CachedCase*> CaseFor(std::string_view case_id) {
    auto found = cases.find(std::string(case_id));
    if (found != cases.end()) {
      recency.splice(recency.begin(), recency, found->second.recency);
      return &found->second;
    }
    CW_TRY(history, LoadHistory(store, case_id));
    recency.emplace_front(case_id);
    CachedCase& entry = cases[std::string(case_id)];
    entry.history = std::move(history);
    entry.recency = recency.begin();
    entry.bytes = BytesOf(*entry.history);
    cache_bytes += entry.bytes;
    return &entry;
  }

  // Drops least recently used cases beyond the budget; never one with unwritten changes.
  void Evict() {
    auto it = recency.end();
    while (cache_bytes > options.history_cache_bytes && it != recency.begin()) {
      --it;
      if (dirty_cases.count(*it) > 0) continue;
      auto found = cases.find(*it);
      cache_bytes -= found->second.bytes;
      cases.erase(found);
      it = recency.erase(it);
    }
  }

  void Track(CachedCase& entry) {
    cache_bytes -= entry.bytes;
    entry.bytes = BytesOf(*entry.history);
    cache_bytes += entry.bytes;
  }

  ScopeCounts& ScopeOf(const CaseProjection& p) {
    const std::string key = ScopeKeyOf(p);
    dirty_scopes.insert(key);
    auto found = scopes.find(key);
    if (found == scopes.end()) {
      found =
          scopes.emplace(key, EmptyScopeCounts(p.region(), p.pdu(), p.team(), p.offender_manager()))
              .first;
    }
    return found->second;
  }

  void SetDeadline(const std::string& case_id, int64_t next_change) {
    if (auto found = deadline_of.find(case_id); found != deadline_of.end()) {
      deadlines.erase({found->second, case_id});
      deadline_of.erase(found);
    }
    if (next_change > 0) {
      deadlines.emplace(next_change, case_id);
      deadline_of.emplace(case_id, next_change);
    }
  }

  // `topic`: where the record was read ("" = options.topic).
  void DeadLetter(const InputRecord& record, std::string reason, Instant received_at,
                  std::string_view topic = {}) {
    store::v1::DeadLetter letter;
    letter.set_value(std::string(record.value));
    letter.set_key(std::string(record.key));
    letter.set_source(std::string(record.source));
    letter.set_topic(std::string(topic.empty() ? std::string_view(options.topic) : topic));
    letter.set_partition(record.partition);
    letter.set_offset(record.offset);
    letter.set_reason(std::move(reason));
    letter.set_received_at_seconds(received_at.seconds);
    letter.set_received_at_nanos(received_at.nanos);
    batch.PutDeadLetter(next_dead_letter_sequence++, letter);
    ++counters.rejected;
    if (!leading) return;  // the leader publishes it

    // Mirrored to the dead-letter topic as the same record: original bytes, where, and why.
    store::v1::OutboxRecord out;
    out.set_topic(options.dead_letter_topic);
    out.set_key(std::string(record.key));
    letter.SerializeToString(out.mutable_value());
    batch.PutOutbox(next_outbox_sequence++, out);
  }

  // Stores an accepted event and appends it to its case's history.
  Result<void> Store(const ingest::EnvelopeView& view, std::string_view bytes,
                     const ingest::ContentFingerprint& content) {
    const uint64_t sequence = next_event_sequence++;
    if (new_store_ids) new_store_ids->Add(view.event_id);
    batch.PutEvent(view.case_id, Instant{view.occurred_at.seconds, view.occurred_at.nanos},
                   view.event_id, bytes, store::IdEntry{{content.high, content.low}, sequence});
    CW_TRY(entry, CaseFor(view.case_id));
    ingest::AppendToHistory(view, *entry->history);
    Track(*entry);
    dirty_cases.emplace(view.case_id);
    return Ok();
  }

  // Stores an accepted event while catching up: its case is marked pending in the same write and
  // projected later, once, from the store. Its history is not read now; a cached one is kept whole.
  // `view` and `bytes` must stay valid until PutDeferredEvents, which writes the events stored
  // since the last into the batch, each index in key order.
  void StoreDeferred(const ingest::EnvelopeView& view, std::string_view bytes,
                     const ingest::ContentFingerprint& content) {
    const uint64_t sequence = next_event_sequence++;
    if (new_store_ids) new_store_ids->Add(view.event_id);
    deferred_events.push_back(store::WriteBatch::NewEvent{
        view.case_id, Instant{view.occurred_at.seconds, view.occurred_at.nanos}, view.event_id,
        bytes, store::IdEntry{{content.high, content.low}, sequence}});
    const std::string case_id(view.case_id);
    if (auto cached = cases.find(case_id); cached != cases.end()) {
      ingest::AppendToHistory(view, *cached->second.history);
      Track(cached->second);
    }
    if (pending.insert(case_id).second) batch.PutPendingCase(case_id);
    SetDeadline(case_id, 0);  // its next change is known once it is projected
  }

  // store.FindIds, asking the store only for the ids new_store_ids may hold.
  Result<std::vector<std::optional<store::IdEntry>>> FindStoredIds(
      std::span<const std::string_view> ids) {
    if (!new_store_ids) return store.FindIds(ids);
    std::vector<std::string_view> maybe;
    std::vector<size_t> at;
    for (size_t k = 0; k < ids.size(); ++k) {
      if (new_store_ids->MayContain(ids[k])) {
        maybe.push_back(ids[k]);
        at.push_back(k);
      }
    }
    std::vector<std::optional<store::IdEntry>> found(ids.size());
    if (maybe.empty()) return found;
    CW_TRY(some, store.FindIds(maybe));
    for (size_t j = 0; j < at.size(); ++j) found[at[j]] = some[j];
    return found;
  }

  void PutDeferredEvents() {
    batch.PutEvents(deferred_events);
    deferred_events.clear();
    made_envelopes.clear();
  }

  Result<void> RecordMissed(const std::string& case_id, const MissedObligation& missed,
                            const CaseProjection& projection, Instant now) {
    const events::v1::Envelope event = ObligationMissedEvent(case_id, missed, now);
    const std::string bytes = event.SerializeAsString();
    ingest::EnvelopeView view;
    CW_TRY(ingest::DecodeEnvelope(bytes, view));
    CW_TRY(Store(view, bytes, ingest::FingerprintOf(view)));
    if (!options.derived_topic.empty()) {
      store::v1::OutboxRecord derived;
      derived.set_topic(options.derived_topic);
      derived.set_key(case_id);
      derived.set_value(bytes);
      if (options.derived_partition >= 0) derived.set_partition(options.derived_partition);
      batch.PutOutbox(next_outbox_sequence++, derived);
    }

    alerts::v1::ObligationMissedAlert alert = AlertOf(event, projection);
    store::v1::OutboxRecord out;
    out.set_topic(options.alerts_topic);
    out.set_key(case_id);
    if (options.alert_format == AlertFormat::kJson) {
      out.set_value(AlertJson(alert));
    } else {
      alert.SerializeToString(out.mutable_value());
    }
    batch.PutOutbox(next_outbox_sequence++, out);
    ++counters.missed_obligations;
    if (options.on_commit) alerts.push_back(std::move(alert));
    return Ok();
  }

  // Re-evaluates one case at `now` and stages its projection, counts, deadline and any newly
  // missed obligations.
  Result<void> Reproject(const std::string& case_id, Instant now, bool record_missed) {
    CW_TRY(entry, CaseFor(case_id));
    if (!entry->projection_loaded) {
      CW_TRY(stored, store.ReadProjection(case_id));
      entry->projection = std::move(stored);
      entry->projection_loaded = true;
    }
    CaseHistory& history = *entry->history;
    history.Seal();
    const CaseEvaluation* evaluation = evaluator.Evaluate(history, now);
    CaseProjection projection = ProjectCase(history, evaluation, now);
    std::vector<MissedObligation> missed;
    if (evaluation != nullptr && record_missed) missed = MissedObligations(history, *evaluation);
    if (!missed.empty() && !leading) {
      const std::unordered_set<std::string> recorded = MissedEventIds(history);
      for (const MissedObligation& m : missed) {
        if (recorded.count(ObligationMissedEventId(case_id, m)) == 0) owed.insert(case_id);
      }
      missed.clear();
    }
    if (!missed.empty()) {
      // Two items can share an id (safeguarding_checks' two kinds, due together from one
      // trigger): one event and one alert for them.
      std::unordered_set<std::string> recorded = MissedEventIds(history);
      for (const MissedObligation& m : missed) {
        if (!recorded.insert(ObligationMissedEventId(case_id, m)).second) continue;
        CW_TRY(RecordMissed(case_id, m, projection, now));
      }
    }
    if (entry->projection) AddContribution(*entry->projection, -1, ScopeOf(*entry->projection));
    AddContribution(projection, +1, ScopeOf(projection));
    batch.PutCase(case_id, projection);
    SetDeadline(case_id, projection.next_change_seconds());
    entry->projection = std::move(projection);
    ++counters.cases_evaluated;
    return Ok();
  }

  // Re-evaluates a case in the write being built, deriving what it owes; a pending case is
  // pending no more.
  Result<void> ReprojectInThisWrite(const std::string& case_id, Instant now) {
    dirty_cases.insert(case_id);  // pinned in the cache until written
    if (pending.erase(case_id) > 0) batch.DeletePendingCase(case_id);
    return Reproject(case_id, now, /*record_missed=*/true);
  }

  // Every case with new events; then, at most `limit` in all, the cases due by `now` and the
  // pending cases whose turn has come (every pending one when `idle`, none when `defer_pending`:
  // catching up, they wait to be projected once). A large case (more than
  // options.large_case_events) re-evaluated less than options.large_case_interval ago is not
  // re-evaluated with this write: its new events are stored and it is marked pending in the same
  // write, so that one case arriving in every batch cannot slow every batch down.
  Result<void> ReprojectDirtyAndDue(Instant now, size_t limit, bool idle = false,
                                    bool defer_pending = false) {
    const auto steady = std::chrono::steady_clock::now();
    const auto turn_has_come = [&](const std::string& case_id) {
      const auto held = next_large_turn.find(case_id);
      return idle || held == next_large_turn.end() || held->second <= steady;
    };
    std::vector<std::string> work;
    std::vector<std::string> held;
    for (const std::string& case_id : dirty_cases) {
      if (turn_has_come(case_id)) {
        work.push_back(case_id);
      } else {
        held.push_back(case_id);
        if (pending.insert(case_id).second) batch.PutPendingCase(case_id);
      }
    }
    size_t budget = limit;
    for (auto it = deadlines.begin(); it != deadlines.end() && it->first <= now.seconds; ++it) {
      if (budget == 0) break;
      if (dirty_cases.count(it->second) > 0) continue;
      if (defer_pending && pending.count(it->second) > 0) continue;
      work.push_back(it->second);
      --budget;
    }
    for (const std::string& case_id : held) dirty_cases.erase(case_id);
    if (!defer_pending) {
      for (auto it = pending.begin(); it != pending.end() && budget > 0; ++it) {
        if (dirty_cases.count(*it) > 0 || !turn_has_come(*it)) continue;
        work.push_back(*it);
        --budget;
      }
    }
    std::sort(work.begin(), work.end());  // deterministic order of derived sequence numbers
    work.erase(std::unique(work.begin(), work.end()), work.end());
    for (const std::string& case_id : work) {
      const auto started = std::chrono::steady_clock::now();
      CW_TRY(ReprojectInThisWrite(case_id, now));
      const CachedCase& entry = cases.at(case_id);
      if (entry.history->events().size() > options.large_case_events) {
        // Its turn comes again after the interval, or after ten times what this one took: a
        // large case takes at most about a tenth of the engine's time while others wait.
        const auto took = std::chrono::steady_clock::now() - started;
        next_large_turn[case_id] =
            steady + std::max<std::chrono::steady_clock::duration>(options.large_case_interval,
                                                                   took * 10);
      } else {
        next_large_turn.erase(case_id);
      }
    }
    counters.cases_pending = pending.size();
    return Ok();
  }

  // Up to `limit` cases of the sweep re-evaluated, deriving what they owe, in one write.
  Result<void> SweepSome(Instant now, size_t limit) {
    std::vector<std::string> work;
    for (auto it = sweep.begin(); it != sweep.end() && work.size() < limit;) {
      work.push_back(*it);
      it = sweep.erase(it);
    }
    for (const std::string& case_id : work) {
      CW_TRY(ReprojectInThisWrite(case_id, now));
    }
    counters.cases_pending = pending.size();
    return Commit(now);
  }

  Result<void> Commit(Instant now, bool notify = true) {
    // The day's counts are the last write's: every allocation on the day's first write, then
    // those that change.
    const bool new_day = DateOf(now) != DateOf(as_of);
    for (const std::string& key : dirty_scopes) {
      batch.PutScope(scopes.at(key));
      if (!new_day) batch.PutDaily(DateOf(now), scopes.at(key));
    }
    if (new_day) {
      for (const auto& [key, counts] : scopes) batch.PutDaily(DateOf(now), counts);
    }
    batch.PutProjectionInstant(now);
    CW_TRY(store.Write(batch, options.sync_writes));
    for (const auto& [partition, next] : staged_offsets) consumed[partition] = next;
    staged_offsets.clear();
    as_of = now;
    if (notify && options.on_commit) Notify();
    alerts.clear();
    dirty_cases.clear();
    dirty_scopes.clear();
    Evict();
    return Ok();
  }

  void Notify() {
    CommitInfo info;
    info.as_of = as_of;
    for (const std::string& key : dirty_scopes) info.scopes.push_back(&scopes.at(key));
    for (const std::string& case_id : dirty_cases) {
      const CachedCase& entry = cases.at(case_id);
      if (entry.projection) info.cases.emplace_back(case_id, &*entry.projection);
    }
    info.alerts = alerts;
    info.consumed = &consumed;
    info.cases_pending = pending.size();
    options.on_commit(info);
  }

  // A follower's alert for a derived event the leader committed (RestoreDerived, kNews): for
  // on_commit only, addressed to the case's allocation as this store holds it.
  Result<void> RaiseRestored(std::string_view envelope) {
    events::v1::Envelope event;
    if (!event.ParseFromArray(envelope.data(), static_cast<int>(envelope.size()))) {
      return DataLoss("a derived event that decoded once does not parse");
    }
    // Not through CaseFor: a history loaded now would lack the event this write stores.
    std::optional<CaseProjection> projection;
    if (auto cached = cases.find(event.case_id());
        cached != cases.end() && cached->second.projection_loaded) {
      projection = cached->second.projection;
    } else {
      CW_TRY(stored, store.ReadProjection(event.case_id()));
      projection = std::move(stored);
    }
    alerts.push_back(AlertOf(event, projection ? *projection : CaseProjection{}));
    return Ok();
  }

  // Apply and ApplyDeferred (engine.h).
  Result<void> ApplyBatch(std::span<const InputRecord> records, Instant now, bool deferred);

  bool Due(Instant now) const {
    return !pending.empty() || (!deadlines.empty() && deadlines.begin()->first <= now.seconds);
  }
};

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

Result<std::unique_ptr<Engine>> Engine::Create(store::Store& store, EngineOptions options) {
  auto impl = std::make_unique<Impl>(store, std::move(options));
  CW_TRY(unfinished, store.UnfinishedRebuild());
  if (unfinished) return store::UnfinishedRebuildError(store.directory(), *unfinished);
  CW_TRY(stored_policy, store.Policy());
  CW_TRY(stored_instant, store.ProjectionInstant());
  if (stored_policy && *stored_policy != impl->options.policy_text && stored_instant) {
    return FailedPrecondition(
        "the store's projections were computed under a different policy; run `casewatch rebuild "
        "--data DIR --policy FILE` with the new policy first (or start with the old one)");
  }
  if (!stored_instant && store.next_event_sequence() > 0) {
    // Events but no projections: a rebuild by an earlier version stopped part way.
    return FailedPrecondition(fmt::format(
        "the store in {} holds events but no projections (an earlier rebuild did not finish); run "
        "`casewatch rebuild --data {} --as-of T` with T the engine clock's time",
        store.directory().string(), store.directory().string()));
  }
  if (!stored_policy || *stored_policy != impl->options.policy_text) {
    impl->batch.PutPolicy(impl->options.policy_text);
    CW_TRY(store.Write(impl->batch, true));
  }
  if (stored_instant) impl->as_of = *stored_instant;
  impl->next_event_sequence = store.next_event_sequence();
  if (impl->next_event_sequence == 0) impl->new_store_ids.emplace();
  impl->next_dead_letter_sequence = store.next_dead_letter_sequence();
  impl->next_outbox_sequence = store.next_outbox_sequence();
  Impl& i = *impl;
  CW_TRY(store.ScanScopes([&](const ScopeCounts& counts) {
    i.scopes.emplace(
        store::ScopeKey(counts.region(), counts.pdu(), counts.team(), counts.offender_manager()),
        counts);
  }));
  CW_TRY(store.ScanProjections([&](std::string_view case_id, const CaseProjection& p) {
    if (p.next_change_seconds() > 0) i.SetDeadline(std::string(case_id), p.next_change_seconds());
  }));
  // Large cases whose last events were stored but not yet projected: first in line.
  CW_TRY(store.ScanPendingCases([&](std::string_view case_id) { i.pending.emplace(case_id); }));
  i.counters.cases_pending = i.pending.size();
  CW_TRY(consumed, store.Offsets(i.options.topic));
  for (const store::OffsetEntry& e : consumed) i.consumed[e.partition] = e.next_offset;
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Result<void> Engine::Apply(std::span<const InputRecord> records, Instant now) {
  return impl_->ApplyBatch(records, now, /*deferred=*/false);
}

Result<void> Engine::ApplyDeferred(std::span<const InputRecord> records, Instant now) {
  return impl_->ApplyBatch(records, now, /*deferred=*/true);
}

Result<uint64_t> Engine::ProjectPending(Instant now) {
  Impl& impl = *impl_;
  now = std::max(now, impl.as_of);
  CW_TRY(impl.ReprojectDirtyAndDue(now, impl.options.max_cases_per_write, /*idle=*/true));
  CW_TRY(impl.Commit(now));
  return impl.pending.size();
}

Result<void> Engine::Impl::ApplyBatch(std::span<const InputRecord> records, Instant now,
                                      bool deferred) {
  Impl& impl = *this;
  now = std::max(now, impl.as_of);
  if (!deferred) impl.new_store_ids.reset();  // caught up: the store's index answers from now on

  struct Candidate {
    const InputRecord* record;
    ingest::EnvelopeView view;
    ingest::ContentFingerprint content;
  };
  std::vector<Candidate> candidates;
  candidates.reserve(records.size());
  const ingest::ValidationOptions live = ingest::ValidationOptions::Live(now);
  for (const InputRecord& record : records) {
    Candidate c{&record, {}, {}};
    if (auto decoded = ingest::DecodeEnvelope(record.value, c.view); !decoded) {
      impl.DeadLetter(record, decoded.error().message, now);
      continue;
    }
    if (auto valid = ingest::ValidateEnvelope(c.view, live); !valid) {
      impl.DeadLetter(record, valid.error().message, now);
      continue;
    }
    c.content = ingest::FingerprintOf(c.view);
    candidates.push_back(c);
  }

  std::vector<std::string_view> ids;
  ids.reserve(candidates.size());
  for (const Candidate& c : candidates) ids.push_back(c.view.event_id);
  CW_TRY(stored, impl.FindStoredIds(ids));
  // Ids new to this store may be another task's (options.id_claims): claimed until the write.
  std::unordered_map<std::string_view, HeldElsewhere> elsewhere;
  ReleaseClaims release{impl.options.id_claims, impl.options.task};
  if (impl.options.id_claims != nullptr) {
    std::vector<std::string_view> new_ids;
    std::vector<std::array<uint64_t, 2>> contents;
    std::vector<int64_t> offsets;
    std::unordered_set<std::string_view> asked;
    for (size_t k = 0; k < candidates.size(); ++k) {
      if (stored[k] || !asked.insert(ids[k]).second) continue;
      new_ids.push_back(ids[k]);
      contents.push_back({candidates[k].content.high, candidates[k].content.low});
      offsets.push_back(candidates[k].record->offset);
    }
    CW_TRY(held, impl.options.id_claims->Claim(impl.options.task, new_ids, contents, offsets));
    for (size_t j = 0; j < new_ids.size(); ++j) {
      if (held[j]) elsewhere.emplace(new_ids[j], std::move(*held[j]));
    }
  }

  std::unordered_map<std::string_view, const Candidate*> accepted_here;
  for (size_t k = 0; k < candidates.size(); ++k) {
    const Candidate& c = candidates[k];
    const std::string_view id = c.view.event_id;
    bool same = false;
    std::string first_copy;
    if (auto here = accepted_here.find(id); here != accepted_here.end()) {
      same = here->second->content == c.content;
      first_copy = fmt::format("partition {} offset {}", here->second->record->partition,
                               here->second->record->offset);
    } else if (stored[k]) {
      same = SameContent(c.content, stored[k]->content);
      first_copy = fmt::format("stored event #{}", stored[k]->sequence);
    } else if (auto other = elsewhere.find(id); other != elsewhere.end()) {
      same = SameContent(c.content, other->second.content);
      first_copy = other->second.first_copy;
    } else {
      accepted_here.emplace(id, &c);
      std::string_view bytes = c.record->value;
      if (!c.view.recorded_at.present) {
        bytes = impl.made_envelopes.emplace_back(WithRecordedAt(c.record->value, now));
      }
      if (deferred) {
        impl.StoreDeferred(c.view, bytes, c.content);
      } else {
        CW_TRY(impl.Store(c.view, bytes, c.content));
      }
      ++impl.counters.accepted;
      continue;
    }
    if (same) {
      ++impl.counters.duplicates;
    } else {
      impl.DeadLetter(*c.record,
                      fmt::format("event_id \"{}\" was already accepted with different content "
                                  "(first copy: {})",
                                  id, first_copy),
                      now);
    }
  }

  impl.PutDeferredEvents();  // while the records they view are still here
  std::map<int32_t, int64_t> next_offsets;
  for (const InputRecord& record : records) {
    int64_t& next = next_offsets[record.partition];
    next = std::max(next, record.offset + 1);
  }
  for (const auto& [partition, next] : next_offsets) {
    impl.batch.PutOffset(impl.options.topic, partition, next);
    impl.staged_offsets[partition] = next;
  }
  CW_TRY(impl.ReprojectDirtyAndDue(now, impl.options.max_cases_per_write, /*idle=*/false,
                                   /*defer_pending=*/deferred));
  CW_TRY(impl.Commit(now));
  ++impl.counters.batches;
  return Ok();
}

Result<void> Engine::RestoreDerived(std::span<const InputRecord> records, Instant now,
                                     Restoring restoring) {
  Impl& impl = *impl_;
  now = std::max(now, impl.as_of);
  struct Candidate {
    const InputRecord* record;
    ingest::EnvelopeView view;
  };
  std::vector<Candidate> candidates;
  for (const InputRecord& record : records) {
    Candidate c{&record, {}};
    Result<void> valid = ingest::DecodeEnvelope(record.value, c.view);
    if (valid) valid = ingest::ValidateEnvelope(c.view, ingest::ValidationOptions::Replay());
    if (valid && (c.view.payload != events::v1::Envelope::kObligationMissedFieldNumber ||
                  c.view.source != "casewatch")) {
      valid = InvalidArgument("only obligation_missed events written by casewatch belong here");
    }
    if (!valid) {
      impl.DeadLetter(record, valid.error().message, now, impl.options.derived_topic);
      continue;
    }
    candidates.push_back(c);
  }
  std::vector<std::string_view> ids;
  for (const Candidate& c : candidates) ids.push_back(c.view.event_id);
  CW_TRY(stored, impl.FindStoredIds(ids));
  std::set<std::string_view> restored_here;
  for (size_t k = 0; k < candidates.size(); ++k) {
    const Candidate& c = candidates[k];
    // Written once per id by the engine (at least once on a broker without transactions): any
    // copy of one the store holds is the same event.
    if (stored[k] || !restored_here.insert(c.view.event_id).second) continue;
    impl.StoreDeferred(c.view, c.record->value, ingest::FingerprintOf(c.view));
    ++impl.counters.derived_restored;
    if (restoring == Restoring::kNews && impl.options.on_commit) {
      CW_TRY(impl.RaiseRestored(c.record->value));
    }
  }
  impl.PutDeferredEvents();
  std::map<int32_t, int64_t> next_offsets;
  for (const InputRecord& record : records) {
    int64_t& next = next_offsets[record.partition];
    next = std::max(next, record.offset + 1);
  }
  for (const auto& [partition, next] : next_offsets) {
    impl.batch.PutOffset(impl.options.derived_topic, partition, next);
  }
  return impl.Commit(now);
}

Result<void> Engine::AdvanceTo(Instant now) {
  Impl& impl = *impl_;
  now = std::max(now, impl.as_of);
  if (!impl.Due(now) && DateOf(now) != DateOf(impl.as_of)) return impl.Commit(now);
  // Idle (nothing consumed): pending large cases catch up now.
  while (impl.Due(now)) {
    CW_TRY(impl.ReprojectDirtyAndDue(now, impl.options.max_cases_per_write, /*idle=*/true));
    CW_TRY(impl.Commit(now));
  }
  return Ok();
}

Result<EngineCounters> Engine::Rebuild(store::Store& store, EngineOptions options,
                                       const RebuildRequest& request,
                                       const std::function<void(uint64_t)>& progress) {
  store::v1::RebuildMarker marker;
  marker.set_policy_text(options.policy_text);
  marker.set_policy_path(request.policy_path);
  marker.set_as_of_seconds(request.as_of.seconds);
  marker.set_as_of_nanos(request.as_of.nanos);
  marker.set_started_seconds(request.started.seconds);
  CW_TRY(store.BeginRebuild(marker));
  options.on_commit = nullptr;
  Impl impl(store, std::move(options));
  const Instant now = request.as_of;
  uint64_t events = 0;
  CW_TRY(ForEachHistory(store, [&](CaseHistory& history) -> Result<void> {
    events += history.events().size();
    const CaseEvaluation* evaluation = impl.evaluator.Evaluate(history, now);
    const CaseProjection projection = ProjectCase(history, evaluation, now);
    AddContribution(projection, +1, impl.ScopeOf(projection));
    impl.batch.PutCase(history.case_id(), projection);
    ++impl.counters.cases_evaluated;
    if (impl.batch.count() >= 4096) {
      CW_TRY(store.Write(impl.batch, false));
      progress(events);
    }
    return Ok();
  }));
  // The last write: counts, the trend's first day, the instant, the policy, and the marker gone;
  // no case is pending any more.
  CW_TRY(store.ScanPendingCases(
      [&](std::string_view case_id) { impl.batch.DeletePendingCase(case_id); }));
  impl.batch.PutPolicy(impl.options.policy_text);
  impl.batch.DeleteRebuildMarker();
  impl.batch.PutFormatVersion();  // a store of an older format is now of this one
  CW_TRY(impl.Commit(now, /*notify=*/false));
  progress(events);
  return impl.counters;
}

Result<std::string> EventIdOf(std::string_view envelope) {
  ingest::EnvelopeView view;
  CW_TRY(ingest::DecodeEnvelope(envelope, view));
  return std::string(view.event_id);
}

void Engine::Follow() { impl_->leading = false; }

bool Engine::leading() const { return impl_->leading; }

Result<void> Engine::Lead(Instant now, std::span<const std::string> published_now) {
  Impl& impl = *impl_;
  if (impl.leading) return Ok();
  if (impl.options.on_commit) {
    for (const std::string& envelope : published_now) {
      CW_TRY(impl.RaiseRestored(envelope));
    }
  }
  impl.leading = true;
  impl.next_outbox_sequence = impl.store.next_outbox_sequence();
  now = std::max(now, impl.as_of);
  CW_TRY(impl.store.ScanProjectedCaseIds(
      [&](std::string_view case_id) { impl.sweep.emplace(case_id); }));
  // What it saw missed while following comes first, in this write.
  const std::set<std::string> owed = std::move(impl.owed);
  impl.owed.clear();
  for (const std::string& case_id : owed) {
    impl.sweep.erase(case_id);
    CW_TRY(impl.ReprojectInThisWrite(case_id, now));
  }
  impl.counters.cases_pending = impl.pending.size();
  return impl.Commit(now);
}

bool Engine::sweeping() const { return !impl_->sweep.empty(); }

Result<void> Engine::Sweep(Instant now) {
  Impl& impl = *impl_;
  if (impl.sweep.empty()) return Ok();
  return impl.SweepSome(std::max(now, impl.as_of), kSweepPerWrite);
}

Instant Engine::projection_instant() const { return impl_->as_of; }
const EngineCounters& Engine::counters() const { return impl_->counters; }

Result<std::vector<store::OffsetEntry>> Engine::StartOffsets() const {
  return impl_->store.Offsets(impl_->options.topic);
}

Result<std::vector<store::OffsetEntry>> Engine::DerivedStartOffsets() const {
  return impl_->store.Offsets(impl_->options.derived_topic);
}

}  // namespace casewatch::engine
