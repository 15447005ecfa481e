// Words and number forms for the dashboard: what managers and inspectors read, keyed by the ids
// of indicators, outcomes and event types (docs/rules.md in the Casewatch repository).

export const OUTCOMES = {
  SENTENCING: { label: 'Assisting sentencing', short: 'Sent.' },
  DELIVERY: { label: 'Delivering the sentence', short: 'Deliv.' },
  REOFFENDING: { label: 'Reducing reoffending', short: 'Reoff.' },
  PUBLIC_PROTECTION: { label: 'Protecting the public', short: 'Prot.' },
  VICTIMS: { label: 'Working with victims', short: 'Victims' },
};

export const INDICATORS = {
  psr_quality: 'Pre-sentence reports cover risk of harm and likelihood of reoffending',
  prompt_start: 'Supervision started promptly',
  initial_sentence_plan: 'Initial sentence plan on time',
  sentence_plan_review: 'Sentence plan reviewed',
  absence_judged: 'Absences judged promptly',
  enforcement: 'Enforcement: warning or breach action',
  initial_assessment: 'Initial assessment (OASys) on time',
  assessment_review: 'Assessment reviewed',
  rosh_screening: 'Risk of serious harm screened',
  rosh_full_analysis: 'Full risk of harm analysis',
  rmp_initial: 'Risk management plan in place',
  rmp_review: 'Risk management plan reviewed',
  risk_response: 'Response when risk increased',
  home_visit_initial: 'First home visit (high risk or child protection)',
  home_visit_repeat: 'Repeat home visits',
  management_oversight: 'Management oversight recorded',
  safeguarding_checks: 'Safeguarding checks made',
  victim_contact: 'Victim contact offered',
  rmp_victim_safety: 'Risk management plans address victim safety',
};

export const RATINGS = {
  OUTSTANDING: 'Outstanding',
  GOOD: 'Good',
  REQUIRES_IMPROVEMENT: 'Requires improvement',
  INADEQUATE: 'Inadequate',
};

// The drill-down levels, top to bottom, named as the API's scope parameters.
export const LEVELS = [
  { key: 'region', label: 'Region', plural: 'regions' },
  { key: 'pdu', label: 'Delivery unit', plural: 'delivery units' },
  { key: 'team', label: 'Team', plural: 'teams' },
  { key: 'offender_manager', label: 'Practitioner', plural: 'practitioners' },
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

const ENUM_PREFIXES = [
  'CASE_TYPE_', 'CLOSURE_REASON_', 'REPORT_TYPE_', 'ASSESSMENT_KIND_', 'ROSH_LEVEL_', 'PLAN_KIND_',
  'REGISTRATION_TYPE_', 'BREACH_KIND_', 'BREACH_REASON_', 'SAFEGUARDING_CHECK_', 'OFFENCE_OUTCOME_',
];

export const indicatorLabel = (id) => INDICATORS[id] ?? id;
export const outcomeLabel = (id) => OUTCOMES[id]?.label ?? id;
export const eventLabel = (type) => EVENT_TYPES[type] ?? type.replaceAll('_', ' ');

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
