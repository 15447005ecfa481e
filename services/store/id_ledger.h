#pragma once
// IdLedger: which event first claimed each event id, across all the engines of a group that share
// the events topic's partitions out (casewatchd --tasks --group). An event_id is unique across all
// cases (docs/rules.md 2.6), but a task's store holds its own cases' ids only, and the case that
// had an id first may be another engine's. So before a task accepts an id new to its store, it
// writes a claim to the ids topic (keyed by the id: every claim on one id lands on one partition,
// in one order), and each engine reads that topic into its own ledger, here. The first claim on
// an id in its partition is the one that holds, for every engine and for ever: a task accepts its
// event only when the ledger says the first claim is that event's, and rejects or ignores it
// otherwise, as one store would a second copy. Every copy of a task (its standbys, an engine that
// catches it up after a takeover) reads the same first claims, so all decide alike.
//
// A RocksDB database of its own (DIR/event-ids), separate from the tasks' stores: it is read by
// every task and written by one reader of the topic. Each write adds a batch of the topic's
// records and the next offset to read from their partition, together.

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace casewatch::store {

// A claim on an event id: the event of the events topic that makes it.
struct IdClaim {
  int32_t partition = 0;              // the events topic's partition (the claiming task)
  int64_t offset = 0;                 // the event's offset there
  std::array<uint64_t, 2> content{};  // the event's content fingerprint
  bool operator==(const IdClaim&) const = default;
};

// The value of a claim record on the ids topic (its key is the event id): a version byte, then
// the partition, offset and fingerprint, big-endian. Decode names what is wrong with a value it
// cannot read.
std::string EncodeIdClaim(const IdClaim& claim);
[[nodiscard]] Result<IdClaim> DecodeIdClaim(std::string_view value);

class IdLedger {
 public:
  // Opens or creates the ledger in `dir`.
  [[nodiscard]] static Result<std::unique_ptr<IdLedger>> Open(const std::filesystem::path& dir);
  ~IdLedger();
  IdLedger(const IdLedger&) = delete;
  IdLedger& operator=(const IdLedger&) = delete;

  // The next offset to read, per partition of the ids topic read so far.
  [[nodiscard]] Result<std::map<int32_t, int64_t>> Offsets() const;

  struct Record {
    std::string_view id;
    IdClaim claim;
  };
  // Records read from `partition` of the ids topic, in order, up to `next_offset`: each id with no
  // claim yet keeps its first here; later claims on it change nothing. One write, with the offset.
  // For each record, whether it is its id's first claim (it was kept).
  [[nodiscard]] Result<std::vector<bool>> Add(int32_t partition, std::span<const Record> records,
                                              int64_t next_offset);

  // The first claim on each id (nullopt: none read yet).
  [[nodiscard]] Result<std::vector<std::optional<IdClaim>>> Find(
      std::span<const std::string_view> ids) const;

 private:
  struct Impl;
  explicit IdLedger(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace casewatch::store
