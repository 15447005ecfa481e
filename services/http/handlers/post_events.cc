// POST /api/v1/events: NDJSON events for systems that cannot speak Kafka. Each line is validated
// as the engine validates a Kafka record, published to the engine's topic keyed by case, or
// refused and dead-lettered; each line is answered.
#include <fmt/format.h>

#include <chrono>
#include <unordered_map>

#include "casewatch/events/v1/events.pb.h"
#include "casewatch/store/v1/records.pb.h"
#include "services/http/handlers/handlers.h"
#include "services/ingest/envelope_view.h"
#include "services/ingest/event_content.h"
#include "services/ingest/json_envelope.h"
#include "services/ingest/ndjson_lines.h"
#include "services/ingest/validation.h"

namespace casewatch::http {

HttpResponse HandlePostEvents(ApiState& state, Call& c) {
  const ApiOptions& options = state.options;
  if (auto known = c.params.OnlyThese({}); !known) return ErrorResponse(known.error());
  if (options.publisher == nullptr) {
    return ErrorResponse(Problem::kUnavailable,
                         options.read_only
                             ? "this casewatchd serves a store read-only (--read-only): it "
                               "publishes nothing"
                             : "publishing over HTTP is not enabled");
  }
  const std::string& body = c.request.body;
  enum class Outcome { kPublish, kRejected, kDuplicate, kConflict };
  struct Line {
    uint64_t number;
    std::string_view text;
    Outcome outcome = Outcome::kPublish;
    std::string event_id;
    std::string error;  // rejected or conflict: why
    events::v1::Envelope envelope;
    ingest::ContentFingerprint content;
    std::optional<Result<void>> delivery;
  };
  std::vector<Line> lines;
  ingest::NdjsonLines split(body);
  while (std::optional<ingest::NdjsonLine> line = split.Next()) {
    if (lines.size() >= options.max_events_per_request) {
      return ErrorResponse(Problem::kTooManyEvents,
                           fmt::format("at most {} events per request; split the file",
                                       options.max_events_per_request));
    }
    lines.push_back(Line{line->number, line->text});
  }
  if (lines.empty()) {
    return ErrorResponse(Problem::kEmptyBody,
                         "expected events as JSON lines (NDJSON), one per line");
  }
  ingest::JsonEnvelopeParser parser;
  const Instant now = options.clock ? options.clock() : Instant{};
  const ingest::ValidationOptions live = ingest::ValidationOptions::Live(now);
  for (Line& line : lines) {
    auto parsed = parser.Parse(line.text, line.envelope);
    if (parsed) parsed = ingest::ValidateEnvelope(line.envelope, live);
    if (!parsed) {
      line.outcome = Outcome::kRejected;
      line.error = parsed.error().message;
      continue;
    }
    line.event_id = line.envelope.event_id();
    ingest::EnvelopeView view;
    ingest::ViewOf(line.envelope, view);
    line.content = ingest::FingerprintOf(view);
  }
  // What the engine already holds, and repeats within the request: a duplicate is not sent
  // again, a conflict (the same id, other content) is refused as the engine would refuse it.
  std::vector<std::string_view> ids;
  std::vector<Line*> valid;
  for (Line& line : lines) {
    if (line.outcome != Outcome::kPublish) continue;
    ids.push_back(line.event_id);
    valid.push_back(&line);
  }
  // An id is unique across all cases: with several tasks, it may be in any of their stores.
  std::vector<std::optional<store::IdEntry>> stored(ids.size());
  for (const store::StoreReader* store : options.stores) {
    if (ids.empty()) break;
    auto found = store->FindIds(ids);
    if (!found) return ErrorResponse(found.error());
    for (size_t i = 0; i < ids.size(); ++i) {
      if (!stored[i]) stored[i] = found.value()[i];
    }
  }
  for (size_t i = 0; i < valid.size(); ++i) {
    const std::optional<store::IdEntry>& entry = stored[i];
    if (!entry) continue;
    const bool same = entry->content[0] == valid[i]->content.high &&
                      entry->content[1] == valid[i]->content.low;
    valid[i]->outcome = same ? Outcome::kDuplicate : Outcome::kConflict;
    if (!same) {
      valid[i]->error = fmt::format(
          "event_id \"{}\" was already accepted with different content (stored event #{})",
          valid[i]->event_id, entry->sequence);
    }
  }
  std::unordered_map<std::string_view, const Line*> first_here;
  for (Line* line : valid) {
    if (line->outcome != Outcome::kPublish) continue;
    const auto [first, added] = first_here.emplace(line->event_id, line);
    if (added) continue;
    const bool same = first->second->content == line->content;
    line->outcome = same ? Outcome::kDuplicate : Outcome::kConflict;
    if (!same) {
      line->error = fmt::format(
          "event_id \"{}\" is also on line {} of this request with different content",
          line->event_id, first->second->number);
    }
  }

  MutexLock lock(state.publish_mutex);
  for (Line& line : lines) {
    if (line.outcome == Outcome::kRejected || line.outcome == Outcome::kConflict) {
      // Refused lines are dead-lettered as Kafka's are, so nothing offered is lost.
      store::v1::DeadLetter letter;
      letter.set_value(std::string(line.text));
      letter.set_source("http");
      letter.set_reason(line.error);
      letter.set_received_at_seconds(now.seconds);
      letter.set_received_at_nanos(now.nanos);
      Line* target = &line;
      auto queued = options.publisher->Publish(
          options.dead_letter_topic, "", letter.SerializeAsString(),
          [target](Result<void> done) { target->delivery = std::move(done); });
      if (!queued) line.delivery = queued.error();
      continue;
    }
    if (line.outcome != Outcome::kPublish) continue;
    Line* target = &line;
    for (int attempt = 0;; ++attempt) {
      auto produced = options.publisher->Publish(
          options.topic, line.envelope.case_id(), line.envelope.SerializeAsString(),
          [target](Result<void> done) { target->delivery = std::move(done); });
      if (produced) break;
      if (!IsRetryable(produced.error()) || attempt >= 100) {
        line.delivery = produced.error();
        break;
      }
      options.publisher->Poll(std::chrono::milliseconds(50));  // local queue full: drain
    }
  }
  auto flushed = options.publisher->Flush(std::chrono::seconds(15));
  int accepted = 0, rejected = 0, duplicates = 0, conflicts = 0, failed = 0;
  JsonWriter out;
  out.BeginObject().Key("results").BeginArray();
  int undead = 0;  // refused lines whose dead letter did not reach the log
  for (const Line& line : lines) {
    out.BeginObject().Key("line").Uint(line.number);
    const bool refused = line.outcome == Outcome::kRejected || line.outcome == Outcome::kConflict;
    if (refused && !(line.delivery && *line.delivery)) {
      ++undead;
      out.Key("dead_letter").String("failed");
    }
    switch (line.outcome) {
      case Outcome::kRejected:
        ++rejected;
        out.Key("status").String("rejected").Key("error").String(line.error);
        break;
      case Outcome::kConflict:
        ++conflicts;
        out.Key("status").String("conflict").Key("event_id").String(line.event_id);
        out.Key("error").String(line.error);
        break;
      case Outcome::kDuplicate:
        ++duplicates;
        out.Key("status").String("duplicate").Key("event_id").String(line.event_id);
        break;
      case Outcome::kPublish:
        if (line.delivery && *line.delivery) {
          ++accepted;
          out.Key("status").String("accepted").Key("event_id").String(line.event_id);
        } else {
          ++failed;
          out.Key("status").String("failed").Key("event_id").String(line.event_id);
          out.Key("error").String(fmt::format(
              "not delivered to the event log ({}); send it again",
              line.delivery ? line.delivery->error().message
                            : (flushed ? std::string("no report") : flushed.error().message)));
        }
        break;
    }
    out.EndObject();
  }
  out.EndArray();
  out.Key("accepted").Int(accepted).Key("rejected").Int(rejected);
  out.Key("duplicates").Int(duplicates).Key("conflicts").Int(conflicts);
  out.Key("failed").Int(failed).EndObject();
  // Anything offered that is in neither the log nor the dead letters: the caller must know.
  return Json(failed > 0 || undead > 0 ? 503 : 200, out.Take());
}

}  // namespace casewatch::http
