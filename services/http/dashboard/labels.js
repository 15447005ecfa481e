// Words and number forms for the dashboard: what managers and inspectors read, keyed by the ids
// of indicators, outcomes and event types (docs/rules.md in the Casewatch repository).

// The titles of outcomes and indicators, and what an open item asks for, are the engine's
// (GET /api/v1/meta, from projections/labels.h): one name for one thing in `casewatch replay
// --text`, the inspection report and here. useLabels(meta) takes them in before anything renders.
const titles = { outcomes: new Map(), indicators: new Map() };

export function useLabels(meta) {
  titles.outcomes = new Map((meta?.outcomes ?? []).map((o) => [o.id, o]));
  titles.indicators = new Map((meta?.indicators ?? []).map((i) => [i.id, i]));
}

export const RATINGS = {
  OUTSTANDING: 'Outstanding',
  GOOD: 'Good',
  REQUIRES_IMPROVEMENT: 'Requires improvement',
  INADEQUATE: 'Inadequate',
};

// The drill-down levels, top to bottom, named as the API's scope parameters; `label` starts a
// line, `word` goes inside one ("By PDU", "Sort by team").
export const LEVELS = [
  { key: 'region', label: 'Region', word: 'region', plural: 'regions' },
  { key: 'pdu', label: 'PDU', word: 'PDU', plural: 'PDUs' },
  { key: 'team', label: 'Team', word: 'team', plural: 'teams' },
  { key: 'offender_manager', label: 'Practitioner', word: 'practitioner', plural: 'practitioners' },
];

export const EVENT_TYPES = {
  case_opened: 'Case opened',
  case_allocated: 'Case allocated',
  case_closed: 'Case closed',
  pre_sentence_report_completed: 'Pre-sentence report',
  assessment_completed: 'Assessment completed',
  rosh_screening_completed: 'RoSH screening',
  rosh_full_analysis_completed: 'RoSH full analysis',
  rosh_classified: 'RoSH classified',
  sentence_plan_completed: 'Sentence plan',
  risk_management_plan_completed: 'Risk management plan',
  registration_added: 'Registration added',
  registration_removed: 'Registration removed',
  appointment_attended: 'Appointment attended',
  appointment_missed: 'Appointment missed',
  absence_judged: 'Absence judged',
  warning_issued: 'Warning issued',
  breach_instigated: 'Breach action',
  home_visit_completed: 'Home visit',
  management_oversight_recorded: 'Management oversight',
  significant_change_recorded: 'Significant change',
  safeguarding_check_completed: 'Safeguarding check',
  victim_contact_offered: 'Victim contact offered',
  further_offence_recorded: 'Further offence',
  obligation_missed: 'Obligation missed',
};

export const STATUSES = {
  MET: 'Met',
  LATE: 'Late',
  MISSED: 'Missed',
  CANCELLED: 'Cancelled',
  PENDING: 'Pending',
  OVERDUE: 'Overdue',
};

// An item shows one status. Overdue is missed but still to be done (its window is open: on the
// worklist); missed is past doing.
export const STATUS_MEANINGS = {
  OVERDUE: 'Past its due date and still to be done',
  MISSED: 'Not done by its due date, and no longer to be done',
  PENDING: 'Not yet due',
};

export const SAFEGUARDING_CHECKS = {
  SAFEGUARDING_CHECK_CHILDRENS_SERVICES: 'children’s services',
  SAFEGUARDING_CHECK_POLICE_DOMESTIC_ABUSE: 'police (domestic abuse)',
};

const ENUM_PREFIXES = [
  'CASE_TYPE_', 'CLOSURE_REASON_', 'REPORT_TYPE_', 'ASSESSMENT_KIND_', 'ROSH_LEVEL_', 'PLAN_KIND_',
  'REGISTRATION_TYPE_', 'BREACH_KIND_', 'BREACH_REASON_', 'SAFEGUARDING_CHECK_', 'OFFENCE_OUTCOME_',
];

export const indicatorLabel = (id) => titles.indicators.get(id)?.title ?? id;
// The kind of an item, where its indicator has kinds (meta's `checks`): 'children's services'.
export const checkLabel = (indicator, check) =>
  titles.indicators.get(indicator)?.checks?.find((c) => c.id === check)?.title ?? check;
export const outcomeLabel = (id) => titles.outcomes.get(id)?.title ?? id;
// The breakdown's narrow columns abbreviate the outcome's short title (the full title is the
// column's tooltip).
const OUTCOME_ABBREVIATIONS = {
  SENTENCING: 'Sent.', DELIVERY: 'Deliv.', REOFFENDING: 'Reoff.', PUBLIC_PROTECTION: 'Prot.', VICTIMS: 'Victims',
};
export const outcomeAbbreviation = (id) => OUTCOME_ABBREVIATIONS[id]
  ?? titles.outcomes.get(id)?.short_title ?? id;

// What an open item asks for, as a sentence: 'Book the next home visit' (null when none).
export function indicatorAction(id) {
  const action = titles.indicators.get(id)?.action;
  return action ? action[0].toUpperCase() + action.slice(1) : null;
}

// An event's type in words; a safeguarding check names the check.
export function eventLabel(type, payload) {
  const words = EVENT_TYPES[type] ?? type.replaceAll('_', ' ');
  const fields = payload?.[type] ?? payload;
  const check = type === 'safeguarding_check_completed' ? SAFEGUARDING_CHECKS[fields?.kind] : null;
  return check ? `${words}: ${check}` : words;
}

// 'ROSH_LEVEL_VERY_HIGH' → 'very high'; RoSH and MAPPA keep their capitals.
export function enumLabel(value) {
  if (typeof value !== 'string') return String(value);
  const prefix = ENUM_PREFIXES.find((p) => value.startsWith(p));
  if (!prefix) return value;
  const words = value.slice(prefix.length).toLowerCase().replaceAll('_', ' ');
  return words.replace('mappa', 'MAPPA');
}

export function pct(score) {
  return score === null || score === undefined ? '—' : `${Math.round(score * 100)}%`;
}

const count = new Intl.NumberFormat('en-GB');
export const num = (n) => (n === null || n === undefined ? '—' : count.format(n));

const dateForm = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC',
});
const instantForm = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit',
  timeZone: 'UTC',
});

// 'YYYY-MM-DD' (or an instant, whose date is taken) → '3 Nov 2025'.
export function formatDate(text) {
  if (!text) return '—';
  const d = new Date(`${text.slice(0, 10)}T00:00:00Z`);
  return Number.isNaN(d.getTime()) ? text : dateForm.format(d);
}

// RFC 3339 instant → '3 Nov 2025, 09:30 UTC'.
export function formatInstant(text) {
  if (!text) return '—';
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? text : `${instantForm.format(d)} UTC`;
}

// The worklist's days_overdue: positive is overdue, negative is days left.
export function dueIn(days) {
  if (days > 0) return `${days} day${days === 1 ? '' : 's'} overdue`;
  if (days === 0) return 'due today';
  return `${-days} day${days === -1 ? '' : 's'} left`;
}
