#include "services/simulator/calibration.h"

namespace casewatch::simulator {
namespace {

constexpr CalibrationMeasure kScore = CalibrationMeasure::kScore;
constexpr CalibrationMeasure kMissed = CalibrationMeasure::kMissedShare;

// Tolerances, for the mean of three 3,000-case runs: the rates were tuned on three 10,000-case
// runs to give each figure to within half a point, and what is left is the luck of the draw,
// mostly of which teams are good (--team-spread), which moves a single run's indicators by up to
// six points and a mean of three by up to three.
constexpr double kIndicator = 0.04;
constexpr double kShare = 0.02;
constexpr double kOutcome = 0.03;

std::vector<Calibration> MakeCalibrations() {
  return {
      {"northumbria-2012",
       "HM Inspectorate of Probation, Inspection of Offender Management in Northumbria (press "
       "release, 3 April 2012)",
       {
           {"DELIVERY", kScore, 0.86, kOutcome,
            "'Punish' - Compliance and Enforcement work done well enough 86% of the time"},
           {"REOFFENDING", kScore, 0.82, kOutcome,
            "'Help' and 'Change' - Likelihood of Reoffending work 82%"},
           {"PUBLIC_PROTECTION", kScore, 0.81, kOutcome,
            "'Control' - Risk of Harm to others work 81%"},
       }},
      {"northumbria-2013",
       "HM Inspectorate of Probation, Inspection of Adult Offending Work in Northumbria "
       "(November 2013; 86 cases)",
       {
           {"psr_quality", kScore, 0.89, kIndicator,
            "89% of work to assist sentencing was done well enough (six of 52 reports oral)"},
           {"initial_sentence_plan", kScore, 0.77, kIndicator,
            "a timely and informed sentence plan had been completed in over three-quarters of "
            "cases"},
           {"initial_sentence_plan", kMissed, 0.047, kShare,
            "there was no initial plan at all in four cases (of 86)"},
           {"sentence_plan_review", kScore, 0.59, kIndicator,
            "a quarter of the reviews of initial plans were not of sufficient quality, and 16% "
            "had not been undertaken at all"},
           {"sentence_plan_review", kMissed, 0.16, kShare, "16% had not been undertaken at all"},
           {"enforcement", kScore, 0.79, kIndicator,
            "enforcement procedures and recall were used in 15 cases; an additional four cases "
            "where they should have been used"},
           {"DELIVERY", kScore, 0.82, kOutcome,
            "82% of work to deliver the sentence of the court was done well enough"},
           {"initial_assessment", kMissed, 0.053, kShare,
            "an assessment was required in 75 cases; in four instances no assessment was "
            "completed"},
           {"assessment_review", kScore, 0.54, kIndicator,
            "reviewed thoroughly when required in 47 cases; not of sufficient quality in 24, not "
            "at all in 16"},
           {"assessment_review", kMissed, 0.18, kShare,
            "the review had not taken place (16 of 87)"},
           // The two figures above leave initial assessments at best always on time, which gives
           // 0.745: short of the report's 77%, which also counts work no event records.
           {"REOFFENDING", kScore, 0.77, 0.05,
            "77% of work to reduce reoffending was done well enough"},
           {"rosh_screening", kScore, 0.86, kIndicator,
            "in six cases the screening was completed late and in a further six it had not been "
            "done at all (of 86)"},
           {"rosh_screening", kMissed, 0.07, kShare, "not done at all in six cases (of 86)"},
           {"rosh_full_analysis", kMissed, 0.09, kShare, "seven cases (9%) lacked a full analysis"},
           {"rmp_initial", kMissed, 0.06, kShare,
            "in five cases there was no initial [risk management] plan (of about 80: just under "
            "half of relevant cases had a sufficient plan, 36 an insufficient one)"},
           {"rmp_review", kScore, 0.50, kIndicator,
            "risk management plans were not sufficiently reviewed in around half of the cases"},
           {"rmp_review", kMissed, 0.16, kShare,
            "in 13 cases there had been no review at all and in 27 the review was not adequate"},
           {"risk_response", kScore, 0.68, kIndicator,
            "in almost one-third of the 34 relevant cases, the response to changes in the risk of "
            "harm was not adequate; no action in three of ten cases needing enforcement or "
            "recall"},
           {"home_visit_initial", kScore, 0.75, kIndicator,
            "53 cases merited home visits; an initial home visit had not been done in one-quarter "
            "of these"},
           {"home_visit_repeat", kScore, 0.67, kIndicator,
            "home visits had been repeated in only two-thirds of the cases where they should have "
            "been"},
           {"management_oversight", kScore, 0.52, kIndicator,
            "effective management oversight in 24 out of 46 relevant cases"},
           {"safeguarding_checks", kScore, 0.68, kIndicator,
            "checks with Children's Services in over two-thirds of relevant cases; police "
            "domestic violence checks in a similar proportion"},
           {"PUBLIC_PROTECTION", kScore, 0.72, kOutcome,
            "72% of work to protect the public was done well enough"},
           {"victim_contact", kScore, 0.905, kIndicator,
            "21 licence cases needed victim contact; in 19 an offer was made within eight weeks"},
           {"rmp_victim_safety", kScore, 0.48, kIndicator,
            "just under half of the plans adequately addressed risk of harm issues for actual or "
            "potential victims"},
       }},
      {"northamptonshire-2013",
       "HM Inspectorate of Probation, Inspection of Adult Offending Work in Northamptonshire "
       "(press release; the last of six inspections of violent offending work, 2013)",
       {
           {"safeguarding_checks", kScore, 0.75, kIndicator,
            "insufficient attention was paid to child safeguarding in relation to the offender's "
            "contact with any children and young people in a quarter of cases"},
           {"rmp_victim_safety", kScore, 0.67, kIndicator,
            "insufficient priority was accorded to the safety of current and potential victims by "
            "the offender manager in a third of cases"},
       }},
      {"northumbria-crc-2020",
       "HM Inspectorate of Probation, Northumbria Community Rehabilitation Company (press "
       "release, 11 February 2020; fieldwork September 2019)",
       {
           // Only child protection cases need home visits here: few cases, more noise.
           {"home_visit_initial", kScore, 0.33, 0.05,
            "in cases where we expected to see home visits, only a third were completed"},
           {"home_visit_repeat", kScore, 0.33, 0.05, "(the same figure, for repeat visits)"},
           // "Requires improvement" is 50-64%, the policy's default band: 0.575 +- 0.075.
           {"DELIVERY", kScore, 0.575, 0.075,
            "all four aspects of case supervision rated 'Requires improvement'"},
           {"REOFFENDING", kScore, 0.575, 0.075, "(as above)"},
           {"PUBLIC_PROTECTION", kScore, 0.575, 0.075, "(as above)"},
       }},
  };
}

}  // namespace

const std::vector<Calibration>& Calibrations() {
  static const std::vector<Calibration> kCalibrations = MakeCalibrations();
  return kCalibrations;
}

const Calibration* CalibrationOf(std::string_view profile) {
  for (const Calibration& calibration : Calibrations()) {
    if (calibration.profile == profile) return &calibration;
  }
  return nullptr;
}

}  // namespace casewatch::simulator
