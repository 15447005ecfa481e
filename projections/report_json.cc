#include "projections/report_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace casewatch {
namespace {

void AppendOptionalString(std::string& out, const std::optional<std::string>& s) {
  if (s) {
    AppendJsonString(out, *s);
  } else {
    out += "null";
  }
}

void AppendDateOrNull(std::string& out, std::optional<Date> d) {
  if (d) {
    out += '"';
    out += FormatDate(*d);
    out += '"';
  } else {
    out += "null";
  }
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void AppendJsonNumber(std::string& out, std::optional<double> value) {
  if (!value) {
    out += "null";
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, *value);
  out.append(buf, end);
}

void AppendCaseItemJson(std::string& out, const CaseItemRow& row) {
  out += "{\"case_id\":";
  AppendJsonString(out, row.case_id);
  out +=
      fmt::format(R"(,"indicator":"{}","due":"{}","status":"{}","fulfilled_by":)",
                  InfoOf(row.item.indicator).id, FormatDate(row.item.due), NameOf(row.item.status));
  if (row.item.fulfilled_by >= 0) {
    AppendJsonString(out, row.fulfilled_by);
  } else {
    out += "null";
  }
  out += ",\"decided_on\":";
  AppendDateOrNull(out,
                   row.item.decided() ? std::optional<Date>(row.item.decided_on) : std::nullopt);
  out += '}';
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
  std::string out;
  out.reserve(4096 + (case_items ? case_items->size() * 120 : 0));
  out += "{\"as_of\":\"";
  out += FormatInstant(r.as_of);
  out += "\",\"period\":{\"from\":";
  AppendDateOrNull(out, r.period.from);
  out += ",\"to\":";
  AppendDateOrNull(out, r.period.to);
  out += "},\"policy\":";
  AppendJsonString(out, r.policy_name);
  out += ",\"scope\":{\"region\":";
  AppendOptionalString(out, r.scope.region);
  out += ",\"pdu\":";
  AppendOptionalString(out, r.scope.pdu);
  out += ",\"team\":";
  AppendOptionalString(out, r.scope.team);
  out += ",\"offender_manager\":";
  AppendOptionalString(out, r.scope.offender_manager);
  out += fmt::format("}},\"cases\":{},\"indicators\":[", r.cases);
  for (int i = 0; i < kIndicatorCount; ++i) {
    const IndicatorScore& s = r.indicators[i];
    if (i > 0) out += ',';
    out += fmt::format(R"({{"id":"{}","outcome":"{}","relevant_cases":{},"met_cases":{},"score":)",
                       kIndicators[i].id, NameOf(kIndicators[i].outcome), s.relevant_cases,
                       s.met_cases);
    AppendJsonNumber(out, s.score);
    out +=
        fmt::format(R"(,"items":{{"met":{},"late":{},"missed":{},"cancelled":{},"pending":{}}}}})",
                    s.items.met, s.items.late, s.items.missed, s.items.cancelled, s.items.pending);
  }
  out += "],\"outcomes\":[";
  for (int o = 0; o < kOutcomeCount; ++o) {
    const OutcomeScore& s = r.outcomes[o];
    if (o > 0) out += ',';
    out += fmt::format(R"({{"id":"{}","score":)", kOutcomeNames[o]);
    if (s.score) {
      AppendJsonNumber(out, s.score);
      out += fmt::format(R"(,"rating":"{}"}})", NameOf(*s.rating));
    } else {
      out += R"(null,"rating":null})";
    }
  }
  out += ']';
  if (case_items) {
    out += ",\"case_items\":[";
    bool first = true;
    for (const CaseItemRow& row : *case_items) {
      if (!first) out += ',';
      first = false;
      out += '\n';
      AppendCaseItemJson(out, row);
    }
    out += "\n]";
  }
  out += "}\n";
  return out;
}

}  // namespace casewatch
