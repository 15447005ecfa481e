// The exactly-once outbox publisher: outbox records and a progress record in one Kafka
// transaction (outbox.h).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <map>
#include <optional>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/log_throttle.h"
#include "services/daemon/outbox.h"
#include "services/engine/engine.h"
#include "services/kafka/consumer.h"
#include "services/kafka/producer.h"

namespace casewatch::daemon::internal {

// Part of the contract with other versions (outbox.h): versions before the dead letters' marks
// read up to the fingerprint and refuse the rest.
std::string FormatProgress(const ProgressRecord& progress) {
  std::string text =
      fmt::format("sequence={} fingerprint={:016x}", progress.sequence, progress.fingerprint);
  if (!progress.dead_letters) return text;
  text += " dead_letters=";
  if (progress.dead_letters->empty()) text += "-";
  for (const auto& [partition, offset] : *progress.dead_letters) {
    fmt::format_to(std::back_inserter(text), "{}{}:{}", text.back() == '=' ? "" : ",", partition,
                   offset);
  }
  return text;
}

namespace {

// "0:5512,7:90" or "-" (none yet).
std::optional<DeadLetterMarks> ParseDeadLetterMarks(std::string_view text) {
  DeadLetterMarks marks;
  if (text == "-") return marks;
  while (true) {
    int32_t partition = 0;
    int64_t offset = 0;
    auto [colon, partition_error] =
        std::from_chars(text.data(), text.data() + text.size(), partition);
    if (partition_error != std::errc() || colon == text.data() + text.size() || *colon != ':') {
      return std::nullopt;
    }
    auto [end, offset_error] = std::from_chars(colon + 1, text.data() + text.size(), offset);
    if (offset_error != std::errc() || !marks.emplace(partition, offset).second) {
      return std::nullopt;
    }
    if (end == text.data() + text.size()) return marks;
    if (*end != ',') return std::nullopt;
    text.remove_prefix(static_cast<size_t>(end + 1 - text.data()));
  }
}

}  // namespace

std::optional<ProgressRecord> ParseProgress(std::string_view text) {
  constexpr std::string_view kSequence = "sequence=";
  constexpr std::string_view kFingerprint = " fingerprint=";
  if (!text.starts_with(kSequence)) return std::nullopt;
  text.remove_prefix(kSequence.size());
  ProgressRecord progress;
  auto [after_sequence, sequence_error] =
      std::from_chars(text.data(), text.data() + text.size(), progress.sequence);
  if (sequence_error != std::errc()) return std::nullopt;
  text.remove_prefix(static_cast<size_t>(after_sequence - text.data()));
  if (!text.starts_with(kFingerprint)) return std::nullopt;
  text.remove_prefix(kFingerprint.size());
  auto [end, fingerprint_error] =
      std::from_chars(text.data(), text.data() + text.size(), progress.fingerprint, 16);
  if (fingerprint_error != std::errc()) return std::nullopt;
  text.remove_prefix(static_cast<size_t>(end - text.data()));
  // Then " name=value" fields: dead_letters, and any a later version adds (skipped, so that an
  // engine of this version can follow, and come to lead after, one of a later version).
  while (!text.empty()) {
    if (text.front() != ' ') return std::nullopt;
    text.remove_prefix(1);
    const std::string_view field = text.substr(0, text.find(' '));
    text.remove_prefix(field.size());
    const size_t equals = field.find('=');
    if (equals == std::string_view::npos || equals == 0) return std::nullopt;
    if (field.substr(0, equals) == "dead_letters") {
      progress.dead_letters = ParseDeadLetterMarks(field.substr(equals + 1));
      if (!progress.dead_letters) return std::nullopt;
    }
  }
  return progress;
}

namespace {

using kafka::Producer;

// Most outbox records in one transaction: a catch-up's backlog goes out in several.
constexpr size_t kMaxPerTransaction = 5000;
// How long a transaction stays open for more records before it is committed: a commit costs the
// engine's loop a round of requests to the coordinator and the partitions (tens of ms), so the
// records of several batches share one; this bounds how long an alert waits.
constexpr std::chrono::milliseconds kCommitInterval{200};
constexpr int kOutboxLingerMs = 50;  // well inside kCommitInterval
// A Pump does not wait for records to be delivered: publishing never holds up applying. It begins
// the commit only once every record of the transaction is acknowledged (librdkafka 2.0.2 turns a
// commit that times out while still delivering into an abort, and then into an assertion
// failure), so the commit waits only for the coordinator's answer. Deliveries unfinished for
// longer than kCommitWait are worth a warning; Drain, at a stop, waits up to kCommitWait.
constexpr std::chrono::milliseconds kCommitWait{10000};
constexpr std::chrono::milliseconds kProgressReadTimeout{60000};
constexpr std::chrono::milliseconds kInitWait{30000};

using Progress = ProgressRecord;

uint64_t Fingerprint(const store::v1::OutboxRecord& record) {
  // A new store's placeholder for the record its predecessor published last (TakeOverOutbox).
  if (record.published_fingerprint() != 0) return record.published_fingerprint();
  uint64_t hash = 14695981039346656037ULL;
  auto mix = [&hash](std::string_view bytes) {
    for (const char c : bytes) {
      hash ^= static_cast<unsigned char>(c);
      hash *= 1099511628211ULL;
    }
    hash ^= 0xff;  // a separator no byte of a field can stand for
    hash *= 1099511628211ULL;
  };
  mix(record.topic());
  mix(record.key());
  mix(record.value());
  return hash;
}

// Owns the transactional producer. Single-threaded (the engine's loop). At most one transaction
// is open. Each Pump adds the outbox's new records to it (beginning one if none is open); once it
// is kCommitInterval old or holds kMaxPerTransaction records, it gets its progress record and is
// committed. A commit that takes longer than kCommitWait is resumed by the next Pump; records the
// engine adds meanwhile go into the next transaction.
class ExactlyOnceOutbox final : public OutboxPublisher {
 public:
  ExactlyOnceOutbox(store::Store& store, Producer producer, const OutboxOptions& options,
                    std::optional<Progress> progress)
      : store_(store),
        producer_(std::move(producer)),
        transactional_id_(options.transactional_id),
        progress_topic_(options.progress_topic),
        progress_partition_(options.progress_partition),
        derived_topic_(options.derived_topic),
        dead_letter_topic_(options.dead_letter_topic),
        events_topic_(options.events_topic),
        progress_(progress),
        next_(FirstUnpublished()),
        marks_(CommittedMarks()) {}

  Result<void> Pump() override { return Pump(/*commit_now=*/false); }

  Result<void> Drain(std::chrono::milliseconds timeout) override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    do {
      CW_TRY(Pump(/*commit_now=*/true));
    } while ((state_ != State::kIdle || more_) && std::chrono::steady_clock::now() < deadline);
    if (state_ != State::kIdle || more_) {
      return Unavailable(fmt::format(
          "outbox: {} records in a transaction not yet committed{}; the next start aborts it and "
          "publishes them again",
          sending_.size(), more_ ? ", more after them" : ""));
    }
    return Ok();
  }

  uint64_t published() const override { return published_; }
  uint64_t in_flight() const override { return sending_.size(); }

 private:
  enum class State {
    kIdle,        // no transaction
    kOpen,        // records being added
    kCommitting,  // progress record added, commit begun
  };

  uint64_t FirstUnpublished() const { return progress_ ? progress_->sequence + 1 : 0; }
  // The dead-letter marks as the last committed progress has them (none: nothing published).
  DeadLetterMarks CommittedMarks() const {
    return progress_ && progress_->dead_letters ? *progress_->dead_letters : DeadLetterMarks{};
  }

  // The events topic's partition and offset of the record a dead letter in the outbox stands
  // for; nullopt for any other outbox record (and a dead letter of an HTTP request).
  std::optional<std::pair<int32_t, int64_t>> DeadLetterSource(
      const store::v1::OutboxRecord& r) const {
    if (dead_letter_topic_.empty() || r.topic() != dead_letter_topic_) return std::nullopt;
    store::v1::DeadLetter letter;
    if (!letter.ParseFromString(r.value()) || letter.source() != "kafka" ||
        letter.topic() != events_topic_) {
      return std::nullopt;
    }
    return std::pair{letter.partition(), letter.offset()};
  }

  Result<void> Pump(bool commit_now) {
    CW_TRY(Fill());
    if (state_ == State::kIdle) return Ok();
    const bool due = commit_now || sending_.size() >= kMaxPerTransaction ||
                     std::chrono::steady_clock::now() - opened_at_ >= kCommitInterval;
    if (state_ == State::kOpen && !due) return Ok();
    return Commit(/*wait_for_delivery=*/commit_now);
  }

  // Adds the outbox records from next_ on to the open transaction (beginning one if needed), up to
  // kMaxPerTransaction in all, and fewer when the producer's queue is full.
  Result<void> Fill() {
    more_ = false;
    if (state_ == State::kCommitting) return Ok();
    std::optional<Error> failed;
    CW_TRY(store_.ScanOutbox(next_, [&](uint64_t sequence, const store::v1::OutboxRecord& r) {
      // Full, unless the last record is a derived event: its alert comes with it.
      if (sending_.size() >= kMaxPerTransaction && !after_derived_) {
        more_ = true;
        return false;
      }
      const auto source = DeadLetterSource(r);
      if (source) {
        const auto mark = marks_.find(source->first);
        if (mark != marks_.end() && source->second <= mark->second) {
          // Published already, by the store that published last: deleted with the next commit.
          dropped_.push_back(sequence);
          next_ = sequence + 1;
          return true;
        }
      }
      if (state_ == State::kIdle) {
        if (auto begun = producer_.BeginTransaction(); !begun) {
          failed = begun.error();
          return false;
        }
        state_ = State::kOpen;
        opened_at_ = std::chrono::steady_clock::now();
      }
      const std::string sequence_text = std::to_string(sequence);
      const Producer::Header header{kOutboxSequenceHeader, sequence_text};
      auto produced = producer_.Produce(r.topic(), r.key(), r.value(), {}, std::span(&header, 1),
                                        r.has_partition() ? r.partition()
                                                          : Producer::kAnyPartition);
      if (!produced) {
        if (!IsRetryable(produced.error())) failed = produced.error();
        more_ = true;  // or a full queue: the rest next time
        return false;
      }
      sending_.push_back(sequence);
      after_derived_ = !derived_topic_.empty() && r.topic() == derived_topic_;
      last_ = Progress{sequence, Fingerprint(r), std::nullopt};
      if (source) marks_[source->first] = source->second;
      next_ = sequence + 1;
      return true;
    }));
    if (failed) return Abandon(*failed);
    return Ok();
  }

  // A record could not be added: the transaction is aborted. A fatal producer error, or Kafka
  // refusing a record for good (too large, not authorised), stops the engine; anything else is
  // tried again by the next Pump.
  Result<void> Abandon(const Error& error) {
    if (error.kind == ErrorKind::kFailedPrecondition) return error;  // fenced
    if (state_ != State::kIdle) {
      CW_TRY(producer_.AbortTransaction(kCommitWait));
    }
    Rewind();
    if (error.kind == ErrorKind::kInvalidArgument) return error;
    uint64_t held_back = 0;
    if (log_throttle_.Allow("abandon", held_back)) {
      spdlog::warn("outbox: transaction aborted, will retry: {}{}", error.message,
                   HeldBackNote(held_back));
    }
    return Ok();
  }

  // After an abort: the same records go into the next transaction.
  void Rewind() {
    state_ = State::kIdle;
    after_derived_ = false;
    sending_.clear();
    dropped_.clear();
    marks_ = CommittedMarks();
    next_ = FirstUnpublished();
  }

  Result<void> Commit(bool wait_for_delivery) {
    if (state_ == State::kOpen) {
      last_.dead_letters = marks_;
      auto produced = producer_.Produce(progress_topic_, transactional_id_, FormatProgress(last_),
                                        {}, {}, progress_partition_);
      if (!produced) return Abandon(produced.error());
      state_ = State::kCommitting;
      committing_since_ = std::chrono::steady_clock::now();
    }
    if (!wait_for_delivery) {
      producer_.Poll(std::chrono::milliseconds(0));
      if (producer_.outstanding() > 0) {
        const auto waited = std::chrono::steady_clock::now() - committing_since_;
        uint64_t held_back = 0;
        if (waited >= kCommitWait && log_throttle_.Allow("deliver", held_back)) {
          spdlog::warn("outbox: {} records of the transaction not acknowledged after {} s; the "
                       "commit waits for them{}",
                       producer_.outstanding(),
                       std::chrono::duration_cast<std::chrono::seconds>(waited).count(),
                       HeldBackNote(held_back));
        }
        return Ok();
      }
    }
    auto end = producer_.CommitTransaction(kCommitWait);
    if (!end) {
      if (!IsRetryable(end.error())) return end.error();
      uint64_t held_back = 0;
      if (log_throttle_.Allow("commit", held_back)) {
        spdlog::warn("outbox: commit not finished, will resume it: {}{}", end.error().message,
                     HeldBackNote(held_back));
      }
      return Ok();
    }
    if (end.value() == Producer::TransactionEnd::kAborted) {
      Rewind();
      return Ok();
    }
    // Committed: delete what it published, except the record the progress now names (outbox.h),
    // and the one the previous progress named.
    store::WriteBatch batch = store_.NewWriteBatch();
    if (progress_) batch.DeleteOutbox(progress_->sequence);
    for (size_t i = 0; i + 1 < sending_.size(); ++i) batch.DeleteOutbox(sending_[i]);
    for (uint64_t sequence : dropped_) batch.DeleteOutbox(sequence);
    // Not synced: a delete lost in a crash is done again at the next start, from the progress.
    CW_TRY(store_.Write(batch, false));
    if (!dropped_.empty()) {
      spdlog::info("outbox: {} dead letters not sent: their records were dead-lettered in public "
                   "already, by the engine that published before this one",
                   dropped_.size());
    }
    progress_ = last_;  // with marks_
    published_ += sending_.size();
    sending_.clear();
    dropped_.clear();
    state_ = State::kIdle;
    after_derived_ = false;
    return Ok();
  }

  store::Store& store_;
  Producer producer_;
  const std::string transactional_id_;
  const std::string progress_topic_;
  const int32_t progress_partition_;
  const std::string derived_topic_;
  const std::string dead_letter_topic_;
  const std::string events_topic_;
  std::vector<uint64_t> dropped_;  // dead letters published already, not sent: to delete
  bool after_derived_ = false;     // the open transaction's last record is a derived event
  std::optional<Progress> progress_;  // the last committed
  uint64_t next_;                     // the first outbox sequence not yet in a transaction
  DeadLetterMarks marks_;             // CommittedMarks() and the open transaction's dead letters
  State state_ = State::kIdle;
  std::chrono::steady_clock::time_point committing_since_;
  std::chrono::steady_clock::time_point opened_at_;
  std::vector<uint64_t> sending_;  // the open transaction's outbox sequences
  Progress last_;                  // the open transaction's last record
  bool more_ = false;              // the outbox holds records Fill left for later
  uint64_t published_ = 0;
  LogThrottle log_throttle_;
};

// The last committed progress of `options.transactional_id` on its partition of the progress
// topic (OutboxOptions::progress_partition), if any: read through `options.progress_reader` when
// there is one, else through a new consumer.
Result<std::optional<Progress>> ReadProgress(const kafka::KafkaConfig& kafka,
                                             const OutboxOptions& options) {
  kafka::KafkaConfig committed = kafka;
  committed.properties.push_back(kafka::Property{"isolation.level", "read_committed"});
  std::optional<Progress> progress;
  std::optional<Error> damaged;
  const auto visit = [&](const kafka::Message& m) {
    if (m.key != options.transactional_id) return;
    progress = ParseProgress(m.value);
    if (!progress) {
      damaged = DataLoss(fmt::format(
          "outbox progress topic \"{}\" partition {} offset {}: \"{}\" is not a progress record "
          "(sequence=N fingerprint=HEX)",
          options.progress_topic, m.partition, m.offset, m.value));
    } else {
      damaged.reset();
    }
  };
  kafka::Consumer* reader = options.progress_reader;
  if (options.progress_partition < 0) {
    CW_TRY(reader != nullptr
               ? kafka::ReadToEnd(*reader, kProgressReadTimeout, visit)
               : kafka::ReadToEnd(committed, options.progress_topic, kProgressReadTimeout, visit));
  } else {
    CW_TRY(reader != nullptr
               ? kafka::ReadPartitionToEnd(*reader, options.progress_partition,
                                           kProgressReadTimeout, visit)
               : kafka::ReadPartitionToEnd(committed, options.progress_topic,
                                           options.progress_partition, kProgressReadTimeout,
                                           visit));
  }
  if (damaged) return *damaged;
  return progress;
}

// A group's engine coming to lead (OutboxOptions::take_over) on a store that did not publish
// last: a placeholder stands for the record `progress` names, and what the store's outbox holds
// is replaced. A follower writes no outbox record, so it holds either nothing or what it wrote
// when it last led and had not published when it stopped leading (killed, frozen, cut off). Of
// that, a derived event the derived topic now holds was published, with its alert (one
// transaction holds both), or derived again by a leader since: it and its alert are dropped.
// Any other derived event and its alert are published now: no leader since has (the topic would
// hold it). Its dead letters are dropped; instead every dead letter the store holds of a record
// of the events topic above the progress's mark for its partition (stored while following, or
// while leading and not published) is published now, in the order stored: the last leader had
// not published it. (A progress record from before the marks were kept: none is, as before.)
Result<void> TakeOver(store::Store& store, const Progress& progress, const OutboxOptions& options,
                      const kafka::KafkaConfig& kafka) {
  std::vector<store::v1::OutboxRecord> residue;
  CW_TRY(store.ScanOutbox(0, [&](uint64_t, const store::v1::OutboxRecord& r) {
    if (r.published_fingerprint() == 0) residue.push_back(r);
    return true;
  }));
  std::vector<store::v1::OutboxRecord> kept;
  if (!residue.empty() && !options.derived_topic.empty()) {
    kafka::KafkaConfig committed = kafka;
    committed.properties.push_back(kafka::Property{"isolation.level", "read_committed"});
    std::unordered_set<std::string> on_topic;
    CW_TRY(kafka::ReadToEnd(committed, options.derived_topic, kProgressReadTimeout,
                            [&](const kafka::Message& m) {
                              if (auto id = engine::EventIdOf(m.value)) on_topic.insert(id.value());
                            }));
    bool keeping = false;  // the last derived event is kept: so is its alert
    std::string derived_key;
    for (store::v1::OutboxRecord& r : residue) {
      if (r.topic() == options.derived_topic) {
        auto id = engine::EventIdOf(r.value());
        keeping = id && on_topic.count(id.value()) == 0;
        derived_key = r.key();
        if (keeping && options.published_at_takeover != nullptr) {
          options.published_at_takeover->push_back(r.value());
        }
        if (keeping) kept.push_back(std::move(r));
      } else {
        if (keeping && r.topic() == options.alerts_topic && r.key() == derived_key) {
          kept.push_back(std::move(r));
        }
        keeping = false;
      }
    }
  }
  const size_t derived_kept = kept.size();
  if (progress.dead_letters && !options.dead_letter_topic.empty()) {
    const DeadLetterMarks& marks = *progress.dead_letters;
    CW_TRY(store.ScanDeadLetters([&](uint64_t, const store::v1::DeadLetter& letter) {
      if (letter.source() != "kafka" || letter.topic() != options.events_topic) return;
      const auto mark = marks.find(letter.partition());
      if (mark != marks.end() && letter.offset() <= mark->second) return;
      store::v1::OutboxRecord& out = kept.emplace_back();
      out.set_topic(options.dead_letter_topic);
      out.set_key(letter.key());
      letter.SerializeToString(out.mutable_value());
    }));
  }
  store::v1::OutboxRecord placeholder;
  placeholder.set_published_fingerprint(progress.fingerprint);
  CW_TRY(store.ReplaceOutbox(progress.sequence, placeholder, kept));
  spdlog::info(
      "outbox: this store takes over transactional.id \"{}\" after outbox record {}, published "
      "by the engine that led before; of the {} records it held unpublished, {} (derived events "
      "no leader published, and their alerts) are published now, and {} dead letters of records "
      "the last leader had not dead-lettered in public{}",
      options.transactional_id, progress.sequence, residue.size(), derived_kept,
      kept.size() - derived_kept,
      progress.dead_letters ? "" : " (its progress keeps no dead-letter marks: none is)");
  return Ok();
}

// Checks that the store holds the record `progress` names, then deletes the records before it.
// A new store (an engine started on an empty store, to rebuild from Kafka one that was lost)
// takes over the numbering instead: a placeholder stands for that record, and its own records
// follow it. So does any store of a group's engine coming to lead (TakeOver).
Result<void> Reconcile(store::Store& store, const Progress& progress, const OutboxOptions& options,
                       const kafka::KafkaConfig& kafka) {
  const std::string& transactional_id = options.transactional_id;
  const std::string& progress_topic = options.progress_topic;
  if (!options.take_over && store.next_event_sequence() == 0 &&
      store.next_outbox_sequence() == 0 && store.next_dead_letter_sequence() == 0) {
    store::v1::OutboxRecord placeholder;
    placeholder.set_published_fingerprint(progress.fingerprint);
    CW_TRY(store.TakeOverOutbox(progress.sequence, placeholder));
    spdlog::info(
        "outbox: a new store takes over transactional.id \"{}\" after outbox record {} (what "
        "the store it replaces published is not published again)",
        transactional_id, progress.sequence);
    return Ok();
  }
  std::optional<uint64_t> found_fingerprint;
  CW_TRY(store.ScanOutbox(progress.sequence,
                          [&](uint64_t sequence, const store::v1::OutboxRecord& record) {
                            if (sequence == progress.sequence) {
                              found_fingerprint = Fingerprint(record);
                            }
                            return false;
                          }));
  if (found_fingerprint != progress.fingerprint && options.take_over) {
    return TakeOver(store, progress, options, kafka);
  }
  if (found_fingerprint != progress.fingerprint) {
    return FailedPrecondition(fmt::format(
        "outbox: the progress topic \"{}\" says transactional.id \"{}\" last published outbox "
        "record {}, but this store {}: it is not the store that published under that id (a new "
        "store, or a backup older than the last publication). Going on would publish some alerts "
        "twice or never. Start with the store that published, or give --transactional-id a new "
        "id: this store's outbox is then published from its start (alert consumers see again "
        "what it holds that was already published, once, and de-duplicate by event_id)",
        progress_topic, transactional_id, progress.sequence,
        found_fingerprint ? "holds a different record there" : "does not hold it"));
  }
  store::WriteBatch batch = store.NewWriteBatch();
  uint64_t deleted = 0;
  CW_TRY(store.ScanOutbox(0, [&](uint64_t sequence, const store::v1::OutboxRecord&) {
    if (sequence >= progress.sequence) return false;
    batch.DeleteOutbox(sequence);
    ++deleted;
    return true;
  }));
  if (deleted > 0) {
    CW_TRY(store.Write(batch, false));
    spdlog::info("outbox: {} records published before the last stop deleted from the store",
                 deleted);
  }
  return Ok();
}

// The store's lowest outbox sequence; nullopt when its outbox is empty.
Result<std::optional<uint64_t>> LowestOutboxSequence(const store::Store& store) {
  std::optional<uint64_t> lowest;
  CW_TRY(store.ScanOutbox(0, [&](uint64_t sequence, const store::v1::OutboxRecord&) {
    lowest = sequence;
    return false;
  }));
  return lowest;
}

// ReadProgress, then Reconcile; the progress read, if any. A read_committed reader stops at the
// first transaction still open on the partition it reads. Before fencing (`early`) that may be
// this id's own, left by the process it replaces: a store whose outbox has moved past the
// progress read is that case, not a wrong store, and the check is left to the one after fencing.
// After fencing, only another writer of the partitions read can hold it back: another engine
// sharing the progress topic (another events topic's) with a transaction under way, or one its
// process left open. The read is then repeated for up to kStaleProgressWait before the store is
// refused.
constexpr std::chrono::seconds kStaleProgressWait{90};
Result<std::optional<Progress>> ReadAndReconcile(store::Store& store,
                                                 const kafka::KafkaConfig& kafka,
                                                 const OutboxOptions& options,
                                                 const std::atomic<bool>& stop, bool early) {
  const auto deadline = std::chrono::steady_clock::now() + kStaleProgressWait;
  for (bool said = false;; said = true) {
    CW_TRY(progress, ReadProgress(kafka, options));
    if (!progress) return progress;
    // The store keeps the record the progress names (or a placeholder for it) and deletes only
    // those before it: an outbox that begins after it was read from a stale progress.
    CW_TRY(lowest, LowestOutboxSequence(store));
    if (lowest && *lowest > progress->sequence) {
      if (early) return std::optional<Progress>();
      if (!stop && std::chrono::steady_clock::now() < deadline) {
        if (!said) {
          spdlog::warn("outbox: the progress of transactional.id \"{}\" read ({}) is older than "
                       "this store's outbox ({}): a transaction left open on {} holds it back; "
                       "reading it again for up to {} s",
                       options.transactional_id, progress->sequence, *lowest,
                       options.progress_topic, kStaleProgressWait.count());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        continue;
      }
    }
    CW_TRY(Reconcile(store, *progress, options, kafka));
    return progress;
  }
}

}  // namespace

Result<std::unique_ptr<OutboxPublisher>> OpenExactlyOnce(store::Store& store,
                                                         const kafka::KafkaConfig& kafka,
                                                         const OutboxOptions& options,
                                                         const std::atomic<bool>& stop) {
  const std::string& transactional_id = options.transactional_id;
  const std::string& progress_topic = options.progress_topic;
  kafka::KafkaConfig transactional = kafka;
  // A transaction is committed at most every kCommitInterval, so records may wait a little longer
  // to be sent in fewer, larger requests: brokers short of CPU spend the time in their request
  // queues (docs/benchmarks.md, issue 13). Before the caller's own properties, which may override
  // it.
  transactional.properties.insert(transactional.properties.begin(),
                                  kafka::Property{"linger.ms", std::to_string(kOutboxLingerMs)});
  transactional.properties.push_back(kafka::Property{"transactional.id", transactional_id});
  CW_TRY(producer, Producer::Open(transactional));
  auto partitions = producer.Partitions(progress_topic, std::chrono::seconds(10));
  if (!partitions) {
    return FailedPrecondition(fmt::format(
        "outbox: exactly-once delivery needs its progress topic: {} (deploy/topics.sh creates "
        "it; --outbox-progress-topic names it; --outbox-delivery at-least-once needs none)",
        partitions.error().message));
  }
  if (options.progress_partition >= 0 &&
      std::find(partitions.value().begin(), partitions.value().end(),
                options.progress_partition) == partitions.value().end()) {
    return FailedPrecondition(fmt::format(
        "outbox: transactional.id \"{}\" keeps its progress on partition {} of {}, which has {} "
        "partitions: each task of --tasks keeps its own. Give that topic as many partitions as "
        "the events topic (kafka-topics.sh --alter --topic {} --partitions N)",
        transactional_id, options.progress_partition, progress_topic, partitions.value().size(),
        progress_topic));
  }
  // First a check against what is committed so far, so that an engine started on the wrong store
  // stops before it fences the one that publishes; then, once InitTransactions has fenced the
  // previous process and ended its transaction, the final word. (An engine of a group coming to
  // lead fences the last leader whatever it holds: only the final word.)
  if (!options.take_over) {
    CW_TRY(ReadAndReconcile(store, kafka, options, stop, /*early=*/true));
  }
  for (int attempt = 1;; ++attempt) {
    auto initialised = producer.InitTransactions(kInitWait);
    if (initialised) break;
    if (!IsRetryable(initialised.error()) || stop) return initialised.error();
    spdlog::warn("outbox: waiting for the transaction coordinator: {} (attempt {})",
                 initialised.error().message, attempt);
  }
  CW_TRY(progress, ReadAndReconcile(store, kafka, options, stop, /*early=*/false));
  if (progress) {
    // Reconciled.
  } else if (options.take_over && options.published_at_takeover != nullptr) {
    // Nothing published under the id yet: what this store holds is all published now.
    CW_TRY(store.ScanOutbox(0, [&](uint64_t, const store::v1::OutboxRecord& r) {
      if (r.topic() == options.derived_topic) options.published_at_takeover->push_back(r.value());
      return true;
    }));
  }
  spdlog::info(
      "outbox: exactly once (transactional.id \"{}\", progress on \"{}\"; {}); alert consumers "
      "read with isolation.level=read_committed",
      transactional_id, progress_topic,
      progress ? fmt::format("outbox record {} published last", progress->sequence)
               : std::string("nothing published under this id yet"));
  return std::unique_ptr<OutboxPublisher>(
      new ExactlyOnceOutbox(store, std::move(producer), options, progress));
}

}  // namespace casewatch::daemon::internal
