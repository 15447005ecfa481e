#pragma once
// A plain-text rendering of a report for people at a terminal: outcomes with ratings, then each
// indicator's "proportion of work done well enough" and item counts.

#include <string>

#include "projections/scores.h"

namespace casewatch {

std::string RenderReportText(const Report& report);

}  // namespace casewatch
