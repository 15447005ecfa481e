#include "services/simulator/internal/case_generator.h"

#include <algorithm>
#include <optional>

#include "services/simulator/random.h"

namespace casewatch::simulator::internal {
namespace {

constexpr int64_t kDay = 86400;
constexpr int64_t kHour = 3600;

// Proto enum numbers, as events.proto numbers them.
enum : uint8_t { kCommunityOrder = 1, kSuspendedSentence = 2, kLicence = 3 };
enum : uint8_t {
  kClosureCompleted = 1,
  kClosureRevoked,
  kClosureTransferredOut,
  kClosureDied,
  kClosureOther
};
enum : uint8_t { kReportOral = 1, kReportWritten = 2 };
enum : uint8_t { kAssessmentInitial = 1, kAssessmentReview, kAssessmentTermination };
enum : uint8_t { kLow = 1, kMedium, kHigh, kVeryHigh };
enum : uint8_t { kPlanInitial = 1, kPlanReview = 2 };
enum : uint8_t { kMappa = 1, kChildProtection = 2, kDomesticAbuse = 3 };
enum : uint8_t { kBreach = 1, kRecall = 2 };
enum : uint8_t { kNonCompliance = 1, kRiskEscalation = 2 };
enum : uint8_t { kChildrensServices = 1, kPoliceDomesticAbuse = 2 };

enum class Outcome : uint8_t { kOnTime, kLate, kNever };

// What a case's timeline does next. Actions run in (at, order) order.
enum class ActionKind : uint8_t {
  kAppointment,   // arg: appointment number
  kJudgeAbsence,  // arg: appointment number
  kEnforce,       // arg: 1 breach, 0 warning
  kRevoke,
  kScreening,
  kFullAnalysis,  // arg: 1 classify afterwards (initial), 0 not
  kClassify,      // arg: level
  kInitialAssessment,
  kInitialPlan,
  kInitialRmp,
  kPlanReview,  // generation 0: a response to a change; else a chain item
  kAssessmentReview,
  kRmpReview,
  kRiskResponse,
  kHomeVisit,  // generation: relevance generation
  kOversight,
  kRegister,  // arg: registration type
  kDeregister,
  kChildProtectionConcern,  // a child protection registration mid-supervision
  kSafeguardingCheck,       // arg: check kind
  kVictimContact,
  kSignificantChange,  // arg: 1 forces risk_increased
  kReclassify,
  kFurtherOffence,
  kReallocate,
  kTermination,
  kClose,  // arg: closure reason
};

struct Action {
  int64_t at;
  uint32_t order;
  uint32_t arg;
  uint32_t generation;
  ActionKind kind;
};

struct ActionLater {
  bool operator()(const Action& a, const Action& b) const {
    return a.at != b.at ? a.at > b.at : a.order > b.order;
  }
};

Date DayOf(int64_t seconds) { return Date{static_cast<int32_t>(seconds / kDay)}; }

// The state of one case while its timeline runs. Lives for one Generate call.
class CaseRun {
 public:
  CaseRun(const Organisation& org, const PracticeProfile& profile, SimulationWindow window,
          uint64_t seed, std::vector<SimulatedEvent>& out)
      : org_(org),
        profile_(profile),
        begin_(static_cast<int64_t>(window.begin.days) * kDay),
        end_(static_cast<int64_t>(window.end.days) * kDay),
        random_(seed),
        out_(out),
        max_level_(profile.low_and_medium_rosh_only ? kMedium : kVeryHigh) {}

  void Run(uint32_t case_number, Date open_day);

 private:
  // Time.
  int64_t OfficeTime(Date day) {
    return static_cast<int64_t>(day.days) * kDay + random_.Between(8 * 60 + 30, 17 * 60) * 60;
  }
  int64_t VisitTime(Date day) {
    return static_cast<int64_t>(day.days) * kDay + random_.Between(9 * 60, 19 * 60) * 60;
  }

  // Practice rates, scaled by the current team's quality.
  double Scaled(double failure) const {
    return std::min(0.95, failure * org_.teams[team_].quality);
  }
  Outcome Draw(double late, double never) {
    const double u = random_.Uniform();
    if (u < never) return Outcome::kNever;
    if (u < never + late) return Outcome::kLate;
    return Outcome::kOnTime;
  }
  Outcome DrawTask(Task task) {
    const TaskRates rates = profile_.RatesFor(task);
    return Draw(Scaled(rates.late), Scaled(rates.miss));
  }
  Outcome DrawRecurring(double on_time_rate) {
    const double fail = std::min(1.0, Scaled(1.0 - on_time_rate));
    return Draw(fail * 0.6, fail * 0.4);
  }

  // A task due `due_wd` working days after `trigger`: on time, late, or never done.
  std::optional<Date> TaskDay(Task task, Date trigger, int due_wd) {
    switch (DrawTask(task)) {
      case Outcome::kOnTime:
        return AddWorkingDays(trigger, static_cast<int>(random_.Between(1, due_wd)));
      case Outcome::kLate:
        return AddWorkingDays(
            trigger, due_wd + static_cast<int>(random_.Between(1, std::max(5, 2 * due_wd))));
      case Outcome::kNever:
        break;
    }
    return std::nullopt;
  }
  // The next of a recurring obligation due `period` days after `last`.
  std::optional<Date> RecurringDay(Date last, int period, Outcome outcome) {
    const Date due = last + period;
    switch (outcome) {
      case Outcome::kOnTime: {
        Date day = PreviousWorkingDay(due + -static_cast<int32_t>(random_.Between(0, period / 5)));
        return day > last ? day : NextWorkingDay(last + 1);
      }
      case Outcome::kLate:
        return NextWorkingDay(due + static_cast<int32_t>(random_.Between(1, period / 2 + 7)));
      case Outcome::kNever:
        break;
    }
    return std::nullopt;
  }

  void Plan(int64_t at, ActionKind kind, uint32_t arg = 0, uint32_t generation = 0) {
    actions_.push_back(Action{at, next_order_++, arg, generation, kind});
    std::push_heap(actions_.begin(), actions_.end(), ActionLater{});
  }
  void PlanOn(std::optional<Date> day, ActionKind kind, uint32_t arg = 0, uint32_t generation = 0) {
    if (day) Plan(OfficeTime(*day), kind, arg, generation);
  }
  void PlanAfter(int64_t at, double mean_days, ActionKind kind, uint32_t arg = 0) {
    const int64_t delay =
        std::max<int64_t>(7 * kDay, static_cast<int64_t>(random_.Exponential(mean_days) * kDay));
    Plan(OfficeTime(NextWorkingDay(DayOf(at + delay))), kind, arg);
  }

  void Emit(EventType kind, int64_t at, uint8_t detail = 0, uint8_t flags = 0, uint32_t value = 0,
            uint8_t detail2 = 0);
  void Execute(const Action& action);
  void Classify(int64_t at, uint8_t level);
  void UpdateRelevance(int64_t at);
  void PlanChain(ActionKind kind, Date last);
  void Register(int64_t at, uint8_t type);
  void Breach(int64_t at, uint8_t reason);
  void Close(int64_t at, uint8_t reason);

  const Organisation& org_;
  const PracticeProfile& profile_;
  const int64_t begin_;
  const int64_t end_;
  Random random_;
  std::vector<SimulatedEvent>& out_;
  const uint8_t max_level_;  // the highest RoSH level the profile's caseload reaches
  std::vector<Action> actions_;
  uint32_t next_order_ = 0;

  // The case.
  uint32_t case_number_ = 0;
  uint8_t home_pdu_ = 0;
  uint16_t practitioner_ = 0;
  uint16_t team_ = 0;
  uint8_t case_type_ = kCommunityOrder;
  Date open_day_;
  bool victim_ = false;
  uint8_t initial_level_ = kLow;
  bool closed_ = false;
  int64_t opened_at_ = 0;

  // Its state, as the events so far make it.
  uint8_t level_ = 0;
  bool registered_[4] = {false, false, false, false};
  bool relevant_ = false;
  uint32_t relevance_generation_ = 1;
  bool rmp_planned_ = false;
  bool has_plan_ = false;
  bool has_assessment_ = false;
  bool has_rmp_ = false;
  uint32_t chain_generation_[3] = {1, 1, 1};  // plan, assessment, rmp reviews
  uint32_t appointments_ = 0;
  std::optional<int64_t> last_warning_;
  std::optional<int64_t> last_breach_;
};

void CaseRun::Emit(EventType kind, int64_t at, uint8_t detail, uint8_t flags, uint32_t value,
                   uint8_t detail2) {
  if (at < begin_ || at >= end_) return;
  int64_t recorded;
  if (random_.Chance(profile_.late_record_rate)) {
    recorded = at + random_.Between(2, 30) * kDay + random_.Between(0, 8 * kHour);
  } else if (random_.Chance(0.1)) {
    recorded = at + random_.Between(12 * kHour, 36 * kHour);
  } else {
    recorded = at + random_.Between(30, 4 * kHour);
  }
  if (recorded > end_) return;  // not arrived yet
  SimulatedEvent event;
  event.occurred_seconds = at;
  event.recorded_seconds = recorded;
  event.case_number = case_number_;
  event.value = value;
  event.actor = (flags & kFlagManager) ? team_ : practitioner_;
  event.kind = kind;
  event.detail = detail;
  event.detail2 = detail2;
  event.flags = flags;
  event.home_pdu = home_pdu_;
  out_.push_back(event);
}

void CaseRun::Run(uint32_t case_number, Date open_day) {
  case_number_ = case_number;
  const Team& first_team =
      org_.teams[random_.Between(0, static_cast<int64_t>(org_.teams.size()) - 1)];
  team_ = static_cast<uint16_t>(&first_team - org_.teams.data());
  const auto& members = org_.team_members[team_];
  practitioner_ = members[random_.Between(0, static_cast<int64_t>(members.size()) - 1)];
  home_pdu_ = static_cast<uint8_t>(first_team.pdu);
  open_day_ = open_day;

  case_type_ = static_cast<uint8_t>(random_.Pick({0.5, 0.25, 0.25}) + 1);
  int months;
  if (case_type_ == kLicence) {
    constexpr int kMonths[] = {6, 9, 12, 18, 24, 36};
    months = kMonths[random_.Pick({0.15, 0.2, 0.25, 0.2, 0.1, 0.1})];
    initial_level_ = static_cast<uint8_t>(random_.Pick({0.30, 0.45, 0.20, 0.05}) + 1);
  } else if (case_type_ == kSuspendedSentence) {
    constexpr int kMonths[] = {12, 18, 24};
    months = kMonths[random_.Pick({0.4, 0.3, 0.3})];
    initial_level_ = static_cast<uint8_t>(random_.Pick({0.45, 0.40, 0.13, 0.02}) + 1);
  } else {
    constexpr int kMonths[] = {6, 12, 18, 24, 36};
    months = kMonths[random_.Pick({0.1, 0.35, 0.25, 0.2, 0.1})];
    initial_level_ = static_cast<uint8_t>(random_.Pick({0.50, 0.38, 0.10, 0.02}) + 1);
  }
  initial_level_ = std::min(initial_level_, max_level_);
  victim_ = random_.Chance(initial_level_ >= kMedium ? 0.45 : 0.15);
  const bool domestic_abuse = random_.Chance(initial_level_ >= kMedium ? 0.35 : 0.15);
  const bool child_protection = random_.Chance(domestic_abuse ? 0.25 : 0.04);
  const bool mappa = initial_level_ >= kHigh ? random_.Chance(0.5)
                                             : (case_type_ == kLicence && random_.Chance(0.05));

  const int64_t opened = OfficeTime(open_day);
  const int sentence_lag = case_type_ == kLicence ? 0 : static_cast<int>(random_.Between(0, 3));
  const Date sentence_day = open_day + -sentence_lag;

  // Pre-sentence report, and sometimes a RoSH screening done for it.
  bool screened = false;
  if (case_type_ != kLicence && random_.Chance(0.85)) {
    const bool oral = random_.Chance(profile_.oral_report_rate);
    const Date report_day =
        oral ? sentence_day
             : PreviousWorkingDay(sentence_day + -static_cast<int32_t>(random_.Between(10, 21)));
    const int64_t report_at = std::min(OfficeTime(report_day), opened - kHour);
    const double quality = 1.0 - Scaled(1.0 - profile_.psr_quality_rate);
    bool rosh = true;
    bool lor = true;
    if (!random_.Chance(oral ? quality * 0.7 : quality)) {
      rosh = random_.Chance(0.5);
      lor = !rosh && random_.Chance(0.5);
    }
    Emit(EventType::kPreSentenceReportCompleted, report_at, oral ? kReportOral : kReportWritten,
         static_cast<uint8_t>((rosh ? kFlagFirst : 0) | (lor ? kFlagSecond : 0)));
    if (!oral && rosh && random_.Chance(0.5) && report_at >= begin_) {
      screened = true;
      const bool full = initial_level_ >= kMedium || random_.Chance(0.1);
      Emit(EventType::kRoshScreeningCompleted, report_at + 1800, 0, full ? kFlagFirst : 0);
      if (full) {
        PlanOn(TaskDay(Task::kRoshFullAnalysis, report_day, 10), ActionKind::kFullAnalysis, 1);
      } else {
        Plan(report_at + 2400, ActionKind::kClassify, initial_level_);
      }
    }
  }

  Emit(EventType::kCaseOpened, opened, case_type_,
       static_cast<uint8_t>((victim_ ? kFlagFirst : 0) |
                            (case_type_ != kLicence ? kFlagSentenceDate : 0)),
       practitioner_, static_cast<uint8_t>(sentence_lag));
  opened_at_ = opened;

  // The first weeks.
  {
    std::optional<Date> first = TaskDay(Task::kFirstAppointment, open_day, 5);
    Plan(OfficeTime(first ? *first
                          : AddWorkingDays(open_day, static_cast<int>(random_.Between(8, 20)))),
         ActionKind::kAppointment, 1);
  }
  if (!screened) {
    std::optional<Date> day = TaskDay(Task::kRoshScreening, open_day, 15);
    if (day) {
      PlanOn(day, ActionKind::kScreening);
    } else {
      PlanOn(AddWorkingDays(open_day, static_cast<int>(random_.Between(20, 40))),
             ActionKind::kClassify, initial_level_);
    }
  }
  PlanOn(TaskDay(Task::kInitialAssessment, open_day, 15), ActionKind::kInitialAssessment);
  PlanOn(TaskDay(Task::kInitialPlan, open_day, 15), ActionKind::kInitialPlan);
  if (domestic_abuse) {
    PlanOn(AddWorkingDays(open_day, static_cast<int>(random_.Between(1, 3))), ActionKind::kRegister,
           kDomesticAbuse);
  }
  if (child_protection) {
    PlanOn(AddWorkingDays(open_day, static_cast<int>(random_.Between(1, 10))),
           ActionKind::kRegister, kChildProtection);
  }
  if (mappa) {
    PlanOn(AddWorkingDays(open_day, static_cast<int>(random_.Between(1, 15))),
           ActionKind::kRegister, kMappa);
  }
  if (victim_) {
    switch (DrawTask(Task::kVictimContact)) {
      case Outcome::kOnTime:
        PlanOn(NextWorkingDay(sentence_day + static_cast<int32_t>(random_.Between(5, 50))),
               ActionKind::kVictimContact);
        break;
      case Outcome::kLate:
        PlanOn(NextWorkingDay(sentence_day + static_cast<int32_t>(random_.Between(59, 120))),
               ActionKind::kVictimContact);
        break;
      case Outcome::kNever:
        break;
    }
  }
  PlanAfter(opened, 240, ActionKind::kSignificantChange);
  PlanAfter(opened, 600, ActionKind::kReclassify);
  PlanAfter(opened, initial_level_ >= kHigh ? 1100 : 2200, ActionKind::kFurtherOffence);
  PlanAfter(opened, 1100, ActionKind::kReallocate);
  PlanAfter(opened, 4000, ActionKind::kChildProtectionConcern);

  // The end of supervision, if it falls in the window.
  const Date end_day = NextWorkingDay(AddMonths(open_day, months));
  const uint8_t reason = static_cast<uint8_t>(random_.Pick({0.90, 0.0, 0.06, 0.01, 0.03}) + 1);
  Plan(OfficeTime(end_day), ActionKind::kClose, reason);
  if (reason == kClosureCompleted && random_.Chance(0.7)) {
    PlanOn(PreviousWorkingDay(end_day + -static_cast<int32_t>(random_.Between(1, 10))),
           ActionKind::kTermination);
  }

  while (!actions_.empty() && !closed_) {
    std::pop_heap(actions_.begin(), actions_.end(), ActionLater{});
    const Action action = actions_.back();
    actions_.pop_back();
    if (action.at >= end_) break;
    Execute(action);
    if (out_.size() > 60000) break;  // sequence numbers are 16-bit; no real case gets near
  }
}

void CaseRun::Execute(const Action& action) {
  const int64_t at = action.at;
  const Date day = DayOf(at);
  switch (action.kind) {
    case ActionKind::kAppointment: {
      const double absence = profile_.absence_rate * (case_type_ == kLicence ? 1.3 : 1.0) *
                             (action.arg == 1 ? 0.5 : 1.0);
      const bool missed = random_.Chance(std::min(0.9, absence));
      ++appointments_;
      Emit(missed ? EventType::kAppointmentMissed : EventType::kAppointmentAttended, at, 0, 0,
           action.arg);
      if (missed) {
        PlanOn(TaskDay(Task::kAbsenceJudgement, day, 2), ActionKind::kJudgeAbsence, action.arg);
      }
      const int since_open = day - open_day_;
      int gap = since_open < 84 ? 7 : since_open < 182 ? 14 : level_ >= kMedium ? 14 : 28;
      if (missed && action.arg == 1) gap = 2;
      Date next = NextWorkingDay(day + gap + static_cast<int32_t>(random_.Between(-1, 1)));
      if (next <= day) next = NextWorkingDay(day + 1);
      Plan(OfficeTime(next), ActionKind::kAppointment, action.arg + 1);
      break;
    }
    case ActionKind::kJudgeAbsence: {
      const bool acceptable = !random_.Chance(profile_.unacceptable_rate);
      Emit(EventType::kAbsenceJudged, at, 0, acceptable ? kFlagFirst : 0, action.arg);
      if (!acceptable) {
        const bool breach = last_warning_ && day - DayOf(*last_warning_) <= 365 &&
                            !(last_breach_ && *last_breach_ > *last_warning_);
        PlanOn(TaskDay(Task::kEnforcement, day, 10), ActionKind::kEnforce, breach ? 1 : 0);
      }
      break;
    }
    case ActionKind::kEnforce:
      if (action.arg == 1) {
        Breach(at, kNonCompliance);
      } else {
        Emit(EventType::kWarningIssued, at);
        last_warning_ = at;
      }
      break;
    case ActionKind::kRevoke:
      Close(at, kClosureRevoked);
      break;
    case ActionKind::kScreening: {
      const bool full = initial_level_ >= kMedium || random_.Chance(0.1);
      Emit(EventType::kRoshScreeningCompleted, at, 0, full ? kFlagFirst : 0);
      if (!full) {
        Plan(at + 600, ActionKind::kClassify, initial_level_);
      } else if (std::optional<Date> analysis = TaskDay(Task::kRoshFullAnalysis, day, 10)) {
        PlanOn(analysis, ActionKind::kFullAnalysis, 1);
      } else {
        PlanOn(AddWorkingDays(day, static_cast<int>(random_.Between(10, 25))),
               ActionKind::kClassify, initial_level_);
      }
      break;
    }
    case ActionKind::kFullAnalysis:
      Emit(EventType::kRoshFullAnalysisCompleted, at);
      if (action.arg == 1) Plan(at + 600, ActionKind::kClassify, initial_level_);
      break;
    case ActionKind::kClassify:
      Classify(at, static_cast<uint8_t>(action.arg));
      break;
    case ActionKind::kInitialAssessment:
      Emit(EventType::kAssessmentCompleted, at, kAssessmentInitial);
      has_assessment_ = true;
      PlanChain(ActionKind::kAssessmentReview, day);
      break;
    case ActionKind::kInitialPlan:
      Emit(EventType::kSentencePlanCompleted, at, kPlanInitial);
      has_plan_ = true;
      PlanChain(ActionKind::kPlanReview, day);
      break;
    case ActionKind::kInitialRmp:
    case ActionKind::kRmpReview:
    case ActionKind::kPlanReview:
    case ActionKind::kAssessmentReview: {
      const int chain = action.kind == ActionKind::kPlanReview         ? 0
                        : action.kind == ActionKind::kAssessmentReview ? 1
                                                                       : 2;
      if (action.generation != 0 && action.generation != chain_generation_[chain]) break;
      if (chain == 0) {
        Emit(EventType::kSentencePlanCompleted, at, kPlanReview);
      } else if (chain == 1) {
        Emit(EventType::kAssessmentCompleted, at, kAssessmentReview);
      } else {
        const bool victim_safety = random_.Chance(1.0 - Scaled(1.0 - profile_.victim_safety_rate));
        const bool initial = action.kind == ActionKind::kInitialRmp;
        Emit(EventType::kRiskManagementPlanCompleted, at, initial ? kPlanInitial : kPlanReview,
             victim_safety ? kFlagFirst : 0);
        has_rmp_ = true;
      }
      PlanChain(action.kind == ActionKind::kInitialRmp ? ActionKind::kRmpReview : action.kind, day);
      break;
    }
    case ActionKind::kRiskResponse:
      switch (random_.Pick({0.5, 0.35, 0.15})) {
        case 0:
          Classify(at,
                   static_cast<uint8_t>(std::min<int>(kVeryHigh, std::max<int>(level_, kLow) + 1)));
          break;
        case 1:
          Emit(EventType::kRoshFullAnalysisCompleted, at);
          Plan(at + 900, ActionKind::kClassify, std::max<int>(level_, kLow));
          break;
        default:
          Breach(at, kRiskEscalation);
          break;
      }
      break;
    case ActionKind::kHomeVisit:
    case ActionKind::kOversight: {
      if (!relevant_ || action.generation != relevance_generation_) break;
      const bool visit = action.kind == ActionKind::kHomeVisit;
      if (visit) {
        Emit(EventType::kHomeVisitCompleted, VisitTime(day));
      } else {
        Emit(EventType::kManagementOversightRecorded, at, 0, kFlagManager);
      }
      const double rate = visit ? profile_.home_visit_rate : profile_.oversight_rate;
      PlanOn(RecurringDay(day, visit ? 91 : 28, DrawRecurring(rate)), action.kind, 0,
             relevance_generation_);
      break;
    }
    case ActionKind::kRegister:
      Register(at, static_cast<uint8_t>(action.arg));
      break;
    case ActionKind::kChildProtectionConcern:
      Register(at, kChildProtection);
      PlanAfter(at, 4000, ActionKind::kChildProtectionConcern);
      break;
    case ActionKind::kDeregister:
      if (!registered_[action.arg]) break;
      Emit(EventType::kRegistrationRemoved, at, static_cast<uint8_t>(action.arg));
      registered_[action.arg] = false;
      UpdateRelevance(at);
      break;
    case ActionKind::kSafeguardingCheck:
      Emit(EventType::kSafeguardingCheckCompleted, at, static_cast<uint8_t>(action.arg));
      break;
    case ActionKind::kVictimContact:
      Emit(EventType::kVictimContactOffered, at);
      break;
    case ActionKind::kSignificantChange: {
      const bool risk_increased = action.arg == 1 || random_.Chance(0.35);
      const uint32_t description =
          static_cast<uint32_t>(random_.Between(0, SignificantChangeDescriptionCount() - 1));
      Emit(EventType::kSignificantChangeRecorded, at, 0, risk_increased ? kFlagFirst : 0,
           description);
      if (has_plan_) PlanOn(TaskDay(Task::kPlanReview, day, 10), ActionKind::kPlanReview);
      if (has_assessment_) {
        PlanOn(TaskDay(Task::kAssessmentReview, day, 10), ActionKind::kAssessmentReview);
      }
      if (has_rmp_) PlanOn(TaskDay(Task::kRmpReview, day, 10), ActionKind::kRmpReview);
      if (risk_increased) {
        PlanOn(TaskDay(Task::kRiskResponse, day, 5), ActionKind::kRiskResponse);
        if (description == 6 && !registered_[kDomesticAbuse]) {
          PlanOn(AddWorkingDays(day, 1), ActionKind::kRegister, kDomesticAbuse);
        }
      }
      if (action.arg == 0) PlanAfter(at, 240, ActionKind::kSignificantChange);
      break;
    }
    case ActionKind::kReclassify:
      if (level_ != 0) {
        const bool down = level_ == kVeryHigh || (level_ > kLow && random_.Chance(0.6));
        Classify(at, static_cast<uint8_t>(down ? level_ - 1 : level_ + 1));
      }
      PlanAfter(at, 600, ActionKind::kReclassify);
      break;
    case ActionKind::kFurtherOffence:
      Emit(EventType::kFurtherOffenceRecorded, at,
           static_cast<uint8_t>(random_.Pick({0.3, 0.4, 0.3}) + 1));
      if (random_.Chance(0.7)) {
        PlanOn(AddWorkingDays(day, static_cast<int>(random_.Between(1, 5))),
               ActionKind::kSignificantChange, 1);
      }
      PlanAfter(at, initial_level_ >= kHigh ? 1100 : 2200, ActionKind::kFurtherOffence);
      break;
    case ActionKind::kReallocate: {
      const int scope = random_.Pick({0.7, 0.2, 0.1});  // same team, same PDU, same region
      uint16_t team = team_;
      if (scope > 0) {
        const uint16_t pdu = org_.teams[team_].pdu;
        std::vector<uint16_t> candidates;
        for (uint16_t t = 0; t < org_.teams.size(); ++t) {
          const uint16_t other_pdu = org_.teams[t].pdu;
          const bool fits =
              scope == 1 ? other_pdu == pdu
                         : other_pdu != pdu && org_.pdus[other_pdu].region == org_.pdus[pdu].region;
          if (fits && t != team_) candidates.push_back(t);
        }
        if (!candidates.empty()) {
          team = candidates[random_.Between(0, static_cast<int64_t>(candidates.size()) - 1)];
        }
      }
      const auto& members = org_.team_members[team];
      uint16_t practitioner = members[random_.Between(0, static_cast<int64_t>(members.size()) - 1)];
      if (practitioner == practitioner_) {
        practitioner =
            members[(static_cast<size_t>(std::find(members.begin(), members.end(), practitioner) -
                                         members.begin()) +
                     1) %
                    members.size()];
      }
      const bool same_team = team == team_;
      practitioner_ = practitioner;
      team_ = team;
      Emit(EventType::kCaseAllocated, at, 0, same_team ? kFlagOnlyOffenderManager : 0,
           practitioner);
      PlanAfter(at, 1100, ActionKind::kReallocate);
      break;
    }
    case ActionKind::kTermination:
      Emit(EventType::kAssessmentCompleted, at, kAssessmentTermination);
      break;
    case ActionKind::kClose:
      Close(at, static_cast<uint8_t>(action.arg));
      break;
  }
}

void CaseRun::Classify(int64_t at, uint8_t level) {
  level = std::min(level, max_level_);
  Emit(EventType::kRoshClassified, at, level);
  const uint8_t previous = level_;
  level_ = level;
  const Date day = DayOf(at);
  if (level_ >= kMedium && !rmp_planned_) {
    rmp_planned_ = true;
    PlanOn(TaskDay(Task::kInitialRmp, day, 15), ActionKind::kInitialRmp);
  }
  if (previous >= kHigh && level_ < kHigh && registered_[kMappa] && random_.Chance(0.6)) {
    PlanOn(AddWorkingDays(day, static_cast<int>(random_.Between(5, 30))), ActionKind::kDeregister,
           kMappa);
  }
  if (previous != 0 && previous < kHigh && level_ >= kHigh && !registered_[kMappa] &&
      random_.Chance(0.3)) {
    PlanOn(AddWorkingDays(day, static_cast<int>(random_.Between(5, 20))), ActionKind::kRegister,
           kMappa);
  }
  UpdateRelevance(at);
}

void CaseRun::UpdateRelevance(int64_t at) {
  const bool now = !closed_ && (level_ >= kHigh || registered_[kChildProtection]);
  if (now == relevant_) return;
  relevant_ = now;
  ++relevance_generation_;
  if (!now) return;
  // A case already relevant when it opens starts its interval at the opening.
  const Date day = DayOf(std::max(at, opened_at_));
  switch (DrawRecurring(profile_.home_visit_initial_rate.value_or(profile_.home_visit_rate))) {
    case Outcome::kOnTime:
      PlanOn(AddWorkingDays(day, static_cast<int>(random_.Between(1, 10))), ActionKind::kHomeVisit,
             0, relevance_generation_);
      break;
    case Outcome::kLate:
      PlanOn(AddWorkingDays(day, static_cast<int>(random_.Between(11, 40))), ActionKind::kHomeVisit,
             0, relevance_generation_);
      break;
    case Outcome::kNever:
      break;
  }
  PlanOn(RecurringDay(day, 28, DrawRecurring(profile_.oversight_rate)), ActionKind::kOversight, 0,
         relevance_generation_);
}

void CaseRun::PlanChain(ActionKind kind, Date last) {
  const int chain = kind == ActionKind::kPlanReview         ? 0
                    : kind == ActionKind::kAssessmentReview ? 1
                                                            : 2;
  constexpr Task kTasks[] = {Task::kPlanReview, Task::kAssessmentReview, Task::kRmpReview};
  const uint32_t generation = ++chain_generation_[chain];
  PlanOn(RecurringDay(last, 112, DrawTask(kTasks[chain])), kind, 0, generation);
}

void CaseRun::Register(int64_t at, uint8_t type) {
  if (registered_[type]) return;
  Emit(EventType::kRegistrationAdded, at, type);
  registered_[type] = true;
  const Date day = DayOf(at);
  if (type == kDomesticAbuse || type == kChildProtection) {
    PlanOn(TaskDay(Task::kSafeguardingCheck, day, 10), ActionKind::kSafeguardingCheck,
           kChildrensServices);
    PlanOn(TaskDay(Task::kSafeguardingCheck, day, 10), ActionKind::kSafeguardingCheck,
           kPoliceDomesticAbuse);
  }
  if (type == kChildProtection && random_.Chance(0.5)) {
    PlanOn(NextWorkingDay(day + static_cast<int32_t>(random_.Between(180, 540))),
           ActionKind::kDeregister, type);
  } else if (type == kDomesticAbuse && random_.Chance(0.15)) {
    PlanOn(NextWorkingDay(day + static_cast<int32_t>(random_.Between(120, 400))),
           ActionKind::kDeregister, type);
  }
  UpdateRelevance(at);
}

void CaseRun::Breach(int64_t at, uint8_t reason) {
  Emit(EventType::kBreachInstigated, at, case_type_ == kLicence ? kRecall : kBreach, 0, 0, reason);
  last_breach_ = at;
  const Date day = DayOf(at);
  if (case_type_ == kLicence ? random_.Chance(0.7) : random_.Chance(0.35)) {
    const int wait = case_type_ == kLicence ? static_cast<int>(random_.Between(1, 5))
                                            : static_cast<int>(random_.Between(15, 40));
    PlanOn(AddWorkingDays(day, wait), ActionKind::kRevoke);
  }
}

void CaseRun::Close(int64_t at, uint8_t reason) {
  Emit(EventType::kCaseClosed, at, reason);
  closed_ = true;
}

}  // namespace

Date AddWorkingDays(Date day, int n) {
  while (n > 0) {
    day = day + 1;
    if (!IsWeekend(day)) --n;
  }
  return day;
}

Date NextWorkingDay(Date day) {
  while (IsWeekend(day)) day = day + 1;
  return day;
}

Date PreviousWorkingDay(Date day) {
  while (IsWeekend(day)) day = day + -1;
  return day;
}

Date AddMonths(Date day, int months) {
  CivilDate civil = CivilFromDate(day);
  const int32_t total = static_cast<int32_t>(civil.month) - 1 + months;
  civil.year += total >= 0 ? total / 12 : (total - 11) / 12;
  civil.month = static_cast<uint32_t>(((total % 12) + 12) % 12) + 1;
  constexpr uint32_t kLengths[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (civil.year % 4 == 0 && civil.year % 100 != 0) || civil.year % 400 == 0;
  const uint32_t length = civil.month == 2 && leap ? 29 : kLengths[civil.month - 1];
  civil.day = std::min(civil.day, length);
  return DateFromCivil(civil);
}

CaseGenerator::CaseGenerator(const Organisation& org, const PracticeProfile& profile,
                             SimulationWindow window, uint64_t seed)
    : org_(org), profile_(profile), window_(window), seed_(seed) {}

void CaseGenerator::Generate(uint32_t case_number, Date open_day,
                             std::vector<SimulatedEvent>& out) {
  out.clear();
  uint64_t state = seed_ ^ (0xd1b54a32d192ed03ULL * case_number);
  const uint64_t case_seed = SplitMix64(state);
  {
    CaseRun run(org_, profile_, window_, case_seed, out);
    run.Run(case_number, open_day);
  }
  // Name events in occurred order, then add the re-sent copies and sort into arrival order.
  std::stable_sort(out.begin(), out.end(), [](const SimulatedEvent& a, const SimulatedEvent& b) {
    return a.occurred_seconds < b.occurred_seconds;
  });
  const int64_t end = static_cast<int64_t>(window_.end.days) * kDay;
  Random random(SplitMix64(state));
  const size_t originals = out.size();
  for (size_t i = 0; i < originals; ++i) {
    out[i].sequence = static_cast<uint16_t>(i + 1);
    if (random.Chance(profile_.duplicate_rate)) {
      SimulatedEvent copy = out[i];
      copy.flags |= kFlagDuplicate;
      if (random.Chance(0.5)) copy.recorded_seconds += random.Between(60, 3 * kDay);
      if (copy.recorded_seconds <= end) out.push_back(copy);
    }
  }
  std::sort(out.begin(), out.end(), [](const SimulatedEvent& a, const SimulatedEvent& b) {
    if (a.recorded_seconds != b.recorded_seconds) return a.recorded_seconds < b.recorded_seconds;
    if (a.sequence != b.sequence) return a.sequence < b.sequence;
    return (a.flags & kFlagDuplicate) < (b.flags & kFlagDuplicate);
  });
}

}  // namespace casewatch::simulator::internal
