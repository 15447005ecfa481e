// GET /api/v1/cases/{id}: one case's timeline — its events in case order (obligation_missed
// included) and its items, each indicator's by due date — a page at a time. Every access is
// written to the audit log before the answer; a viewer's case outside its scope is 404, as a case
// that does not exist.
//
// An engine whose partitions are shared out in a group (casewatchd --tasks --group) that does
// not hold the case asks the engines holding the partitions it misses, at once
// (GET /internal/v1/cases/{id}, with the group's peer token): the one holding the case answers
// with its timeline and the case's unit (Casewatch-Case-Allocation), which this engine checks
// against the caller's scope, and audits, as its own. The answer names that engine
// (Casewatch-Peers). The internal route answers from this engine's own stores only, to a token
// that sees every unit.
#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "casewatch/events/v1/events.pb.h"
#include "services/records/case_projection.h"
#include "projections/labels.h"
#include "services/http/handlers/handlers.h"

namespace casewatch::http {
namespace {

constexpr int64_t kDefaultTimelinePage = 1000;  // a case's events or items per answer
constexpr int64_t kMaxTimelinePage = 5000;

// A case's unit as GET /internal/v1/cases/{id} sends it: each level percent-encoded, '/' between.
std::string EncodeAllocation(const Allocation& a) {
  return fmt::format("{}/{}/{}/{}", PercentEncode(a.region), PercentEncode(a.pdu),
                     PercentEncode(a.team), PercentEncode(a.offender_manager));
}

std::optional<Allocation> DecodeAllocation(std::string_view text) {
  std::vector<std::string> levels;
  for (size_t start = 0;;) {
    const size_t slash = text.find('/', start);
    auto level = PercentDecode(text.substr(start, slash - start));
    if (!level) return std::nullopt;
    levels.push_back(std::move(*level));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (levels.size() != 4) return std::nullopt;
  return Allocation{levels[0], levels[1], levels[2], levels[3]};
}

bool ValidCaseId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

// The stores of the copies this engine keeps for other engines (--standby-replicas), each with
// its copy's instant.
struct CopyStore {
  size_t task;  // the partition
  const store::StoreReader* store;
  std::optional<Instant> as_of;
};
std::vector<CopyStore> CopyStores(const ApiState& state) {
  std::vector<CopyStore> stores;
  if (state.options.view == nullptr) return stores;
  for (const auto& [task, as_of] : state.options.view->CopyTasks()) {
    if (task < state.options.stores.size()) {
      stores.push_back(CopyStore{task, state.options.stores[task], as_of});
    }
  }
  return stores;
}

// The timeline of the case the path names; `ask_peers`: when no store here holds it, from the
// engine of the group that does (ApiOptions::peer_case), or else from a copy kept here of its
// partition (its owner cannot answer). Without `ask_peers` (a peer asking), from the stores this
// engine serves, or with `copies=true` from the copies it keeps.
HttpResponse CaseTimeline(ApiState& state, Call& c, bool ask_peers) {
  const ApiOptions& options = state.options;
  if (auto known = ask_peers ? c.params.OnlyThese(
                                   {"page", "page_size", "items_page", "items_page_size"})
                             : c.params.OnlyThese({"page", "page_size", "items_page",
                                                   "items_page_size", "copies"});
      !known) {
    return ErrorResponse(known.error());
  }
  auto copies = Optional<bool>(c.params, "copies", ParseBool, "true or false");
  if (!copies) return ErrorResponse(copies.error());
  const bool from_copies = copies.value().value_or(false);
  auto decoded = PercentDecode(c.path_rest);
  if (!decoded || !ValidCaseId(*decoded)) {
    return ErrorResponse(Problem::kInvalidParameter,
                         "a case id is 1 to 128 characters of A-Z, a-z, 0-9, _ and -");
  }
  // A case's events and items come a page at a time (a case can hold hundreds of thousands).
  auto events = ParsePage(c.params, "page", "page_size", kDefaultTimelinePage, kMaxTimelinePage);
  if (!events) return ErrorResponse(events.error());
  auto items = ParsePage(c.params, "items_page", "items_page_size", kDefaultTimelinePage,
                         kMaxTimelinePage);
  if (!items) return ErrorResponse(items.error());
  const std::string id = *decoded;
  // A case is in one store: with several tasks, the one whose projection it has.
  const store::StoreReader* holder = nullptr;
  std::optional<store::v1::CaseProjection> projection;
  std::optional<size_t> copy;  // read from the copy of this task: its partition
  std::optional<Instant> copy_as_of;  // and the copy's instant
  const auto find = [&](const store::StoreReader* store) -> Result<bool> {
    CW_TRY(read_projection, store->ReadProjection(id));
    if (!read_projection) return false;
    holder = store;
    projection = std::move(read_projection);
    return true;
  };
  const auto find_in_copies = [&]() -> Result<void> {
    for (const CopyStore& kept : CopyStores(state)) {
      CW_TRY(found, find(kept.store));
      if (found) {
        copy = kept.task;
        copy_as_of = kept.as_of;
        break;
      }
    }
    return Ok();
  };
  if (from_copies) {
    if (auto found = find_in_copies(); !found) return ErrorResponse(found.error());
  } else {
    for (const store::StoreReader* store : ServingStores(state)) {
      auto found = find(store);
      if (!found) return ErrorResponse(found.error());
      if (found.value()) break;
    }
  }
  // Not here: the engine of the group that holds it, if any.
  std::optional<PeerCase> routed;
  std::optional<Allocation> routed_allocation;
  if (!projection && ask_peers && options.peer_case && options.view != nullptr &&
      !options.view->snapshot()->missing.empty()) {
    const std::string_view target = c.request.target;
    const size_t question = target.find('?');
    routed = options.peer_case(options.view->snapshot()->missing, id,
                               question == std::string_view::npos ? std::string_view()
                                                                  : target.substr(question + 1));
    if (routed) {
      routed_allocation = DecodeAllocation(routed->allocation);
      if (!routed_allocation) {
        return ErrorResponse(Problem::kInternal,
                             fmt::format("{} gave the case without its unit", routed->url));
      }
    }
  }
  if (!projection && !routed && ask_peers) {  // its owner cannot answer: a copy kept here
    if (auto found = find_in_copies(); !found) return ErrorResponse(found.error());
  }
  // Only a viewer has a scope: the others see every case.
  const bool visible =
      (projection && MaySee(*c.principal, records::AllocationOf(*projection))) ||
      (routed_allocation && MaySee(*c.principal, *routed_allocation));
  const int status = visible ? 200 : 404;
  if (options.audit != nullptr) {
    auto recorded =
        options.audit->RecordCaseAccess(options.wall_clock(), c.principal->name,
                                         NameOf(c.principal->role), id, c.request.remote, status);
    if (!recorded) {  // no audit record, no answer
      return ErrorResponse(Problem::kAuditUnavailable, "the audit log cannot be written");
    }
  }
  if (!visible) return ErrorResponse(Problem::kNotFound, "no such case in your scope");
  if (routed) {
    HttpResponse answer;
    answer.body = std::move(routed->body);
    answer.headers.emplace_back("Casewatch-Peers", routed->url);
    if (!routed->copies.empty()) answer.headers.emplace_back("Casewatch-Copies", routed->copies);
    return answer;
  }
  const store::v1::CaseProjection& p = *projection;
  JsonWriter out;
  out.BeginObject().Key("case_id").String(id).Key("as_of");
  const std::optional<Instant> as_of = copy ? copy_as_of : options.view->snapshot()->as_of;
  if (as_of) {
    out.String(FormatInstant(*as_of));
  } else {
    out.Null();
  }
  out.Key("counted").Bool(p.counted()).Key("allocation").BeginObject();
  out.Key("region").String(p.region()).Key("pdu").String(p.pdu());
  out.Key("team").String(p.team()).Key("offender_manager").String(p.offender_manager());
  out.EndObject();
  out.Key("events").BeginArray();
  Result<void> failure = Ok();
  google::protobuf::util::JsonPrintOptions json;
  json.preserve_proto_field_names = true;
  auto total_events = holder->ReadCasePage(
      id, events.value().offset(), static_cast<uint64_t>(events.value().size),
      [&](std::string_view bytes) {
        events::v1::Envelope envelope;
        if (!envelope.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
          failure = IoError("a stored event does not parse");
          return;
        }
        const auto* reflection = envelope.GetReflection();
        const auto* oneof = envelope.GetDescriptor()->FindOneofByName("payload");
        const auto* field = reflection->GetOneofFieldDescriptor(envelope, oneof);
        out.BeginObject().Key("event_id").String(envelope.event_id());
        out.Key("type").String(field != nullptr ? field->name() : "unknown");
        out.Key("occurred_at")
            .String(FormatInstant(
                Instant{envelope.occurred_at().seconds(), envelope.occurred_at().nanos()}));
        out.Key("recorded_at");
        if (envelope.has_recorded_at()) {
          out.String(FormatInstant(
              Instant{envelope.recorded_at().seconds(), envelope.recorded_at().nanos()}));
        } else {
          out.Null();
        }
        out.Key("source").String(envelope.source()).Key("payload");
        if (field == nullptr) {
          out.Raw("{}");
        } else {
          std::string payload;
          const auto printed = google::protobuf::util::MessageToJsonString(
              reflection->GetMessage(envelope, field), &payload, json);
          if (!printed.ok()) {
            failure = IoError("a stored event cannot be written as JSON");
            payload = "{}";
          }
          out.Raw(payload);
        }
        out.EndObject();
      });
  if (!total_events) return ErrorResponse(total_events.error());
  if (!failure) return ErrorResponse(failure.error());
  out.EndArray();
  out.Key("events_total").Uint(total_events.value());
  out.Key("page").Int(events.value().number).Key("page_size").Int(events.value().size);
  out.Key("items").BeginArray();
  // Each indicator's items by due date (within a rule they are stored in trigger order), so that
  // a page shows them as staff read a case.
  std::vector<int> order(static_cast<size_t>(p.items_size()));
  for (int i = 0; i < p.items_size(); ++i) order[static_cast<size_t>(i)] = i;
  std::stable_sort(order.begin(), order.end(), [&p](int a, int b) {
    const store::v1::StoredItem& x = p.items(a);
    const store::v1::StoredItem& y = p.items(b);
    return std::pair(x.indicator(), x.due()) < std::pair(y.indicator(), y.due());
  });
  const int64_t first_item = static_cast<int64_t>(items.value().offset());
  for (int64_t i = first_item; i < p.items_size() && i < first_item + items.value().size; ++i) {
    const store::v1::StoredItem& item = p.items(order[static_cast<size_t>(i)]);
    const auto item_status = static_cast<ItemStatus>(item.status());
    out.BeginObject();
    const auto indicator = static_cast<Indicator>(item.indicator());
    out.Key("indicator").String(InfoOf(indicator).id);
    out.Key("check");
    if (const CheckLabel* check = CheckLabelOf(indicator, static_cast<uint8_t>(item.detail()))) {
      out.String(check->id);
    } else {
      out.Null();
    }
    out.Key("due").String(FormatDate(Date{item.due()}));
    out.Key("status").String(NameOf(item_status));
    out.Key("fulfilled_by");
    if (item.fulfilled_by().empty()) {
      out.Null();
    } else {
      out.String(item.fulfilled_by());
    }
    out.Key("decided_on");
    if (item_status == ItemStatus::kPending) {
      out.Null();
    } else {
      out.String(FormatDate(Date{item.decided_on()}));
    }
    // The date the work was done (the fulfilling event's), which for a late item is after the
    // decision date.
    out.Key("completed_on");
    if (item.has_fulfilled_seconds()) {
      out.String(FormatDate(DateOf(Instant{item.fulfilled_seconds(), item.fulfilled_nanos()})));
    } else {
      out.Null();
    }
    out.Key("overdue").Bool(item.overdue()).EndObject();
  }
  out.EndArray();
  out.Key("items_total").Int(p.items_size());
  out.Key("items_page").Int(items.value().number).Key("items_page_size").Int(items.value().size);
  out.EndObject();
  HttpResponse answer = Json(200, out.Take());
  if (copy) answer.headers.emplace_back("Casewatch-Copies", std::to_string(*copy));
  // A peer asked (the internal route): the case's unit, for its check of its caller's scope.
  if (!ask_peers) {
    answer.headers.emplace_back("Casewatch-Case-Allocation",
                                EncodeAllocation(records::AllocationOf(p)));
  }
  return answer;
}

}  // namespace

HttpResponse HandleCaseTimeline(ApiState& state, Call& c) {
  return CaseTimeline(state, c, /*ask_peers=*/true);
}

HttpResponse HandlePeerCaseTimeline(ApiState& state, Call& c) {
  if (auto refused = RefuseScopedPeer(c, "a peer's case timelines")) return *refused;
  return CaseTimeline(state, c, /*ask_peers=*/false);
}

}  // namespace casewatch::http
