#include "services/inspection/inspection.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <unordered_map>

#include "services/reports/store_report.h"

namespace casewatch::inspection {
namespace {

// Per indicator (its title is projections/labels.h's): what "done well enough" means, as a
// clause a finding completes with "in 72% of cases"; and what its items are, for "12 visits were
// not done".
struct IndicatorWords {
  std::string_view work;
  std::string_view items;
};

constexpr std::array<IndicatorWords, kIndicatorCount> kIndicatorWords = {{
    {"Pre-sentence reports covered both the risk of harm and the likelihood of reoffending",
     "reports"},
    {"The first appointment was kept promptly after sentence", "first appointments"},
    {"Initial sentence plans were completed on time", "plans"},
    {"Sentence plans were reviewed on time", "reviews"},
    {"Missed appointments were judged acceptable or not on time", "judgements"},
    {"Unacceptable absences were followed by a warning or breach action on time",
     "enforcement actions"},
    {"Initial assessments of the likelihood of reoffending were completed on time", "assessments"},
    {"Assessments were reviewed on time", "reviews"},
    {"Risk of serious harm screenings were completed on time", "screenings"},
    {"Full analyses of the risk of serious harm were completed on time when needed", "analyses"},
    {"Risk management plans were in place on time", "plans"},
    {"Risk management plans were reviewed on time", "reviews"},
    {"Increases in risk were responded to promptly", "responses"},
    {"High-risk and child-protection cases had a first home visit promptly", "visits"},
    {"Repeat home visits to high-risk cases were made on time", "visits"},
    {"Management oversight of high-risk cases was recorded on time", "oversights"},
    {"Safeguarding checks were made on time", "checks"},
    {"Victims were offered contact within the standard", "offers"},
    {"Risk management plans addressed the safety of victims", "plans"},
}};

constexpr std::array<std::string_view, 5> kRoshNames = {"", "LOW", "MEDIUM", "HIGH", "VERY_HIGH"};

// FNV-1a: a fixed, portable hash, so that a seed draws the same sample on every machine.
uint64_t HashText(std::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : text) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

// SplitMix64's finaliser: spreads the seed through every bit of the case's hash.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A rejection message with what varies from record to record (quoted text, numbers) taken out,
// so that rejections of one kind count together.
std::string ReasonOf(std::string_view message) {
  std::string reason;
  bool quoted = false;
  for (size_t i = 0; i < message.size(); ++i) {
    const char c = message[i];
    if (c == '"') {
      if (!quoted) reason += "\"…\"";
      quoted = !quoted;
    } else if (quoted) {
      continue;
    } else if (c >= '0' && c <= '9') {
      if (reason.empty() || reason.back() != '#') reason += '#';
    } else {
      reason += c;
    }
  }
  return reason;
}

// A unit's name: its allocation at the level the scope is split by.
const std::string& NameAt(const Allocation& a, reports::GroupBy level) {
  switch (level) {
    case reports::GroupBy::kRegion:
      return a.region;
    case reports::GroupBy::kPdu:
      return a.pdu;
    case reports::GroupBy::kTeam:
      return a.team;
    default:
      return a.offender_manager;
  }
}

// The months of the trend: `count` calendar months ending with the one holding `period.to`, none
// starting before the period does.
std::vector<Period> TrendMonths(const Period& period, int count) {
  std::vector<Period> months;
  CivilDate month = CivilFromDate(period.to);
  month.day = 1;
  for (int i = 0; i < count; ++i) {
    const Date start = DateFromCivil(month);
    CivilDate next = month;
    if (++next.month > 12) {
      next.month = 1;
      ++next.year;
    }
    const Date end = std::min(DateFromCivil(next) + -1, period.to);
    if (period.from && end < *period.from) break;
    Period p{start, end};
    if (period.from && *period.from > start) p.from = *period.from;
    months.push_back(p);
    if (--month.month == 0) {
      month.month = 12;
      --month.year;
    }
  }
  std::reverse(months.begin(), months.end());
  return months;
}

// The opening and (by `as_of`) closing of a sealed history, in case order: docs/rules.md
// section 1.
struct Span {
  const CaseEvent* opened = nullptr;
  const CaseEvent* closed = nullptr;
  RoshLevel rosh = RoshLevel::kUnspecified;
};

Span SpanOf(const CaseHistory& history, Instant as_of) {
  Span span;
  for (const CaseEvent& e : history.events()) {
    if (e.occurred_at > as_of) break;
    if (span.closed != nullptr) break;
    if (e.type == EventType::kCaseOpened && span.opened == nullptr) span.opened = &e;
    if (e.type == EventType::kCaseClosed && span.opened != nullptr) span.closed = &e;
    if (e.type == EventType::kRoshClassified) span.rosh = e.rosh_level();
  }
  return span;
}

std::string DetailOf(const CaseHistory& history, const CaseEvent& e) {
  auto yes_no = [](bool b) { return b ? "yes" : "no"; };
  switch (e.type) {
    case EventType::kCaseOpened:
    case EventType::kCaseAllocated: {
      const Allocation& a = history.allocation_of(e);
      return fmt::format("{} / {} / {} / {}", a.region, a.pdu, a.team, a.offender_manager);
    }
    case EventType::kPreSentenceReportCompleted:
      return fmt::format("covers RoSH: {}; covers likelihood of reoffending: {}",
                         yes_no(e.includes_rosh()), yes_no(e.includes_lor()));
    case EventType::kAssessmentCompleted: {
      static constexpr std::string_view kKinds[] = {"", "INITIAL", "REVIEW", "TERMINATION"};
      return std::string(kKinds[std::min<int>(e.code, 3)]);
    }
    case EventType::kSentencePlanCompleted:
    case EventType::kRiskManagementPlanCompleted: {
      static constexpr std::string_view kKinds[] = {"", "INITIAL", "REVIEW"};
      std::string text(kKinds[std::min<int>(e.code, 2)]);
      if (e.type == EventType::kRiskManagementPlanCompleted) {
        text += fmt::format("; addresses victim safety: {}", yes_no(e.addresses_victim_safety()));
      }
      return text;
    }
    case EventType::kRoshScreeningCompleted:
      return fmt::format("full analysis required: {}", yes_no(e.full_analysis_required()));
    case EventType::kRoshClassified:
      return std::string(kRoshNames[std::min<int>(e.code, 4)]);
    case EventType::kRegistrationAdded:
    case EventType::kRegistrationRemoved: {
      static constexpr std::string_view kTypes[] = {"", "MAPPA", "CHILD_PROTECTION",
                                                    "DOMESTIC_ABUSE"};
      return std::string(kTypes[std::min<int>(e.code, 3)]);
    }
    case EventType::kAppointmentAttended:
    case EventType::kAppointmentMissed:
      return fmt::format("appointment {}", history.appointment_of(e));
    case EventType::kAbsenceJudged:
      return fmt::format("appointment {}: {}", history.appointment_of(e),
                         e.acceptable() ? "acceptable" : "unacceptable");
    case EventType::kSignificantChangeRecorded:
      return e.risk_increased() ? "risk increased" : "";
    case EventType::kSafeguardingCheckCompleted: {
      // The check named as staff name it.
      static constexpr std::string_view kChecks[] = {"", "children's services",
                                                     "police (domestic abuse)"};
      return std::string(kChecks[std::min<int>(e.code, 2)]);
    }
    default:
      return "";
  }
}

struct LateCounts {
  int64_t late = 0;
  int64_t after_as_of = 0;
};

struct Eligible {
  uint64_t key;
  std::string case_id;
};

std::string Percent(double score) { return fmt::format("{:.0f}%", score * 100); }

// 12,345: counts as a report prints them.
std::string Count(int64_t n) {
  const std::string digits = fmt::format("{}", n < 0 ? -n : n);
  std::string out = n < 0 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// "<work> in [only ]72% of cases (300 of 412)".
std::string Share(int i, const IndicatorScore& s, bool only) {
  return fmt::format("{} in {}{} of cases ({} of {})", kIndicatorWords[i].work, only ? "only " : "",
                     Percent(*s.score), Count(s.met_cases), Count(s.relevant_cases));
}

// What fell short, in items: "; 126 visits were not done and 112 were late".
std::string Shortfall(int i, const ItemCounts& items) {
  const std::string_view noun = kIndicatorWords[i].items;
  if (kIndicators[i].judged_at_once) {
    return items.missed > 0 ? fmt::format("; {} {} fell short", Count(items.missed), noun) : "";
  }
  if (items.missed > 0 && items.late > 0) {
    return fmt::format("; {} {} were not done and {} were late", Count(items.missed), noun,
                       Count(items.late));
  }
  if (items.missed > 0) return fmt::format("; {} {} were not done", Count(items.missed), noun);
  if (items.late > 0) return fmt::format("; {} {} were late", Count(items.late), noun);
  return "";
}

}  // namespace

Period ComparisonPeriod(const Period& period, Instant as_of, Instant compare_as_of) {
  const int32_t shift = DateOf(as_of) - DateOf(compare_as_of);
  Period moved{std::nullopt, period.to + -shift};
  if (period.from) moved.from = *period.from + -shift;
  return moved;
}

struct InspectionBuilder::Impl {
  InspectionRequest request;
  Evaluator evaluator;
  std::optional<Evaluator> other_evaluator;  // under compare_policy
  Period sample_period;                      // a sampled case: all its work to the as-of date
  ReportBuilder main;
  KnownAllocations known;  // filled only for a scope (to name what a typo meant)
  // The units one level below the scope; none below an offender manager.
  std::optional<reports::GroupBy> group_by;
  std::optional<reports::GroupedReportBuilder> groups;
  std::vector<ReportBuilder> monthly;
  std::optional<ReportBuilder> earlier;
  std::optional<ReportBuilder> other;
  std::array<VerdictShift, kIndicatorCount> shifts{};
  ReportBuilder sample_report;
  std::map<std::string, std::vector<Eligible>> eligible;  // by PDU
  std::vector<UnitDraw> draw_units;                       // once drawn
  int64_t draw_eligible = 0;
  std::vector<SampledCase> sample;
  std::unordered_map<std::string, LateCounts> late;  // by case id
  DataQuality quality;
  std::map<std::string, RejectedReason> reasons;

  explicit Impl(InspectionRequest r)
      : request(std::move(r)),
        evaluator(request.policy),
        sample_period{std::nullopt, DateOf(request.as_of)},
        main(evaluator.policy(), request.as_of, request.period, request.scope,
             request.min_cases),
        sample_report(evaluator.policy(), request.as_of, sample_period, request.scope,
                      request.min_cases) {
    for (const Period& month : TrendMonths(request.period, request.months)) {
      monthly.emplace_back(evaluator.policy(), request.as_of, month, request.scope,
                           request.min_cases);
    }
    if (!request.scope.offender_manager) {
      group_by = reports::GroupBelow(request.scope);
      groups.emplace(evaluator.policy(), request.as_of, request.period, request.scope, *group_by,
                     request.min_cases);
    }
    if (request.compare_as_of) {
      earlier.emplace(evaluator.policy(), *request.compare_as_of,
                      ComparisonPeriod(request.period, request.as_of, *request.compare_as_of),
                      request.scope, request.min_cases);
    }
    if (request.compare_policy) {
      other_evaluator.emplace(*request.compare_policy);
      other.emplace(other_evaluator->policy(), request.as_of, request.period, request.scope,
                    request.min_cases);
    }
  }

  void ConsiderForSample(const CaseHistory& history, const CaseEvaluation& evaluation) {
    const SampleCriteria& criteria = request.sample;
    if (criteria.size <= 0) return;
    const Span span = SpanOf(history, request.as_of);
    if (span.opened == nullptr) return;
    const Date opened = DateOf(span.opened->occurred_at);
    if (opened < criteria.started_from || opened > criteria.started_to) return;
    const Date until =
        span.closed != nullptr ? DateOf(span.closed->occurred_at) : DateOf(request.as_of);
    if (until - opened < criteria.min_supervised_days) return;
    eligible[evaluation.allocation.pdu].push_back(
        Eligible{Mix(criteria.seed ^ HashText(history.case_id())), history.case_id()});
  }

  void AddOtherPolicy(const CaseHistory& history, const Verdicts& current) {
    const CaseEvaluation* evaluation = other_evaluator->Evaluate(history, request.as_of);
    if (evaluation == nullptr || !other->Add(*evaluation)) return;
    // From the inspection's policy (`current`) to the other.
    const Verdicts after = VerdictsOf(*evaluation, request.period);
    for (int i = 0; i < kIndicatorCount; ++i) {
      VerdictShift& shift = shifts[i];
      if (after[i].has_value() != current[i].has_value()) {
        ++(after[i] ? shift.now_relevant : shift.now_irrelevant);
      } else if (after[i] && *after[i] != *current[i]) {
        ++(*after[i] ? shift.now_met : shift.now_not_met);
      }
    }
  }

  void AddCase(const CaseHistory& history) {
    const CaseEvaluation* evaluation = evaluator.Evaluate(history, request.as_of);
    if (evaluation != nullptr && !request.scope.empty()) known.Add(evaluation->allocation);
    if (evaluation != nullptr && main.Add(*evaluation)) {
      if (groups) groups->For(evaluation->allocation)->Add(*evaluation);
      for (ReportBuilder& month : monthly) month.Add(*evaluation);
      ConsiderForSample(history, *evaluation);
      for (const CaseEvent& e : history.events()) {
        if (e.occurred_at > request.as_of) break;
        // Derived by the engine (docs/rules.md section 2.4): not a record anyone made.
        if (e.type != EventType::kObligationMissed) ++quality.events_in_view;
      }
      if (auto it = late.find(history.case_id()); it != late.end()) {
        quality.late_records += it->second.late;
        quality.recorded_after_as_of += it->second.after_as_of;
      }
      // Evaluating again invalidates `evaluation`: take what the other policy's shifts need.
      if (other) AddOtherPolicy(history, VerdictsOf(*evaluation, request.period));
    }
    if (earlier) {
      const CaseEvaluation* before = evaluator.Evaluate(history, *request.compare_as_of);
      if (before != nullptr) earlier->Add(*before);
    }
  }

  std::vector<std::string> DrawSample() {
    std::vector<std::string> drawn;
    std::vector<UnitDraw> units;
    int64_t total = 0;
    for (auto& [pdu, cases] : eligible) {
      std::sort(cases.begin(), cases.end(), [](const Eligible& a, const Eligible& b) {
        return a.key != b.key ? a.key < b.key : a.case_id < b.case_id;
      });
      units.push_back(UnitDraw{pdu, static_cast<int64_t>(cases.size()), 0});
      total += static_cast<int64_t>(cases.size());
    }
    const int64_t size = std::min<int64_t>(request.sample.size, total);
    // One per unit first when there is room, then the rest by largest remainder on the units'
    // shares (ties to the unit earlier by name).
    int64_t left = size;
    if (size >= static_cast<int64_t>(units.size())) {
      for (UnitDraw& unit : units) unit.drawn = 1;
      left -= static_cast<int64_t>(units.size());
    }
    std::vector<std::pair<double, size_t>> remainders;
    const int64_t base_left = left;
    for (size_t u = 0; u < units.size() && total > 0; ++u) {
      const double share = static_cast<double>(base_left) * static_cast<double>(units[u].eligible) /
                           static_cast<double>(total);
      const int64_t whole =
          std::min<int64_t>(static_cast<int64_t>(share), units[u].eligible - units[u].drawn);
      units[u].drawn += whole;
      left -= whole;
      remainders.emplace_back(share - static_cast<double>(whole), u);
    }
    std::stable_sort(remainders.begin(), remainders.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    while (left > 0) {
      bool placed = false;
      for (const auto& [remainder, u] : remainders) {
        if (left == 0) break;
        if (units[u].drawn < units[u].eligible) {
          ++units[u].drawn;
          --left;
          placed = true;
        }
      }
      if (!placed) break;
    }
    for (const UnitDraw& unit : units) {
      const std::vector<Eligible>& cases = eligible[unit.pdu];
      for (int64_t i = 0; i < unit.drawn; ++i) drawn.push_back(cases[i].case_id);
    }
    std::sort(drawn.begin(), drawn.end());
    draw_units = std::move(units);
    draw_eligible = total;
    return drawn;
  }

  void AddSampledCase(const CaseHistory& history) {
    const CaseEvaluation* evaluation = evaluator.Evaluate(history, request.as_of);
    if (evaluation == nullptr) return;
    sample_report.Add(*evaluation);
    SampledCase c;
    c.case_id = history.case_id();
    c.allocation = evaluation->allocation;
    AppendCaseItems(*evaluation, c.items);
    SortCaseItems(c.items);
    c.well_enough = VerdictsOf(*evaluation, sample_period);
    std::array<int, kOutcomeCount> relevant{}, met{};
    for (int i = 0; i < kIndicatorCount; ++i) {
      if (!c.well_enough[i]) continue;
      const int o = static_cast<int>(kIndicators[i].outcome);
      ++relevant[o];
      if (*c.well_enough[i]) ++met[o];
    }
    for (int o = 0; o < kOutcomeCount; ++o) {
      if (relevant[o] > 0) c.outcome_scores[o] = static_cast<double>(met[o]) / relevant[o];
    }
    const Span span = SpanOf(history, request.as_of);
    c.opened = DateOf(span.opened->occurred_at);
    if (span.closed != nullptr) c.closed = DateOf(span.closed->occurred_at);
    c.supervised_days = c.closed.value_or(DateOf(request.as_of)) - c.opened;
    c.rosh_level = std::string(kRoshNames[static_cast<int>(span.rosh)]);
    for (const CaseEvent& e : history.events()) {
      if (e.occurred_at > request.as_of) break;
      // An engine's store holds obligation_missed events it derived; the items show the same.
      if (e.type == EventType::kObligationMissed) continue;
      c.timeline.push_back(TimelineEntry{e.occurred_at, std::string(history.event_id(e)),
                                         std::string(NameOf(e.type)), DetailOf(history, e)});
    }
    if (auto it = late.find(c.case_id); it != late.end()) c.late_records = it->second.late;
    sample.push_back(std::move(c));
  }

  // Strengths and areas for improvement: per outcome at most three of each; then the largest
  // moves since the earlier inspection.
  void Find(const Report& report, Inspection& out) const {
    const Policy& policy = evaluator.policy();
    constexpr size_t kPerOutcome = 3;
    for (int o = 0; o < kOutcomeCount; ++o) {
      std::vector<int> scored;
      for (int i = 0; i < kIndicatorCount; ++i) {
        if (static_cast<int>(kIndicators[i].outcome) == o && report.indicators[i].score) {
          scored.push_back(i);
        }
      }
      std::stable_sort(scored.begin(), scored.end(), [&](int a, int b) {
        return *report.indicators[a].score > *report.indicators[b].score;
      });
      // Areas for improvement: the indicators below "good", worst first; when there are none
      // but the outcome has several indicators, its weakest if short of "outstanding" (an
      // inspection always says where work could be better). Strengths: the rest at "good" or
      // above, best first.
      std::vector<int> weak;
      for (auto it = scored.rbegin(); it != scored.rend() && weak.size() < kPerOutcome; ++it) {
        if (*report.indicators[*it].score + 1e-9 < policy.rating_good) weak.push_back(*it);
      }
      if (weak.empty() && scored.size() > 1 &&
          *report.indicators[scored.back()].score + 1e-9 < policy.rating_outstanding) {
        weak.push_back(scored.back());
      }
      size_t strengths = 0;
      for (const int i : scored) {
        const IndicatorScore& s = report.indicators[i];
        if (*s.score + 1e-9 < policy.rating_good || strengths == kPerOutcome ||
            std::find(weak.begin(), weak.end(), i) != weak.end()) {
          continue;
        }
        ++strengths;
        out.strengths.push_back(
            Finding{static_cast<Outcome>(o), static_cast<Indicator>(i), Share(i, s, false) + "."});
      }
      for (const int i : weak) {
        const IndicatorScore& s = report.indicators[i];
        const bool poor = *s.score + 1e-9 < policy.rating_good;
        out.improvements.push_back(Finding{static_cast<Outcome>(o), static_cast<Indicator>(i),
                                           Share(i, s, poor) + Shortfall(i, s.items) + "."});
      }
    }
    for (const Comparison& c : out.comparisons) {
      if (c.kind != Comparison::Kind::kEarlierInspection) continue;
      constexpr double kNotable = 0.05;
      for (int i = 0; i < kIndicatorCount; ++i) {
        if (!c.indicator_delta[i] || std::abs(*c.indicator_delta[i]) < kNotable) continue;
        const double delta = *c.indicator_delta[i];
        auto& list = delta > 0 ? out.strengths : out.improvements;
        std::string work(kIndicatorWords[i].work);
        work[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(work[0])));
        list.push_back(
            Finding{kIndicators[i].outcome, static_cast<Indicator>(i),
                    fmt::format("The share of cases in which {} has {} from {} to {} since the "
                                "inspection {}.",
                                work, delta > 0 ? "risen" : "fallen",
                                Percent(*c.baseline.indicators[i].score),
                                Percent(*report.indicators[i].score), c.label)});
      }
    }
  }

  static Comparison Compare(Comparison::Kind kind, std::string label, Report baseline,
                            const Report& report) {
    Comparison c;
    c.kind = kind;
    c.label = std::move(label);
    c.baseline = std::move(baseline);
    // Progress is now minus then; a policy's effect is under it minus under the inspection's.
    const bool progress = kind == Comparison::Kind::kEarlierInspection;
    const Report& from = progress ? c.baseline : report;
    const Report& to = progress ? report : c.baseline;
    auto delta = [](const std::optional<double>& a, const std::optional<double>& b) {
      return a && b ? std::optional<double>(*b - *a) : std::nullopt;
    };
    for (int i = 0; i < kIndicatorCount; ++i) {
      c.indicator_delta[i] = delta(from.indicators[i].score, to.indicators[i].score);
    }
    for (int o = 0; o < kOutcomeCount; ++o) {
      c.outcome_delta[o] = delta(from.outcomes[o].score, to.outcomes[o].score);
    }
    return c;
  }

  Inspection Finish() {
    Inspection out;
    out.request = request;
    out.policy_settings = PolicySettings(evaluator.policy());
    out.report = main.Finish();
    if (out.report.cases == 0) {
      out.known_allocations.assign(known.list().begin(), known.list().end());
    }
    if (groups) {
      out.group_level = std::string(reports::kGroupByNames[static_cast<int>(*group_by)]);
      for (auto& [key, report] : groups->FinishGroups()) {
        out.groups.push_back(GroupReport{NameAt(key, *group_by), std::move(report)});
      }
      std::sort(out.groups.begin(), out.groups.end(),
                [](const GroupReport& a, const GroupReport& b) { return a.name < b.name; });
    }
    for (const ReportBuilder& month : monthly) out.monthly.push_back(month.Finish());
    if (earlier) {
      out.comparisons.push_back(
          Compare(Comparison::Kind::kEarlierInspection,
                  fmt::format("as of {}", FormatDate(DateOf(*request.compare_as_of))),
                  earlier->Finish(), out.report));
    }
    if (other) {
      Comparison c = Compare(Comparison::Kind::kOtherPolicy,
                             fmt::format("under policy \"{}\"", other_evaluator->policy().name),
                             other->Finish(), out.report);
      c.shifts = shifts;
      const auto theirs = PolicySettings(other_evaluator->policy());
      for (size_t k = 0; k < theirs.size(); ++k) {
        if (theirs[k].value == out.policy_settings[k].value) continue;
        c.baseline_settings.push_back(theirs[k]);
        c.current_settings.push_back(out.policy_settings[k]);
      }
      out.comparisons.push_back(std::move(c));
    }
    out.draw.criteria = request.sample;
    out.draw.eligible = draw_eligible;
    out.draw.units = draw_units;
    out.sample_report = sample_report.Finish();
    std::sort(sample.begin(), sample.end(),
              [](const SampledCase& a, const SampledCase& b) { return a.case_id < b.case_id; });
    out.sample = std::move(sample);
    Find(out.report, out);
    out.quality = quality;
    for (auto& [reason, entry] : reasons) out.quality.rejected_reasons.push_back(entry);
    std::stable_sort(
        out.quality.rejected_reasons.begin(), out.quality.rejected_reasons.end(),
        [](const RejectedReason& a, const RejectedReason& b) { return a.count > b.count; });
    return out;
  }
};

InspectionBuilder::InspectionBuilder(InspectionRequest request)
    : impl_(std::make_unique<Impl>(std::move(request))) {}
InspectionBuilder::~InspectionBuilder() = default;

void InspectionBuilder::AddIntake(int64_t accepted, int64_t duplicates) {
  impl_->quality.accepted += accepted;
  impl_->quality.duplicates += duplicates;
}

void InspectionBuilder::AddRejection(std::string_view message) {
  ++impl_->quality.rejected;
  std::string reason = ReasonOf(message);
  auto [it, added] = impl_->reasons.try_emplace(reason);
  if (added) {
    it->second.reason = std::move(reason);
    it->second.example = std::string(message);
  }
  ++it->second.count;
}

void InspectionBuilder::AddRecord(std::string_view case_id, Instant occurred_at,
                                  Instant recorded_at) {
  const Instant as_of = impl_->request.as_of;
  if (occurred_at > as_of) return;
  const bool late =
      recorded_at.seconds - occurred_at.seconds > int64_t{86400} * impl_->request.late_record_days;
  const bool after = recorded_at > as_of;
  if (!late && !after) return;
  LateCounts& counts = impl_->late[std::string(case_id)];
  counts.late += late ? 1 : 0;
  counts.after_as_of += after ? 1 : 0;
}

void InspectionBuilder::AddCase(const CaseHistory& history) { impl_->AddCase(history); }
std::vector<std::string> InspectionBuilder::DrawSample() { return impl_->DrawSample(); }
void InspectionBuilder::AddSampledCase(const CaseHistory& history) {
  impl_->AddSampledCase(history);
}
Inspection InspectionBuilder::Finish() { return impl_->Finish(); }

}  // namespace casewatch::inspection
