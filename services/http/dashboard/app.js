// The managers' dashboard: outcome tiles, indicators, drill-down, worklist and case timelines for
// one scope (national, region, PDU, team or practitioner), kept live over the engine's
// event stream. The scope, the open case and the worklist page live in the URL hash, so any view
// can be bookmarked and reloaded.
import { ApiError, clearToken, getJson, openStream, query, setToken, token } from './api.js';
import {
  LEVELS, RATINGS, STATUSES, STATUS_MEANINGS, dueIn, enumLabel, eventLabel, formatDate,
  checkLabel, formatInstant, indicatorAction, indicatorLabel, num, outcomeAbbreviation, outcomeLabel, pct,
  useLabels,
} from './labels.js';
import { PERIODS, periodOf } from './period.js';
import { sparkline } from './sparkline.js';

const PAGE_SIZE = 25;
const FEED_MAX = 50;
const ITEM_KINDS = ['met', 'late', 'missed', 'cancelled', 'pending'];
// The policy's default rating thresholds (docs/rules.md section 8), used to colour indicator
// scores; outcome ratings always come from the engine.
const DEFAULT_THRESHOLDS = { rating_outstanding: 0.8, rating_good: 0.65, rating_requires_improvement: 0.5 };

const $ = (testid, root = document) => root.querySelector(`[data-testid="${testid}"]`);

// A DOM element; text children are always text nodes, never parsed as HTML.
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'testid') el.dataset.testid = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const emptyScope = () => ({ region: null, pdu: null, team: null, offender_manager: null });

const state = {
  meta: null,
  principalScope: emptyScope(),
  scope: emptyScope(),
  scopeKey: null,
  report: null,
  lastReportKey: null,
  trend: null,
  trendLoadedAt: 0,
  breakdown: null,
  sort: { key: 'overall', dir: 'desc' },
  worklist: { status: 'all', indicator: '', rosh: '', page: 1 },
  // The period picker: 'all' is the live report; otherwise decisions in [from, to] and the
  // report of the period before (state.previous), fetched, not pushed.
  period: { kind: 'all', from: '', to: '' },
  previous: null,
  worklistKey: null,
  caseId: null,
  stream: null,
  retryTimer: null,
  retryDelay: 5000,
  refreshTimer: null,
  notReadyTimer: null,
  generation: 0, // bumped on every scope change; late answers for an old scope are dropped
  alerts: new Set(),
};

// ---- scope and URL ----

// Index of the deepest level set in scope, -1 for national.
const depthOf = (scope) => LEVELS.reduce((d, l, i) => (scope[l.key] ? i : d), -1);

// The scope truncated to levels 0..depth.
function scopeAt(scope, depth) {
  const s = emptyScope();
  LEVELS.forEach((l, i) => { if (i <= depth) s[l.key] = scope[l.key]; });
  return s;
}

// `status` is the caseload group shown ('all' or one of WORK_GROUPS).
function hrefFor({
  scope = state.scope, caseId = null, status = 'all', page = 1,
  indicator = state.worklist.indicator, rosh = state.worklist.rosh, period = state.period,
} = {}) {
  const p = new URLSearchParams();
  for (const l of LEVELS) if (scope[l.key]) p.set(l.key, scope[l.key]);
  if (caseId) p.set('case', caseId);
  if (status !== 'all') p.set('status', status);
  if (period.kind !== 'all') p.set('period', period.kind);
  if (period.kind === 'custom' && period.from) p.set('from', period.from);
  if (period.kind === 'custom' && period.to) p.set('to', period.to);
  if (indicator) p.set('indicator', indicator);
  if (rosh) p.set('rosh', rosh);
  if (page > 1) p.set('page', String(page));
  return `#${p.toString()}`;
}

function scopeName(scope) {
  const d = depthOf(scope);
  return d < 0 ? 'National' : scope[LEVELS[d].key];
}

function route() {
  const p = new URLSearchParams(location.hash.slice(1));
  const scope = emptyScope();
  for (const l of LEVELS) scope[l.key] = state.principalScope[l.key] || p.get(l.key) || null;
  const status = Object.hasOwn(WORK_GROUPS, p.get('status') ?? '') ? p.get('status') : 'all';
  state.worklist = {
    status,
    indicator: p.get('indicator') ?? '',
    rosh: p.get('rosh') ?? '',
    page: Math.max(1, Number.parseInt(p.get('page'), 10) || 1),
  };
  const kind = Object.hasOwn(PERIODS, p.get('period') ?? '') ? p.get('period') : 'all';
  state.period = { kind, from: p.get('from') ?? '', to: p.get('to') ?? '' };
  const key = JSON.stringify([scope, state.period]);
  if (key !== state.scopeKey) {
    state.scope = scope;
    state.scopeKey = key;
    enterScope();
  } else if (JSON.stringify(state.worklist) !== state.worklistKey) {
    loadWorklist(state.generation).catch(sectionError('worklist'));
  }
  for (const input of document.querySelectorAll('input[name="wl-status"]')) {
    input.checked = input.value === status;
  }
  $('worklist-rosh').value = state.worklist.rosh;
  $('worklist-indicator').value = state.worklist.indicator;
  state.caseId = p.get('case');
  if (state.caseId) {
    showCase(state.caseId);
  } else {
    $('dashboard').hidden = false;
    $('case-view').hidden = true;
  }
}

// ---- API calls, with sign-in on 401 ----

let signingIn = null;

async function api(path, params) {
  for (;;) {
    try {
      return await getJson(path, params);
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401) throw e;
      await signIn(e.message);
    }
  }
}

// Shows the sign-in form (once, however many requests are waiting) and resolves when a token
// has been entered; the waiting requests then retry with it.
function signIn(message) {
  if (signingIn) return signingIn;
  signingIn = new Promise((resolve) => {
    const dialog = $('signin');
    const error = $('signin-error');
    const input = $('signin-token');
    const rejected = token() !== null;
    error.hidden = !rejected;
    error.textContent = rejected ? `That token was not accepted: ${message}` : '';
    clearToken();
    input.value = '';
    $('signin-form').onsubmit = (ev) => {
      ev.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      setToken(value);
      dialog.close();
      renderPrincipal();
      signingIn = null;
      resolve();
      if (state.stream?.readyState === EventSource.CLOSED) connectStream();
    };
    dialog.showModal();
    input.focus();
  });
  return signingIn;
}

function showError(e) {
  const banner = $('error-banner');
  banner.dataset.code = e.code ?? '';
  banner.replaceChildren(e.status === 403
    ? h('span', {}, `You do not have access to this scope (${e.message}). `,
      h('a', { href: hrefFor({ scope: state.principalScope }) }, 'Go to your own scope'))
    : h('span', {}, e.message));
  banner.hidden = false;
}

const hideError = () => { $('error-banner').hidden = true; };

// A failed section keeps its last content and says so in the banner.
const sectionError = (section) => (e) => {
  console.warn(`casewatch: ${section}:`, e);
  showError(e);
};

// ---- loading a scope ----

function enterScope() {
  const gen = ++state.generation;
  hideError();
  state.report = null;
  state.lastReportKey = null;
  state.trend = null;
  state.alerts.clear();
  $('alert-feed').replaceChildren();
  $('alert-feed-empty').hidden = false;
  renderBreadcrumb();
  connectStream();
  loadSections(gen);
}

function loadSections(gen) {
  // 503: the engine has not projected anything yet; try again shortly.
  const failed = (section) => (e) => {
    if (e.status !== 503 || gen !== state.generation) return sectionError(section)(e);
    showError({ ...e, message: `${e.message}; trying again…` });
    clearTimeout(state.notReadyTimer);
    state.notReadyTimer = setTimeout(() => { if (gen === state.generation) loadSections(gen); }, 3000);
    return undefined;
  };
  loadReport(gen).catch(failed('report'));
  loadTrend(gen).catch(failed('trend'));
  loadBreakdown(gen).catch(failed('breakdown'));
  loadWorklist(gen).catch(failed('worklist'));
}

// The chosen period and the one before, on the engine's date; null for the live report.
function chosenPeriod() {
  const today = (state.meta?.as_of ?? '').slice(0, 10);
  return today ? periodOf(state.period.kind, today, state.period) : null;
}

async function loadReport(gen) {
  const period = chosenPeriod();
  renderPeriodPicker(period);
  if (!period) {
    state.previous = null;
    const report = await api('/api/v1/report', state.scope);
    if (gen === state.generation) applyReport(report);
    return;
  }
  const [report, previous] = await Promise.all([
    api('/api/v1/report', { ...state.scope, from: period.from, to: period.to }),
    api('/api/v1/report', { ...state.scope, from: period.previous.from, to: period.previous.to }),
  ]);
  if (gen !== state.generation) return;
  state.previous = previous;
  applyReport(report);
}

function renderPeriodPicker(period) {
  const select = $('period');
  if (!select.options.length) {
    select.append(...Object.entries(PERIODS).map(([k, label]) => h('option', { value: k }, label)));
  }
  select.value = state.period.kind;
  $('period-custom').hidden = state.period.kind !== 'custom';
  $('period-from').value = state.period.from;
  $('period-to').value = state.period.to;
  $('period-previous').textContent = period
    ? `compared with ${formatDate(period.previous.from)} to ${formatDate(period.previous.to)}` : '';
}

function applyReport(report) {
  if ($('error-banner').dataset.code === 'not_ready') hideError();
  state.report = report;
  setAsOf(report.as_of);
  renderSummary();
  renderTiles();
  renderIndicators();
  refreshTrendIfOld(report.as_of);
}

// ---- header ----

function setAsOf(asOf) {
  const el = $('as-of');
  el.textContent = asOf ? formatInstant(asOf) : 'no events yet';
  el.setAttribute('datetime', asOf ?? '');
}

function renderPrincipal() {
  const who = state.meta?.principal;
  $('principal').textContent = !who ? '' : who.role === 'local' ? 'Local access' : `${who.name} · ${who.role}`;
  $('sign-out').hidden = token() === null;
}

function renderBreadcrumb() {
  const locked = depthOf(state.principalScope);
  const depth = depthOf(state.scope);
  const list = h('ol');
  for (let i = -1; i <= depth; i += 1) {
    const level = LEVELS[i];
    if (level && !state.scope[level.key]) continue;
    if (i < locked && i < 0) continue; // a scoped principal never sees "National"
    const name = i < 0 ? 'National' : state.scope[level.key];
    const here = i === depth;
    // Levels above the principal's own scope are context only, not links.
    const crumb = here || i < locked
      ? h('span', { 'aria-current': here ? 'page' : null }, name)
      : h('a', { href: hrefFor({ scope: scopeAt(state.scope, i) }) }, name);
    list.append(h('li', { testid: 'crumb', 'data-level': level?.key ?? 'national' },
      level ? h('span', { class: 'crumb-level' }, level.label) : null, crumb));
  }
  $('breadcrumb').replaceChildren(list);
  const title = depth < 0 ? 'National' : `${LEVELS[depth].label}: ${state.scope[LEVELS[depth].key]}`;
  $('scope-title').textContent = title;
  document.title = `${scopeName(state.scope)} — Casewatch`;
}

function renderSummary() {
  const r = state.report;
  const period = r.period?.from
    ? `decisions ${formatDate(r.period.from)} to ${formatDate(r.period.to)}`
    : `decisions up to ${formatDate(r.period?.to)}`;
  const parts = [`${num(r.cases)} cases counted`, period, `policy “${r.policy}”`];
  if (state.meta && state.meta.ready === false) parts.push('the engine is still catching up');
  if (state.meta?.read_only) parts.push('read-only: a stored copy, no new events arrive');
  $('scope-summary').textContent = parts.join(' · ');
  $('scope-summary').dataset.cases = String(r.cases);
}

function setLive(live) {
  const el = $('live-status');
  if (state.meta?.read_only) live = 'readonly';
  const text = {
    connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline — retrying',
    readonly: 'Read-only',
  };
  el.dataset.state = live;
  el.textContent = text[live];
}

// How current the figures are (the stream's freshness events): said only when a reader must know
// — some partitions of the case-events topic not reachable (their cases as they stood then), or
// the engine catching up a backlog. Ordinary lag while events flow is not news.
function setFreshness(f) {
  const el = $('freshness');
  const cut = f?.unavailable ?? [];
  if (cut.length > 0) {
    const since = cut.map((p) => p.since).sort()[0];
    const which = cut.map((p) => p.partition).join(', ');
    el.dataset.state = 'unavailable';
    const noun = cut.length === 1 ? 'Partition' : 'Partitions';
    el.textContent = `${noun} ${which} unreachable since ${formatInstant(since)}`;
    el.title = 'The brokers do not serve these partitions of the case events now: their cases '
      + 'are shown as they stood when last read, and new events for them wait.';
  } else if (f?.catching_up && f.lag !== 0) {
    el.dataset.state = 'catching-up';
    el.title = 'The engine is storing a backlog of events; these figures leave them out until '
      + 'it has.';
    el.textContent = f.lag > 0 ? `Catching up: ${num(f.lag)} events not yet in these figures`
      : 'Catching up: recent events not yet in these figures';
  } else {
    el.hidden = true;
    delete el.dataset.state;
    el.textContent = '';
    el.removeAttribute('title');
    return;
  }
  el.hidden = false;
}

// ---- outcomes and indicators ----

const outcomeIds = () => (state.meta?.outcomes ?? []).map((o) => o.id);

function thresholds() {
  return { ...DEFAULT_THRESHOLDS, ...(state.meta?.policy?.ratings ?? {}) };
}

function ratingOf(score) {
  if (score === null || score === undefined) return null;
  const t = thresholds();
  if (score + 1e-9 >= t.rating_outstanding) return 'OUTSTANDING';
  if (score + 1e-9 >= t.rating_good) return 'GOOD';
  if (score + 1e-9 >= t.rating_requires_improvement) return 'REQUIRES_IMPROVEMENT';
  return 'INADEQUATE';
}

function badge(rating, testid) {
  return h('span', { class: `badge rating-${rating ?? 'none'}`, testid }, RATINGS[rating] ?? 'Not rated');
}

// A score resting on fewer cases than the engine's --min-cases (the report's too_few_cases): its
// rating is not shown as one, only mentioned. Scores with no case at all are "Not rated" anyway.
const tooFew = (s) => s.too_few_cases === true && s.score !== null;
const TOO_FEW = 'Too few cases to rate';

// An outcome's badge: its rating, or the small-base mark with the rating it would have had.
function outcomeBadge(o, testid) {
  if (!tooFew(o)) return badge(o.rating, testid);
  return h('span', {
    class: 'badge rating-few', testid,
    title: `${TOO_FEW}: each of its indicators' scores rests on at most ${num(o.base)} `
      + `case${o.base === 1 ? '' : 's'} (would be rated ${RATINGS[o.rating] ?? o.rating})`,
  }, TOO_FEW);
}

// Sets an element's text and, when it changed from a previous value, flashes it.
function setText(el, text) {
  if (el.textContent === text) return;
  const had = el.dataset.filled === '1';
  el.textContent = text;
  el.dataset.filled = '1';
  if (had) {
    el.classList.remove('changed');
    void el.offsetWidth; // restart the animation
    el.classList.add('changed');
  }
}

function buildTiles() {
  $('tiles').replaceChildren(...outcomeIds().map((id) => h('article', {
    class: 'tile', testid: `tile-${id}`, 'data-outcome': id,
  },
  h('h3', {}, outcomeLabel(id)),
  h('p', { class: 'tile-score', testid: 'tile-score' }, '—'),
  h('p', { class: 'tile-rating' }, badge(null, 'tile-rating')),
  h('div', { class: 'tile-trend', testid: 'tile-trend' }),
  h('p', { class: 'tile-foot', testid: 'tile-foot' }))));
}

function renderTiles() {
  for (const o of state.report.outcomes) {
    const tile = $(`tile-${o.id}`);
    if (!tile) continue;
    const inds = state.report.indicators.filter((i) => i.outcome === o.id);
    const scored = inds.filter((i) => i.score !== null).length;
    const score = $('tile-score', tile);
    setText(score, o.score === null ? 'no relevant cases' : pct(o.score));
    score.classList.toggle('none', o.score === null);
    score.title = o.score === null ? '' : `${(o.score * 100).toFixed(2)}%: the mean of the indicators' scores`;
    $('tile-rating', tile).replaceWith(outcomeBadge(o, 'tile-rating'));
    score.classList.toggle('few', tooFew(o));
    tile.dataset.score = o.score === null ? '' : String(o.score);
    tile.dataset.rating = o.rating ?? '';
    tile.dataset.base = String(o.base ?? '');
    tile.dataset.tooFew = tooFew(o) ? '1' : '';
    tile.className = `tile rating-${tooFew(o) ? 'few' : o.rating ?? 'none'}`;
    const foot = `${scored} of ${inds.length} indicator${inds.length === 1 ? '' : 's'} scored`;
    $('tile-foot', tile).textContent = tooFew(o)
      ? `n=${num(o.base)} · would be ${RATINGS[o.rating] ?? o.rating} · ${foot}` : foot;
    const before = state.previous?.outcomes.find((p) => p.id === o.id);
    const delta = tile.querySelector('[data-testid="tile-delta"]') ?? tile.appendChild(h('p', { class: 'tile-delta', testid: 'tile-delta' }));
    if (before && before.score !== null && o.score !== null) {
      const points = Math.round((o.score - before.score) * 100);
      delta.dataset.previous = String(before.score);
      delta.textContent = `${points > 0 ? '▲' : points < 0 ? '▼' : '='} ${Math.abs(points)} pts on the previous period (${pct(before.score)})`;
    } else {
      delta.dataset.previous = '';
      delta.textContent = state.previous ? 'no score in the previous period' : '';
    }
  }
}

function buildIndicatorTable() {
  const table = $('indicators');
  for (const body of table.querySelectorAll('tbody')) body.remove();
  for (const outcome of outcomeIds()) {
    const body = h('tbody', { 'data-outcome': outcome },
      h('tr', { class: 'group-head' }, h('th', { colspan: 9, scope: 'rowgroup' },
        outcomeLabel(outcome), ' ', h('span', { class: 'group-score', testid: `group-score-${outcome}` }),
        ' ', badge(null, `group-rating-${outcome}`))));
    for (const ind of state.meta.indicators.filter((i) => i.outcome === outcome)) {
      body.append(h('tr', { testid: `indicator-${ind.id}`, 'data-indicator': ind.id },
        h('th', { scope: 'row', class: 'ind-name' },
          h('span', { class: 'ind-label' }, indicatorLabel(ind.id)), ' ', h('code', {}, ind.id)),
        h('td', { class: 'num score' },
          h('span', { testid: 'indicator-score' }, '—'),
          h('span', { class: 'bar', 'aria-hidden': 'true' }, h('span', { class: 'bar-fill' }))),
        h('td', { class: 'num', testid: 'indicator-cases' }, '—'),
        ITEM_KINDS.map((k) => h('td', { class: `num items-${k}`, testid: `items-${k}` }, '—')),
        h('td', { class: 'trend-col', testid: 'indicator-trend' })));
    }
    table.append(body);
  }
}

function renderIndicators() {
  for (const ind of state.report.indicators) {
    const row = $(`indicator-${ind.id}`);
    if (!row) continue;
    const score = $('indicator-score', row);
    setText(score, ind.score === null ? 'no cases' : pct(ind.score));
    score.title = ind.score === null ? 'No relevant cases' : `${(ind.score * 100).toFixed(2)}%`;
    row.dataset.score = ind.score === null ? '' : String(ind.score);
    const rating = ratingOf(ind.score);
    const fill = row.querySelector('.bar-fill');
    fill.style.width = `${Math.round((ind.score ?? 0) * 100)}%`;
    fill.className = `bar-fill rating-${rating ?? 'none'}`;
    const few = tooFew(ind);
    row.dataset.tooFew = few ? '1' : '';
    if (few) fill.className = 'bar-fill rating-few';
    score.classList.toggle('few', few);
    const cases = $('indicator-cases', row);
    setText(cases, `${num(ind.met_cases)} / ${num(ind.relevant_cases)}${few ? ' · too few to rate' : ''}`);
    cases.title = few ? `${TOO_FEW}: ${num(ind.relevant_cases)} relevant case${ind.relevant_cases === 1 ? '' : 's'}` : '';
    for (const k of ITEM_KINDS) {
      const cell = $(`items-${k}`, row);
      setText(cell, num(ind.items[k]));
      cell.classList.toggle('nonzero', ind.items[k] > 0);
    }
  }
  for (const o of state.report.outcomes) {
    const s = $(`group-score-${o.id}`);
    if (s) s.textContent = o.score === null ? '' : pct(o.score);
    $(`group-rating-${o.id}`)?.replaceWith(outcomeBadge(o, `group-rating-${o.id}`));
  }
}

// The month-by-month trend the sparklines draw: each month's own decisions as they stood at its
// end, from the history (GET /api/v1/trend?interval=month), the current month so far.
const TREND_MONTHS = 12;
const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const monthWords = (month) => `${MONTH_NAMES[Number(month.slice(5, 7)) - 1]} ${month.slice(0, 4)}`;

// A trend's points for one series: one per month, placed at the month's end (or its as_of).
function trendPoints(fromMonth) {
  return (state.trend?.months ?? []).map((m) => {
    const partial = m.as_of.slice(0, 10) < m.to;
    return {
      date: partial ? m.as_of.slice(0, 10) : m.to,
      value: fromMonth(m) ?? null,
      when: `in ${monthWords(m.month)}${partial ? ' so far' : ''}`,
      partial,
    };
  });
}

async function loadTrend(gen) {
  state.trendLoadedAt = Date.now();
  const trend = await api('/api/v1/trend', { ...state.scope, interval: 'month', months: TREND_MONTHS });
  if (gen === state.generation) { state.trend = trend; renderTrends(); }
}

// The server recomputes the months in the background (every few minutes, at once in a new
// month): asked again when the engine's month has moved on or five minutes have passed.
function refreshTrendIfOld(asOf) {
  if (!state.trend || !asOf) return;
  const newMonth = state.trend.months.at(-1)?.month !== asOf.slice(0, 7);
  if (newMonth ? Date.now() - state.trendLoadedAt > 5000 : Date.now() - state.trendLoadedAt > 300000) {
    const gen = state.generation;
    loadTrend(gen).catch(sectionError('trend'));
  }
}

function renderTrends() {
  if (!state.trend) return;
  const range = (points) => ({ from: state.trend.months[0]?.from, to: points.at(-1)?.date });
  for (const id of outcomeIds()) {
    const tile = $(`tile-${id}`);
    if (!tile) continue;
    const points = trendPoints((m) => m.outcomes?.[id]);
    $('tile-trend', tile).replaceChildren(
      sparkline(points, { ...range(points), width: 150, height: 28, label: outcomeLabel(id) }));
  }
  for (const ind of state.meta.indicators) {
    const row = $(`indicator-${ind.id}`);
    if (!row) continue;
    const points = trendPoints((m) => m.indicators?.[ind.id]);
    $('indicator-trend', row).replaceChildren(
      sparkline(points, { ...range(points), label: indicatorLabel(ind.id) }));
  }
}

// ---- breakdown ----

async function loadBreakdown(gen) {
  const depth = depthOf(state.scope);
  const box = $('breakdown');
  if (depth === LEVELS.length - 1) {
    state.breakdown = null;
    document.getElementById('breakdown-h').textContent = 'Breakdown';
    box.replaceChildren(h('p', { class: 'muted' },
      'This is one practitioner’s caseload: there is no further breakdown.'));
    return;
  }
  const by = LEVELS[depth + 1].key;
  // The chosen period's decisions, as the tiles show them.
  const period = chosenPeriod();
  const data = await api('/api/v1/breakdown',
    { ...state.scope, by, ...(period ? { from: period.from, to: period.to } : {}) });
  data.period = period;
  if (gen !== state.generation) return;
  state.breakdown = data;
  renderBreakdown();
}

function renderBreakdown() {
  const data = state.breakdown;
  const level = LEVELS.find((l) => l.key === data.by) ?? LEVELS[depthOf(state.scope) + 1];
  document.getElementById('breakdown-h').textContent = data.period
    ? `By ${level.word}, ${formatDate(data.period.from)} to ${formatDate(data.period.to)}` : `By ${level.word}`;
  // Groups with no counted case have nothing to rank.
  const rows = data.rows.filter((row) => row.report.cases > 0).map((row) => {
    const outcomes = Object.fromEntries(row.report.outcomes.map((o) => [o.id, o]));
    const scores = row.report.outcomes.map((o) => o.score).filter((s) => s !== null);
    return {
      row,
      name: row[level.key] || '(not recorded)',
      cases: row.report.cases,
      outcomes,
      overall: scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : null,
    };
  });
  const { key, dir } = state.sort;
  const value = (r) => (key === 'name' ? r.name : key === 'cases' ? r.cases
    : key === 'overall' ? r.overall : r.outcomes[key]?.score ?? null);
  rows.sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    if (va === null || vb === null) return (va === null) - (vb === null); // unscored last
    const c = typeof va === 'string' ? va.localeCompare(vb) : va - vb;
    return (dir === 'asc' ? c : -c) || a.name.localeCompare(b.name);
  });

  const sortButton = (k, label, title) => h('th', {
    scope: 'col', class: k === 'name' ? '' : 'num',
    'aria-sort': key === k ? (dir === 'asc' ? 'ascending' : 'descending') : null,
  }, h('button', {
    type: 'button', class: 'sort', title,
    onclick: () => {
      state.sort = key === k
        ? { key: k, dir: dir === 'asc' ? 'desc' : 'asc' }
        : { key: k, dir: k === 'name' ? 'asc' : 'desc' };
      renderBreakdown();
    },
  }, label, key === k ? (dir === 'asc' ? ' ▲' : ' ▼') : ''));

  const scopeOf = (row) => {
    const s = scopeAt(state.scope, depthOf(state.scope));
    for (const l of LEVELS) if (row[l.key]) s[l.key] = row[l.key];
    return s;
  };
  const table = h('table', { class: 'breakdown', testid: 'breakdown-table', 'data-by': data.by },
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col', class: 'num' }, '#'),
      sortButton('name', level.label, `Sort by ${level.word}`),
      sortButton('cases', 'Cases', 'Sort by counted cases'),
      outcomeIds().map((id) => sortButton(id, outcomeAbbreviation(id), outcomeLabel(id))),
      sortButton('overall', 'Overall', 'Mean of the outcome scores'))),
    h('tbody', {}, rows.map((r, i) => {
      const href = hrefFor({ scope: scopeOf(r.row) });
      return h('tr', {
        testid: 'breakdown-row', 'data-name': r.name, class: 'clickable',
        onclick: (ev) => { if (!ev.target.closest('a')) location.hash = href; },
      },
      h('td', { class: 'num muted' }, i + 1),
      h('th', { scope: 'row', title: r.name }, h('a', { href }, r.name)),
      h('td', { class: 'num' }, num(r.cases)),
      outcomeIds().map((id) => {
        const o = r.outcomes[id];
        if (o && tooFew(o)) {
          return h('td', { class: 'num cell-rating rating-few', 'data-too-few': '1', 'data-outcome': id, 'data-score': o.score ?? '',
            title: `${TOO_FEW} (n=${num(o.base)}; would be ${RATINGS[o.rating] ?? o.rating})` }, pct(o.score), '*');
        }
        return h('td', { class: `num cell-rating rating-${o?.rating ?? 'none'}`, title: RATINGS[o?.rating] ?? 'Not rated',
          'data-outcome': id, 'data-score': o?.score ?? '' },
          pct(o?.score ?? null));
      }),
      h('td', { class: 'num overall' }, pct(r.overall)));
    })));
  const box = $('breakdown');
  const marked = rows.some((r) => Object.values(r.outcomes).some(tooFew));
  box.replaceChildren(...(rows.length ? [table] : [
    h('p', { class: 'muted' }, `No ${level.plural} with cases in this scope yet.`)]),
  ...(marked ? [h('p', { class: 'muted note', testid: 'breakdown-few-note' },
    `* ${TOO_FEW.toLowerCase()}: each indicator score rests on fewer than ${num(state.meta?.min_cases ?? 10)} cases.`)] : []));
}

// ---- worklist ----

// The caseload groups, in the API's order, as staff name them.
const WORK_GROUPS = {
  overdue: 'Overdue: do now',
  due_today: 'Due today',
  due_this_week: 'Due this week',
  later: 'Later',
  long_overdue: 'Long overdue: more than 28 days, can no longer be done on time',
};
const ROSH_WORDS = { VERY_HIGH: 'Very high', HIGH: 'High', MEDIUM: 'Medium', LOW: 'Low' };
const REGISTRATION_WORDS = { MAPPA: 'MAPPA', CHILD_PROTECTION: 'Child protection', DOMESTIC_ABUSE: 'Domestic abuse' };

const worklistParams = (wanted) => ({
  ...state.scope,
  group: wanted.status === 'all' ? null : wanted.status,
  indicator: wanted.indicator,
  rosh: wanted.rosh,
});

async function loadWorklist(gen) {
  const wanted = { ...state.worklist };
  state.worklistKey = JSON.stringify(wanted);
  const data = await api('/api/v1/worklist', {
    ...worklistParams(wanted), page: wanted.page, page_size: PAGE_SIZE,
  });
  if (gen !== state.generation || state.worklistKey !== JSON.stringify(wanted)) return;
  renderWorklist(data, wanted);
}

// Every item of the current filters as a CSV file (for a supervision meeting).
async function downloadWorklistCsv() {
  const headers = {};
  const bearer = token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const response = await fetch(`/api/v1/worklist${query({ ...worklistParams(state.worklist), format: 'csv' })}`,
    { headers, cache: 'no-store' });
  if (!response.ok) throw new Error(`the CSV could not be made (${response.status})`);
  const name = /filename="([^"]+)"/.exec(response.headers.get('Content-Disposition') ?? '')?.[1] ?? 'caseload.csv';
  const link = h('a', { href: URL.createObjectURL(await response.blob()), download: name });
  document.body.append(link);
  link.click();
  link.remove();
}

function roshCell(it) {
  const marks = [it.rosh_level ? `${ROSH_WORDS[it.rosh_level]} RoSH` : 'RoSH not classified',
    ...it.registrations.map((r) => REGISTRATION_WORDS[r] ?? r)];
  return h('td', { class: it.priority ? 'priority' : '', testid: 'worklist-risk' }, marks.join(' · '));
}

function renderWorklist(data, wanted) {
  const { status, page } = wanted;
  const box = $('worklist');
  const counts = h('p', { class: 'group-counts', testid: 'worklist-groups' },
    Object.entries(WORK_GROUPS).map(([g, label]) => h('a', {
      href: hrefFor({ status: g, page: 1 }), 'data-group': g, class: g === status ? 'current' : '',
    }, `${label.split(':')[0]} ${num(data.groups?.[g] ?? 0)}`)));
  if (!data.items.length) {
    box.replaceChildren(counts, h('p', { class: 'muted', testid: 'worklist-empty' },
      data.total ? 'No items on this page.' : 'Nothing outstanding here.'), pager(data, status, page));
    return;
  }
  const rows = [];
  let group = null;
  for (const it of data.items) {
    if (it.group !== group) {
      group = it.group;
      rows.push(h('tr', { class: 'group-head', testid: 'worklist-group', 'data-group': group },
        h('th', { colspan: '6', scope: 'colgroup' }, `${WORK_GROUPS[group]} (${num(data.groups?.[group] ?? 0)})`)));
    }
    rows.push(h('tr', {
      testid: 'worklist-row',
      class: `${it.status === 'OVERDUE' ? 'overdue' : 'pending'} group-${it.group}${it.priority ? ' priority' : ''}`,
      'data-case': it.case_id,
      'data-group': it.group,
      'data-priority': String(it.priority),
      'data-rosh': it.rosh_level ?? '',
    },
    h('td', {}, h('a', { href: hrefFor({ caseId: it.case_id, status, page }), testid: 'worklist-case' }, it.case_id)),
    roshCell(it),
    h('td', { testid: 'worklist-action' }, h('span', { class: 'action' }, it.action || indicatorLabel(it.indicator)),
      h('br'), h('small', { class: 'muted' }, indicatorLabel(it.indicator))),
    h('td', { class: 'nowrap' }, formatDate(it.due)),
    h('td', { class: 'nowrap' }, h('span', { class: `status status-${it.status}`, title: STATUS_MEANINGS[it.status] },
      STATUSES[it.status] ?? it.status), ' ', dueIn(it.days_overdue)),
    h('td', {}, it.offender_manager || '—')));
  }
  const table = h('table', { class: 'worklist', testid: 'worklist-table' },
    h('thead', {}, h('tr', {},
      ['Case', 'Risk', 'What to do', 'Due', 'Status', 'Practitioner']
        .map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows));
  box.replaceChildren(counts, table, pager(data, status, page));
}

function pager(data, status, page) {
  const pages = Math.max(1, Math.ceil(data.total / data.page_size));
  const first = data.total ? (data.page - 1) * data.page_size + 1 : 0;
  const last = Math.min(data.total, first + data.items.length - 1);
  const link = (to, text, testid) => (to >= 1 && to <= pages && to !== page
    ? h('a', { href: hrefFor({ status, page: to }), testid }, text)
    : h('span', { class: 'disabled', testid }, text));
  return h('nav', { class: 'pager', 'aria-label': 'Worklist pages' },
    link(page - 1, '← Previous', 'worklist-prev'),
    h('span', { testid: 'worklist-count' },
      data.total ? `${num(first)}–${num(last)} of ${num(data.total)} · page ${page} of ${pages}` : ''),
    link(page + 1, 'Next →', 'worklist-next'));
}

// ---- case timeline ----

const FIELD_LABELS = {
  includes_rosh: 'covers RoSH', includes_lor: 'covers LoR', offender_manager: 'practitioner',
  pdu: 'PDU', full_analysis_required: 'full analysis needed', risk_increased: 'risk increased',
  addresses_victim_safety: 'addresses victim safety', victim_contact_required: 'victim contact required',
};

function fieldValue(key, value) {
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (key === 'indicator') return indicatorLabel(value);
  if (key === 'due' || key === 'sentence_date') return formatDate(value);
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value)) return formatInstant(value);
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return enumLabel(value);
}

function payloadFields(ev) {
  let p = ev.payload ?? {};
  // Accept {"<type>": {...}} as well as the fields themselves.
  const keys = Object.keys(p);
  if (keys.length === 1 && keys[0] === ev.type && typeof p[keys[0]] === 'object') p = p[keys[0]] ?? {};
  const entries = Object.entries(p).filter(([, v]) => v !== null && v !== '');
  if (!entries.length) return null;
  return h('dl', { class: 'fields' }, entries.map(([k, v]) => h('div', {},
    h('dt', {}, FIELD_LABELS[k] ?? k.replaceAll('_', ' ')), h('dd', {}, fieldValue(k, v)))));
}

async function showCase(id) {
  $('dashboard').hidden = true;
  $('case-view').hidden = false;
  $('case-back').href = hrefFor({ status: state.worklist.status, page: state.worklist.page });
  const box = $('case-timeline');
  if (box.dataset.case !== id) box.replaceChildren(h('p', { class: 'muted' }, `Loading case ${id}…`));
  document.title = `Case ${id} — Casewatch`;
  try {
    const c = await api(`/api/v1/cases/${encodeURIComponent(id)}`);
    if (state.caseId === id) renderCase(c);
  } catch (e) {
    if (state.caseId !== id) return;
    box.dataset.case = '';
    box.replaceChildren(h('p', { class: 'error', testid: 'case-error' },
      e.status === 404 ? `There is no case ${id} (${e.message}).` : e.message));
  }
}

// A long case comes a page at a time: the next page of its events or obligations, added to what
// is shown.
async function showMore(c, kind) {
  const id = c.case_id;
  const query = kind === 'events' ? `page=${c.page + 1}&page_size=${c.page_size}`
    : `items_page=${c.items_page + 1}&items_page_size=${c.items_page_size}&page_size=1`;
  try {
    const next = await api(`/api/v1/cases/${encodeURIComponent(id)}?${query}`);
    if (state.caseId !== id) return;
    if (kind === 'events') {
      renderCase({ ...c, events: [...c.events, ...next.events], page: next.page });
    } else {
      renderCase({ ...c, items: [...c.items, ...next.items], items_page: next.items_page });
    }
  } catch (e) {
    if (state.caseId !== id) return;
    $('case-timeline').append(h('p', { class: 'error', testid: 'case-error' }, e.message));
  }
}

function renderCase(c) {
  const box = $('case-timeline');
  box.dataset.case = c.case_id;
  const a = c.allocation ?? {};
  const allocation = LEVELS.map((l) => a[l.key]).filter(Boolean).join(' › ') || 'not allocated';
  // One status an item: overdue (missed, still to be done) or missed (past doing), never both.
  const statusOf = (it) => (it.overdue ? 'OVERDUE' : it.status);
  const items = h('table', { class: 'case-items', testid: 'case-items' },
    h('thead', {}, h('tr', {}, ['Obligation', 'Due', 'Status', 'Completed on', 'Fulfilled by']
      .map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, itemsInDateOrder(c.items ?? []).map((it) => h('tr', {
      testid: 'case-item', 'data-status': it.status, 'data-shown-status': statusOf(it),
      'data-indicator': it.indicator, 'data-due': it.due, class: it.overdue ? 'overdue' : null,
    },
    h('td', {}, indicatorLabel(it.indicator), it.check ? `: ${checkLabel(it.indicator, it.check)}` : ''),
    h('td', { class: 'nowrap' }, formatDate(it.due)),
    h('td', {}, h('span', {
      class: `status status-${statusOf(it)}`, testid: 'case-item-status', title: STATUS_MEANINGS[statusOf(it)],
    }, STATUSES[statusOf(it)] ?? statusOf(it))),
    h('td', { class: 'nowrap' }, it.completed_on ? formatDate(it.completed_on) : '—'),
    h('td', {}, it.fulfilled_by
      ? h('button', { type: 'button', class: 'link', onclick: () => focusEvent(it.fulfilled_by) }, it.fulfilled_by)
      : '—')))));
  const legend = h('p', { class: 'muted legend', testid: 'case-items-legend' },
    `${STATUSES.OVERDUE}: ${STATUS_MEANINGS.OVERDUE.toLowerCase()}. `,
    `${STATUSES.MISSED}: ${STATUS_MEANINGS.MISSED.toLowerCase()}.`);
  const events = h('ol', { class: 'timeline', testid: 'timeline' }, (c.events ?? []).map((ev) => {
    const late = ev.recorded_at && Date.parse(ev.recorded_at) - Date.parse(ev.occurred_at) > 86400000;
    return h('li', {
      testid: 'timeline-event', 'data-type': ev.type, 'data-event-id': ev.event_id,
      class: ev.type === 'obligation_missed' ? 'missed' : null,
    },
    h('time', { datetime: ev.occurred_at }, formatInstant(ev.occurred_at)),
    h('div', { class: 'ev-body' },
      h('strong', { class: 'ev-type' }, eventLabel(ev.type, ev.payload)),
      h('span', { class: 'ev-meta' }, [ev.source, ev.event_id].filter(Boolean).join(' · '),
        late ? ` · recorded ${formatDate(ev.recorded_at)}` : ''),
      payloadFields(ev)));
  }));
  box.replaceChildren(
    h('h1', {}, `Case ${c.case_id}`),
    h('p', { class: 'case-meta' },
      h('span', { testid: 'case-allocation' }, allocation), ' · ',
      c.counted ? 'counted in the figures' : 'not counted (not open as of this time)', ' · as of ',
      formatInstant(c.as_of)),
    h('div', { class: 'case-columns' },
      h('section', { class: 'panel' }, h('h2', {}, `Obligations (${countOf(c.items, c.items_total)})`),
        c.items?.length ? [items, legend] : h('p', { class: 'muted' }, 'No obligations yet.'),
        moreButton(c, 'items', c.items, c.items_total, 'obligations')),
      h('section', { class: 'panel' }, h('h2', {}, `Events (${countOf(c.events, c.events_total)})`),
        c.events?.length ? events : h('p', { class: 'muted' }, 'No events.'),
        moreButton(c, 'events', c.events, c.events_total, 'events'))));
}

// The items grouped by indicator in report order (the order meta lists them), each indicator's
// by due date: the engine sends them so, and pages added later keep it.
function itemsInDateOrder(items) {
  const rank = new Map((state.meta?.indicators ?? []).map((ind, i) => [ind.id, i]));
  return items.map((it, i) => ({ it, i })).sort((a, b) => (rank.get(a.it.indicator) ?? 99)
    - (rank.get(b.it.indicator) ?? 99) || a.it.due.localeCompare(b.it.due) || a.i - b.i)
    .map(({ it }) => it);
}

// "12" when all are shown, "1,000 of 200,000" when a long case is shown in part.
function countOf(shown, total) {
  const n = (shown ?? []).length;
  return total === undefined || total <= n ? `${n}` : `${n.toLocaleString('en-GB')} of ${total.toLocaleString('en-GB')}`;
}

function moreButton(c, kind, shown, total, noun) {
  if (total === undefined || (shown ?? []).length >= total) return null;
  return h('button', { type: 'button', class: 'link', testid: `case-more-${kind}`, onclick: () => showMore(c, kind) },
    `Show more ${noun}`);
}

function focusEvent(eventId) {
  for (const li of document.querySelectorAll('[data-testid="timeline-event"]')) {
    if (li.dataset.eventId === eventId) {
      li.scrollIntoView({ block: 'center' });
      li.classList.remove('highlight');
      void li.offsetWidth;
      li.classList.add('highlight');
    }
  }
}

// ---- live stream ----

function connectStream() {
  state.stream?.close();
  clearTimeout(state.retryTimer);
  setLive('connecting');
  const es = openStream(state.scope);
  state.stream = es;
  const current = () => state.stream === es;
  es.onopen = () => { if (current()) { setLive('live'); state.retryDelay = 5000; } };
  es.addEventListener('report', (ev) => {
    if (!current()) return;
    setLive('live');
    const report = parse(ev.data);
    if (!report) return;
    const key = JSON.stringify([report.cases, report.indicators]);
    const changed = state.lastReportKey !== null && key !== state.lastReportKey;
    state.lastReportKey = key;
    if (state.period.kind === 'all') {
      applyReport(report);
    } else {
      setAsOf(report.as_of);  // a chosen period's report is fetched again below
    }
    if (changed) scheduleRefresh();
  });
  es.addEventListener('alert', (ev) => {
    if (!current()) return;
    const alert = parse(ev.data);
    if (alert) addAlert(alert);
  });
  es.addEventListener('freshness', (ev) => {
    if (current()) setFreshness(parse(ev.data));
  });
  es.onerror = () => {
    if (!current()) return;
    if (es.readyState === EventSource.CONNECTING) {
      setLive('reconnecting');
      return;
    }
    // Closed for good (an HTTP error, perhaps 401): check the session, then try again.
    setLive('offline');
    es.close();
    state.retryTimer = setTimeout(async () => {
      try {
        await api('/api/v1/meta');
      } catch {
        // still unreachable: reconnect anyway, the stream reports its own state
      }
      if (current()) connectStream();
    }, state.retryDelay);
    state.retryDelay = Math.min(state.retryDelay * 2, 60000);
  };
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    console.warn('casewatch: unreadable stream message', text);
    return null;
  }
}

// Breakdown and worklist follow a changed report a moment later (at most one refresh in flight).
function scheduleRefresh() {
  if (state.refreshTimer) return;
  state.refreshTimer = setTimeout(() => {
    state.refreshTimer = null;
    const gen = state.generation;
    loadBreakdown(gen).catch(sectionError('breakdown'));
    loadWorklist(gen).catch(sectionError('worklist'));
    if (state.period.kind !== 'all') loadReport(gen).catch(sectionError('report'));
  }, 2000);
}

function addAlert(a) {
  if (state.alerts.has(a.event_id)) return; // alerts are delivered at least once
  state.alerts.add(a.event_id);
  const feed = $('alert-feed');
  feed.prepend(h('li', { testid: 'alert-item', 'data-case': a.case_id, 'data-indicator': a.indicator },
    h('a', { href: hrefFor({ caseId: a.case_id }), class: 'case-link' }, a.case_id), ' ',
    h('span', {}, indicatorLabel(a.indicator)),
    h('span', { class: 'muted' }, ` — due ${formatDate(a.due)}`),
    h('br'),
    h('small', { class: 'muted' }, [a.team, a.offender_manager].filter(Boolean).join(' · '),
      a.missed_at ? ` · missed ${formatInstant(a.missed_at)}` : '')));
  while (feed.children.length > FEED_MAX) feed.lastChild.remove();
  $('alert-feed-empty').hidden = true;
  if (state.caseId === a.case_id) showCase(a.case_id);
}

// ---- start ----

async function start() {
  for (const input of document.querySelectorAll('input[name="wl-status"]')) {
    input.addEventListener('change', () => {
      location.hash = hrefFor({ status: input.value, page: 1 });
    });
  }
  $('worklist-rosh').addEventListener('change', (ev) => {
    location.hash = hrefFor({ status: state.worklist.status, rosh: ev.target.value, page: 1 });
  });
  $('worklist-indicator').addEventListener('change', (ev) => {
    location.hash = hrefFor({ status: state.worklist.status, indicator: ev.target.value, page: 1 });
  });
  $('period').addEventListener('change', (ev) => {
    location.hash = hrefFor({ status: state.worklist.status, period: { ...state.period, kind: ev.target.value } });
  });
  for (const end of ['from', 'to']) {
    $(`period-${end}`).addEventListener('change', (ev) => {
      location.hash = hrefFor({ status: state.worklist.status, period: { ...state.period, [end]: ev.target.value } });
    });
  }
  $('worklist-csv').addEventListener('click', () => downloadWorklistCsv().catch(sectionError('worklist')));
  $('sign-out').addEventListener('click', () => { clearToken(); location.reload(); });
  $('signin').addEventListener('cancel', (ev) => ev.preventDefault()); // nothing works without it
  try {
    state.meta = await api('/api/v1/meta');
  } catch (e) {
    showError(e);
    setLive('offline');
    return;
  }
  useLabels(state.meta);
  state.principalScope = { ...emptyScope(), ...(state.meta.principal?.scope ?? {}) };
  $('worklist-indicator').append(...state.meta.indicators.map((ind) => h('option', { value: ind.id }, indicatorLabel(ind.id))));
  renderPrincipal();
  setAsOf(state.meta.as_of);
  buildTiles();
  buildIndicatorTable();
  window.addEventListener('hashchange', route);
  route();
}

start();
