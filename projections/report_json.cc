#include "projections/report_json.h"

#include <algorithm>

namespace casewatch {
namespace {

void WriteDate(JsonWriter& out, std::optional<Date> date) {
  if (date) {
    out.String(FormatDate(*date));
  } else {
    out.Null();
  }
}

}  // namespace

void AppendJsonNumber(std::string& out, std::optional<double> value) {
  JsonWriter number;
  number.NullableDouble(value);
  out += number.text();
}

void WriteCaseItem(JsonWriter& out, const CaseItemRow& row) {
  out.BeginObject();
  out.Key("case_id").String(row.case_id);
  out.Key("indicator").String(InfoOf(row.item.indicator).id);
  out.Key("due").String(FormatDate(row.item.due));
  out.Key("status").String(NameOf(row.item.status));
  out.Key("fulfilled_by");
  if (row.item.fulfilled_by >= 0) {
    out.String(row.fulfilled_by);
  } else {
    out.Null();
  }
  out.Key("decided_on");
  WriteDate(out, row.item.decided() ? std::optional<Date>(row.item.decided_on) : std::nullopt);
  out.EndObject();
}

void AppendCaseItemJson(std::string& out, const CaseItemRow& row) {
  JsonWriter item;
  WriteCaseItem(item, row);
  out += item.text();
}

void AppendCaseItems(const CaseEvaluation& evaluation, std::vector<CaseItemRow>& rows) {
  const auto& events = evaluation.history->events();
  for (const Item& item : evaluation.items) {
    rows.push_back(CaseItemRow{evaluation.history->case_id(), item,
                               item.fulfilled_by >= 0 ? std::string(evaluation.history->event_id(
                                                            events[item.fulfilled_by]))
                                                      : std::string()});
  }
}

void SortCaseItems(std::vector<CaseItemRow>& rows) {
  std::sort(rows.begin(), rows.end(), [](const CaseItemRow& a, const CaseItemRow& b) {
    // Compare fulfilling event ids, not positions: none (-1) first, then byte-wise.
    if (a.case_id != b.case_id) return a.case_id < b.case_id;
    if (a.item.indicator != b.item.indicator) return a.item.indicator < b.item.indicator;
    if (a.item.due != b.item.due) return a.item.due < b.item.due;
    const bool a_done = a.item.fulfilled_by >= 0, b_done = b.item.fulfilled_by >= 0;
    if (a_done != b_done) return !a_done;
    if (a.fulfilled_by != b.fulfilled_by) return a.fulfilled_by < b.fulfilled_by;
    if (a.item.status != b.item.status) return a.item.status < b.item.status;
    return a.item.decided_on < b.item.decided_on;
  });
}

std::string RenderReportJson(const Report& r, const std::vector<CaseItemRow>* case_items) {
  JsonWriter out;
  out.BeginObject();
  out.Key("as_of").String(FormatInstant(r.as_of));
  out.Key("period").BeginObject();
  out.Key("from");
  WriteDate(out, r.period.from);
  out.Key("to");
  WriteDate(out, r.period.to);
  out.EndObject();
  out.Key("policy").String(r.policy_name);
  out.Key("scope").BeginObject();
  out.Key("region").NullableString(r.scope.region);
  out.Key("pdu").NullableString(r.scope.pdu);
  out.Key("team").NullableString(r.scope.team);
  out.Key("offender_manager").NullableString(r.scope.offender_manager);
  out.EndObject();
  out.Key("cases").Int(r.cases);
  out.Key("indicators").BeginArray();
  for (int i = 0; i < kIndicatorCount; ++i) {
    const IndicatorScore& s = r.indicators[i];
    out.BeginObject();
    out.Key("id").String(kIndicators[i].id);
    out.Key("outcome").String(NameOf(kIndicators[i].outcome));
    out.Key("relevant_cases").Int(s.relevant_cases);
    out.Key("met_cases").Int(s.met_cases);
    out.Key("score").NullableDouble(s.score);
    out.Key("items").BeginObject();
    out.Key("met").Int(s.items.met).Key("late").Int(s.items.late);
    out.Key("missed").Int(s.items.missed).Key("cancelled").Int(s.items.cancelled);
    out.Key("pending").Int(s.items.pending);
    out.EndObject();
    out.Key("too_few_cases").Bool(s.too_few_cases);  // an addition after the normative keys
    out.EndObject();
  }
  out.EndArray();
  out.Key("outcomes").BeginArray();
  for (int o = 0; o < kOutcomeCount; ++o) {
    const OutcomeScore& s = r.outcomes[o];
    out.BeginObject().Key("id").String(kOutcomeNames[o]);
    out.Key("score").NullableDouble(s.score);
    out.Key("rating");
    if (s.score && s.rating) {
      out.String(NameOf(*s.rating));
    } else {
      out.Null();
    }
    out.Key("base").Int(s.base).Key("too_few_cases").Bool(s.too_few_cases);  // additions
    out.EndObject();
  }
  out.EndArray();
  if (case_items) {
    out.Key("case_items").BeginArray();
    for (const CaseItemRow& row : *case_items) {
      out.Newline();
      WriteCaseItem(out, row);
    }
    out.Whitespace("\n").EndArray();
  }
  out.EndObject().Whitespace("\n");
  return out.Take();
}

}  // namespace casewatch
