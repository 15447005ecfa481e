#pragma once
// The report's JSON form (docs/rules.md section 10), shared by `casewatch replay`, the engine's
// `report` command and the HTTP API.

#include <string>
#include <vector>

#include "base/json_writer.h"
#include "projections/scores.h"

namespace casewatch {

// One line of "case_items".
struct CaseItemRow {
  std::string case_id;
  Item item;
  std::string fulfilled_by;  // event id; meaningful when item.fulfilled_by >= 0
};

// Collects the items of one evaluated case as rows (unsorted).
void AppendCaseItems(const CaseEvaluation& evaluation, std::vector<CaseItemRow>& rows);

// Sorts rows by case id (byte-wise), indicator (table order), due date, fulfilling event id
// (none first), then status and decision date so equal keys still give one order.
void SortCaseItems(std::vector<CaseItemRow>& rows);

// Renders the report; with `case_items` non-null, adds "case_items" (rows must be sorted).
std::string RenderReportJson(const Report& report, const std::vector<CaseItemRow>* case_items);

// The shortest form that reads back as the same double; null when absent (as JSON writes it).
void AppendJsonNumber(std::string& out, std::optional<double> value);
// One "case_items" row: {"case_id","indicator","due","status","fulfilled_by","decided_on"}.
void WriteCaseItem(JsonWriter& out, const CaseItemRow& row);
void AppendCaseItemJson(std::string& out, const CaseItemRow& row);

}  // namespace casewatch
