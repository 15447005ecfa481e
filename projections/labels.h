#pragma once
// What staff call each outcome and indicator: one table, so that `casewatch replay --text`, the
// inspection report and the dashboard (through GET /api/v1/meta) use one name for one thing. The
// ids of indicators.h are the contract; these are the words people read. Table order is report
// order.

#include <array>
#include <cstdint>
#include <string_view>

#include "projections/case_event.h"
#include "projections/indicators.h"

namespace casewatch {

struct OutcomeLabel {
  std::string_view title;        // "Protecting the public"
  std::string_view short_title;  // a column heading: "Public protection"
};

struct IndicatorLabel {
  std::string_view title;  // "Repeat home visits"
  // What to do about an open item, as a worklist says it ("book the next home visit"); empty for
  // an indicator judged at once, whose items are never open.
  std::string_view action;
};

inline constexpr std::array<OutcomeLabel, kOutcomeCount> kOutcomeLabels = {{
    {"Assisting sentencing", "Sentencing"},
    {"Delivering the sentence", "Delivery"},
    {"Reducing reoffending", "Reoffending"},
    {"Protecting the public", "Public protection"},
    {"Working with victims", "Victims"},
}};

inline constexpr std::array<IndicatorLabel, kIndicatorCount> kIndicatorLabels = {{
    {"Pre-sentence report quality", ""},
    {"Supervision started promptly", "hold the first appointment"},
    {"Initial sentence plan on time", "complete the initial sentence plan"},
    {"Sentence plan reviewed", "review the sentence plan"},
    {"Absences judged promptly", "judge the absence"},
    {"Enforcement after an unacceptable absence", "issue a warning or start breach action"},
    {"Initial assessment on time", "complete the initial assessment"},
    {"Assessment reviewed", "review the assessment"},
    {"RoSH screening on time", "complete the RoSH screening"},
    {"RoSH full analysis on time", "complete the RoSH full analysis"},
    {"Risk management plan in place", "complete the risk management plan"},
    {"Risk management plan reviewed", "review the risk management plan"},
    {"Response to increased risk", "reclassify the risk, analyse it in full or start breach action"},
    {"First home visit (high risk or child protection)", "book the first home visit"},
    {"Repeat home visits", "book the next home visit"},
    {"Management oversight recorded", "record management oversight"},
    {"Safeguarding checks made", "make the safeguarding check"},
    {"Victim contact offered", "offer the victim contact"},
    {"Victim safety in risk management plans", ""},
}};

inline std::string_view TitleOf(Outcome o) { return kOutcomeLabels[static_cast<int>(o)].title; }
inline std::string_view ShortTitleOf(Outcome o) {
  return kOutcomeLabels[static_cast<int>(o)].short_title;
}
inline std::string_view TitleOf(Indicator i) { return kIndicatorLabels[static_cast<int>(i)].title; }
inline std::string_view ActionOf(Indicator i) {
  return kIndicatorLabels[static_cast<int>(i)].action;
}

// The kinds of an indicator whose items have kinds (Item::detail): a safeguarding check's, in
// SafeguardingCheck order from 1. `id` for the API, `title` and `action` in staff's words.
struct CheckLabel {
  std::string_view id;      // "childrens_services"
  std::string_view title;   // "children's services"
  std::string_view action;  // "make the children's services safeguarding check"
};
inline constexpr std::array<CheckLabel, 2> kSafeguardingCheckLabels = {{
    {"childrens_services", "children's services",
     "make the children's services safeguarding check"},
    {"police_domestic_abuse", "police (domestic abuse)",
     "make the police domestic abuse safeguarding check"},
}};
static_assert(static_cast<int>(SafeguardingCheck::kChildrensServices) == 1 &&
              static_cast<int>(SafeguardingCheck::kPoliceDomesticAbuse) == 2);

// The label of an item's kind; nullptr when its indicator has no kinds or the kind is not known
// (a projection made before kinds were kept).
inline const CheckLabel* CheckLabelOf(Indicator i, uint8_t detail) {
  if (i != Indicator::kSafeguardingChecks || detail == 0 ||
      detail > kSafeguardingCheckLabels.size()) {
    return nullptr;
  }
  return &kSafeguardingCheckLabels[detail - 1];
}
// What to do about an open item, naming its kind when it has one.
inline std::string_view ActionOf(Indicator i, uint8_t detail) {
  const CheckLabel* label = CheckLabelOf(i, detail);
  return label != nullptr ? label->action : ActionOf(i);
}

}  // namespace casewatch
