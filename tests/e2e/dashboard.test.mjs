#!/usr/bin/env node
// End-to-end test of the dashboard: a development broker, casewatchd with its HTTP API, simulated
// events published over Kafka, and the dashboard driven in headless Chromium — tiles, drill-down,
// a case's timeline, a live update over the event stream without a reload, and the broker lost
// (killed): the page says which partitions are unreachable, since when, and every API answer too.
//
//   node dashboard.test.mjs --casewatch BIN --casewatchd BIN --out DIR [--keep]
//
// Exit codes: 0 passed, 1 failed (also when node, Chromium or node_modules is missing: never a skip).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { check, chromiumOrFail, launchHeadless, must, parseArgs, runTest } from './browser.mjs';

const CASES = 300;
const CLOCK = '2026-01-01T00:00:00Z';
const NEW_CASES = 6;
const RATING_WORDS = {
  OUTSTANDING: 'Outstanding', GOOD: 'Good', REQUIRES_IMPROVEMENT: 'Requires improvement', INADEQUATE: 'Inadequate',
};
// What an outcome's badge says: its rating, or the mark when the score rests on too few cases.
const TOO_FEW = 'Too few cases to rate';
const tooFew = (s) => s.too_few_cases === true && s.score !== null;
const badgeWords = (o) => (tooFew(o) ? TOO_FEW : RATING_WORDS[o.rating] ?? 'Not rated');

// ---- arguments, prerequisites ----

const args = parseArgs(process.argv.slice(2),
  { values: ['casewatch', 'casewatchd', 'out'], required: ['casewatch', 'casewatchd', 'out'] });
const chromium = await chromiumOrFail(args.chromium);
for (const bin of [args.casewatch, args.casewatchd]) {
  if (!fs.existsSync(bin)) throw new Error(`${bin} does not exist: build casewatch and casewatchd first`);
}

fs.mkdirSync(args.out, { recursive: true });
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'casewatch-e2e-'));

// ---- child processes: logged to the out dir, always stopped ----

const children = [];

function start(name, bin, argv) {
  const log = fs.createWriteStream(path.join(args.out, `${name}.log`));
  const child = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = { name, child, output: '', stdout: '', exited: null };
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (chunk) => {
      proc.output += chunk.toString();
      if (stream === child.stdout) proc.stdout += chunk.toString();
      log.write(chunk);
    });
  }
  child.on('exit', (code, signal) => {
    proc.exited = { code, signal };
    log.end();
  });
  child.on('error', (e) => { proc.exited = { code: null, signal: null, error: e }; });
  children.push(proc);
  return proc;
}

// Runs a command to completion and returns its standard output; throws when it fails.
async function run(name, bin, argv) {
  const proc = start(name, bin, argv);
  const [code] = await once(proc.child, 'close');
  if (code !== 0) throw new Error(`${name} exited with ${code}:\n${tail(proc.output)}`);
  return proc.stdout;
}

const tail = (text, lines = 15) => text.trim().split('\n').slice(-lines).join('\n');

// Waits for a line of a running process's output to match re; fails early if it exits.
async function waitForOutput(proc, re, what, timeoutMs = 30000) {
  return waitFor(async () => {
    const m = proc.output.match(re);
    if (m) return m;
    if (proc.exited) {
      throw new Error(`${proc.name} exited (${proc.exited.code ?? proc.exited.signal}) before ${what}:\n${tail(proc.output)}`);
    }
    return null;
  }, what, timeoutMs);
}

async function stopAll() {
  for (const proc of [...children].reverse()) {
    if (proc.exited) continue;
    proc.child.kill('SIGTERM');
    const exited = once(proc.child, 'exit');
    const timer = new Promise((resolve) => setTimeout(resolve, 10000, 'timeout'));
    if (await Promise.race([exited, timer]) === 'timeout') proc.child.kill('SIGKILL');
  }
}

process.on('exit', () => {
  for (const proc of children) if (!proc.exited) proc.child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    await stopAll();
    process.exit(1);
  });
}

// ---- waiting ----

async function waitFor(probe, what, timeoutMs = 30000, intervalMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (e) {
      if (e.fatal !== false) throw e;
      last = e.message;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (last: ${last})` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

// A probe failure that should be retried rather than end the wait.
const retry = (message) => Object.assign(new Error(message), { fatal: false });

const pct = (score) => (score === null ? 'no relevant cases' : `${Math.round(score * 100)}%`);
const testid = (id) => `[data-testid="${id}"]`;

// ---- the HTTP API, from the test's side ----

let base;

async function getJson(urlPath) {
  const response = await fetch(base + urlPath);
  if (!response.ok) throw retry(`GET ${urlPath}: ${response.status} ${await response.text()}`);
  return response.json();
}

const scopeQuery = (scope) => new URLSearchParams(
  Object.entries(scope).filter(([, v]) => v !== null && v !== undefined)).toString();

// ---- new events for the live update: cases that open and then see nothing done ----

function newCaseEvents({ region, pdu, team }) {
  const lines = [];
  for (let n = 1; n <= NEW_CASES; n += 1) {
    const caseId = `E2E-${String(n).padStart(6, '0')}`;
    const id = (k) => `${caseId}-e${k}`;
    lines.push({
      eventId: id(1), caseId, occurredAt: '2025-10-30T10:00:00Z', source: 'e2e-test',
      preSentenceReportCompleted: { reportType: 'REPORT_TYPE_ORAL', includesRosh: false, includesLor: true },
    });
    lines.push({
      eventId: id(2), caseId, occurredAt: '2025-11-03T09:00:00Z', source: 'e2e-test',
      caseOpened: {
        caseType: 'CASE_TYPE_COMMUNITY_ORDER', region, pdu, team, offenderManager: 'om-e2e',
        victimContactRequired: false,
      },
    });
  }
  return `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`;
}

// ---- the test ----

async function main() {
  const cw = args.casewatch;

  // Services and data.
  const broker = start('dev-broker', cw, ['dev-broker', '--port', '0', '--partitions', '4']);
  const brokers = (await waitForOutput(broker, /listening on (\S+)/, 'the broker listening'))[1];
  const events = path.join(work, 'events.bin');
  await run('simulate', cw, ['simulate', '--cases', String(CASES), '--start', '2025-01-01', '--months', '12',
    '--seed', '3', '--quiet', '--out', events]);
  const replay = JSON.parse(await run('replay', cw, ['replay', '--events', events, '--as-of', CLOCK]));
  const engine = start('casewatchd', args.casewatchd, ['--brokers', brokers, '--data', path.join(work, 'store'),
    '--clock', 'simulated', '--clock-start', CLOCK, '--clock-speed', '0', '--http-port', '0', '--no-auth']);
  base = (await waitForOutput(engine, /http: listening on (http:\/\/[^\s/]+)/, 'its HTTP port'))[1];
  console.log(`# casewatchd at ${base}, broker ${brokers}, work dir ${work}`);
  await run('publish', cw, ['publish', '--brokers', brokers, events]);

  await waitFor(async () => {
    const response = await fetch(`${base}/readyz`).catch(() => null);
    return response?.status === 200;
  }, '/readyz to answer 200', 60000);
  const national = await waitFor(async () => {
    const report = await getJson('/api/v1/report');
    if (report.cases !== replay.cases) throw retry(`${report.cases} of ${replay.cases} cases`);
    return report;
  }, `the engine to count the ${replay.cases} simulated cases`, 120000);
  check(JSON.stringify(national.outcomes) === JSON.stringify(replay.outcomes),
    'the live national report has the outcomes of a replay of the same events',
    `live ${JSON.stringify(national.outcomes)}\n    replay ${JSON.stringify(replay.outcomes)}`);

  const browser = await launchHeadless(chromium, args.chromium);
  try {
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 }, acceptDownloads: true });
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') console.log(`# browser console: ${m.text()}`); });
    const shot = (name) => page.screenshot({ path: path.join(args.out, `${name}.png`), fullPage: true });
    const text = (selector) => page.locator(selector).first().textContent();
    const inPage = (fn, arg, what, timeout = 15000) => page.waitForFunction(fn, arg, { timeout })
      .catch((e) => { throw new Error(`timed out waiting for ${what} (${e.message.split('\n')[0]})`); });

    // 1. The national dashboard.
    await page.goto(`${base}/`);
    await inPage(() => document.querySelector('[data-testid="tile-DELIVERY"]')?.dataset.score !== undefined
      && document.querySelector('[data-testid="scope-summary"]')?.dataset.cases,
    null, 'the outcome tiles to be filled');
    for (const o of national.outcomes) {
      const tile = testid(`tile-${o.id}`);
      const shown = (await text(`${tile} ${testid('tile-score')}`)).trim();
      const rating = (await text(`${tile} ${testid('tile-rating')}`)).trim();
      check(shown === pct(o.score) && rating === badgeWords(o),
        `tile ${o.id} shows ${pct(o.score)} rated ${o.rating}${tooFew(o) ? ' (too few cases)' : ''}`,
        `shows "${shown}" rated "${rating}"`);
    }
    check(await page.locator(`${testid('indicators')} tbody tr[data-indicator]`).count() === 19,
      'the indicators table has all 19 indicators');
    // One name for one thing: the titles are the engine's (meta, projections/labels.h).
    const meta = await getJson('/api/v1/meta');
    const shownTitles = await page.locator(`${testid('indicators')} tbody tr[data-indicator]`).evaluateAll(
      (trs) => trs.map((tr) => [tr.dataset.indicator, tr.querySelector('.ind-label').textContent]));
    check(JSON.stringify(shownTitles) === JSON.stringify(meta.indicators.map((i) => [i.id, i.title])),
      'each indicator is shown with the title meta gives it, in meta\'s order', JSON.stringify(shownTitles));
    const tileTitles = await page.locator('[data-testid^="tile-"][data-outcome] h3').allTextContents();
    check(JSON.stringify(tileTitles) === JSON.stringify(meta.outcomes.map((o) => o.title)),
      'each outcome tile has the title meta gives it', JSON.stringify(tileTitles));
    const prompt = national.indicators.find((i) => i.id === 'prompt_start');
    const promptRow = testid('indicator-prompt_start');
    check((await text(`${promptRow} ${testid('items-missed')}`)).trim() === String(prompt.items.missed),
      `prompt_start shows ${prompt.items.missed} missed items`);
    check((await text(testid('as-of'))).includes('1 Jan 2026'), 'the engine\'s as_of time is shown',
      await text(testid('as-of')));
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 1366, 'the dashboard fits a 1366-pixel laptop screen without scrolling sideways',
      `the page is ${width} pixels wide`);
    await inPage(() => document.querySelector('[data-testid="live-status"]').dataset.state === 'live',
      null, 'the live stream to connect');
    check(true, 'the live stream is connected');
    await shot('dashboard');

    // The trend from history: one point a month from the history's first month, each the replay
    // of that month's decisions as of its end, drawn in the tiles' sparklines.
    const monthly = await getJson('/api/v1/trend?interval=month&months=12');
    check(monthly.months.length === 12 && monthly.months.at(-1).month === CLOCK.slice(0, 7),
      'the monthly trend has twelve months, to the engine\'s month', JSON.stringify(monthly.months.map((m) => m.month)));
    for (const m of [monthly.months[0], monthly.months[5], monthly.months.at(-2)]) {
      const replayed = JSON.parse(await run('replay', cw, ['replay', '--events', events, '--as-of', m.as_of,
        '--from', m.from, '--to', m.to]));
      const same = replayed.cases === m.cases && replayed.outcomes.every((o) => o.score === m.outcomes[o.id])
        && replayed.indicators.every((i) => i.score === m.indicators[i.id]);
      check(same, `the trend's ${m.month} equals casewatch replay --as-of ${m.as_of} --from ${m.from} --to ${m.to}`,
        `trend ${JSON.stringify(m.outcomes)}\n    replay ${JSON.stringify(Object.fromEntries(replayed.outcomes.map((o) => [o.id, o.score])))}`);
    }
    const scored = monthly.months.filter((m) => m.outcomes.DELIVERY !== null);
    await inPage((n) => document.querySelector('[data-testid="tile-DELIVERY"] [data-testid="tile-trend"] svg')
      ?.dataset.points === String(n), scored.length, 'the delivery tile\'s monthly sparkline');
    const sparkTitle = await page.locator(`${testid('tile-DELIVERY')} ${testid('tile-trend')} svg title`).textContent();
    const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    const monthName = (m) => `${MONTHS[Number(m.month.slice(5)) - 1]} ${m.month.slice(0, 4)}`;
    check(sparkTitle.includes(`${pct(scored[0].outcomes.DELIVERY)} in ${monthName(scored[0])}`)
      && sparkTitle.includes(`${pct(scored.at(-1).outcomes.DELIVERY)} in ${monthName(scored.at(-1))}`),
    'the delivery tile\'s sparkline runs month by month, first to last as the trend gives them', sparkTitle);

    // 2. Drill down: national → region → PDU.
    const rowNames = () => page.locator(testid('breakdown-row')).evaluateAll((rows) => rows.map((r) => r.dataset.name));
    const crumbs = async () => (await page.locator(testid('crumb')).allTextContents()).map((t) => t.trim());
    const regions = await getJson('/api/v1/breakdown?by=region');
    await inPage((n) => document.querySelectorAll('[data-testid="breakdown-row"]').length === n,
      regions.rows.length, 'the regional breakdown');
    const regionNames = await rowNames();
    must(regionNames.length > 0, `the national breakdown lists the ${regions.rows.length} regions`,
      JSON.stringify(regionNames));
    check(sameSet(regionNames, regions.rows.map((r) => r.region)), 'the breakdown rows are the API\'s regions',
      JSON.stringify(regionNames));

    const region = regionNames[0];
    await page.locator(testid('breakdown-row')).first().click();
    await inPage((r) => [...document.querySelectorAll('[data-testid="crumb"]')].some((c) => c.textContent.includes(r))
      && document.querySelector('[data-testid="breakdown-table"]')?.dataset.by === 'pdu', region,
    `the breadcrumb to show ${region} and the breakdown by PDU`);
    check((await text('#breakdown-h')) === 'By PDU', 'the breakdown by PDU is headed in staff\'s words',
      await text('#breakdown-h'));
    const pdus = await getJson(`/api/v1/breakdown?${scopeQuery({ region, by: 'pdu' })}`);
    const pduNames = await rowNames();
    check(sameSet(pduNames, pdus.rows.map((r) => r.pdu)) && !sameSet(pduNames, regionNames),
      `drilling into ${region} lists its PDUs`, JSON.stringify(pduNames));
    const regionReport = await getJson(`/api/v1/report?${scopeQuery({ region })}`);
    check(await page.locator(testid('scope-summary')).getAttribute('data-cases') === String(regionReport.cases),
      `the summary counts the region's ${regionReport.cases} cases`);
    check(new URL(page.url()).hash.includes('region='), 'the scope is in the URL hash', page.url());

    const pdu = pduNames[0];
    await page.locator(testid('breakdown-row')).first().click();
    await inPage(() => document.querySelector('[data-testid="breakdown-table"]')?.dataset.by === 'team',
      null, `the breakdown of ${pdu} by team`);
    const trail = await crumbs();
    check(trail.length === 3 && trail[0] === 'National' && trail[1].endsWith(region) && trail[2].endsWith(pdu),
      `the breadcrumb reads National › ${region} › ${pdu}`, JSON.stringify(trail));
    const teams = await getJson(`/api/v1/breakdown?${scopeQuery({ region, pdu, by: 'team' })}`);
    const teamNames = await rowNames();
    check(sameSet(teamNames, teams.rows.map((r) => r.team)), `${pdu}'s breakdown lists its teams`,
      JSON.stringify(teamNames));
    await shot('drill-down');

    // A bookmark of the view reloads into the same scope.
    await page.reload();
    await inPage(() => document.querySelector('[data-testid="breakdown-table"]')?.dataset.by === 'team',
      null, 'the reloaded page to return to the PDU');
    check(JSON.stringify(await crumbs()) === JSON.stringify(trail), 'reloading keeps the scope');

    // 3. The worklist and a case's timeline.
    await inPage(() => document.querySelectorAll('[data-testid="worklist-row"]').length > 0
      || document.querySelector('[data-testid="worklist-empty"]'), null, 'the worklist');
    const worklistRows = () => page.locator(testid('worklist-row')).evaluateAll((trs) => trs.map((tr) => ({
      overdue: tr.classList.contains('overdue'),
      status: tr.querySelector('.status')?.textContent,
      caseId: tr.dataset.case,
      group: tr.dataset.group,
      priority: tr.dataset.priority === 'true',
      rosh: tr.dataset.rosh,
      action: tr.querySelector('[data-testid="worklist-action"] .action')?.textContent,
    })));
    const rows = await worklistRows();
    must(rows.length > 0, `the worklist of ${pdu} has items`);
    const GROUP_ORDER = ['overdue', 'due_today', 'due_this_week', 'later', 'long_overdue'];
    check(rows.every((r, i) => i === 0 || GROUP_ORDER.indexOf(rows[i - 1].group) <= GROUP_ORDER.indexOf(r.group)),
      'the caseload comes in groups: overdue, due today, this week, later, long overdue',
      JSON.stringify(rows.map((r) => r.group)));
    check(rows.every((r, i) => i === 0 || rows[i - 1].group !== r.group || rows[i - 1].priority || !r.priority),
      'within a group, high-risk, child protection and MAPPA cases come first',
      JSON.stringify(rows.map((r) => [r.group, r.priority])));
    check(rows.every((r) => r.overdue === (r.status === 'Overdue')), 'overdue items, and only they, are highlighted');
    const actions = new Map(meta.indicators.filter((i) => i.action)
      .map((i) => [i.title, [i.action, ...(i.checks ?? []).map((c) => c.action)]]));
    const todo = await page.locator(testid('worklist-action')).evaluateAll((tds) => tds.map((td) => ({
      action: td.firstChild.textContent, title: td.querySelector('small').textContent,
    })));
    check(todo.length === rows.length && todo.every((t) => actions.has(t.title)
      && actions.get(t.title).some((a) => a.toLowerCase() === t.action.toLowerCase())),
    'each worklist row says what to do in meta\'s words, under the indicator\'s title', JSON.stringify(todo.slice(0, 3)));
    check(rows.every((r) => r.action && /^[a-z]/.test(r.action)), 'each row says what to do in staff\'s words',
      JSON.stringify(rows.slice(0, 3).map((r) => r.action)));
    const headers = await page.locator(testid('worklist-group')).evaluateAll((ths) => ths.map((th) => th.dataset.group));
    check(JSON.stringify(headers) === JSON.stringify([...new Set(rows.map((r) => r.group))]),
      'each group on the page has its heading', JSON.stringify(headers));
    // Each safeguarding item names its check (children's services or police), in the API and on the page.
    const safeguarding = await getJson('/api/v1/worklist?indicator=safeguarding_checks&page_size=200');
    const checks = meta.indicators.find((i) => i.id === 'safeguarding_checks').checks;
    must(safeguarding.items.length > 0, 'the service has open safeguarding checks to name');
    check(checks.length === 2 && safeguarding.items.every((it) => checks.some((c) => c.id === it.check && c.action === it.action)),
      'each open safeguarding check on the caseload names its check, in meta\'s words',
      JSON.stringify(safeguarding.items.slice(0, 4).map((it) => [it.check, it.action])));
    const apiWork = await getJson(`/api/v1/worklist?pdu=${encodeURIComponent(pdu)}&page_size=25`);
    check(JSON.stringify(rows.map((r) => r.caseId)) === JSON.stringify(apiWork.items.map((i) => i.case_id)),
      'the caseload shows the API\'s items in its order');
    await shot('caseload');
    // Filters: RoSH and group, in the URL; then back to all.
    await page.selectOption(testid('worklist-rosh'), 'very_high,high');
    await inPage(() => location.hash.includes('rosh=') && document.querySelectorAll('[data-testid="worklist-row"]').length > 0
      && [...document.querySelectorAll('[data-testid="worklist-row"]')].every((tr) => ['HIGH', 'VERY_HIGH'].includes(tr.dataset.rosh)),
    null, 'only high and very high RoSH cases after the RoSH filter');
    check(true, 'the RoSH filter keeps only high and very high RoSH cases');
    await shot('caseload-high-rosh');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click(testid('worklist-csv'))]);
    const csvPath = path.join(args.out, 'caseload.csv');
    await download.saveAs(csvPath);
    const csvLines = fs.readFileSync(csvPath, 'utf8').trim().split('\r\n');
    check(csvLines[0].startsWith('group,case_id,rosh_level') && csvLines.length > 1
      && csvLines.slice(1).every((l) => /^[a-z_]+,[^,]+,(HIGH|VERY_HIGH),/.test(l)),
    `the CSV export holds the filtered caseload (${csvLines.length - 1} rows)`, csvLines.slice(0, 3).join(' | '));
    await page.selectOption(testid('worklist-rosh'), '');
    await page.check('input[name="wl-status"][value="overdue"]');
    await inPage(() => location.hash.includes('status=overdue')
      && [...document.querySelectorAll('[data-testid="worklist-row"]')].every((tr) => tr.dataset.group === 'overdue'),
    null, 'only overdue items after choosing Overdue');
    check(true, 'the group filter shows one group');
    await page.check('input[name="wl-status"][value="all"]');
    await inPage(() => !location.hash.includes('status=') && document.querySelectorAll('[data-testid="worklist-row"]').length > 0,
      null, 'the whole caseload again');
    // The period picker: last quarter, beside the quarter before, each the API's period report.
    await page.selectOption(testid('period'), 'quarter');
    await inPage(() => location.hash.includes('period=quarter')
      && document.querySelector('[data-testid="scope-summary"]').textContent.includes('decisions'), null, 'the quarter\'s report');
    const quarter = await getJson(`/api/v1/report?pdu=${encodeURIComponent(pdu)}&region=${encodeURIComponent(region)}&from=2025-10-01&to=2025-12-31`);
    const quarterBefore = await getJson(`/api/v1/report?pdu=${encodeURIComponent(pdu)}&region=${encodeURIComponent(region)}&from=2025-07-01&to=2025-09-30`);
    await inPage((score) => document.querySelector('[data-testid="tile-DELIVERY"]').dataset.score === score,
      String(quarter.outcomes.find((o) => o.id === 'DELIVERY').score ?? ''), 'the DELIVERY tile to show the quarter\'s score');
    const tilesNow = await page.locator('[data-testid^="tile-"][data-outcome]').evaluateAll((ts) => ts.map((t) => ({
      id: t.dataset.outcome, score: t.dataset.score, previous: t.querySelector('[data-testid="tile-delta"]')?.dataset.previous ?? '',
    })));
    check(tilesNow.every((t) => t.score === String(quarter.outcomes.find((o) => o.id === t.id).score ?? '')),
      'each tile shows the last quarter\'s score (Oct–Dec 2025), as the API\'s period report', JSON.stringify(tilesNow));
    check(tilesNow.every((t) => {
      const b = quarterBefore.outcomes.find((o) => o.id === t.id).score;
      const now = quarter.outcomes.find((o) => o.id === t.id).score;
      return t.previous === (b !== null && now !== null ? String(b) : '');
    }), 'each tile compares with the quarter before (Jul–Sep 2025)', JSON.stringify(tilesNow));
    check((await text(testid('period-previous'))).includes('1 Jul 2025'), 'the previous period is named');
    // The breakdown follows the period: each team's scores are the API's for the quarter.
    const quarterTeams = await getJson(`/api/v1/breakdown?pdu=${encodeURIComponent(pdu)}&region=${encodeURIComponent(region)}&by=team&from=2025-10-01&to=2025-12-31`);
    await inPage(() => document.getElementById('breakdown-h').textContent.includes('1 Oct 2025'), null,
      'the breakdown headed with the quarter');
    const shownTeams = await page.locator(testid('breakdown-row')).evaluateAll((trs) => trs.map((tr) => [tr.dataset.name,
      tr.querySelector('td[data-outcome="DELIVERY"]')?.dataset.score ?? '']));
    const apiTeams = quarterTeams.rows.filter((r) => r.report.cases > 0).map((r) => [r.team,
      String(r.report.outcomes.find((o) => o.id === 'DELIVERY').score ?? '')]);
    check(shownTeams.length === apiTeams.length && shownTeams.every(([name, score]) =>
      apiTeams.some(([t, s]) => t === name && s === score)),
    'the breakdown shows each team\'s score for the quarter, as the API\'s breakdown of the period',
    `shown ${JSON.stringify(shownTeams)}\n    api ${JSON.stringify(apiTeams)}`);
    await shot('period-quarter');
    await page.selectOption(testid('period'), 'all');
    await inPage(() => !location.hash.includes('period='), null, 'back to all decisions to date');
    const opened = rows[0];
    await page.locator(testid('worklist-case')).first().click();
    await inPage((id) => !document.querySelector('[data-testid="case-view"]').hidden
      && document.querySelector('[data-testid="case-timeline"]')?.dataset.case === id,
    opened.caseId, `the timeline of case ${opened.caseId}`);
    const detail = await getJson(`/api/v1/cases/${encodeURIComponent(opened.caseId)}`);
    const shownTypes = await page.locator(testid('timeline-event'))
      .evaluateAll((lis) => lis.map((li) => li.dataset.type));
    check(shownTypes.length > 0 && JSON.stringify(shownTypes) === JSON.stringify(detail.events.map((e) => e.type)),
      `case ${opened.caseId}'s timeline shows its ${detail.events.length} events in order`, JSON.stringify(shownTypes));
    check(shownTypes.includes('case_opened'), 'the timeline includes the case opening');
    if (opened.overdue) {
      check(shownTypes.includes('obligation_missed'), 'an overdue case shows its obligation_missed event');
    }
    check(await page.locator(testid('case-item')).count() === detail.items.length,
      `the case's ${detail.items.length} items are listed with their statuses`);
    const caseItems = await page.locator(testid('case-item')).evaluateAll((trs) => trs.map((tr) => ({
      indicator: tr.dataset.indicator, due: tr.dataset.due, status: tr.dataset.status,
      statuses: [...tr.querySelectorAll('.status')].map((s) => s.textContent),
    })));
    const expectedShown = (it) => (it.overdue ? 'Overdue' : it.status[0] + it.status.slice(1).toLowerCase());
    const apiItem = (it) => detail.items.find((d) => d.indicator === it.indicator && d.due === it.due
      && d.status === it.status) ?? { status: '?', overdue: false };
    check(caseItems.every((it) => it.statuses.length === 1 && it.statuses[0] === expectedShown(apiItem(it))),
    'each item shows one status: overdue (still to do) or missed (past doing), never both', JSON.stringify(caseItems));
    const rank = new Map(meta.indicators.map((ind, i) => [ind.id, i]));
    check(caseItems.every((it, i) => i === 0 || rank.get(caseItems[i - 1].indicator) < rank.get(it.indicator)
      || (caseItems[i - 1].indicator === it.indicator && caseItems[i - 1].due <= it.due)),
    'the items are grouped by indicator, each indicator\'s by due date', JSON.stringify(caseItems.map((it) => `${it.indicator} ${it.due}`)));
    const itemHeads = await page.locator(`${testid('case-items')} thead th`).allTextContents();
    check(itemHeads.includes('Completed on') && !itemHeads.includes('Decided'),
      'the items table says when the work was completed', JSON.stringify(itemHeads));
    await shot('case-timeline');
    await page.locator(testid('case-back')).click();
    await inPage(() => !document.querySelector('[data-testid="dashboard"]').hidden, null, 'the dashboard again');

    // 4. New events arrive: the open page updates over the stream, without a reload.
    // The caseload's overdue items, recent and long overdue, by its group counts.
    const overdueCount = () => ['overdue', 'long_overdue'].reduce((sum, g) => sum + Number(document
      .querySelector(`[data-testid="worklist-groups"] a[data-group="${g}"]`).textContent.replace(/\D/g, '')), 0);
    const team = teamNames[0];
    const before = {
      cases: Number(await page.locator(testid('scope-summary')).getAttribute('data-cases')),
      promptMissed: Number((await text(`${promptRow} ${testid('items-missed')}`)).replace(/\D/g, '')),
      sentencing: await page.locator(testid('tile-SENTENCING')).getAttribute('data-score'),
      promptScore: (await text(`${promptRow} ${testid('indicator-score')}`)).trim(),
      overdue: await page.evaluate(overdueCount),
    };
    await page.evaluate(() => { window.e2eNotReloaded = true; });
    const newEvents = path.join(work, 'new-cases.ndjson');
    fs.writeFileSync(newEvents, newCaseEvents({ region, pdu, team }));
    await run('publish-new', cw, ['publish', '--brokers', brokers, '--format', 'ndjson', newEvents]);
    await inPage((n) => Number(document.querySelector('[data-testid="scope-summary"]').dataset.cases) === n,
      before.cases + NEW_CASES, `the case count to rise from ${before.cases} by ${NEW_CASES}`, 60000);
    check(true, `the summary counts ${before.cases + NEW_CASES} cases after the new events`);
    await inPage((n) => document.querySelector('[data-testid="indicator-prompt_start"] [data-testid="items-missed"]')
      .textContent.replace(/\D/g, '') === String(n), before.promptMissed + NEW_CASES,
    'prompt_start\'s missed items to rise', 15000).catch((e) => check(false, e.message));
    const after = {
      promptMissed: Number((await text(`${promptRow} ${testid('items-missed')}`)).replace(/\D/g, '')),
      sentencing: await page.locator(testid('tile-SENTENCING')).getAttribute('data-score'),
      promptScore: (await text(`${promptRow} ${testid('indicator-score')}`)).trim(),
    };
    check(after.promptMissed === before.promptMissed + NEW_CASES,
      `prompt_start's missed items rose from ${before.promptMissed} to ${before.promptMissed + NEW_CASES}`,
      `shows ${after.promptMissed}`);
    check(before.sentencing === '0' || after.sentencing !== before.sentencing,
      'the SENTENCING tile\'s score changed', `${before.sentencing} → ${after.sentencing}`);
    const live = await getJson(`/api/v1/report?${scopeQuery({ region, pdu })}`);
    const sentencing = live.outcomes.find((o) => o.id === 'SENTENCING');
    check((await text(`${testid('tile-SENTENCING')} ${testid('tile-score')}`)).trim() === pct(sentencing.score),
      `the SENTENCING tile shows the API's new ${pct(sentencing.score)}`);
    await inPage(() => [...document.querySelectorAll('[data-testid="alert-item"]')]
      .some((li) => li.dataset.case.startsWith('E2E-')), null, 'alerts for the new cases in the live feed', 30000)
      .catch((e) => check(false, e.message));
    const alertCases = await page.locator(testid('alert-item')).evaluateAll((lis) => lis.map((li) => li.dataset.case));
    check(alertCases.some((c) => c.startsWith('E2E-')), 'missed obligations of the new cases appear in the live feed',
      JSON.stringify(alertCases.slice(0, 10)));
    await inPage((n) => ['overdue', 'long_overdue'].reduce((sum, g) => sum + Number(document
      .querySelector(`[data-testid="worklist-groups"] a[data-group="${g}"]`).textContent.replace(/\D/g, '')), 0) >= n,
    before.overdue + NEW_CASES,
    'the caseload\'s overdue count to rise with the new cases\' overdue items', 15000)
      .then(() => check(true, 'the caseload follows with the new cases\' overdue items'))
      .catch((e) => check(false, e.message));
    check(await page.evaluate(() => window.e2eNotReloaded === true), 'the page was not reloaded');
    await shot('after-update');

    // 5. A small scope: a practitioner's few cases are marked "too few cases to rate", with the base,
    // instead of rated (the engine's default --min-cases, 10).
    const practitioners = await getJson(`/api/v1/breakdown?${scopeQuery({ region, pdu, team, by: 'offender_manager' })}`);
    const small = practitioners.rows.find((r) => r.report.outcomes.some(tooFew));
    must(small, `a practitioner of ${team} has an outcome scored on fewer than 10 cases`,
      JSON.stringify(practitioners.rows.map((r) => r.report.outcomes.map((o) => o.base))));
    const smallScope = { region, pdu, team, offender_manager: small.offender_manager };
    await page.evaluate((hash) => { location.hash = hash; }, `#${scopeQuery(smallScope)}`);
    await inPage((n) => document.querySelector('[data-testid="scope-summary"]')?.dataset.cases === String(n),
      small.report.cases, `the dashboard of practitioner ${small.offender_manager}`);
    const smallReport = await getJson(`/api/v1/report?${scopeQuery(smallScope)}`);
    await inPage((b) => document.querySelector('[data-testid="tile-DELIVERY"]')?.dataset.base === String(b),
      smallReport.outcomes.find((o) => o.id === 'DELIVERY').base, 'the tiles of the small scope');
    for (const o of smallReport.outcomes) {
      const tile = testid(`tile-${o.id}`);
      const rating = (await text(`${tile} ${testid('tile-rating')}`)).trim();
      const foot = (await text(`${tile} ${testid('tile-foot')}`)).trim();
      check(rating === badgeWords(o) && (!tooFew(o) || foot.startsWith(`n=${o.base} · would be ${RATING_WORDS[o.rating]}`)),
        `${small.offender_manager}'s ${o.id} tile says "${badgeWords(o)}"${tooFew(o) ? ` with n=${o.base}` : ''}`,
        `says "${rating}", foot "${foot}"`);
    }
    must(smallReport.outcomes.some(tooFew), 'the small scope has a marked outcome');
    const markedRows = await page.locator(`${testid('indicators')} tr[data-too-few="1"]`)
      .evaluateAll((trs) => trs.map((tr) => tr.dataset.indicator));
    const expectedRows = smallReport.indicators.filter(tooFew).map((i) => i.id);
    check(sameSet(markedRows, expectedRows), 'the indicator rows on too few cases, and only they, are marked',
      `${JSON.stringify(markedRows)} vs ${JSON.stringify(expectedRows)}`);
    const firstMarked = smallReport.indicators.find(tooFew);
    if (firstMarked) {
      const cases = (await text(`${testid(`indicator-${firstMarked.id}`)} ${testid('indicator-cases')}`)).trim();
      check(cases.includes(`/ ${firstMarked.relevant_cases}`) && cases.includes('too few to rate'),
        `${firstMarked.id} shows its base and the mark`, cases);
    }
    await shot('small-scope');

    // 6. Print: no navigation chrome.
    await page.emulateMedia({ media: 'print' });
    check(!(await page.locator(testid('live-status')).isVisible()) && !(await page.locator(testid('alert-feed')).isVisible())
      && await page.locator(testid('tile-DELIVERY')).isVisible(), 'the print layout keeps the tiles and drops the chrome');
    await shot('print');
    await page.emulateMedia({ media: 'screen' });

    // 7. The broker lost: the figures stay, and the page says they are as they stood when each
    // partition was last read, naming the partitions; every API answer says the same.
    check(await page.locator(testid('freshness')).isHidden(), 'nothing said of freshness while the broker serves');
    broker.child.kill('SIGKILL');
    await inPage(() => document.querySelector('[data-testid="freshness"]')?.dataset.state === 'unavailable',
      null, 'the page to say the partitions are unreachable', 30000)
      .catch((e) => check(false, e.message));
    const said = (await text(testid('freshness'))).trim();
    const why = await page.locator(testid('freshness')).getAttribute('title');
    check(/^Partitions 0, 1, 2, 3 unreachable since \d+ \w+ \d{4}, \d\d:\d\d UTC$/.test(said)
      && why.includes('as they stood when last read'),
    'the page names the unreachable partitions and since when, and what that means', `${said} (${why})`);
    const cutOff = await fetch(`${base}/api/v1/report`);
    check(cutOff.ok && /^0 since \S+Z, 1 since \S+Z, 2 since \S+Z, 3 since \S+Z$/
      .test(cutOff.headers.get('casewatch-unavailable') ?? ''),
    'the report still answers, naming every partition unreachable (Casewatch-Unavailable)',
    `${cutOff.status} ${cutOff.headers.get('casewatch-unavailable')}`);
    await shot('broker-lost');

    check(pageErrors.length === 0, 'no script errors in the page', pageErrors.join('; '));
  } finally {
    await browser.close();
  }

  // The engine stops cleanly.
  const finalReport = await getJson('/api/v1/report');
  engine.child.kill('SIGTERM');
  const [code] = engine.exited ? [engine.exited.code] : await once(engine.child, 'exit');
  check(code === 0, 'casewatchd stops cleanly on SIGTERM', `exit ${code}`);

  // 8. Looking again: the stopped engine's store served read-only, with no broker, in the browser.
  const readOnly = start('casewatchd-read-only', args.casewatchd, ['--read-only', '--data',
    path.join(work, 'store'), '--http-port', '0', '--no-auth']);
  base = (await waitForOutput(readOnly, /http: listening on (http:\/\/[^\s/]+)/, 'the read-only serve\'s port'))[1];
  const served = await getJson('/api/v1/report');
  check(JSON.stringify(served) === JSON.stringify(finalReport),
    'the read-only serve answers the report the engine gave before it stopped');
  const post = await fetch(`${base}/api/v1/events`, { method: 'POST', body: '{}' });
  check(post.status === 503, 'the read-only serve refuses new events (503)', `status ${post.status}`);
  const roBrowser = await launchHeadless(chromium, args.chromium);
  try {
    const page = await roBrowser.newPage({ viewport: { width: 1366, height: 768 } });
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${base}/`);
    await page.waitForFunction(() => document.querySelector('[data-testid="live-status"]')?.dataset.state === 'readonly'
      && document.querySelector('[data-testid="tile-DELIVERY"]')?.dataset.score !== undefined, null, { timeout: 15000 })
      .catch((e) => { throw new Error(`timed out waiting for the read-only dashboard (${e.message.split('\n')[0]})`); });
    check((await page.locator(testid('live-status')).textContent()).trim() === 'Read-only',
      'the dashboard says it is read-only');
    check((await page.locator(testid('scope-summary')).textContent()).includes('read-only'),
      'the summary says no new events arrive');
    const tiles = await page.locator('[data-testid^="tile-"][data-outcome]').evaluateAll((ts) => ts.map((t) => [t.dataset.outcome, t.dataset.score]));
    check(tiles.every(([id, score]) => score === String(finalReport.outcomes.find((o) => o.id === id).score ?? '')),
      'its tiles are the stopped engine\'s scores', JSON.stringify(tiles));
    await page.waitForFunction(() => document.querySelector('[data-testid="tile-DELIVERY"] [data-testid="tile-trend"] svg[data-points]'),
      null, { timeout: 15000 }).catch(() => {});
    check(await page.locator(`${testid('tile-DELIVERY')} ${testid('tile-trend')} svg[data-points]`).count() === 1,
      'the monthly trend is drawn from the stored history');
    await page.screenshot({ path: path.join(args.out, 'read-only.png'), fullPage: true });
    check(pageErrors.length === 0, 'no script errors in the read-only page', pageErrors.join('; '));
  } finally {
    await roBrowser.close();
  }
  readOnly.child.kill('SIGTERM');
  const [roCode] = readOnly.exited ? [readOnly.exited.code] : await once(readOnly.child, 'exit');
  check(roCode === 0, 'the read-only serve stops cleanly on SIGTERM', `exit ${roCode}`);
}

function sameSet(a, b) {
  return a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
}

// The children are stopped well before ctest's TIMEOUT.
await runTest(main, {
  deadlineS: 300,
  cleanup: async () => {
    await stopAll();
    if (!args.keep) fs.rmSync(work, { recursive: true, force: true });
  },
  onError: () => {
    for (const proc of children.filter((p) => p.name === 'casewatchd')) {
      console.log(`# casewatchd output (last lines):\n${tail(proc.output).replace(/^/gm, '#   ')}`);
    }
  },
  footer: `screenshots and logs: ${args.out}`,
});
