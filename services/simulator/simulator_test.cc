#include "services/simulator/simulator.h"

#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/util/delimited_message_util.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "services/simulator/event_writer.h"
#include "services/simulator/internal/case_generator.h"
#include "services/simulator/random.h"

namespace casewatch::simulator {
namespace {

namespace v1 = ::casewatch::events::v1;
using google::protobuf::util::MessageDifferencer;

SimulationOptions Options(int64_t cases, int months, uint64_t seed = 7,
                          std::string_view profile = "typical") {
  SimulationOptions options;
  options.cases = cases;
  options.start = ParseDate("2013-01-01").value();
  options.months = months;
  options.seed = seed;
  options.profile = ProfileByName(profile).value();
  return options;
}

// Runs a simulation into memory in the given file form.
std::string Render(const SimulationOptions& options, OutputFormat format) {
  char* data = nullptr;
  size_t size = 0;
  std::FILE* file = open_memstream(&data, &size);
  {
    auto simulator = Simulator::Create(options);
    EXPECT_TRUE(simulator);
    auto writer = MakeEventWriter(format, file, simulator.value().organisation());
    EXPECT_TRUE(simulator.value().Run(*writer));
    EXPECT_TRUE(writer->Finish());
  }
  std::fclose(file);
  std::string out(data, size);
  std::free(data);
  return out;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<v1::Envelope> Parse(const std::vector<std::string>& lines) {
  std::vector<v1::Envelope> events;
  for (const std::string& line : lines) {
    v1::Envelope envelope;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(line, &envelope).ok()) << line;
    events.push_back(std::move(envelope));
  }
  return events;
}

// The 200-case, 24-month run most tests look at, generated once.
const std::vector<std::string>& ModestRunLines() {
  static const std::vector<std::string> lines =
      Lines(Render(Options(200, 24), OutputFormat::kNdjson));
  return lines;
}
const std::vector<v1::Envelope>& ModestRun() {
  static const std::vector<v1::Envelope> events = Parse(ModestRunLines());
  return events;
}

// The validation rules of docs/rules.md section 2.5 a publisher's event must pass.
std::string ValidationProblem(const v1::Envelope& e) {
  static const std::regex kCaseId("^[A-Za-z0-9_-]{1,64}$");
  if (e.event_id().empty() || e.event_id().size() > 128) return "event_id";
  if (!std::regex_match(e.case_id(), kCaseId)) return "case_id";
  if (!e.has_occurred_at()) return "occurred_at";
  if (e.payload_case() == v1::Envelope::PAYLOAD_NOT_SET) return "payload";
  if (e.has_obligation_missed()) return "derived event";
  const auto* reflection = e.GetReflection();
  const auto* field = e.GetDescriptor()->FindFieldByNumber(e.payload_case());
  const google::protobuf::Message& payload = reflection->GetMessage(e, field);
  const auto* descriptor = payload.GetDescriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const auto* f = descriptor->field(i);
    if (f->type() == google::protobuf::FieldDescriptor::TYPE_ENUM &&
        payload.GetReflection()->GetEnumValue(payload, f) == 0) {
      return "enum " + f->name();
    }
    if (f->name() == "appointment_id" && payload.GetReflection()->GetString(payload, f).empty()) {
      return "appointment_id";
    }
  }
  return "";
}

v1::Envelope WithoutRecordedAt(v1::Envelope e) {
  e.clear_recorded_at();
  return e;
}

TEST(Simulator, SameSeedGivesByteIdenticalOutput) {
  const std::string a = Render(Options(60, 12, 42), OutputFormat::kNdjson);
  const std::string b = Render(Options(60, 12, 42), OutputFormat::kNdjson);
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  EXPECT_EQ(Render(Options(60, 12, 42), OutputFormat::kBinary),
            Render(Options(60, 12, 42), OutputFormat::kBinary));
}

TEST(Simulator, DifferentSeedGivesDifferentOutput) {
  EXPECT_NE(Render(Options(60, 12, 42), OutputFormat::kNdjson),
            Render(Options(60, 12, 43), OutputFormat::kNdjson));
}

TEST(Simulator, EveryLineIsCanonicalProtobufJsonOfAValidEvent) {
  const auto& lines = ModestRunLines();
  const auto& events = ModestRun();
  ASSERT_EQ(lines.size(), events.size());
  ASSERT_GT(events.size(), 5000u);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(ValidationProblem(events[i]), "") << lines[i];
    std::string canonical;
    ASSERT_TRUE(google::protobuf::util::MessageToJsonString(events[i], &canonical).ok());
    EXPECT_EQ(canonical, lines[i]);
  }
}

TEST(Simulator, EventsOccurInTheWindowAndAreRecordedByItsEnd) {
  const int64_t begin = ParseInstant("2013-01-01T00:00:00Z").value().seconds;
  const int64_t end = ParseInstant("2015-01-01T00:00:00Z").value().seconds;
  for (const v1::Envelope& e : ModestRun()) {
    EXPECT_GE(e.occurred_at().seconds(), begin) << e.event_id();
    EXPECT_LT(e.occurred_at().seconds(), end) << e.event_id();
    EXPECT_GE(e.recorded_at().seconds(), e.occurred_at().seconds()) << e.event_id();
    EXPECT_LE(e.recorded_at().seconds(), end) << e.event_id();
  }
}

TEST(Simulator, EventIdsAreUniqueExceptIdenticalDuplicates) {
  std::map<std::string, v1::Envelope> first;
  int duplicates = 0;
  for (const v1::Envelope& e : ModestRun()) {
    auto [it, inserted] = first.emplace(e.event_id(), WithoutRecordedAt(e));
    if (!inserted) {
      ++duplicates;
      EXPECT_TRUE(MessageDifferencer::Equals(it->second, WithoutRecordedAt(e))) << e.event_id();
    }
    EXPECT_EQ(e.event_id().rfind(e.case_id() + "-", 0), 0u) << e.event_id();
  }
  EXPECT_GT(duplicates, 0);
  EXPECT_LT(duplicates, static_cast<int>(ModestRun().size() / 50));
}

TEST(Simulator, ArrivalOrderIsRecordedOrderWithSomeEventsRecordedLate) {
  int64_t previous = 0;
  int recorded_days_late = 0;
  int out_of_occurred_order = 0;
  std::map<std::string, int64_t> latest_occurred;  // per case, in arrival order
  for (const v1::Envelope& e : ModestRun()) {
    EXPECT_GE(e.recorded_at().seconds(), previous) << e.event_id();
    previous = e.recorded_at().seconds();
    if (e.recorded_at().seconds() - e.occurred_at().seconds() > 2 * 86400) ++recorded_days_late;
    int64_t& latest = latest_occurred[e.case_id()];
    if (e.occurred_at().seconds() < latest) ++out_of_occurred_order;
    latest = std::max(latest, e.occurred_at().seconds());
  }
  EXPECT_GT(recorded_days_late, 100);
  EXPECT_GT(out_of_occurred_order, 100);
}

TEST(Simulator, EveryEventTypeAppearsInAModestRun) {
  std::set<int> payloads;
  for (const v1::Envelope& e : ModestRun()) payloads.insert(e.payload_case());
  for (int field = v1::Envelope::kCaseOpened; field <= v1::Envelope::kFurtherOffenceRecorded;
       ++field) {
    EXPECT_TRUE(payloads.count(field)) << "no event with payload field " << field;
  }
  EXPECT_FALSE(payloads.count(v1::Envelope::kObligationMissed));
}

TEST(Simulator, ModestRunExercisesTheIndicatorsEdgeCases) {
  int open = 0, closed = 0, oral_without_rosh = 0, risk_increased = 0, unacceptable = 0,
      victim_required = 0, rmp_without_victim_safety = 0, high = 0, very_high = 0, downgrades = 0,
      only_offender_manager = 0, transfers = 0, revoked = 0;
  std::map<std::string, int> level;
  std::set<std::string> ids;
  for (const v1::Envelope& e : ModestRun()) {
    if (!ids.insert(e.event_id()).second) continue;  // count each event once
    if (e.has_case_opened()) {
      ++open;
      victim_required += e.case_opened().victim_contact_required();
    }
    if (e.has_case_closed()) {
      ++closed;
      revoked += e.case_closed().reason() == v1::CLOSURE_REASON_REVOKED;
    }
    if (e.has_pre_sentence_report_completed() &&
        e.pre_sentence_report_completed().report_type() == v1::REPORT_TYPE_ORAL &&
        !(e.pre_sentence_report_completed().includes_rosh() &&
          e.pre_sentence_report_completed().includes_lor())) {
      ++oral_without_rosh;
    }
    if (e.has_significant_change_recorded())
      risk_increased += e.significant_change_recorded().risk_increased();
    if (e.has_absence_judged()) unacceptable += !e.absence_judged().acceptable();
    if (e.has_risk_management_plan_completed()) {
      rmp_without_victim_safety += !e.risk_management_plan_completed().addresses_victim_safety();
    }
    if (e.has_rosh_classified()) {
      high += e.rosh_classified().level() == v1::ROSH_LEVEL_HIGH;
      very_high += e.rosh_classified().level() == v1::ROSH_LEVEL_VERY_HIGH;
      int& current = level[e.case_id()];
      if (current > e.rosh_classified().level()) ++downgrades;
      current = e.rosh_classified().level();
    }
    if (e.has_case_allocated()) {
      if (e.case_allocated().team().empty()) {
        ++only_offender_manager;
      } else {
        ++transfers;
      }
    }
  }
  EXPECT_EQ(open, 200);
  EXPECT_GT(closed, 20);
  EXPECT_LT(closed, open);  // some cases are still open at the window's end
  EXPECT_GT(revoked, 0);
  EXPECT_GT(oral_without_rosh, 0);
  EXPECT_GT(risk_increased, 0);
  EXPECT_GT(unacceptable, 0);
  EXPECT_GT(victim_required, 0);
  EXPECT_GT(rmp_without_victim_safety, 0);
  EXPECT_GT(high, 0);
  EXPECT_GT(very_high, 0);
  EXPECT_GT(downgrades, 0);
  EXPECT_GT(only_offender_manager, 0);
  EXPECT_GT(transfers, 0);
}

// Practice per unit of need, for comparing profiles.
struct PracticeMeasure {
  double home_visits_per_high_case = 0;
  double oversights_per_high_case = 0;
  double judged_share = 0;  // missed appointments with an absence judgement
  double psr_complete_share = 0;
};

PracticeMeasure Measure(std::string_view profile) {
  const auto events = Parse(Lines(Render(Options(400, 24, 11, profile), OutputFormat::kNdjson)));
  std::set<std::string> high_cases, ids;
  int visits = 0, oversights = 0, missed = 0, judged = 0, reports = 0, complete = 0;
  for (const v1::Envelope& e : events) {
    if (!ids.insert(e.event_id()).second) continue;  // count each event once
    if (e.has_rosh_classified() && e.rosh_classified().level() >= v1::ROSH_LEVEL_HIGH) {
      high_cases.insert(e.case_id());
    }
    visits += e.has_home_visit_completed();
    oversights += e.has_management_oversight_recorded();
    missed += e.has_appointment_missed();
    judged += e.has_absence_judged();
    if (e.has_pre_sentence_report_completed()) {
      ++reports;
      complete += e.pre_sentence_report_completed().includes_rosh() &&
                  e.pre_sentence_report_completed().includes_lor();
    }
  }
  PracticeMeasure m;
  m.home_visits_per_high_case =
      static_cast<double>(visits) / static_cast<double>(high_cases.size());
  m.oversights_per_high_case =
      static_cast<double>(oversights) / static_cast<double>(high_cases.size());
  m.judged_share = static_cast<double>(judged) / missed;
  m.psr_complete_share = static_cast<double>(complete) / reports;
  return m;
}

TEST(Simulator, StrugglingProfileDoesMeasurablyLessPracticeThanGood) {
  const PracticeMeasure good = Measure("good");
  const PracticeMeasure struggling = Measure("struggling");
  EXPECT_LT(struggling.home_visits_per_high_case, 0.8 * good.home_visits_per_high_case);
  EXPECT_LT(struggling.oversights_per_high_case, 0.8 * good.oversights_per_high_case);
  EXPECT_LT(struggling.judged_share, good.judged_share - 0.05);
  EXPECT_LT(struggling.psr_complete_share, good.psr_complete_share - 0.15);
}

TEST(Simulator, BinaryOutputRoundTripsThroughParseDelimitedFrom) {
  const std::string binary = Render(Options(200, 24), OutputFormat::kBinary);
  google::protobuf::io::ArrayInputStream input(binary.data(), static_cast<int>(binary.size()));
  const auto& expected = ModestRun();
  size_t count = 0;
  for (;;) {
    v1::Envelope envelope;
    bool clean_eof = false;
    if (!google::protobuf::util::ParseDelimitedFromZeroCopyStream(&envelope, &input, &clean_eof)) {
      EXPECT_TRUE(clean_eof);
      break;
    }
    ASSERT_LT(count, expected.size());
    EXPECT_TRUE(MessageDifferencer::Equals(envelope, expected[count])) << envelope.event_id();
    ++count;
  }
  EXPECT_EQ(count, expected.size());
}

TEST(Simulator, HandWrittenFormsMatchProtobufsOwnSerializers) {
  auto simulator = Simulator::Create(Options(150, 24, 3));
  ASSERT_TRUE(simulator);
  struct Compare final : EventSink {
    const Organisation* org = nullptr;
    int64_t events = 0;
    Result<void> Write(const SimulatedEvent& event) override {
      const v1::Envelope envelope = ToEnvelope(event, *org);
      std::string json, expected_json;
      AppendJson(event, *org, json);
      EXPECT_TRUE(google::protobuf::util::MessageToJsonString(envelope, &expected_json).ok());
      EXPECT_EQ(json, expected_json);
      std::string binary, expected_binary;
      AppendDelimited(event, *org, binary);
      {
        google::protobuf::io::StringOutputStream stream(&expected_binary);
        EXPECT_TRUE(google::protobuf::util::SerializeDelimitedToZeroCopyStream(envelope, &stream));
      }
      EXPECT_EQ(binary, expected_binary) << expected_json;
      ++events;
      return Ok();
    }
  } compare;
  compare.org = &simulator.value().organisation();
  ASSERT_TRUE(simulator.value().Run(compare));
  EXPECT_GT(compare.events, 1000);
}

TEST(Simulator, RunIsRepeatableOnOneSimulator) {
  auto simulator = Simulator::Create(Options(30, 6));
  ASSERT_TRUE(simulator);
  struct Count final : EventSink {
    int64_t events = 0;
    Result<void> Write(const SimulatedEvent&) override {
      ++events;
      return Ok();
    }
  } first, second;
  auto a = simulator.value().Run(first);
  auto b = simulator.value().Run(second);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(first.events, second.events);
  EXPECT_EQ(a.value().events, first.events);
  EXPECT_GT(a.value().peak_pending, 0);
}

TEST(Simulator, CreateRejectsBadOptions) {
  EXPECT_FALSE(Simulator::Create(Options(0, 12)));
  EXPECT_FALSE(Simulator::Create(Options(10, 0)));
  SimulationOptions options = Options(10, 12);
  options.profile.home_visit_rate = 1.5;
  auto result = Simulator::Create(options);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("home-visit-rate"), std::string::npos);
}

TEST(PracticeProfile, PresetsAreValidAndUnknownNamesAreRejected) {
  for (const std::string& name : ProfileNames()) {
    auto profile = ProfileByName(name);
    ASSERT_TRUE(profile) << name;
    EXPECT_EQ(profile.value().name, name);
    EXPECT_TRUE(ValidateProfile(profile.value()));
  }
  auto unknown = ProfileByName("excellent");
  ASSERT_FALSE(unknown);
  for (const std::string& name : ProfileNames()) {
    EXPECT_NE(unknown.error().message.find(name), std::string::npos) << unknown.error().message;
  }
  EXPECT_GT(ProfileByName("struggling").value().miss_rate, ProfileByName("good").value().miss_rate);
}

TEST(PracticeProfile, TaskRatesEqualToTheGeneralRatesChangeNothing) {
  SimulationOptions options = Options(60, 12, 42);
  const std::string plain = Render(options, OutputFormat::kNdjson);
  for (size_t i = 0; i < kTaskCount; ++i) {
    options.profile.SetTaskRates(static_cast<Task>(i),
                                 {options.profile.late_rate, options.profile.miss_rate});
  }
  options.profile.home_visit_initial_rate = options.profile.home_visit_rate;
  EXPECT_EQ(Render(options, OutputFormat::kNdjson), plain);
}

TEST(PracticeProfile, ATasksOwnRatesGovernThatTaskAlone) {
  SimulationOptions options = Options(200, 24);
  // Plans are (almost) never reviewed: a team's failure rates are capped at 0.95.
  options.profile.SetTaskRates(Task::kPlanReview, {0.0, 1.0});
  int plan_reviews = 0, assessment_reviews = 0, initial_plans = 0;
  for (const v1::Envelope& e : Parse(Lines(Render(options, OutputFormat::kNdjson)))) {
    if (e.has_sentence_plan_completed()) {
      (e.sentence_plan_completed().kind() == v1::PLAN_KIND_REVIEW ? plan_reviews : initial_plans)++;
    }
    assessment_reviews += e.has_assessment_completed() &&
                          e.assessment_completed().kind() == v1::ASSESSMENT_KIND_REVIEW;
  }
  EXPECT_LT(plan_reviews, assessment_reviews / 10);
  EXPECT_GT(initial_plans, 150);
  EXPECT_GT(assessment_reviews, 300);
}

TEST(PracticeProfile, ALowAndMediumRoshCaseloadHasNoHighClassification) {
  SimulationOptions options = Options(200, 24);
  options.profile.low_and_medium_rosh_only = true;
  int medium = 0;
  for (const v1::Envelope& e : Parse(Lines(Render(options, OutputFormat::kNdjson)))) {
    if (!e.has_rosh_classified()) continue;
    EXPECT_LE(e.rosh_classified().level(), v1::ROSH_LEVEL_MEDIUM) << e.event_id();
    medium += e.rosh_classified().level() == v1::ROSH_LEVEL_MEDIUM;
  }
  EXPECT_GT(medium, 50);
}

TEST(PracticeProfile, BadTaskRatesAreRejectedByName) {
  PracticeProfile profile;
  profile.SetTaskRates(Task::kEnforcement, {0.7, 0.5});
  auto result = ValidateProfile(profile);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("enforcement"), std::string::npos);
  EXPECT_EQ(TaskByName(TaskName(Task::kVictimContact)), Task::kVictimContact);
  EXPECT_FALSE(TaskByName("home-visit"));
}

TEST(Random, IsDeterministicAndStaysInRange) {
  Random a(5), b(5);
  for (int i = 0; i < 1000; ++i) {
    const int64_t x = a.Between(-3, 9);
    EXPECT_EQ(x, b.Between(-3, 9));
    EXPECT_GE(x, -3);
    EXPECT_LE(x, 9);
    const double u = a.Uniform();
    EXPECT_EQ(u, b.Uniform());
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
  }
  // Pinned outputs: the stream must not change between builds or standard libraries.
  Random c(5);
  EXPECT_EQ(c.Next(), 5320248114040590185ULL);
  EXPECT_EQ(c.Between(0, 999), 716);
}

TEST(CaseCalendar, WorkingDaysAndMonthsFollowTheCalendar) {
  const Date friday = ParseDate("2013-04-05").value();
  EXPECT_EQ(FormatDate(internal::AddWorkingDays(friday, 1)), "2013-04-08");
  EXPECT_EQ(FormatDate(internal::AddWorkingDays(friday, 5)), "2013-04-12");
  EXPECT_EQ(FormatDate(internal::NextWorkingDay(friday + 1)), "2013-04-08");
  EXPECT_EQ(FormatDate(internal::PreviousWorkingDay(friday + 2)), "2013-04-05");
  EXPECT_EQ(FormatDate(internal::AddMonths(ParseDate("2013-01-31").value(), 1)), "2013-02-28");
  EXPECT_EQ(FormatDate(internal::AddMonths(ParseDate("2015-11-30").value(), 3)), "2016-02-29");
  EXPECT_EQ(FormatDate(internal::AddMonths(ParseDate("2013-01-01").value(), 60)), "2018-01-01");
}

}  // namespace
}  // namespace casewatch::simulator
