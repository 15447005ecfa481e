#pragma once
// An inspection as one "tidy" CSV table for analysts: one figure per row,
//   section,group,period,outcome,indicator,case_id,measure,value
// with sections report, group, month, comparison, sample, sample_case, sample_item,
// sample_event, finding and data_quality. Fields are quoted when they need it (RFC 4180), and a
// field a spreadsheet would take for a formula is neutralised (AppendCsvField).

#include <string>

#include "services/inspection/inspection.h"

namespace casewatch::inspection {

std::string RenderInspectionCsv(const Inspection& inspection);

// Appends one CSV field. A field beginning with '=', '+', '-', '@', a tab or a carriage return
// would be read as a formula by a spreadsheet (a name "=HYPERLINK(...)", a case id "-12-12"):
// unless it is a plain number ("-0.05"), it is written with a leading apostrophe, as the OWASP
// guidance on CSV injection says, and quoted. Fields with a comma, quote or line end are quoted
// with their quotes doubled (RFC 4180).
void AppendCsvField(std::string& out, std::string_view field);

}  // namespace casewatch::inspection
