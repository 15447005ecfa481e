#include "services/inspection/report_json.h"

#include "base/json_writer.h"

namespace casewatch::inspection {
namespace {

// A replay document without its trailing newline, to embed.
std::string Document(const Report& report) {
  std::string json = RenderReportJson(report, nullptr);
  if (!json.empty() && json.back() == '\n') json.pop_back();
  return json;
}

void WriteSettings(JsonWriter& out, const std::vector<PolicySetting>& settings) {
  out.BeginObject();
  for (const PolicySetting& s : settings) out.Key(s.key).String(s.value);
  out.EndObject();
}

void WriteFindings(JsonWriter& out, const std::vector<Finding>& findings) {
  out.BeginArray();
  for (const Finding& f : findings) {
    out.BeginObject().Key("outcome").String(NameOf(f.outcome)).Key("indicator");
    if (f.indicator) {
      out.String(InfoOf(*f.indicator).id);
    } else {
      out.Null();
    }
    out.Key("text").String(f.text).EndObject();
  }
  out.EndArray();
}

template <class Values>
void WriteNumbers(JsonWriter& out, const Values& values) {
  out.BeginArray();
  for (const std::optional<double>& v : values) out.NullableDouble(v);
  out.EndArray();
}

void WriteComparison(JsonWriter& out, const Comparison& c) {
  out.BeginObject();
  out.Key("kind").String(c.kind == Comparison::Kind::kEarlierInspection ? "earlier_inspection"
                                                                        : "other_policy");
  out.Key("label").String(c.label);
  out.Key("baseline").Raw(Document(c.baseline));
  out.Key("indicator_delta");
  WriteNumbers(out, c.indicator_delta);
  out.Key("outcome_delta");
  WriteNumbers(out, c.outcome_delta);
  if (c.kind == Comparison::Kind::kOtherPolicy) {
    out.Key("shifts").BeginArray();
    for (int i = 0; i < kIndicatorCount; ++i) {
      const VerdictShift& s = c.shifts[i];
      out.BeginObject().Key("indicator").String(kIndicators[i].id);
      out.Key("now_met").Int(s.now_met).Key("now_not_met").Int(s.now_not_met);
      out.Key("now_relevant").Int(s.now_relevant).Key("now_irrelevant").Int(s.now_irrelevant);
      out.EndObject();
    }
    out.EndArray();
    out.Key("baseline_settings");
    WriteSettings(out, c.baseline_settings);
    out.Key("current_settings");
    WriteSettings(out, c.current_settings);
  }
  out.EndObject();
}

void WriteSampledCase(JsonWriter& out, const SampledCase& c) {
  out.BeginObject();
  out.Key("case_id").String(c.case_id);
  out.Key("region").String(c.allocation.region).Key("pdu").String(c.allocation.pdu);
  out.Key("team").String(c.allocation.team);
  out.Key("offender_manager").String(c.allocation.offender_manager);
  out.Key("opened").String(FormatDate(c.opened)).Key("closed");
  if (c.closed) {
    out.String(FormatDate(*c.closed));
  } else {
    out.Null();
  }
  out.Key("supervised_days").Int(c.supervised_days);
  out.Key("rosh_level").String(c.rosh_level);
  out.Key("late_records").Int(c.late_records);
  out.Key("well_enough").BeginArray();
  for (const std::optional<bool>& w : c.well_enough) {
    if (w) {
      out.Bool(*w);
    } else {
      out.Null();
    }
  }
  out.EndArray();
  out.Key("outcome_scores");
  WriteNumbers(out, c.outcome_scores);
  out.Key("items").BeginArray();
  for (const CaseItemRow& row : c.items) WriteCaseItem(out, row);
  out.EndArray();
  out.Key("timeline").BeginArray();
  for (const TimelineEntry& e : c.timeline) {
    out.BeginObject().Key("occurred_at").String(FormatInstant(e.occurred_at));
    out.Key("event_id").String(e.event_id).Key("type").String(e.type);
    out.Key("detail").String(e.detail).EndObject();
  }
  out.EndArray().EndObject();
}

void WriteSample(JsonWriter& out, const Inspection& in) {
  const SampleCriteria& criteria = in.draw.criteria;
  out.BeginObject().Key("criteria").BeginObject();
  out.Key("size").Int(criteria.size).Key("seed").Uint(criteria.seed);
  out.Key("started_from").String(FormatDate(criteria.started_from));
  out.Key("started_to").String(FormatDate(criteria.started_to));
  out.Key("min_supervised_days").Int(criteria.min_supervised_days);
  out.EndObject();
  out.Key("eligible").Int(in.draw.eligible);
  out.Key("units").BeginArray();
  for (const UnitDraw& u : in.draw.units) {
    out.BeginObject().Key("pdu").String(u.pdu);
    out.Key("eligible").Int(u.eligible).Key("drawn").Int(u.drawn).EndObject();
  }
  out.EndArray();
  out.Key("report").Raw(Document(in.sample_report));
  out.Key("cases").BeginArray();
  for (const SampledCase& c : in.sample) {
    out.Newline();
    WriteSampledCase(out, c);
  }
  out.EndArray().EndObject();
}

void WriteQuality(JsonWriter& out, const Inspection& in) {
  const DataQuality& q = in.quality;
  out.BeginObject();
  out.Key("accepted").Int(q.accepted).Key("duplicates");
  if (q.duplicates_counted) {
    out.Int(q.duplicates);
  } else {
    out.Null();
  }
  out.Key("rejected").Int(q.rejected);
  out.Key("late_record_days").Int(in.request.late_record_days);
  out.Key("events_in_view").Int(q.events_in_view);
  out.Key("late_records").Int(q.late_records);
  out.Key("recorded_after_as_of").Int(q.recorded_after_as_of);
  out.Key("rejected_reasons").BeginArray();
  for (const RejectedReason& r : q.rejected_reasons) {
    out.BeginObject().Key("reason").String(r.reason).Key("count").Int(r.count);
    out.Key("example").String(r.example).EndObject();
  }
  out.EndArray().EndObject();
}

}  // namespace

std::string RenderInspectionJson(const Inspection& in) {
  const Report& r = in.report;
  JsonWriter out;
  out.BeginObject();
  out.Key("as_of").String(FormatInstant(r.as_of));
  out.Key("period").BeginObject().Key("from");
  if (r.period.from) {
    out.String(FormatDate(*r.period.from));
  } else {
    out.Null();
  }
  out.Key("to").String(FormatDate(r.period.to)).EndObject();
  out.Key("scope").BeginObject();
  out.Key("region").NullableString(r.scope.region).Key("pdu").NullableString(r.scope.pdu);
  out.Key("team").NullableString(r.scope.team);
  out.Key("offender_manager").NullableString(r.scope.offender_manager);
  out.EndObject();
  out.Key("policy").BeginObject().Key("name").String(r.policy_name).Key("settings");
  WriteSettings(out, in.policy_settings);
  out.EndObject();
  out.Key("source").String(in.request.source);
  out.Newline().Key("report").Raw(Document(r));
  out.Newline().Key("outcomes").BeginArray();
  for (int o = 0; o < kOutcomeCount; ++o) {
    const OutcomeScore& s = r.outcomes[o];
    out.BeginObject().Key("id").String(kOutcomeNames[o]);
    out.Key("title").String(TitleOf(static_cast<Outcome>(o)));
    out.Key("score").NullableDouble(s.score).Key("rating");
    if (s.rating) {
      out.String(NameOf(*s.rating));
    } else {
      out.Null();
    }
    out.Key("deltas").BeginArray();
    for (const Comparison& c : in.comparisons) out.NullableDouble(c.outcome_delta[o]);
    out.EndArray().EndObject();
  }
  out.EndArray();
  out.Newline().Key("group_level").String(in.group_level);
  out.Key("groups").BeginArray();
  for (const GroupReport& g : in.groups) {
    out.Newline().BeginObject().Key("name").String(g.name);
    out.Key("report").Raw(Document(g.report)).EndObject();
  }
  out.EndArray();
  out.Newline().Key("monthly").BeginArray();
  for (const Report& m : in.monthly) out.Newline().Raw(Document(m));
  out.EndArray();
  out.Newline().Key("comparisons").BeginArray();
  for (const Comparison& c : in.comparisons) WriteComparison(out, c);
  out.EndArray();
  out.Newline().Key("sample");
  if (in.draw.criteria.size > 0) {
    WriteSample(out, in);
  } else {
    out.Null();
  }
  out.Newline().Key("strengths");
  WriteFindings(out, in.strengths);
  out.Newline().Key("improvements");
  WriteFindings(out, in.improvements);
  out.Newline().Key("data_quality");
  WriteQuality(out, in);
  out.EndObject().Whitespace("\n");
  return out.Take();
}

}  // namespace casewatch::inspection
