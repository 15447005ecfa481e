#pragma once
// The inspection as one self-contained HTML5 document, laid out as an inspectorate's report:
// cover, summary table, key findings, a section per outcome with its indicators and charts, the
// comparisons, the case sample and its case timelines, and the methodology annex. The charts are
// inline SVG drawn here; the page loads nothing (no script, font, image or style sheet) and so
// reads the same offline, printed or archived.
//
// Every number a reader sees is also on its element as a data attribute at full precision
// (`data-score` as the JSON prints it), so tests compare the page with `casewatch replay`.

#include <string>

#include "services/inspection/inspection.h"

namespace casewatch::inspection {

std::string RenderInspectionHtml(const Inspection& inspection);

}  // namespace casewatch::inspection
