#pragma once
// How an engine whose partitions are shared out in a group (casewatchd --tasks --group) asks the
// other engines of the group for the counts of the partitions it misses (GET
// /internal/v1/counts), to answer a live report for the whole topic. The engines it asks are
// those the group's directory lists as live whose last record names one of the missing
// partitions; each answer says which partitions it holds now, and WithPeers adds only answers
// that hold nothing but missing partitions. An engine that does not answer within the timeout
// is left out: its partitions stay missing and the answer names them (Casewatch-Missing).
//
// Plain HTTP only: an engine advertised at https:// is not asked (its partitions stay missing,
// and the first refusal is logged).

#include <chrono>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "services/http/api.h"

namespace casewatch::http {

// GET `url` + /internal/v1/counts with `token` as the bearer (none when empty), within `timeout`.
[[nodiscard]] Result<store::v1::PeerCounts> FetchPeerCounts(const std::string& url,
                                                            const std::string& token,
                                                            std::chrono::milliseconds timeout);

// The counts of the live engines of `group`, other than this one, whose directory records name
// any of `missing`; those that do not answer are logged (at most one line a minute) and left out.
std::vector<PeerAnswer> AskPeers(const GroupView& group, std::span<const int32_t> missing,
                                 const std::string& token, std::chrono::milliseconds timeout);

}  // namespace casewatch::http
