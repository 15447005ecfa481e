#include "services/inspection/report_csv.h"

#include <fmt/format.h>

namespace casewatch::inspection {
namespace {

std::string Number(const std::optional<double>& value) {
  return value ? fmt::format("{}", *value) : std::string();
}

// Where a row belongs; the measure and value complete it.
struct Row {
  std::string_view section;
  std::string group;
  std::string period;
  std::string_view outcome;
  std::string_view indicator;
  std::string case_id;
};

class Table {
 public:
  Table() { out_ = "section,group,period,outcome,indicator,case_id,measure,value\n"; }

  void Add(const Row& row, std::string_view measure, std::string_view value) {
    const std::string_view fields[] = {row.section,   row.group,   row.period, row.outcome,
                                       row.indicator, row.case_id, measure,    value};
    bool first = true;
    for (const std::string_view field : fields) {
      if (!first) out_ += ',';
      first = false;
      AppendCsvField(out_, field);
    }
    out_ += '\n';
  }

  // A report's figures: cases, then per indicator its counts, score and whether it rests on too
  // few cases to rate (1 or 0), per outcome its score, rating, base and that mark.
  void AddReport(Row row, const Report& r) {
    Add(row, "cases", fmt::format("{}", r.cases));
    for (int i = 0; i < kIndicatorCount; ++i) {
      const IndicatorScore& s = r.indicators[i];
      row.outcome = NameOf(kIndicators[i].outcome);
      row.indicator = kIndicators[i].id;
      const std::pair<std::string_view, int64_t> counts[] = {{"relevant_cases", s.relevant_cases},
                                                             {"met_cases", s.met_cases},
                                                             {"met", s.items.met},
                                                             {"late", s.items.late},
                                                             {"missed", s.items.missed},
                                                             {"cancelled", s.items.cancelled},
                                                             {"pending", s.items.pending}};
      for (const auto& [measure, value] : counts) Add(row, measure, fmt::format("{}", value));
      Add(row, "score", Number(s.score));
      Add(row, "too_few_cases", s.too_few_cases ? "1" : "0");
    }
    row.indicator = {};
    for (int o = 0; o < kOutcomeCount; ++o) {
      row.outcome = kOutcomeNames[o];
      Add(row, "score", Number(r.outcomes[o].score));
      Add(row, "rating", r.outcomes[o].rating ? NameOf(*r.outcomes[o].rating) : "");
      Add(row, "base", fmt::format("{}", r.outcomes[o].base));
      Add(row, "too_few_cases", r.outcomes[o].too_few_cases ? "1" : "0");
    }
  }

  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string PeriodText(const Period& p) {
  return fmt::format("{}..{}", p.from ? FormatDate(*p.from) : "", FormatDate(p.to));
}

void AddComparison(Table& table, const Comparison& c) {
  Row row{"comparison", c.label, PeriodText(c.baseline.period)};
  table.AddReport(row, c.baseline);
  for (int i = 0; i < kIndicatorCount; ++i) {
    row.outcome = NameOf(kIndicators[i].outcome);
    row.indicator = kIndicators[i].id;
    table.Add(row, "delta", Number(c.indicator_delta[i]));
    if (c.kind != Comparison::Kind::kOtherPolicy) continue;
    const VerdictShift& s = c.shifts[i];
    table.Add(row, "now_met", fmt::format("{}", s.now_met));
    table.Add(row, "now_not_met", fmt::format("{}", s.now_not_met));
    table.Add(row, "now_relevant", fmt::format("{}", s.now_relevant));
    table.Add(row, "now_irrelevant", fmt::format("{}", s.now_irrelevant));
  }
  row.indicator = {};
  for (int o = 0; o < kOutcomeCount; ++o) {
    row.outcome = kOutcomeNames[o];
    table.Add(row, "delta", Number(c.outcome_delta[o]));
  }
}

void AddSampledCase(Table& table, const SampledCase& c) {
  Row row{"sample_case", c.allocation.pdu, FormatDate(c.opened), {}, {}, c.case_id};
  table.Add(row, "team", c.allocation.team);
  table.Add(row, "offender_manager", c.allocation.offender_manager);
  table.Add(row, "closed", c.closed ? FormatDate(*c.closed) : "");
  table.Add(row, "supervised_days", fmt::format("{}", c.supervised_days));
  table.Add(row, "rosh_level", c.rosh_level);
  table.Add(row, "late_records", fmt::format("{}", c.late_records));
  for (int i = 0; i < kIndicatorCount; ++i) {
    if (!c.well_enough[i]) continue;
    row.outcome = NameOf(kIndicators[i].outcome);
    row.indicator = kIndicators[i].id;
    table.Add(row, "well_enough", *c.well_enough[i] ? "true" : "false");
  }
  row.indicator = {};
  for (int o = 0; o < kOutcomeCount; ++o) {
    row.outcome = kOutcomeNames[o];
    table.Add(row, "score", Number(c.outcome_scores[o]));
  }
  Row item_row{"sample_item", {}, {}, {}, {}, c.case_id};
  for (const CaseItemRow& item : c.items) {
    item_row.period = FormatDate(item.item.due);
    item_row.outcome = NameOf(InfoOf(item.item.indicator).outcome);
    item_row.indicator = InfoOf(item.item.indicator).id;
    table.Add(item_row, "status", NameOf(item.item.status));
  }
  Row event_row{"sample_event", {}, {}, {}, {}, c.case_id};
  for (const TimelineEntry& e : c.timeline) {
    event_row.period = FormatInstant(e.occurred_at);
    table.Add(event_row, e.type, e.detail);
  }
}

}  // namespace

std::string RenderInspectionCsv(const Inspection& in) {
  Table table;
  table.AddReport(Row{"report", "", PeriodText(in.report.period)}, in.report);
  for (const GroupReport& g : in.groups) {
    table.AddReport(
        Row{"group", fmt::format("{}={}", in.group_level, g.name), PeriodText(g.report.period)},
        g.report);
  }
  for (const Report& m : in.monthly) table.AddReport(Row{"month", "", PeriodText(m.period)}, m);
  for (const Comparison& c : in.comparisons) AddComparison(table, c);
  if (in.draw.criteria.size > 0) {
    for (const UnitDraw& u : in.draw.units) {
      const Row row{"sample", fmt::format("pdu={}", u.pdu)};
      table.Add(row, "eligible", fmt::format("{}", u.eligible));
      table.Add(row, "drawn", fmt::format("{}", u.drawn));
    }
    table.AddReport(Row{"sample", "", PeriodText(in.sample_report.period)}, in.sample_report);
    for (const SampledCase& c : in.sample) AddSampledCase(table, c);
  }
  for (const auto& [kind, findings] :
       {std::pair{"strength", &in.strengths}, std::pair{"improvement", &in.improvements}}) {
    for (const Finding& f : *findings) {
      table.Add(Row{"finding", "", "", NameOf(f.outcome),
                    f.indicator ? InfoOf(*f.indicator).id : std::string_view()},
                kind, f.text);
    }
  }
  const DataQuality& q = in.quality;
  const Row quality{"data_quality"};
  const std::pair<std::string_view, std::string> figures[] = {
      {"accepted", fmt::format("{}", q.accepted)},
      {"duplicates", q.duplicates_counted ? fmt::format("{}", q.duplicates) : ""},
      {"rejected", fmt::format("{}", q.rejected)},
      {"late_record_days", fmt::format("{}", in.request.late_record_days)},
      {"events_in_view", fmt::format("{}", q.events_in_view)},
      {"late_records", fmt::format("{}", q.late_records)},
      {"recorded_after_as_of", fmt::format("{}", q.recorded_after_as_of)}};
  for (const auto& [measure, value] : figures) table.Add(quality, measure, value);
  for (const RejectedReason& r : q.rejected_reasons) {
    table.Add(quality, "rejected: " + r.reason, fmt::format("{}", r.count));
  }
  return table.Take();
}

}  // namespace casewatch::inspection
