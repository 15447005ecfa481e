#pragma once
// The inspection as one self-contained HTML5 document, laid out as an inspectorate's report:
// cover, summary table, key findings, a section per outcome with its indicators and charts, the
// comparisons, the case sample, and the methodology annex; the sampled cases' timelines are its
// annex or a document of their own. The charts are
// inline SVG drawn here; the page loads nothing (no script, font, image or style sheet) and so
// reads the same offline, printed or archived.
//
// Every number a reader sees is also on its element as a data attribute at full precision
// (`data-score` as the JSON prints it), so tests compare the page with `casewatch replay`.

#include <string>
#include <string_view>

#include "services/inspection/inspection.h"

namespace casewatch::inspection {

// The report. Given `cases_file` (the case records' document, as a path relative to this one's
// directory), the sample's table links each case to its record there and the records are left
// out: they are most of the pages of a large sample. Without it they are this document's annex.
std::string RenderInspectionHtml(const Inspection& inspection, std::string_view cases_file = {});

// The sampled cases' records (events and items) as a document of their own, each linking back to
// the report's sample table at `report_file` (a path relative to this one's directory).
std::string RenderInspectionCasesHtml(const Inspection& inspection, std::string_view report_file);

}  // namespace casewatch::inspection
