#include "services/inspection/report_json.h"

#include <fmt/format.h>

namespace casewatch::inspection {
namespace {

// A replay document without its trailing newline, to embed.
std::string Document(const Report& report) {
  std::string json = RenderReportJson(report, nullptr);
  if (!json.empty() && json.back() == '\n') json.pop_back();
  return json;
}

template <class T, class Append>
void AppendArray(std::string& out, const T& values, Append append) {
  out += '[';
  bool first = true;
  for (const auto& value : values) {
    if (!first) out += ',';
    first = false;
    append(value);
  }
  out += ']';
}

void AppendString(std::string& out, std::string_view key, std::string_view value) {
  out += fmt::format("\"{}\":", key);
  AppendJsonString(out, value);
}

void AppendSettings(std::string& out, const std::vector<PolicySetting>& settings) {
  out += '{';
  bool first = true;
  for (const PolicySetting& s : settings) {
    if (!first) out += ',';
    first = false;
    AppendString(out, s.key, s.value);
  }
  out += '}';
}

void AppendFindings(std::string& out, const std::vector<Finding>& findings) {
  AppendArray(out, findings, [&](const Finding& f) {
    out += fmt::format("{{\"outcome\":\"{}\",\"indicator\":", NameOf(f.outcome));
    if (f.indicator) {
      AppendJsonString(out, InfoOf(*f.indicator).id);
    } else {
      out += "null";
    }
    out += ',';
    AppendString(out, "text", f.text);
    out += '}';
  });
}

void AppendComparison(std::string& out, const Comparison& c) {
  out += fmt::format("{{\"kind\":\"{}\",", c.kind == Comparison::Kind::kEarlierInspection
                                               ? "earlier_inspection"
                                               : "other_policy");
  AppendString(out, "label", c.label);
  out += ",\"baseline\":" + Document(c.baseline) + ",\"indicator_delta\":";
  AppendArray(out, c.indicator_delta, [&](const auto& d) { AppendJsonNumber(out, d); });
  out += ",\"outcome_delta\":";
  AppendArray(out, c.outcome_delta, [&](const auto& d) { AppendJsonNumber(out, d); });
  if (c.kind == Comparison::Kind::kOtherPolicy) {
    out += ",\"shifts\":";
    int i = 0;
    AppendArray(out, c.shifts, [&](const VerdictShift& s) {
      out += fmt::format(R"({{"indicator":"{}","now_met":{},"now_not_met":{},"now_relevant":{},)"
                         R"("now_irrelevant":{}}})",
                         kIndicators[i++].id, s.now_met, s.now_not_met, s.now_relevant,
                         s.now_irrelevant);
    });
    out += ",\"baseline_settings\":";
    AppendSettings(out, c.baseline_settings);
    out += ",\"current_settings\":";
    AppendSettings(out, c.current_settings);
  }
  out += '}';
}

void AppendSampledCase(std::string& out, const SampledCase& c) {
  out += '{';
  AppendString(out, "case_id", c.case_id);
  out += ',';
  AppendString(out, "region", c.allocation.region);
  out += ',';
  AppendString(out, "pdu", c.allocation.pdu);
  out += ',';
  AppendString(out, "team", c.allocation.team);
  out += ',';
  AppendString(out, "offender_manager", c.allocation.offender_manager);
  out += fmt::format(
      ",\"opened\":\"{}\",\"closed\":{},\"supervised_days\":{},", FormatDate(c.opened),
      c.closed ? fmt::format("\"{}\"", FormatDate(*c.closed)) : "null", c.supervised_days);
  AppendString(out, "rosh_level", c.rosh_level);
  out += fmt::format(",\"late_records\":{},\"well_enough\":", c.late_records);
  AppendArray(out, c.well_enough,
              [&](const std::optional<bool>& w) { out += w ? (*w ? "true" : "false") : "null"; });
  out += ",\"outcome_scores\":";
  AppendArray(out, c.outcome_scores, [&](const auto& s) { AppendJsonNumber(out, s); });
  out += ",\"items\":";
  AppendArray(out, c.items, [&](const CaseItemRow& row) { AppendCaseItemJson(out, row); });
  out += ",\"timeline\":";
  AppendArray(out, c.timeline, [&](const TimelineEntry& e) {
    out += fmt::format("{{\"occurred_at\":\"{}\",", FormatInstant(e.occurred_at));
    AppendString(out, "event_id", e.event_id);
    out += ',';
    AppendString(out, "type", e.type);
    out += ',';
    AppendString(out, "detail", e.detail);
    out += '}';
  });
  out += '}';
}

void AppendSample(std::string& out, const Inspection& in) {
  const SampleCriteria& criteria = in.draw.criteria;
  out +=
      fmt::format(R"({{"criteria":{{"size":{},"seed":{},"started_from":"{}","started_to":"{}",)"
                  R"("min_supervised_days":{}}},"eligible":{},"units":)",
                  criteria.size, criteria.seed, FormatDate(criteria.started_from),
                  FormatDate(criteria.started_to), criteria.min_supervised_days, in.draw.eligible);
  AppendArray(out, in.draw.units, [&](const UnitDraw& u) {
    out += '{';
    AppendString(out, "pdu", u.pdu);
    out += fmt::format(",\"eligible\":{},\"drawn\":{}}}", u.eligible, u.drawn);
  });
  out += ",\"report\":" + Document(in.sample_report) + ",\"cases\":";
  AppendArray(out, in.sample, [&](const SampledCase& c) {
    out += '\n';
    AppendSampledCase(out, c);
  });
  out += '}';
}

void AppendQuality(std::string& out, const Inspection& in) {
  const DataQuality& q = in.quality;
  out += fmt::format(
      R"({{"accepted":{},"duplicates":{},"rejected":{},"late_record_days":{},)"
      R"("events_in_view":{},"late_records":{},"recorded_after_as_of":{},"rejected_reasons":)",
      q.accepted, q.duplicates_counted ? fmt::format("{}", q.duplicates) : "null", q.rejected,
      in.request.late_record_days, q.events_in_view, q.late_records, q.recorded_after_as_of);
  AppendArray(out, q.rejected_reasons, [&](const RejectedReason& r) {
    out += '{';
    AppendString(out, "reason", r.reason);
    out += fmt::format(",\"count\":{},", r.count);
    AppendString(out, "example", r.example);
    out += '}';
  });
  out += '}';
}

}  // namespace

std::string RenderInspectionJson(const Inspection& in) {
  const Report& r = in.report;
  std::string out;
  out.reserve(1 << 16);
  out += fmt::format("{{\"as_of\":\"{}\",\"period\":{{\"from\":{},\"to\":\"{}\"}},",
                     FormatInstant(r.as_of),
                     r.period.from ? fmt::format("\"{}\"", FormatDate(*r.period.from)) : "null",
                     FormatDate(r.period.to));
  out += "\"scope\":{";
  const std::pair<std::string_view, const std::optional<std::string>*> levels[] = {
      {"region", &r.scope.region},
      {"pdu", &r.scope.pdu},
      {"team", &r.scope.team},
      {"offender_manager", &r.scope.offender_manager}};
  for (const auto& [name, value] : levels) {
    if (name != "region") out += ',';
    out += fmt::format("\"{}\":", name);
    if (*value) {
      AppendJsonString(out, **value);
    } else {
      out += "null";
    }
  }
  out += "},\"policy\":{";
  AppendString(out, "name", r.policy_name);
  out += ",\"settings\":";
  AppendSettings(out, in.policy_settings);
  out += "},";
  AppendString(out, "source", in.request.source);
  out += ",\n\"report\":" + Document(r) + ",\n\"outcomes\":";
  int o = 0;
  AppendArray(out, r.outcomes, [&](const OutcomeScore& s) {
    out += fmt::format("{{\"id\":\"{}\",", kOutcomeNames[o]);
    AppendString(out, "title", TitleOf(static_cast<Outcome>(o)));
    out += ",\"score\":";
    AppendJsonNumber(out, s.score);
    out += s.rating ? fmt::format(",\"rating\":\"{}\"", NameOf(*s.rating)) : ",\"rating\":null";
    out += ",\"deltas\":";
    AppendArray(out, in.comparisons,
                [&](const Comparison& c) { AppendJsonNumber(out, c.outcome_delta[o]); });
    out += '}';
    ++o;
  });
  out += ",\n\"group_level\":";
  AppendJsonString(out, in.group_level);
  out += ",\"groups\":";
  AppendArray(out, in.groups, [&](const GroupReport& g) {
    out += "\n{";
    AppendString(out, "name", g.name);
    out += ",\"report\":" + Document(g.report) + '}';
  });
  out += ",\n\"monthly\":";
  AppendArray(out, in.monthly, [&](const Report& m) { out += '\n' + Document(m); });
  out += ",\n\"comparisons\":";
  AppendArray(out, in.comparisons, [&](const Comparison& c) { AppendComparison(out, c); });
  out += ",\n\"sample\":";
  if (in.draw.criteria.size > 0) {
    AppendSample(out, in);
  } else {
    out += "null";
  }
  out += ",\n\"strengths\":";
  AppendFindings(out, in.strengths);
  out += ",\n\"improvements\":";
  AppendFindings(out, in.improvements);
  out += ",\n\"data_quality\":";
  AppendQuality(out, in);
  out += "}\n";
  return out;
}

}  // namespace casewatch::inspection
