#pragma once
// An inspection as JSON, for analysts: every part of the HTML report, with each report in exactly
// the form `casewatch replay` prints (docs/rules.md section 10). See services/inspection/README.md.

#include <string>

#include "services/inspection/inspection.h"

namespace casewatch::inspection {

std::string RenderInspectionJson(const Inspection& inspection);

}  // namespace casewatch::inspection
