#pragma once
// How an engine whose partitions are shared out in a group (casewatchd --tasks --group) asks the
// other engines of the group for the counts of the partitions it misses (GET
// /internal/v1/counts), to answer a live report for the whole topic. The engines it asks are
// those the group's directory lists as live whose last record names one of the missing
// partitions; each answer says which partitions it holds now, and WithPeers adds only answers
// that hold nothing but missing partitions. The engines are asked at once, in parallel; one that
// does not answer within the timeout is left out: its partitions stay missing and the answer
// names them (Casewatch-Missing).
//
// Partitions that no owner answered for (its engine killed or cut off, and not yet given to
// another) are then asked, at once, of the live engines whose records list a copy of them
// (--standby-replicas: `standby=`), each for the copies it keeps (`partitions=`): such an answer
// is PeerAnswer::copy, and the merged answer names those partitions (Casewatch-Copies).
//
// An engine asks for the counts within the scope of the answer it is making, summed by its
// groups, so a peer sends a few sums however many allocations it holds. Each peer's last counts
// for each query are kept with their ETag and sent back (If-None-Match): while a peer's counts
// are unchanged it answers 304 with no body, and the copy kept is used again.
//
// It also gathers the open items of a worklist (Worklist, GET /internal/v1/worklist) and the
// days or months of a trend (Trend, GET /internal/v1/trend) from the same engines, and finds a case's timeline for an engine that does not hold the case (FindCase, GET
// /internal/v1/cases/ID): the engines holding the partitions it misses are asked at once, and
// the one holding the case answers.
//
// An engine advertised at https:// (casewatchd --tls-cert) is asked over TLS. Its certificate
// must chain to the CA file the counter was opened with (casewatchd --peer-ca-file) or, without
// one, to this machine's trust store, and must name the host of its url; otherwise it is not
// asked (its partitions stay missing, and why is logged).

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/mutex.h"
#include "base/result.h"
#include "services/http/api.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace casewatch::http {

class PeerCounter {
 public:
  // `token`: the bearer presented to the peers ("" for none, under --no-auth). Peers at https://
  // are checked against this machine's trust store.
  PeerCounter(std::string token, std::chrono::milliseconds timeout);
  // The same, checking peers at https:// against the certificates (PEM) in `ca_file` alone (""
  // for the trust store). InvalidArgument naming the file when it holds none that can be read.
  [[nodiscard]] static Result<std::shared_ptr<PeerCounter>> Open(
      std::string token, std::chrono::milliseconds timeout, const std::string& ca_file);

  // The counts within `scope` summed by `by` (PeerCountsOf) of the live engines of `group`, other
  // than this one, whose directory records name any of `missing`; then, for the partitions of
  // `missing` none of them answered for, those of the copies the others keep of them. Those
  // that do not answer are logged (at most one line a minute) and left out. With `at`, the
  // owners are asked for their counts as of that instant: each answers as of it when it keeps
  // its counts of then (LiveView::SnapshotAt), and as of its latest instant otherwise.
  std::vector<PeerAnswer> Ask(const GroupView& group, std::span<const int32_t> missing,
                              const Scope& scope, reports::GroupBy by,
                              std::optional<Instant> at = std::nullopt);

  // Case `id`'s timeline (`query`: its page parameters, as given) from the engine holding it:
  // the live engines of `group`, other than this one, whose records name any of `missing`, asked
  // at once; the one that answers 200, or nullopt when none does within the timeout.
  std::optional<PeerCase> FindCase(const GroupView& group, std::span<const int32_t> missing,
                                   std::string_view id, std::string_view query);

  // The open items matching `query` (GET /internal/v1/worklist's parameters: the scope, the
  // filters and `limit`) of the live engines of `group`, other than this one, whose records
  // name any of `missing`, asked at once; those that do not answer are logged and left out.
  std::vector<PeerWork> Worklist(const GroupView& group, std::span<const int32_t> missing,
                                 std::string_view query);
  // The same for a trend (GET /internal/v1/trend's parameters).
  std::vector<PeerTrendAnswer> Trend(const GroupView& group, std::span<const int32_t> missing,
                                     std::string_view query);

 private:
  const std::string token_;
  const std::chrono::milliseconds timeout_;
  std::shared_ptr<boost::asio::ssl::context> tls_;  // for peers at https://
  Mutex mutex_;
  // Each peer's last answer to each query, by its url and target (at most kMaxKept).
  std::map<std::string, PeerAnswer> last_ CW_GUARDED_BY(mutex_);
};

}  // namespace casewatch::http
