#include "services/ingest/event_file.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "services/ingest/binary_envelope.h"
#include "services/ingest/test_util.h"

namespace casewatch::ingest {
namespace {

using testing::LoadOrDie;
using testing::RoshEvent;
using testing::TempFile;

constexpr std::string_view kOpened =
    R"({"eventId":"e-1","caseId":"N13-00042","occurredAt":"2013-04-02T09:30:00Z",)"
    R"("caseOpened":{"caseType":"CASE_TYPE_COMMUNITY_ORDER","region":"North East",)"
    R"("pdu":"Sunderland","team":"SUN-2","offenderManager":"om-117"}})";

TEST(LoadEventFile, BadLinesInTheMiddleAreReportedWithLineNumbersAndTheRestApplied) {
  const std::string contents =
      std::string(kOpened) + "\n" +
      "{not json\n"
      "\n"
      R"({"eventId":"e-2","caseId":"N13 42","occurredAt":"2013-04-03T00:00:00Z","warningIssued":{}})"
      "\n" +
      R"({"event_id":"e-3","case_id":"N13-00042","occurred_at":"2013-04-04T00:00:00Z","warning_issued":{}})" +
      "\r\n   \r\n" +
      R"({"eventId":"e-4","caseId":"N13-00042","occurredAt":"2013-04-05T00:00:00Z","homeVisitCompleted":{}})";
  TempFile file("events.ndjson", contents);
  EventLog log;
  const auto loaded = LoadOrDie(file.path(), log);
  EXPECT_EQ(loaded.summary.accepted, 3u);
  EXPECT_EQ(loaded.summary.rejected, 2u);
  EXPECT_EQ(loaded.summary.duplicates, 0u);
  ASSERT_EQ(loaded.problems.size(), 2u);
  EXPECT_EQ(loaded.problems[0].line, 2u);
  EXPECT_NE(loaded.problems[0].reason.find("not valid JSON"), std::string::npos);
  EXPECT_EQ(loaded.problems[1].line, 4u);
  EXPECT_EQ(loaded.problems[1].reason, R"(case_id "N13 42" has characters outside [A-Za-z0-9_-])");
  ASSERT_EQ(log.case_count(), 1u);
  EXPECT_EQ(log.cases()[0].events().size(), 3u);
}

TEST(LoadEventFile, IdenticalDuplicateIsCountedAndConflictNamesTheFirstCopysLine) {
  const std::string conflicting =
      R"({"eventId":"e-1","caseId":"N13-00042","occurredAt":"2013-04-02T09:30:00Z","warningIssued":{}})";
  const std::string same_but_recorded_at =
      R"({"eventId":"e-1","caseId":"N13-00042","occurredAt":"2013-04-02T09:30:00Z","recordedAt":"2013-04-02T10:00:00Z",)"
      R"("caseOpened":{"caseType":"CASE_TYPE_COMMUNITY_ORDER","region":"North East",)"
      R"("pdu":"Sunderland","team":"SUN-2","offenderManager":"om-117"}})";
  TempFile file("dups.jsonl",
                std::string(kOpened) + "\n" + same_but_recorded_at + "\n" + conflicting + "\n");
  EventLog log;
  const auto loaded = LoadOrDie(file.path(), log);
  EXPECT_EQ(loaded.summary.accepted, 1u);
  EXPECT_EQ(loaded.summary.duplicates, 1u);
  EXPECT_EQ(loaded.summary.rejected, 1u);
  ASSERT_EQ(loaded.problems.size(), 1u);
  EXPECT_EQ(loaded.problems[0].line, 3u);
  EXPECT_EQ(loaded.problems[0].reason,
            "event_id \"e-1\" was already accepted with different content (first copy: " +
                file.path() + " line 1)");
  // The first copy in file order won.
  EXPECT_EQ(log.cases()[0].events()[0].type, EventType::kCaseOpened);
}

TEST(LoadEventFile, InvalidEventClaimsNoId) {
  TempFile file(
      "claims.ndjson",
      R"({"eventId":"e-1","caseId":"N13-00042","occurredAt":"2013-04-02T09:30:00Z","rosh_classified":{"level":0}})"
      "\n"
      R"({"eventId":"e-1","caseId":"N13-00042","occurredAt":"2013-04-02T09:30:00Z","rosh_classified":{"level":"ROSH_LEVEL_LOW"}})"
      "\n");
  EventLog log;
  const auto loaded = LoadOrDie(file.path(), log);
  EXPECT_EQ(loaded.summary.accepted, 1u);
  EXPECT_EQ(loaded.summary.rejected, 1u);
  ASSERT_EQ(loaded.problems.size(), 1u);
  EXPECT_EQ(loaded.problems[0].reason, "rosh_classified.level is ROSH_LEVEL_UNSPECIFIED");
}

TEST(LoadEventFile, MissingFileIsAnErrorNamingThePathAndReason) {
  EventLog log;
  Result<LoadSummary> result = LoadEventFile("/nonexistent/dir/events.ndjson", log, nullptr);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(result.error().message,
            "cannot open events file \"/nonexistent/dir/events.ndjson\": No such file or "
            "directory");
}

TEST(LoadEventFile, DirectoryIsAnIoError) {
  EventLog log;
  Result<LoadSummary> result = LoadEventFile(::testing::TempDir(), log, nullptr);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().kind, ErrorKind::kIo);
  EXPECT_NE(result.error().message.find("Is a directory"), std::string::npos);
}

TEST(LoadEventFile, LinesLongerThanTheReadChunkAndManyLinesKeepTheirNumbers) {
  std::string contents;
  const int kLines = 30000;  // ~3.5 MB: several read chunks
  for (int i = 1; i <= kLines; ++i) {
    contents += fmt::format(
        R"({{"eventId":"e-{}","caseId":"C{}","occurredAt":"2013-04-02T09:30:00Z","significantChangeRecorded":{{"description":"{}"}}}})",
        i, i % 97, std::string(static_cast<size_t>(i % 7 == 0 ? 40 : 3), 'x'));
    contents += i == kLines ? "" : "\n";
    if (i == 12345) contents += std::string(3 << 20, ' ') + "\n";  // a 3 MB blank line
  }
  TempFile file("big.ndjson", contents + "\n" + "oops");
  EventLog log;
  const auto loaded = LoadOrDie(file.path(), log);
  EXPECT_EQ(loaded.summary.accepted, static_cast<uint64_t>(kLines));
  ASSERT_EQ(loaded.problems.size(), 1u);
  EXPECT_EQ(loaded.problems[0].line, static_cast<uint64_t>(kLines + 2));
}

std::string Delimited(const std::vector<events::v1::Envelope>& envelopes) {
  std::string out;
  for (const auto& e : envelopes) AppendDelimited(e, out);
  return out;
}

TEST(LoadEventFile, BinaryRoundTripAcceptsEveryRecord) {
  std::vector<events::v1::Envelope> envelopes;
  for (int i = 0; i < 5000; ++i)
    envelopes.push_back(
        RoshEvent(fmt::format("e-{}", i), fmt::format("C{}", i % 10), 1364895000 + i));
  envelopes.push_back(RoshEvent("e-1", "C1", 1364895001));  // identical duplicate
  TempFile file("events.pb", Delimited(envelopes));
  EventLog log;
  const auto loaded = LoadOrDie(file.path(), log);
  EXPECT_EQ(loaded.summary.accepted, 5000u);
  EXPECT_EQ(loaded.summary.duplicates, 1u);
  EXPECT_TRUE(loaded.problems.empty());
  EXPECT_EQ(log.case_count(), 10u);
  const CaseHistory* c3 = log.FindCase("C3");
  ASSERT_NE(c3, nullptr);
  ASSERT_EQ(c3->events().size(), 500u);
  EXPECT_EQ(c3->event_id(c3->events()[0]), "e-3");
  EXPECT_EQ(c3->events()[0].rosh_level(), RoshLevel::kHigh);
}

TEST(LoadEventFile, TruncatedBinaryTailIsReportedWithItsRecordNumber) {
  std::string bytes = Delimited({RoshEvent("e-1"), RoshEvent("e-2"), RoshEvent("e-3")});
  bytes.resize(bytes.size() - 5);
  TempFile file("events.bin", bytes);
  EventLog log;
  const auto loaded = LoadOrDie(file.path(), log);
  EXPECT_EQ(loaded.summary.accepted, 2u);
  ASSERT_EQ(loaded.problems.size(), 1u);
  EXPECT_EQ(loaded.problems[0].line, 3u);
  EXPECT_NE(loaded.problems[0].reason.find("truncated"), std::string::npos)
      << loaded.problems[0].reason;
}

TEST(LoadEventFile, RecordThatIsNotAnEnvelopeIsRejectedAndTheNextStillRead) {
  std::string bytes = Delimited({RoshEvent("e-1")});
  const std::string garbage = "\xff\xff\xff\xff";  // field 0x1fffff wire type 7: invalid
  bytes += static_cast<char>(garbage.size());
  bytes += garbage;
  AppendDelimited(RoshEvent("e-3"), bytes);
  TempFile file("events.bin", bytes);
  EventLog log;
  const auto loaded = LoadOrDie(file.path(), log);
  EXPECT_EQ(loaded.summary.accepted, 2u);
  ASSERT_EQ(loaded.problems.size(), 1u);
  EXPECT_EQ(loaded.problems[0].line, 2u);
  EXPECT_NE(loaded.problems[0].reason.find("not a valid Envelope"), std::string::npos);
}

TEST(LoadEventFile, GarbageFileStopsWithOneProblem) {
  TempFile file("garbage.bin", std::string(64, '\xff'));
  EventLog log;
  const auto loaded = LoadOrDie(file.path(), log);
  EXPECT_EQ(loaded.summary.accepted, 0u);
  ASSERT_EQ(loaded.problems.size(), 1u);
  EXPECT_EQ(loaded.problems[0].line, 1u);
  EXPECT_NE(loaded.problems[0].reason.find("length prefix"), std::string::npos);
}

TEST(LoadEventFile, UnknownPayloadFieldInBinaryIsNamed) {
  events::v1::Envelope e = RoshEvent("e-1");
  e.clear_payload();
  std::string bytes = e.SerializeAsString();
  bytes += std::string("\xca\x03\x00", 3);  // field 57, length-delimited, empty
  std::string file_bytes;
  file_bytes += static_cast<char>(bytes.size());
  file_bytes += bytes;
  TempFile file("events.bin", file_bytes);
  EventLog log;
  const auto loaded = LoadOrDie(file.path(), log);
  ASSERT_EQ(loaded.problems.size(), 1u);
  EXPECT_EQ(loaded.problems[0].reason, "unknown payload (field 57)");
}

TEST(LoadEventFile, FormatFollowsTheExtension) {
  EXPECT_EQ(FormatOfPath("a/b.ndjson"), FileFormat::kNdjson);
  EXPECT_EQ(FormatOfPath("b.jsonl"), FileFormat::kNdjson);
  EXPECT_EQ(FormatOfPath("b.pb"), FileFormat::kBinary);
  EXPECT_EQ(FormatOfPath("ndjson"), FileFormat::kBinary);
}

TEST(LoadEventFile, EmptyFileLoadsNothing) {
  TempFile file("empty.ndjson", "");
  EventLog log;
  const auto loaded = LoadOrDie(file.path(), log);
  EXPECT_EQ(loaded.summary.accepted + loaded.summary.rejected, 0u);
}

struct ReadRecord {
  FileFormat format;
  uint64_t line;
  std::string bytes;
  std::string case_id;
  uint64_t end_offset;
};

struct Read {
  ReadSummary summary;
  std::vector<ReadRecord> records;
  std::vector<Problem> problems;
};

Read ReadOrDie(const std::string& path, std::optional<FileFormat> format = std::nullopt) {
  Read read;
  Result<ReadSummary> summary = ReadEventFile(
      path, format,
      [&](const FileRecord& r) -> Result<void> {
        read.records.push_back(ReadRecord{r.format, r.line, std::string(r.bytes),
                                          std::string(r.view.case_id), r.end_offset});
        return Ok();
      },
      [&](const Problem& p) { read.problems.push_back(p); });
  EXPECT_TRUE(summary.has_value()) << (summary ? "" : summary.error().message);
  if (summary) read.summary = summary.value();
  return read;
}

TEST(ReadEventFile, NdjsonHandsOverEveryLineThatParsesValidOrNotAndReportsTheRest) {
  const std::string bad_case =
      R"({"eventId":"e-2","caseId":"N13 42","occurredAt":"2013-04-03T00:00:00Z","warningIssued":{}})";
  const std::string contents =
      std::string(kOpened) + "\r\n" + "{not json\n" + "\n" + bad_case + "\n" + std::string(kOpened);
  TempFile file("read.ndjson", contents);
  const Read read = ReadOrDie(file.path());
  EXPECT_EQ(read.summary.format, FileFormat::kNdjson);
  EXPECT_EQ(read.summary.records, 3u);
  EXPECT_EQ(read.summary.problems, 1u);
  ASSERT_EQ(read.records.size(), 3u);
  EXPECT_EQ(read.records[0].format, FileFormat::kNdjson);
  EXPECT_EQ(read.records[0].line, 1u);
  EXPECT_EQ(read.records[0].bytes, kOpened);  // without "\r\n"
  EXPECT_EQ(read.records[0].case_id, "N13-00042");
  EXPECT_EQ(read.records[0].end_offset, kOpened.size() + 2);
  EXPECT_EQ(read.records[1].line, 4u);
  EXPECT_EQ(read.records[1].bytes, bad_case);  // invalid, but it parses: handed over
  EXPECT_EQ(read.records[1].case_id, "N13 42");
  EXPECT_EQ(read.records[2].line, 5u);
  EXPECT_EQ(read.records[2].end_offset, contents.size());
  ASSERT_EQ(read.problems.size(), 1u);
  EXPECT_EQ(read.problems[0].line, 2u);
}

TEST(ReadEventFile, BinaryHandsOverEachRecordsOwnBytes) {
  std::vector<events::v1::Envelope> envelopes = {RoshEvent("e-1", "C1"), RoshEvent("e-2", "C2")};
  envelopes[1].set_case_id("");  // invalid, but a well-formed Envelope
  const std::string contents = Delimited(envelopes) + std::string("\x05\xff\xff", 3);
  TempFile file("read.bin", contents);
  const Read read = ReadOrDie(file.path());
  EXPECT_EQ(read.summary.format, FileFormat::kBinary);
  ASSERT_EQ(read.records.size(), 2u);
  EXPECT_EQ(read.records[0].format, FileFormat::kBinary);
  EXPECT_EQ(read.records[0].bytes, envelopes[0].SerializeAsString());
  EXPECT_EQ(read.records[0].case_id, "C1");
  EXPECT_EQ(read.records[1].line, 2u);
  EXPECT_EQ(read.records[1].bytes, envelopes[1].SerializeAsString());
  EXPECT_EQ(read.records[1].end_offset, contents.size() - 3);
  ASSERT_EQ(read.problems.size(), 1u);  // the truncated third record
  EXPECT_EQ(read.problems[0].line, 3u);
}

TEST(ReadEventFile, GivenFormatOverridesTheName) {
  TempFile file("events.bin", std::string(kOpened) + "\n");
  const Read read = ReadOrDie(file.path(), FileFormat::kNdjson);
  EXPECT_EQ(read.summary.records, 1u);
  EXPECT_TRUE(read.problems.empty());
}

TEST(ReadEventFile, AnErrorFromTheCallbackStopsTheReadAndIsReturned) {
  TempFile file("stop.ndjson", std::string(kOpened) + "\n" + std::string(kOpened) + "\n");
  int calls = 0;
  Result<ReadSummary> summary = ReadEventFile(
      file.path(), std::nullopt,
      [&](const FileRecord&) -> Result<void> {
        ++calls;
        return Unavailable("broker gone");
      },
      nullptr);
  ASSERT_FALSE(summary);
  EXPECT_EQ(summary.error().message, "broker gone");
  EXPECT_EQ(calls, 1);
}

TEST(ReadEventFile, MissingFileIsNotFound) {
  Result<ReadSummary> summary = ReadEventFile(
      "/nonexistent/e.ndjson", std::nullopt, [](const FileRecord&) -> Result<void> { return Ok(); },
      nullptr);
  ASSERT_FALSE(summary);
  EXPECT_EQ(summary.error().kind, ErrorKind::kNotFound);
}

}  // namespace
}  // namespace casewatch::ingest
