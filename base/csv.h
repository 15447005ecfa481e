#pragma once
// CSV fields for files people open in spreadsheets (the inspection's CSV, the caseload export).

#include <string>
#include <string_view>

namespace casewatch {

// Appends one CSV field. A field beginning with '=', '+', '-', '@', a tab or a carriage return
// would be read as a formula by a spreadsheet (a name "=HYPERLINK(...)", a case id "-12-12"):
// unless it is a plain number ("-0.05"), it is written with a leading apostrophe, as the OWASP
// guidance on CSV injection says, and quoted. Fields with a comma, quote or line end are quoted
// with their quotes doubled (RFC 4180).
void AppendCsvField(std::string& out, std::string_view field);

}  // namespace casewatch
