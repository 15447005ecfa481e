#include "services/inspection/report_html.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "projections/report_json.h"

namespace casewatch::inspection {
namespace {

// ---- words and number forms ----

template <typename... Args>
void Emit(std::string& out, fmt::format_string<Args...> format, Args&&... args) {
  fmt::format_to(std::back_inserter(out), format, std::forward<Args>(args)...);
}

// Text for element content or a double-quoted attribute value. Case ids, unit names and rejection
// messages come from the input, so markup characters become references, and the control
// characters HTML forbids become U+FFFD.
std::string Esc(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default: {
        const auto byte = static_cast<unsigned char>(c);
        const bool control = (byte < 0x20 && c != '\n' && c != '\t') || byte == 0x7f;
        if (control) {
          out += "\xEF\xBF\xBD";
        } else {
          out += c;
        }
      }
    }
  }
  return out;
}

// The id of a sampled case's annex section. ASCII letters, digits and '-' stay; every other byte
// becomes _XX, so distinct case ids give distinct ids, and each is safe in an attribute, a URL
// fragment and a CSS selector whatever the case id holds.
std::string CaseAnchor(std::string_view case_id) {
  std::string out = "case-";
  for (char c : case_id) {
    const auto byte = static_cast<unsigned char>(c);
    const bool plain = (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
                       (byte >= '0' && byte <= '9') || byte == '-';
    if (plain) {
      out += c;
    } else {
      Emit(out, "_{:02X}", byte);
    }
  }
  return out;
}

// A relative file path as a URL path: bytes other than unreserved characters and '/' become %XX
// (a space, '#', '?' or '%' in a file name would otherwise change what the link means).
std::string UrlPath(std::string_view path) {
  std::string out;
  for (const char c : path) {
    const auto b = static_cast<unsigned char>(c);
    if (std::isalnum(b) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out += c;
    } else {
      out += fmt::format("%{:02X}", b);
    }
  }
  return out;
}

// Full precision, exactly as the JSON report prints a score ("null" when there is none), so a
// data attribute and the JSON compare as text.
std::string Exact(std::optional<double> value) {
  std::string out;
  AppendJsonNumber(out, value);
  return out;
}

// Whole percentages, as the inspectorate prints them. Rounded half up, as JavaScript's
// Math.round does, so a page and a script reading the same score agree.
std::string Percent(std::optional<double> share) {
  return share ? fmt::format("{}%", std::lround(*share * 100)) : std::string("–");
}

// A rating threshold as a percentage: 65, 67.5.
std::string ThresholdPercent(double threshold) {
  return fmt::format("{:g}%", std::round(threshold * 1000) / 10);
}

// A difference of two scores in percentage points.
std::string Points(std::optional<double> delta) {
  if (!delta) return "–";
  const long points = std::lround(*delta * 100);
  if (points == 0) return "0 pts";
  return fmt::format("{}{} pts", points > 0 ? "+" : "−", std::labs(points));
}

std::string_view DeltaClass(std::optional<double> delta) {
  if (!delta || std::lround(*delta * 100) == 0) return "same";
  return *delta > 0 ? "up" : "down";
}

// 1,234,567: counts are read, not parsed (the data attributes carry them plain).
std::string Count(int64_t n) {
  const std::string digits = fmt::format("{}", n);
  const size_t sign = digits[0] == '-' ? 1 : 0;
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > sign && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

constexpr std::array<std::string_view, 12> kMonthNames = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};

std::string LongDate(Date date) {
  const CivilDate c = CivilFromDate(date);
  return fmt::format("{} {} {}", c.day, kMonthNames[c.month - 1], c.year);
}

std::string MonthOf(Date date) {
  const CivilDate c = CivilFromDate(date);
  return fmt::format("{} {}", kMonthNames[c.month - 1], c.year);
}

std::string PeriodText(const Period& period) {
  return period.from
             ? fmt::format("decided from {} to {}", LongDate(*period.from), LongDate(period.to))
             : fmt::format("decided up to {}", LongDate(period.to));
}

std::string ScopeText(const Scope& scope) {
  std::string out;
  auto add = [&out](std::string_view level, const std::optional<std::string>& value) {
    if (value) Emit(out, "{}{} {}", out.empty() ? "" : ", ", level, *value);
  };
  add("region", scope.region);
  add("PDU", scope.pdu);
  add("team", scope.team);
  add("practitioner", scope.offender_manager);
  return out.empty() ? "all cases" : out;
}

// The place a report is about, for its title: the narrowest unit of the scope.
std::string PlaceOf(const Scope& scope) {
  for (const auto* value : {&scope.offender_manager, &scope.team, &scope.pdu, &scope.region}) {
    if (*value) return **value;
  }
  return "";
}

std::string_view LevelName(std::string_view level) {
  if (level == "region") return "region";
  if (level == "pdu") return "PDU";
  if (level == "team") return "team";
  if (level == "offender_manager") return "practitioner";
  return "unit";
}

std::string_view RatingWord(std::optional<Rating> rating) {
  if (!rating) return "Not rated";
  static constexpr std::array<std::string_view, 4> kWords = {"Outstanding", "Good",
                                                             "Requires improvement", "Inadequate"};
  return kWords[static_cast<int>(*rating)];
}

// The rating's name as the JSON writes it, for data attributes and CSS classes.
std::string_view RatingKey(std::optional<Rating> rating) {
  return rating ? NameOf(*rating) : "null";
}

std::string Badge(std::optional<Rating> rating) {
  return fmt::format(R"(<span class="badge rating-{}">{}</span>)", RatingKey(rating),
                     RatingWord(rating));
}

// The rating, or for a score resting on too few cases (--min-cases) the mark with the base and
// the rating it would have had.
std::string OutcomeBadge(const OutcomeScore& s) {
  if (!s.score || !s.too_few_cases) return Badge(s.rating);
  return fmt::format(
      R"(<span class="badge rating-few">Too few cases to rate</span> )"
      R"(<span class="muted">(n={}; would be {})</span>)",
      s.base, RatingWord(s.rating));
}

// The work each outcome is about, for "Overall, 72% of work to protect the public was done well
// enough." (its titles are projections/labels.h's).
constexpr std::array<std::string_view, kOutcomeCount> kOutcomeWork = {
    "to assist sentencing", "to deliver the sentence of the court", "to reduce reoffending",
    "to protect the public", "to deliver effective work for victims"};

constexpr std::array<Outcome, kOutcomeCount> kOutcomes = {
    Outcome::kSentencing, Outcome::kDelivery, Outcome::kReoffending, Outcome::kPublicProtection,
    Outcome::kVictims};

std::string OutcomeHeading(Outcome outcome) {
  return fmt::format("Outcome {}: {}", static_cast<int>(outcome) + 1, TitleOf(outcome));
}

std::string OutcomeAnchor(Outcome outcome) { return fmt::format("outcome-{}", NameOf(outcome)); }

std::vector<Indicator> IndicatorsOf(std::optional<Outcome> outcome) {
  std::vector<Indicator> out;
  for (int i = 0; i < kIndicatorCount; ++i) {
    if (!outcome || kIndicators[i].outcome == *outcome) out.push_back(static_cast<Indicator>(i));
  }
  return out;
}

std::string_view IdOf(Indicator indicator) { return InfoOf(indicator).id; }

// An event type (its payload's field name) in a reader's words, as the dashboard shows it.
std::string EventWords(std::string_view type) {
  static constexpr std::pair<std::string_view, std::string_view> kWords[] = {
      {"case_opened", "Case opened"},
      {"case_allocated", "Case allocated"},
      {"case_closed", "Case closed"},
      {"pre_sentence_report_completed", "Pre-sentence report"},
      {"assessment_completed", "Assessment completed"},
      {"rosh_screening_completed", "RoSH screening"},
      {"rosh_full_analysis_completed", "RoSH full analysis"},
      {"rosh_classified", "RoSH classified"},
      {"sentence_plan_completed", "Sentence plan"},
      {"risk_management_plan_completed", "Risk management plan"},
      {"registration_added", "Registration added"},
      {"registration_removed", "Registration removed"},
      {"appointment_attended", "Appointment attended"},
      {"appointment_missed", "Appointment missed"},
      {"absence_judged", "Absence judged"},
      {"warning_issued", "Warning issued"},
      {"breach_instigated", "Breach action"},
      {"home_visit_completed", "Home visit"},
      {"management_oversight_recorded", "Management oversight"},
      {"significant_change_recorded", "Significant change"},
      {"safeguarding_check_completed", "Safeguarding check"},
      {"victim_contact_offered", "Victim contact offered"},
      {"further_offence_recorded", "Further offence"},
      {"obligation_missed", "Obligation missed"},
  };
  for (const auto& [name, words] : kWords) {
    if (name == type) return std::string(words);
  }
  return std::string(type);
}

std::string ComparisonHeading(const Comparison& c) {
  return c.kind == Comparison::Kind::kEarlierInspection
             ? fmt::format("Change since {}", LongDate(DateOf(c.baseline.as_of)))
             : fmt::format("Difference under policy “{}”", c.baseline.policy_name);
}

std::string_view KindName(const Comparison& c) {
  return c.kind == Comparison::Kind::kEarlierInspection ? "earlier_inspection" : "other_policy";
}

// ---- tables ----

struct Column {
  std::string text;
  bool numeric = false;
};

// Opens a table with a caption and a header row; `attributes` is trusted markup.
void OpenTable(std::string& out, std::string_view attributes, std::string_view caption,
               const std::vector<Column>& columns) {
  Emit(out, "<table {}>", attributes);
  if (!caption.empty()) Emit(out, "<caption>{}</caption>", Esc(caption));
  out += "<thead><tr>";
  for (const Column& column : columns) {
    Emit(out, R"(<th scope="col"{}>{}</th>)", column.numeric ? R"( class="num")" : "",
         Esc(column.text));
  }
  out += "</tr></thead><tbody>\n";
}

void CloseTable(std::string& out) { out += "</tbody></table>\n"; }

void NumberCell(std::string& out, int64_t n) { Emit(out, R"(<td class="num">{}</td>)", Count(n)); }

void DeltaCell(std::string& out, size_t comparison, std::optional<double> delta) {
  Emit(out, R"(<td class="num delta {}" data-comparison="{}" data-delta="{}">{}</td>)",
       DeltaClass(delta), comparison, Exact(delta), Points(delta));
}

std::vector<Column> WithDeltaColumns(std::vector<Column> columns,
                                     const std::vector<Comparison>& comparisons) {
  for (const Comparison& c : comparisons) columns.push_back({ComparisonHeading(c), true});
  return columns;
}

// The summary table: one row per outcome, with a column per comparison.
void OutcomeTable(std::string& out, const Report& report, std::string_view data_report,
                  std::string_view caption, const std::vector<Comparison>& comparisons) {
  OpenTable(out, fmt::format(R"(class="outcomes" data-report="{}")", data_report), caption,
            WithDeltaColumns({{"Outcome"},
                              {"The proportion of work judged to have been done well enough", true},
                              {"Rating"}},
                             comparisons));
  for (Outcome outcome : kOutcomes) {
    const OutcomeScore& s = report.outcomes[static_cast<int>(outcome)];
    Emit(out,
         R"(<tr data-outcome="{}" data-score="{}" data-rating="{}" data-base="{}" )"
         R"(data-too-few="{}"><th scope="row"><a href="#{}">{}</a></th>)"
         R"(<td class="num score">{}</td><td>{}</td>)",
         NameOf(outcome), Exact(s.score), RatingKey(s.rating), s.base, s.too_few_cases,
         OutcomeAnchor(outcome), Esc(OutcomeHeading(outcome)), Percent(s.score), OutcomeBadge(s));
    for (size_t c = 0; c < comparisons.size(); ++c) {
      DeltaCell(out, c, comparisons[c].outcome_delta[static_cast<int>(outcome)]);
    }
    out += "</tr>\n";
  }
  CloseTable(out);
}

// One row per indicator: its cases and items, with a column per comparison.
void IndicatorTable(std::string& out, const Report& report, std::string_view data_report,
                    std::string_view caption, const std::vector<Indicator>& indicators,
                    const std::vector<Comparison>& comparisons) {
  OpenTable(out, fmt::format(R"(class="indicators" data-report="{}")", data_report), caption,
            WithDeltaColumns({{"Indicator"},
                              {"Relevant cases", true},
                              {"Done well enough", true},
                              {"Score", true},
                              {"Items met", true},
                              {"Late", true},
                              {"Missed", true},
                              {"Cancelled", true},
                              {"Pending", true}},
                             comparisons));
  for (Indicator indicator : indicators) {
    const IndicatorScore& s = report.indicators[static_cast<int>(indicator)];
    Emit(out,
         R"(<tr data-indicator="{}" data-relevant="{}" data-met="{}" data-score="{}" )"
         R"(data-met-items="{}" data-late="{}" data-missed="{}" data-cancelled="{}" )"
         R"(data-pending="{}" data-too-few="{}"><th scope="row">{}{}</th>)",
         IdOf(indicator), s.relevant_cases, s.met_cases, Exact(s.score), s.items.met, s.items.late,
         s.items.missed, s.items.cancelled, s.items.pending, s.too_few_cases,
         Esc(TitleOf(indicator)),
         s.score && s.too_few_cases ? R"( <span class="few">too few cases to rate</span>)" : "");
    for (int64_t n : {s.relevant_cases, s.met_cases}) NumberCell(out, n);
    Emit(out, R"(<td class="num score">{}</td>)", Percent(s.score));
    for (int64_t n :
         {s.items.met, s.items.late, s.items.missed, s.items.cancelled, s.items.pending}) {
      NumberCell(out, n);
    }
    for (size_t c = 0; c < comparisons.size(); ++c) {
      DeltaCell(out, c, comparisons[c].indicator_delta[static_cast<int>(indicator)]);
    }
    out += "</tr>\n";
  }
  CloseTable(out);
}

// Key/value rows, values already marked up.
void FactList(std::string& out, const std::vector<std::pair<std::string, std::string>>& facts) {
  out += R"(<dl class="facts">)";
  for (const auto& [term, value] : facts) Emit(out, "<dt>{}</dt><dd>{}</dd>", Esc(term), value);
  out += "</dl>\n";
}

// ---- charts: inline SVG ----

// A drawn chart and its title, which is also its accessible name.
struct Chart {
  std::string title;
  std::string svg;
};

// Draws one chart as inline SVG: a box in user units (the viewBox) that the page scales to its
// column. Owns the markup until Finish() hands it over with the title; used once. Every text and
// tooltip is escaped here, so callers pass plain words. A mark's <title> is what a browser shows
// on hover and a screen reader reads.
class SvgChart {
 public:
  SvgChart(std::string_view kind, std::optional<Outcome> outcome, std::string_view label,
           double width, double height)
      : title_(label) {
    Emit(out_,
         R"(<svg class="chart" data-chart="{}"{} role="img" aria-label="{}" )"
         R"(viewBox="0 0 {:.0f} {:.0f}" width="{:.0f}" height="{:.0f}">)",
         kind, outcome ? fmt::format(R"( data-outcome="{}")", NameOf(*outcome)) : "", Esc(label),
         width, height, width, height);
  }

  void Rect(double x, double y, double width, double height, std::string_view css,
            std::string_view tip = {}) {
    Emit(out_, R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" class="{}")", x, y,
         std::max(width, 0.0), std::max(height, 0.0), css);
    End("rect", tip);
  }
  void Line(double x1, double y1, double x2, double y2, std::string_view css,
            std::string_view tip = {}) {
    Emit(out_, R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" class="{}")", x1, y1, x2,
         y2, css);
    End("line", tip);
  }
  void Circle(double cx, double cy, double r, std::string_view css, std::string_view tip = {}) {
    Emit(out_, R"(<circle cx="{:.1f}" cy="{:.1f}" r="{:.1f}" class="{}")", cx, cy, r, css);
    End("circle", tip);
  }
  void Path(std::string_view d, std::string_view css) {
    Emit(out_, R"(<path d="{}" class="{}"/>)", d, css);
  }
  void Text(double x, double y, std::string_view text, std::string_view css = {}) {
    Emit(out_, R"(<text x="{:.1f}" y="{:.1f}"{}>{}</text>)", x, y,
         css.empty() ? "" : fmt::format(R"( class="{}")", css), Esc(text));
  }

  Chart Finish() && {
    out_ += "</svg>";
    return Chart{std::move(title_), std::move(out_)};
  }

 private:
  void End(std::string_view tag, std::string_view tip) {
    if (tip.empty()) {
      out_ += "/>";
    } else {
      Emit(out_, "><title>{}</title></{}>", Esc(tip), tag);
    }
  }

  std::string title_;
  std::string out_;
};

// The policy's rating bands on a 0–1 scale, lowest first.
struct Band {
  double from;
  double to;
  Rating rating;
};

std::array<Band, 4> BandsOf(const Policy& p) {
  return {{{0, p.rating_requires_improvement, Rating::kInadequate},
           {p.rating_requires_improvement, p.rating_good, Rating::kRequiresImprovement},
           {p.rating_good, p.rating_outstanding, Rating::kGood},
           {p.rating_outstanding, 1, Rating::kOutstanding}}};
}

std::string BandTip(const Band& band) {
  return fmt::format("{}: {} to {}", RatingWord(band.rating), ThresholdPercent(band.from),
                     ThresholdPercent(band.to));
}

std::string BandLegend(const Policy& p) {
  std::string out = R"(<span class="legend">)";
  for (const Band& band : BandsOf(p)) {
    Emit(out, R"(<span class="key band-{}"></span>{} )", NameOf(band.rating), Esc(BandTip(band)));
  }
  return out + "</span>";
}

// Charts with one labelled row per thing, on a 0–100% scale from kLeft to kLeft + kPlot.
struct Rows {
  static constexpr double kWidth = 820;
  static constexpr double kLeft = 330;
  static constexpr double kPlot = 400;
  static constexpr double kTop = 28;
  static constexpr double kRow = 24;
  static constexpr double kBar = 14;

  static double X(double share) { return kLeft + kPlot * std::clamp(share, 0.0, 1.0); }
  static double Top(size_t row) { return kTop + kRow * static_cast<double>(row); }
  static double Middle(size_t row) { return Top(row) + kRow / 2; }
  static double Height(size_t rows) { return Top(rows) + 6; }

  // A chart with the row labels drawn.
  static SvgChart Open(std::string_view kind, std::optional<Outcome> outcome,
                       std::string_view label, const std::vector<std::string>& row_labels) {
    SvgChart chart(kind, outcome, label, kWidth, Height(row_labels.size()));
    for (size_t row = 0; row < row_labels.size(); ++row) {
      chart.Text(kLeft - 8, Middle(row) + 4, row_labels[row], "end");
    }
    return chart;
  }
};

// A score to show as a bar, with an optional second score shown as a mark across it.
struct ScoreRow {
  std::string label;
  std::optional<double> score;
  std::optional<double> mark;
  std::string detail;  // what the score is made of, for its tooltip
};

// Bars on the policy's rating bands, each coloured by its own rating: the inspectorate's thresholds
// are visible behind every score.
Chart ScoreBarChart(std::string_view kind, std::optional<Outcome> outcome, std::string_view label,
                    const std::vector<ScoreRow>& rows, const Policy& policy,
                    std::string_view mark_name) {
  std::vector<std::string> labels;
  for (const ScoreRow& row : rows) labels.push_back(row.label);
  SvgChart chart = Rows::Open(kind, outcome, label, labels);
  const double bottom = Rows::Top(rows.size());
  for (const Band& band : BandsOf(policy)) {
    chart.Rect(Rows::X(band.from), Rows::kTop, Rows::X(band.to) - Rows::X(band.from),
               bottom - Rows::kTop, fmt::format("band band-{}", NameOf(band.rating)),
               BandTip(band));
    if (band.from > 0) {
      chart.Line(Rows::X(band.from), Rows::kTop - 6, Rows::X(band.from), bottom, "threshold");
      chart.Text(Rows::X(band.from), Rows::kTop - 10, ThresholdPercent(band.from), "mid muted");
    }
  }
  chart.Text(Rows::X(0), Rows::kTop - 10, "0%", "mid muted");
  chart.Text(Rows::X(1), Rows::kTop - 10, "100%", "mid muted");
  for (size_t i = 0; i < rows.size(); ++i) {
    const ScoreRow& row = rows[i];
    const double y = Rows::Middle(i);
    if (row.score) {
      const Rating rating = RatingFor(*row.score, policy);
      chart.Rect(Rows::X(0), y - Rows::kBar / 2, Rows::X(*row.score) - Rows::X(0), Rows::kBar,
                 fmt::format("bar rating-{}", NameOf(rating)),
                 fmt::format("{}: {} ({}){}", row.label, Percent(row.score), RatingWord(rating),
                             row.detail.empty() ? "" : ", " + row.detail));
      chart.Text(Rows::X(1) + 8, y + 4, Percent(row.score));
    } else {
      chart.Text(Rows::X(0) + 6, y + 4, "no relevant cases", "muted");
    }
    if (row.mark) {
      chart.Line(Rows::X(*row.mark), y - Rows::kBar, Rows::X(*row.mark), y + Rows::kBar, "mark",
                 fmt::format("{} {}: {}", row.label, mark_name, Percent(row.mark)));
    }
  }
  return std::move(chart).Finish();
}

constexpr std::array<ItemStatus, 5> kStatuses = {ItemStatus::kMet, ItemStatus::kLate,
                                                 ItemStatus::kMissed, ItemStatus::kCancelled,
                                                 ItemStatus::kPending};

std::string_view StatusWord(ItemStatus status) {
  static constexpr std::array<std::string_view, 5> kWords = {"Met", "Late", "Missed", "Cancelled",
                                                             "Pending"};
  return kWords[static_cast<int>(status)];
}

int64_t CountOf(const ItemCounts& items, ItemStatus status) {
  switch (status) {
    case ItemStatus::kMet:
      return items.met;
    case ItemStatus::kLate:
      return items.late;
    case ItemStatus::kMissed:
      return items.missed;
    case ItemStatus::kCancelled:
      return items.cancelled;
    case ItemStatus::kPending:
      return items.pending;
  }
  return 0;
}

// One bar per indicator split by the status of its items: how much was done on time, late, or
// not at all.
Chart ItemStatusChart(Outcome outcome, const Report& report) {
  const std::vector<Indicator> indicators = IndicatorsOf(outcome);
  std::vector<std::string> labels;
  for (Indicator indicator : indicators) labels.emplace_back(TitleOf(indicator));
  SvgChart chart = Rows::Open("item-statuses", outcome,
                              fmt::format("{}: items by status", TitleOf(outcome)), labels);
  for (size_t s = 0; s < kStatuses.size(); ++s) {
    const double x = Rows::kLeft + static_cast<double>(s) * 80;
    chart.Rect(x, 6, 10, 10, fmt::format("seg st-{}", NameOf(kStatuses[s])));
    chart.Text(x + 14, 15, StatusWord(kStatuses[s]));
  }
  for (size_t i = 0; i < indicators.size(); ++i) {
    const ItemCounts& items = report.indicators[static_cast<int>(indicators[i])].items;
    int64_t total = 0;
    for (ItemStatus status : kStatuses) total += CountOf(items, status);
    const double y = Rows::Middle(i);
    if (total == 0) {
      chart.Text(Rows::X(0) + 6, y + 4, "no items", "muted");
      continue;
    }
    int64_t before = 0;
    for (ItemStatus status : kStatuses) {
      const int64_t n = CountOf(items, status);
      if (n == 0) continue;
      const double x = Rows::X(static_cast<double>(before) / static_cast<double>(total));
      before += n;
      chart.Rect(x, y - Rows::kBar / 2,
                 Rows::X(static_cast<double>(before) / static_cast<double>(total)) - x, Rows::kBar,
                 fmt::format("seg st-{}", NameOf(status)),
                 fmt::format("{}: {} {}", labels[i], Count(n), StatusWord(status)));
    }
    chart.Text(Rows::X(1) + 8, y + 4, fmt::format("{} items", Count(total)));
  }
  return std::move(chart).Finish();
}

// The outcome's score month by month on the rating bands; a month with no relevant cases leaves a
// gap in the line.
Chart TrendChart(Outcome outcome, const std::vector<Report>& monthly, const Policy& policy) {
  constexpr double kWidth = 820, kHeight = 220, kLeft = 48, kRight = 16, kTop = 12, kBottom = 44;
  constexpr double kPlotWidth = kWidth - kLeft - kRight, kPlotHeight = kHeight - kTop - kBottom;
  const auto x = [&monthly](size_t i) {
    return kLeft +
           kPlotWidth * (static_cast<double>(i) + 0.5) / static_cast<double>(monthly.size());
  };
  const auto y = [](double share) {
    return kTop + kPlotHeight * (1 - std::clamp(share, 0.0, 1.0));
  };
  SvgChart chart("trend", outcome, fmt::format("{}: the score month by month", TitleOf(outcome)),
                 kWidth, kHeight);
  for (const Band& band : BandsOf(policy)) {
    chart.Rect(kLeft, y(band.to), kPlotWidth, y(band.from) - y(band.to),
               fmt::format("band band-{}", NameOf(band.rating)), BandTip(band));
    chart.Text(kLeft - 6, y(band.from) + 4, ThresholdPercent(band.from), "end muted");
  }
  chart.Text(kLeft - 6, y(1) + 4, "100%", "end muted");
  std::string line;
  bool joined = false;  // a month without a score breaks the line
  for (size_t i = 0; i < monthly.size(); ++i) {
    const CivilDate month = CivilFromDate(monthly[i].period.to);
    chart.Text(x(i), kHeight - kBottom + 16, kMonthNames[month.month - 1].substr(0, 3),
               "mid muted");
    if (i == 0 || month.month == 1) {
      chart.Text(x(i), kHeight - kBottom + 31, fmt::format("{}", month.year), "mid muted");
    }
    const std::optional<double> score = monthly[i].outcomes[static_cast<int>(outcome)].score;
    if (score) Emit(line, "{}{:.1f},{:.1f} ", joined ? "L" : "M", x(i), y(*score));
    joined = score.has_value();
  }
  if (!line.empty()) chart.Path(line, "trend-line");
  for (size_t i = 0; i < monthly.size(); ++i) {
    const OutcomeScore& s = monthly[i].outcomes[static_cast<int>(outcome)];
    if (!s.score) continue;
    chart.Circle(x(i), y(*s.score), 4, fmt::format("point rating-{}", RatingKey(s.rating)),
                 fmt::format("{}: {} ({})", MonthOf(monthly[i].period.to), Percent(s.score),
                             RatingWord(s.rating)));
  }
  return std::move(chart).Finish();
}

void Figure(std::string& out, const Chart& chart, std::string_view caption_html) {
  Emit(out, R"(<figure><h4 class="figure-title">{}</h4>{}<figcaption>{}</figcaption></figure>)",
       Esc(chart.title), chart.svg, caption_html);
  out += '\n';
}

const Comparison* EarlierInspection(const Inspection& in) {
  for (const Comparison& c : in.comparisons) {
    if (c.kind == Comparison::Kind::kEarlierInspection) return &c;
  }
  return nullptr;
}

std::vector<ScoreRow> OutcomeRows(const Report& report, const Report* marks) {
  std::vector<ScoreRow> rows;
  for (Outcome outcome : kOutcomes) {
    const int o = static_cast<int>(outcome);
    rows.push_back({std::string(TitleOf(outcome)), report.outcomes[o].score,
                    marks ? marks->outcomes[o].score : std::nullopt, ""});
  }
  return rows;
}

std::vector<ScoreRow> IndicatorRows(const Report& report, const std::vector<Indicator>& indicators,
                                    const Report* marks) {
  std::vector<ScoreRow> rows;
  for (Indicator indicator : indicators) {
    const IndicatorScore& s = report.indicators[static_cast<int>(indicator)];
    rows.push_back({std::string(TitleOf(indicator)), s.score,
                    marks ? marks->indicators[static_cast<int>(indicator)].score : std::nullopt,
                    fmt::format("{} of {} cases", Count(s.met_cases), Count(s.relevant_cases))});
  }
  return rows;
}

// ---- the document ----

// The body as it is written, and its sections for the table of contents.
struct Body {
  std::string html;
  std::vector<std::pair<std::string, std::string>> contents;  // anchor, heading

  void OpenSection(std::string_view anchor, std::string_view heading, std::string_view css = {}) {
    contents.emplace_back(anchor, heading);
    Emit(html, R"(<section id="{}"{}><h2>{}</h2>)", anchor,
         css.empty() ? "" : fmt::format(R"( class="{}")", css), Esc(heading));
    html += '\n';
  }
  void CloseSection() { html += "</section>\n"; }
};

std::string ReportTitle(const Inspection& in) {
  const std::string place = PlaceOf(in.request.scope);
  return place.empty() ? "Inspection of probation case work"
                       : fmt::format("Inspection of probation case work in {}", place);
}

void Summary(Body& body, const Inspection& in) {
  body.OpenSection("summary", "Summary");
  Emit(body.html,
       "<p>We judged the work recorded in {} cases ({}) against the standards of policy "
       "“{}”: for each indicator, the proportion of relevant cases in which every obligation "
       "{} was met on time.</p>\n",
       Count(in.report.cases), Esc(ScopeText(in.request.scope)), Esc(in.request.policy.name),
       Esc(PeriodText(in.request.period)));
  OutcomeTable(body.html, in.report, "scope", "", in.comparisons);
  const Comparison* earlier = EarlierInspection(in);
  Figure(body.html,
         ScoreBarChart("outcome-scores", std::nullopt,
                       "How often the work of each outcome was done well enough",
                       OutcomeRows(in.report, earlier ? &earlier->baseline : nullptr),
                       in.request.policy, "earlier"),
         fmt::format("Each outcome's score on the policy's rating bands{}. {}",
                     earlier ? "; the black mark is the score " + Esc(earlier->label) : "",
                     BandLegend(in.request.policy)));
  body.CloseSection();
}

void FindingList(std::string& out, std::string_view heading, const std::vector<Finding>& findings,
                 Outcome outcome) {
  Emit(out, "<div><h4>{}</h4>", Esc(heading));
  std::string items;
  for (const Finding& f : findings) {
    if (f.outcome != outcome) continue;
    Emit(items, R"(<li{}>{}</li>)",
         f.indicator ? fmt::format(R"( data-indicator="{}")", IdOf(*f.indicator)) : "",
         Esc(f.text));
  }
  out += items.empty() ? R"(<p class="muted">None identified.</p>)" : "<ol>" + items + "</ol>";
  out += "</div>";
}

void Findings(Body& body, const Inspection& in) {
  body.OpenSection("findings", "Key strengths and areas for improvement");
  bool any = false;
  for (Outcome outcome : kOutcomes) {
    const auto about = [outcome](const Finding& f) { return f.outcome == outcome; };
    if (std::none_of(in.strengths.begin(), in.strengths.end(), about) &&
        std::none_of(in.improvements.begin(), in.improvements.end(), about)) {
      continue;
    }
    any = true;
    Emit(body.html, R"(<h3><a href="#{}">{}</a></h3><div class="findings">)",
         OutcomeAnchor(outcome), Esc(OutcomeHeading(outcome)));
    FindingList(body.html, "Key strengths", in.strengths, outcome);
    FindingList(body.html, "Areas for improvement", in.improvements, outcome);
    body.html += "</div>\n";
  }
  if (!any) body.html += "<p>No indicator stood out as a strength or a weakness.</p>\n";
  body.CloseSection();
}

// "The strongest area was …; the weakest was …", from the indicators with relevant cases.
std::string Extremes(const Report& report, Outcome outcome) {
  std::optional<Indicator> best, worst;
  for (Indicator i : IndicatorsOf(outcome)) {
    const auto& score = report.indicators[static_cast<int>(i)].score;
    if (!score) continue;
    if (!best || *score > *report.indicators[static_cast<int>(*best)].score) best = i;
    if (!worst || *score < *report.indicators[static_cast<int>(*worst)].score) worst = i;
  }
  if (!best || *best == *worst) return "";
  return fmt::format(" The strongest work was {} ({}); the weakest, {} ({}).", Esc(TitleOf(*best)),
                     Percent(report.indicators[static_cast<int>(*best)].score),
                     Esc(TitleOf(*worst)),
                     Percent(report.indicators[static_cast<int>(*worst)].score));
}

void OutcomeSection(Body& body, const Inspection& in, Outcome outcome) {
  const int o = static_cast<int>(outcome);
  const OutcomeScore& score = in.report.outcomes[o];
  const Policy& policy = in.request.policy;
  body.OpenSection(OutcomeAnchor(outcome), OutcomeHeading(outcome), "outcome");
  if (score.score) {
    Emit(body.html,
         R"(<p class="headline">Overall, {} of work {} was done well enough.</p>)"
         "\n<p>Rating: {}.{}</p>\n",
         Percent(score.score), kOutcomeWork[o], OutcomeBadge(score), Extremes(in.report, outcome));
  } else {
    Emit(body.html,
         R"(<p class="headline">No work {} was decided in the period, so it is not rated.</p>)"
         "\n",
         kOutcomeWork[o]);
  }
  const std::vector<Indicator> indicators = IndicatorsOf(outcome);
  IndicatorTable(body.html, in.report, "scope",
                 fmt::format("The indicators of {}", TitleOf(outcome)), indicators, in.comparisons);
  const Comparison* earlier = EarlierInspection(in);
  Figure(body.html,
         ScoreBarChart("indicator-scores", outcome,
                       fmt::format("{}: how often each indicator's work was done well enough",
                                   TitleOf(outcome)),
                       IndicatorRows(in.report, indicators, earlier ? &earlier->baseline : nullptr),
                       policy, "earlier"),
         fmt::format("Each indicator's score{}. {}",
                     earlier ? "; the black mark is its score " + Esc(earlier->label) : "",
                     BandLegend(policy)));
  Figure(body.html, ItemStatusChart(outcome, in.report),
         "Every item decided in the period, and those still pending, by status.");
  if (!in.monthly.empty()) {
    Figure(
        body.html, TrendChart(outcome, in.monthly, policy),
        fmt::format("The outcome's score for the decisions of each month. {}", BandLegend(policy)));
  }
  if (!in.groups.empty()) {
    std::vector<ScoreRow> rows;
    for (const GroupReport& group : in.groups) {
      rows.push_back({group.name, group.report.outcomes[o].score, std::nullopt,
                      fmt::format("{} cases", Count(group.report.cases))});
    }
    Figure(body.html,
           ScoreBarChart("units", outcome,
                         fmt::format("{} by {}", TitleOf(outcome), LevelName(in.group_level)), rows,
                         policy, ""),
           fmt::format("The outcome's score in each {}.", LevelName(in.group_level)));
  }
  body.CloseSection();
}

void UnitsSection(Body& body, const Inspection& in) {
  if (in.groups.empty()) return;
  const std::string_view level = LevelName(in.group_level);
  body.OpenSection("units", fmt::format("By {}", level));
  std::vector<Column> columns = {{std::string(level)}, {"Cases", true}};
  for (Outcome outcome : kOutcomes) columns.push_back({std::string(TitleOf(outcome)), true});
  OpenTable(body.html, R"(class="units" data-report="groups")", "", columns);
  for (const GroupReport& group : in.groups) {
    Emit(body.html, R"(<tr data-group="{}" data-cases="{}"><th scope="row">{}</th>)",
         Esc(group.name), group.report.cases, Esc(group.name));
    NumberCell(body.html, group.report.cases);
    for (Outcome outcome : kOutcomes) {
      const OutcomeScore& s = group.report.outcomes[static_cast<int>(outcome)];
      Emit(body.html,
           R"(<td class="num cell rating-{}" data-outcome="{}" data-score="{}" )"
           R"(data-rating="{}" title="{}">{}</td>)",
           RatingKey(s.rating), NameOf(outcome), Exact(s.score), RatingKey(s.rating),
           RatingWord(s.rating), Percent(s.score));
    }
    body.html += "</tr>\n";
  }
  CloseTable(body.html);
  body.CloseSection();
}

// The two sides of a comparison in reading order: an earlier inspection then this one, or this
// inspection's policy then the other. The comparison's deltas are the second minus the first.
struct Sides {
  bool baseline_first;
  std::string first;
  std::string second;
};

Sides SidesOf(const Inspection& in, const Comparison& c) {
  if (c.kind == Comparison::Kind::kEarlierInspection) {
    return {true, fmt::format("As of {}", LongDate(DateOf(c.baseline.as_of))),
            fmt::format("As of {}", LongDate(DateOf(in.request.as_of)))};
  }
  return {false, fmt::format("Policy “{}”", in.request.policy.name),
          fmt::format("Policy “{}”", c.baseline.policy_name)};
}

// A row setting one score of the baseline against the inspection's; the caller adds any further
// cells and ends the row.
void ComparisonRow(std::string& out, std::string_view attributes, std::string_view title,
                   const Sides& sides, std::optional<double> baseline,
                   std::optional<double> current, std::optional<double> delta) {
  const auto [first, second] =
      sides.baseline_first ? std::pair(baseline, current) : std::pair(current, baseline);
  Emit(out,
       R"(<tr {} data-baseline-score="{}" data-score="{}" data-delta="{}"><th scope="row">{}</th>)"
       R"(<td class="num">{}</td><td class="num">{}</td><td class="num delta {}">{}</td>)",
       attributes, Exact(baseline), Exact(current), Exact(delta), Esc(title), Percent(first),
       Percent(second), DeltaClass(delta), Points(delta));
}

void PolicyDifferences(std::string& out, const Inspection& in, const Comparison& c) {
  if (c.current_settings.empty()) {
    out += "<p>The two policies set every standard alike.</p>\n";
    return;
  }
  OpenTable(out, R"(class="settings" data-report="policy-differences")",
            "The standards that differ",
            {{"Setting"},
             {fmt::format("This inspection (“{}”)", in.request.policy.name), true},
             {fmt::format("“{}”", c.baseline.policy_name), true}});
  for (size_t i = 0; i < c.current_settings.size() && i < c.baseline_settings.size(); ++i) {
    Emit(out,
         R"(<tr data-setting="{}"><th scope="row"><code>{}</code></th>)"
         R"(<td class="num">{}</td><td class="num">{}</td></tr>)",
         Esc(c.current_settings[i].key), Esc(c.current_settings[i].key),
         Esc(c.current_settings[i].value), Esc(c.baseline_settings[i].value));
  }
  CloseTable(out);
}

std::string ComparisonIntro(const Inspection& in, const Comparison& c) {
  if (c.kind == Comparison::Kind::kEarlierInspection) {
    return fmt::format(
        "<p>The previous inspection: the same scope and policy as the records stood at {}, with "
        "the decisions {}. It counted {} cases. A difference is now minus then.</p>\n",
        Esc(FormatInstant(c.baseline.as_of)), Esc(PeriodText(c.baseline.period)),
        Count(c.baseline.cases));
  }
  return fmt::format(
      "<p>The same cases, dates and period judged under policy “{}” instead of “{}”: what would "
      "change if that were the standard. A difference is the score under “{}” minus this "
      "inspection's, and the case counts say how many cases' verdicts would move.</p>\n",
      Esc(c.baseline.policy_name), Esc(in.request.policy.name), Esc(c.baseline.policy_name));
}

void ComparisonSection(Body& body, const Inspection& in, size_t index) {
  const Comparison& c = in.comparisons[index];
  const bool policy = c.kind == Comparison::Kind::kOtherPolicy;
  const Sides sides = SidesOf(in, c);
  std::string& out = body.html;
  body.OpenSection(fmt::format("comparison-{}", index), fmt::format("Comparison {}", c.label),
                   "comparison");
  out += ComparisonIntro(in, c);
  if (policy) PolicyDifferences(out, in, c);
  const std::string attributes =
      fmt::format(R"(data-comparison="{}" data-kind="{}")", index, KindName(c));
  OpenTable(out, fmt::format(R"(class="comparison-outcomes" {})", attributes), "Outcomes",
            {{"Outcome"}, {sides.first, true}, {sides.second, true}, {"Difference", true}});
  for (Outcome outcome : kOutcomes) {
    const int o = static_cast<int>(outcome);
    ComparisonRow(out, fmt::format(R"(data-outcome="{}")", NameOf(outcome)),
                  OutcomeHeading(outcome), sides, c.baseline.outcomes[o].score,
                  in.report.outcomes[o].score, c.outcome_delta[o]);
    out += "</tr>\n";
  }
  CloseTable(out);
  std::vector<Column> columns = {
      {"Indicator"}, {sides.first, true}, {sides.second, true}, {"Difference", true}};
  if (policy) {
    const std::string other = fmt::format("“{}”", c.baseline.policy_name);
    const std::string ours = fmt::format("“{}”", in.request.policy.name);
    for (const std::string& column :
         {"Cases done well enough only under " + other, "Cases done well enough only under " + ours,
          "Cases relevant only under " + other, "Cases relevant only under " + ours}) {
      columns.push_back({column, true});
    }
  }
  OpenTable(out, fmt::format(R"(class="comparison-indicators" {})", attributes), "Indicators",
            columns);
  for (Indicator indicator : IndicatorsOf(std::nullopt)) {
    const int i = static_cast<int>(indicator);
    const VerdictShift& shift = c.shifts[i];
    ComparisonRow(out,
                  policy ? fmt::format(R"(data-indicator="{}" data-now-met="{}" )"
                                       R"(data-now-not-met="{}" data-now-relevant="{}" )"
                                       R"(data-now-irrelevant="{}")",
                                       IdOf(indicator), shift.now_met, shift.now_not_met,
                                       shift.now_relevant, shift.now_irrelevant)
                         : fmt::format(R"(data-indicator="{}")", IdOf(indicator)),
                  TitleOf(indicator), sides, c.baseline.indicators[i].score,
                  in.report.indicators[i].score, c.indicator_delta[i]);
    if (policy) {
      for (int64_t n :
           {shift.now_met, shift.now_not_met, shift.now_relevant, shift.now_irrelevant}) {
        NumberCell(out, n);
      }
    }
    out += "</tr>\n";
  }
  CloseTable(out);
  const Report& first = sides.baseline_first ? c.baseline : in.report;
  const Report& second = sides.baseline_first ? in.report : c.baseline;
  Figure(out,
         ScoreBarChart("comparison", std::nullopt, fmt::format("Indicator scores {}", c.label),
                       IndicatorRows(second, IndicatorsOf(std::nullopt), &first), in.request.policy,
                       sides.first),
         fmt::format("Bars: {}; black marks: {}. {}", Esc(sides.second), Esc(sides.first),
                     BandLegend(in.request.policy)));
  body.CloseSection();
}

std::string AllocationText(const Allocation& a) {
  std::string out;
  for (const std::string* part : {&a.region, &a.pdu, &a.team}) {
    if (!part->empty()) out += (out.empty() ? "" : " › ") + *part;
  }
  return out;
}

void JudgementCell(std::string& out, const SampledCase& c, Outcome outcome) {
  int relevant = 0, met = 0;
  std::string tip;
  for (Indicator indicator : IndicatorsOf(outcome)) {
    const std::optional<bool> well = c.well_enough[static_cast<int>(indicator)];
    if (!well) continue;
    ++relevant;
    met += *well ? 1 : 0;
    Emit(tip, "{}{} {}", tip.empty() ? "" : "; ", *well ? "✓" : "✗", TitleOf(indicator));
  }
  const std::string_view css = relevant == 0 ? "none" : met == relevant ? "all" : "short";
  Emit(out, R"(<td class="num judgement {}" data-outcome="{}" data-score="{}" title="{}">{}</td>)",
       css, NameOf(outcome), Exact(c.outcome_scores[static_cast<int>(outcome)]), Esc(tip),
       relevant == 0 ? std::string("–") : fmt::format("{} of {}", met, relevant));
}

// `cases_href`: the case records' document, or empty when they are this document's annex.
void SampleSection(Body& body, const Inspection& in, std::string_view cases_href) {
  if (in.sample.empty()) return;
  const SampleCriteria& criteria = in.draw.criteria;
  std::string& out = body.html;
  body.OpenSection("sample", "Annex: the case sample");
  Emit(out,
       "<p>As an inspectorate does, we drew a sample of cases to read in full: {} of the {} cases "
       "that started between {} and {} and had been supervised for at least {} days by {}, "
       "spread across PDUs in proportion to their eligible cases, in an order fixed "
       "by seed {}. Each case is judged on its whole supervision to that date: an indicator is "
       "done well enough when every decided item was met.</p>\n",
       Count(static_cast<int64_t>(in.sample.size())), Count(in.draw.eligible),
       LongDate(criteria.started_from), LongDate(criteria.started_to), criteria.min_supervised_days,
       LongDate(DateOf(in.request.as_of)), criteria.seed);
  OpenTable(out, R"(class="draw" data-report="draw")", "The draw by PDU",
            {{"PDU"}, {"Eligible cases", true}, {"Drawn", true}});
  for (const UnitDraw& unit : in.draw.units) {
    Emit(out, R"(<tr data-unit="{}" data-eligible="{}" data-drawn="{}"><th scope="row">{}</th>)",
         Esc(unit.pdu), unit.eligible, unit.drawn, Esc(unit.pdu));
    for (int64_t n : {unit.eligible, unit.drawn}) NumberCell(out, n);
    out += "</tr>\n";
  }
  CloseTable(out);
  OutcomeTable(out, in.sample_report, "sample", "The sample's outcome scores", {});
  Figure(out,
         ScoreBarChart("sample-outcomes", std::nullopt, "The sample against every case in scope",
                       OutcomeRows(in.sample_report, &in.report), in.request.policy,
                       "in the whole scope"),
         fmt::format("Bars: the sample; black marks: every case in scope. {}",
                     BandLegend(in.request.policy)));
  IndicatorTable(out, in.sample_report, "sample", "The sample's indicators",
                 IndicatorsOf(std::nullopt), {});
  std::vector<Column> columns = {{"Case"},   {"Allocation"}, {"Practitioner"},
                                 {"Opened"}, {"Closed"},     {"Days supervised", true},
                                 {"RoSH"}};
  for (Outcome outcome : kOutcomes)
    columns.push_back({std::string(ShortTitleOf(outcome)), true});
  if (!cases_href.empty()) {
    Emit(out,
         R"(<p>Each sampled case's record — its events in case order and every item its )"
         R"(indicators made — is in <a class="cases-file" href="{}">a document of its own</a>; )"
         R"(a case's id below opens its record.</p>)",
         Esc(cases_href));
    out += '\n';
  }
  OpenTable(out, R"(class="cases" id="sample-cases" data-report="sample-cases")",
            "The cases sampled: indicators done well enough of those that applied", columns);
  for (const SampledCase& c : in.sample) {
    Emit(
        out,
        R"(<tr data-case="{}"><th scope="row"><a href="{}#{}">{}</a></th><td>{}</td><td>{}</td>)"
        R"(<td class="nowrap">{}</td><td class="nowrap">{}</td><td class="num">{}</td><td>{}</td>)",
        Esc(c.case_id), Esc(cases_href), CaseAnchor(c.case_id), Esc(c.case_id),
        Esc(AllocationText(c.allocation)),
        Esc(c.allocation.offender_manager), FormatDate(c.opened),
        c.closed ? FormatDate(*c.closed) : "open", Count(c.supervised_days),
        c.rosh_level.empty() ? "–" : Esc(c.rosh_level));
    for (Outcome outcome : kOutcomes) JudgementCell(out, c, outcome);
    out += "</tr>\n";
  }
  CloseTable(out);
  body.CloseSection();
}

// `report_href`: the report holding the sample's table, or empty when it is this document.
void CaseRecord(std::string& out, const SampledCase& c, std::string_view report_href) {
  Emit(out, R"(<article class="case" id="{}" data-case="{}"><h3>Case {}</h3>)",
       CaseAnchor(c.case_id), Esc(c.case_id), Esc(c.case_id));
  FactList(out,
           {{"Allocation", Esc(AllocationText(c.allocation))},
            {"Practitioner", Esc(c.allocation.offender_manager)},
            {"Opened", LongDate(c.opened)},
            {"Closed", c.closed ? LongDate(*c.closed) : "open at the as-of date"},
            {"Days supervised", Count(c.supervised_days)},
            {"Risk of serious harm", c.rosh_level.empty() ? "not classified" : Esc(c.rosh_level)},
            {"Records made late", Count(c.late_records)}});
  out += R"(<ul class="judgements">)";
  for (Indicator indicator : IndicatorsOf(std::nullopt)) {
    const std::optional<bool> well = c.well_enough[static_cast<int>(indicator)];
    if (!well) continue;
    Emit(out, R"(<li class="{}" data-indicator="{}" data-well-enough="{}">{} {}</li>)",
         *well ? "yes" : "no", IdOf(indicator), *well, *well ? "✓" : "✗", Esc(TitleOf(indicator)));
  }
  out += "</ul>\n";
  OpenTable(out, R"(class="timeline")", "Events",
            {{"Occurred"}, {"Event"}, {"Detail"}, {"Event id"}});
  for (const TimelineEntry& e : c.timeline) {
    Emit(out,
         R"(<tr data-event="{}" data-type="{}"><td class="nowrap">{}</td><td>{}</td><td>{}</td>)"
         R"(<td><code>{}</code></td></tr>)",
         Esc(e.event_id), Esc(e.type), FormatInstant(e.occurred_at), Esc(EventWords(e.type)),
         Esc(e.detail), Esc(e.event_id));
    out += '\n';
  }
  CloseTable(out);
  // When the work was done: the fulfilling event's date (after the decision date for a late item).
  std::map<std::string_view, Date> done_on;
  for (const TimelineEntry& e : c.timeline) done_on.emplace(e.event_id, DateOf(e.occurred_at));
  OpenTable(out, R"(class="items")", "Items",
            {{"Indicator"}, {"Due"}, {"Status"}, {"Completed on"}, {"Fulfilled by"}});
  for (const CaseItemRow& row : c.items) {
    const Item& item = row.item;
    const auto done = item.fulfilled_by >= 0 ? done_on.find(row.fulfilled_by) : done_on.end();
    const CheckLabel* check = CheckLabelOf(item.indicator, item.detail);
    Emit(out,
         R"(<tr data-indicator="{}" data-status="{}"><td>{}</td><td class="nowrap">{}</td>)"
         R"(<td class="st-{}">{}</td><td class="nowrap">{}</td><td><code>{}</code></td></tr>)",
         IdOf(item.indicator), NameOf(item.status),
         check == nullptr ? Esc(TitleOf(item.indicator))
                          : Esc(fmt::format("{}: {}", TitleOf(item.indicator), check->title)),
         FormatDate(item.due), NameOf(item.status), StatusWord(item.status),
         done != done_on.end() ? FormatDate(done->second) : "–",
         item.fulfilled_by >= 0 ? Esc(row.fulfilled_by) : "");
    out += '\n';
  }
  CloseTable(out);
  Emit(out, R"(<p class="back"><a href="{}#sample-cases">Back to the sample</a></p></article>)",
       Esc(report_href));
  out += '\n';
}

void CasesSection(Body& body, const Inspection& in) {
  if (in.sample.empty()) return;
  body.OpenSection("cases", "Annex: the sampled cases' records");
  body.html +=
      "<p>Each sampled case as the records stood at the as-of date: its events in case "
      "order and every item its indicators made.</p>\n";
  for (const SampledCase& c : in.sample) CaseRecord(body.html, c, "");
  body.CloseSection();
}

void MethodologySection(Body& body, const Inspection& in) {
  const InspectionRequest& r = in.request;
  const DataQuality& q = in.quality;
  std::string& out = body.html;
  body.OpenSection("methodology", "Annex: methodology and data");
  out +=
      "<h3>How the scores are made</h3>\n"
      "<p>Scores follow Casewatch's rules (docs/rules.md in its repository, section 9). Each "
      "indicator turns a case's events into "
      "items: obligations with a due date (or, for pre-sentence reports and risk management "
      "plans, judgements of one record). A case is relevant to an indicator when at least one "
      "of its items was decided — met, late or missed — in the period, and done well enough "
      "when all of those were met; the indicator's score is the proportion of relevant cases "
      "done well enough. An outcome's score is the mean of its indicators' scores, and its "
      "rating compares that with the policy's thresholds.</p>\n";
  Emit(out,
       "<p>A score resting on fewer than {} relevant cases is marked <em>too few cases to "
       "rate</em> (the setting <code>--min-cases</code>, not a policy key), as official "
       "statistics flag figures on small bases: on so few cases one case moves a score a long "
       "way. An outcome's "
       "base is the largest number of cases any of its indicators has. The score is still shown, "
       "and the rating it would have had is given beside the mark.</p>\n",
       r.min_cases);
  out += "<h3>Dates</h3>\n";
  std::vector<std::pair<std::string, std::string>> dates = {
      {"As of", Esc(FormatInstant(r.as_of))},
      {"Period", Esc(PeriodText(r.period))},
  };
  for (const Comparison& c : in.comparisons) {
    dates.emplace_back(fmt::format("Comparison {}", c.label),
                       Esc(fmt::format("as of {}, {}", FormatInstant(c.baseline.as_of),
                                       PeriodText(c.baseline.period))));
  }
  FactList(out, dates);
  Emit(out, "<h3>Policy “{}”</h3>\n", Esc(r.policy.name));
  OpenTable(out, R"(class="settings" data-report="policy")", "", {{"Setting"}, {"Value", true}});
  for (const PolicySetting& setting : in.policy_settings) {
    Emit(
        out,
        R"(<tr data-setting="{}"><th scope="row"><code>{}</code></th><td class="num">{}</td></tr>)",
        Esc(setting.key), Esc(setting.key), setting.value.empty() ? "none" : Esc(setting.value));
  }
  CloseTable(out);
  out += "<h3>The case sample</h3>\n";
  if (in.draw.criteria.size == 0) {
    out += "<p>No sample was drawn.</p>\n";
  } else {
    const SampleCriteria& s = in.draw.criteria;
    FactList(out, {{"Cases to draw", Count(s.size)},
                   {"Started",
                    fmt::format("from {} to {}", LongDate(s.started_from), LongDate(s.started_to))},
                   {"Supervised at least", fmt::format("{} days", s.min_supervised_days)},
                   {"Seed", fmt::format("{}", s.seed)},
                   {"Eligible cases", Count(in.draw.eligible)}});
  }
  out += "<h3>Data quality</h3>\n";
  Emit(out, "<p>Source: <code>{}</code>.</p>\n", Esc(r.source));
  FactList(out, {{"Events accepted", Count(q.accepted)},
                 {"Identical re-sends ignored",
                  q.duplicates_counted ? Count(q.duplicates) : "not counted by this source"},
                 {"Records rejected", Count(q.rejected)},
                 {"Events in view (cases in scope, occurred by the as-of date)",
                  Count(q.events_in_view)},
                 {fmt::format("Recorded more than {} days after they occurred", r.late_record_days),
                  Count(q.late_records)},
                 {"Recorded only after the as-of date", Count(q.recorded_after_as_of)}});
  Emit(out,
       "<p>A record made late changes the picture after the fact: {} of the events in view "
       "reached the record only after the as-of date, so a report run on that date would not "
       "have seen them.</p>\n",
       Count(q.recorded_after_as_of));
  if (!q.rejected_reasons.empty()) {
    OpenTable(out, R"(class="rejections" data-report="rejections")", "Why records were rejected",
              {{"Reason"}, {"Records", true}, {"Example"}});
    for (const RejectedReason& reason : q.rejected_reasons) {
      Emit(out,
           R"(<tr data-reason="{}" data-count="{}"><td>{}</td><td class="num">{}</td>)"
           R"(<td><code>{}</code></td></tr>)",
           Esc(reason.reason), reason.count, Esc(reason.reason), Count(reason.count),
           Esc(reason.example));
      out += '\n';
    }
    CloseTable(out);
  }
  body.CloseSection();
}

void Cover(std::string& out, const Inspection& in) {
  const InspectionRequest& r = in.request;
  Emit(out,
       R"(<header class="cover"><div class="page"><p class="kicker">Casewatch · inspection )"
       R"(from case records</p><h1>{}</h1><p class="lede">The proportion of work judged to )"
       R"(have been done well enough in {} cases, as the records stood on {}.</p>)",
       Esc(ReportTitle(in)), Count(in.report.cases), LongDate(DateOf(r.as_of)));
  FactList(out, {{"Scope", Esc(ScopeText(r.scope))},
                 {"As of", Esc(FormatInstant(r.as_of))},
                 {"Period", Esc(PeriodText(r.period))},
                 {"Policy", Esc(r.policy.name)},
                 {"Source", fmt::format("<code>{}</code>", Esc(r.source))},
                 {"Case sample",
                  in.sample.empty() ? "none drawn" : fmt::format("{} cases", in.sample.size())}});
  out += "</div></header>\n";
}

void Contents(std::string& out, const Body& body) {
  out += R"(<nav class="contents" aria-label="Contents"><h2>Contents</h2><ol>)";
  for (const auto& [anchor, heading] : body.contents) {
    Emit(out, R"(<li><a href="#{}">{}</a></li>)", anchor, Esc(heading));
  }
  out += "</ol></nav>\n";
}

// Laid out for a 1366-pixel screen first; prints on A4 with each outcome on a new page.
constexpr std::string_view kStyle = R"css(
:root {
  --text: #0b0c0c; --muted: #505a5f; --line: #b1b4b6; --faint: #f3f2f1; --link: #1d70b8;
  --outstanding: #00703c; --good: #5a9e3a; --ri: #f47738; --inadequate: #d4351c;
  --pending: #1d70b8; --cancelled: #8a9196;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  color: var(--text);
}
* { box-sizing: border-box; }
body { margin: 0; background: #fff; }
a { color: var(--link); }
.page { max-width: 1180px; margin: 0 auto; padding: 0 32px; }
main.page { padding-bottom: 48px; }
.cover { background: #0b0c0c; color: #fff; padding: 28px 0 24px; }
.cover a, .cover code { color: #fff; }
.kicker { margin: 0; font-size: 13px; letter-spacing: .08em; text-transform: uppercase; color: #b1b4b6; }
h1 { font-size: 34px; line-height: 1.15; margin: 8px 0 6px; }
.lede { font-size: 19px; margin: 0 0 16px; }
h2 { font-size: 26px; line-height: 1.2; margin: 40px 0 12px; padding-top: 10px; border-top: 4px solid var(--text); }
h3 { font-size: 19px; margin: 28px 0 8px; }
h4 { font-size: 16px; margin: 12px 0 6px; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 18px; margin: 8px 0 16px; }
.facts dt { font-weight: 600; }
.facts dd { margin: 0; }
.contents h2 { border: 0; margin: 24px 0 4px; font-size: 19px; }
.contents ol { columns: 2; column-gap: 48px; margin: 0; padding-left: 24px; }
.headline { font-size: 20px; font-style: italic; margin: 8px 0; }
.muted { color: var(--muted); }
.nowrap { white-space: nowrap; }
code { font-size: 13px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 20px; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 700; padding: 4px 0; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { font-size: 13px; color: var(--muted); border-bottom: 2px solid var(--text); vertical-align: bottom; }
.num { text-align: right; white-space: nowrap; }
thead th.num { white-space: normal; }
.indicators tbody th, .comparison-indicators tbody th { min-width: 14em; }
.outcomes tbody th, .comparison-outcomes tbody th { white-space: nowrap; }
table.draw, table.settings, table.comparison-outcomes, table.rejections { width: auto; min-width: 55%; }
td.score { font-weight: 700; }
.badge { display: inline-block; padding: 1px 8px; font-size: 13px; font-weight: 700; white-space: nowrap; }
.badge.rating-OUTSTANDING { background: var(--outstanding); color: #fff; }
.badge.rating-GOOD { background: #cce2d8; color: #005a30; }
.badge.rating-REQUIRES_IMPROVEMENT { background: #fcd6c3; color: #6e3619; }
.badge.rating-INADEQUATE { background: var(--inadequate); color: #fff; }
.badge.rating-null { background: #e5e6e7; color: var(--muted); }
.badge.rating-few { background: #fff; color: var(--muted); border: 1px dashed var(--muted); }
th .few { font-size: 11px; color: var(--muted); font-style: italic; }
td.cell.rating-OUTSTANDING, td.cell.rating-GOOD { color: #005a30; }
td.cell.rating-REQUIRES_IMPROVEMENT { color: #6e3619; }
td.cell.rating-INADEQUATE { color: var(--inadequate); font-weight: 700; }
.delta.up { color: var(--outstanding); }
.delta.down { color: var(--inadequate); }
.findings { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 40px; }
.findings ol { margin: 0; padding-left: 22px; }
figure { margin: 12px 0 28px; }
.figure-title { margin: 0 0 6px; font-size: 15px; }
figcaption { font-size: 13px; color: var(--muted); margin-top: 4px; max-width: 820px; }
.legend { white-space: normal; }
.legend .key { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 10px; vertical-align: -1px; border: 1px solid var(--line); }
.key.band-OUTSTANDING { background: #b9dcc9; }
.key.band-GOOD { background: #deedd3; }
.key.band-REQUIRES_IMPROVEMENT { background: #fde3d3; }
.key.band-INADEQUATE { background: #f8d7d1; }
svg.chart { display: block; width: 100%; max-width: 820px; height: auto; font: 12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
svg.chart text { fill: var(--text); }
svg.chart .end { text-anchor: end; }
svg.chart .mid { text-anchor: middle; }
svg.chart .muted { fill: var(--muted); }
.band-OUTSTANDING { fill: #b9dcc9; }
.band-GOOD { fill: #deedd3; }
.band-REQUIRES_IMPROVEMENT { fill: #fde3d3; }
.band-INADEQUATE { fill: #f8d7d1; }
.bar.rating-OUTSTANDING, .point.rating-OUTSTANDING { fill: var(--outstanding); }
.bar.rating-GOOD, .point.rating-GOOD { fill: var(--good); }
.bar.rating-REQUIRES_IMPROVEMENT, .point.rating-REQUIRES_IMPROVEMENT { fill: var(--ri); }
.bar.rating-INADEQUATE, .point.rating-INADEQUATE { fill: var(--inadequate); }
.threshold { stroke: var(--muted); stroke-dasharray: 3 3; }
.mark { stroke: var(--text); stroke-width: 3; }
.trend-line { fill: none; stroke: var(--text); stroke-width: 2; }
.point { stroke: #fff; stroke-width: 1.5; }
.seg.st-MET { fill: var(--outstanding); }
.seg.st-LATE { fill: var(--ri); }
.seg.st-MISSED { fill: var(--inadequate); }
.seg.st-CANCELLED { fill: var(--cancelled); }
.seg.st-PENDING { fill: var(--pending); }
td.st-MET { color: var(--outstanding); }
td.st-LATE { color: #b4501d; }
td.st-MISSED { color: var(--inadequate); font-weight: 700; }
td.st-CANCELLED { color: var(--muted); }
td.st-PENDING { color: var(--pending); }
.judgement.all { color: var(--outstanding); }
.judgement.short { color: var(--inadequate); }
.judgements { list-style: none; padding: 0; columns: 2; margin: 8px 0; }
.judgements .yes { color: var(--outstanding); }
.judgements .no { color: var(--inadequate); }
.case { border-top: 1px solid var(--line); margin-top: 28px; }
.case:target { outline: 3px solid #ffdd00; outline-offset: 6px; }
.back { font-size: 13px; }
@media print {
  @page { size: A4; margin: 14mm; }
  :root { font-size: 10pt; }
  .page { max-width: none; padding: 0; }
  .cover { background: #fff; color: var(--text); border-bottom: 4px solid var(--text); }
  .cover a, .cover code { color: var(--text); }
  .kicker { color: var(--muted); }
  a { color: inherit; text-decoration: none; }
  .back { display: none; }
  section.outcome, #sample, #cases, #methodology { break-before: page; }
  h2, h3, caption { break-after: avoid; }
  figure, tr, .case > .facts { break-inside: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
)css";

// The document's start, to its <body>: every page of the report is styled alike.
void Head(std::string& out, std::string_view title, const Inspection& in) {
  Emit(out,
       "<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
       "<title>{} — as of {}</title>\n<style>{}</style>\n</head>\n<body>\n",
       Esc(title), LongDate(DateOf(in.request.as_of)), kStyle);
}

}  // namespace

std::string RenderInspectionHtml(const Inspection& in, std::string_view cases_file) {
  const std::string cases_href = UrlPath(cases_file);
  Body body;
  Summary(body, in);
  Findings(body, in);
  for (Outcome outcome : kOutcomes) OutcomeSection(body, in, outcome);
  UnitsSection(body, in);
  for (size_t i = 0; i < in.comparisons.size(); ++i) ComparisonSection(body, in, i);
  SampleSection(body, in, cases_href);
  if (cases_href.empty()) CasesSection(body, in);
  MethodologySection(body, in);

  std::string out;
  out.reserve(body.html.size() + kStyle.size() + 4096);
  Head(out, ReportTitle(in), in);
  Cover(out, in);
  out += "<main class=\"page\">\n";
  Contents(out, body);
  out += body.html;
  out += "</main>\n</body>\n</html>\n";
  return out;
}

std::string RenderInspectionCasesHtml(const Inspection& in, std::string_view report_file) {
  const std::string report_href = UrlPath(report_file);
  const std::string title = fmt::format("{}: the sampled cases' records", ReportTitle(in));
  std::string out;
  Head(out, title, in);
  Emit(out,
       R"(<header class="cover"><div class="page"><p class="kicker">Casewatch · inspection )"
       R"(from case records</p><h1>{}</h1><p class="lede">{} sampled cases as the records stood )"
       R"(on {}: each one's events in case order and every item its indicators made. The )"
       R"(sample, its draw and its judgements are in <a class="report-file" href="{}">the )"
       R"(report</a>.</p></div></header>)",
       Esc(title), Count(static_cast<int64_t>(in.sample.size())),
       LongDate(DateOf(in.request.as_of)), Esc(report_href));
  out += "\n<main class=\"page\">\n<section id=\"cases\">\n";
  for (const SampledCase& c : in.sample) CaseRecord(out, c, report_href);
  out += "</section>\n</main>\n</body>\n</html>\n";
  return out;
}

}  // namespace casewatch::inspection
