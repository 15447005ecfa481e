#pragma once
// An inspection as one "tidy" CSV table for analysts: one figure per row,
//   section,group,period,outcome,indicator,case_id,measure,value
// with sections report, group, month, comparison, sample, sample_case, sample_item,
// sample_event, finding and data_quality. Fields are quoted when they need it (RFC 4180), and a
// field a spreadsheet would take for a formula is neutralised (AppendCsvField, base/csv.h).

#include <string>

#include "base/csv.h"
#include "services/inspection/inspection.h"

namespace casewatch::inspection {

std::string RenderInspectionCsv(const Inspection& inspection);

}  // namespace casewatch::inspection
