#!/usr/bin/env node
// End-to-end test of the inspection report: `casewatch simulate`, then `casewatch inspect` twice
// (against an earlier inspection, and against a stricter home-visit policy) writing HTML and JSON,
// and each HTML file opened from disk in headless Chromium. The page must load nothing but
// itself, raise no error, draw every chart, show the JSON's numbers in every outcome, indicator,
// unit and comparison row, and link every sampled case to its record in the case records' file.
//
//   node inspection.test.mjs --casewatch BIN --out DIR [--keep] [--chromium PATH]
//                            [--screenshot PNG]
//
// --screenshot also writes the documentation's pictures: PNG (the top of the report) and, beside
// it, PNG with "-charts" before the extension (an outcome's charts).
// Exit codes: 0 passed, 1 failed (also when node, Chromium or node_modules is missing: never a skip).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import { check, chromiumOrFail, launchHeadless, must, parseArgs, runTest } from './browser.mjs';

const AS_OF = '2023-12-31T23:59:59Z';
const STRICT_POLICY = { name: 'strict-home-visits', home_visit_repeat_days: 56 };
const OUTCOMES = ['SENTENCING', 'DELIVERY', 'REOFFENDING', 'PUBLIC_PROTECTION', 'VICTIMS'];
const ITEM_ATTRIBUTES = { met: 'metItems', late: 'late', missed: 'missed', cancelled: 'cancelled', pending: 'pending' };

const args = parseArgs(process.argv.slice(2), { values: ['casewatch', 'out', 'screenshot'], required: ['casewatch', 'out'] });
// casewatch runs in the work directory: paths given here are the caller's.
for (const key of ['casewatch', 'out', 'screenshot']) if (args[key]) args[key] = path.resolve(args[key]);
const chromium = await chromiumOrFail(args.chromium);
if (!fs.existsSync(args.casewatch)) throw new Error(`${args.casewatch} does not exist: build casewatch first`);
fs.mkdirSync(args.out, { recursive: true });
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'casewatch-inspection-e2e-'));

// Runs in the work directory, so the report names its source as a short relative path.
async function casewatch(...argv) {
  try {
    await promisify(execFile)(args.casewatch, argv, { cwd: work, maxBuffer: 64 << 20 });
  } catch (e) {
    throw new Error(`casewatch ${argv.join(' ')} failed (${e.code}):\n${e.stderr}`);
  }
}

// ---- comparing the page with the JSON ----

// A data attribute's number as the JSON has it ("null" → null); exact, both being the shortest
// form that reads back as the same double.
const numberOf = (text) => (text === 'null' || text === undefined ? null : Number(text));
const sameNumber = (shown, json) => numberOf(shown) === (json ?? null);
const pct = (score) => (score === null ? '–' : `${Math.round(score * 100)}%`);

// Every row with `key` of the tables matching `tables`, as its dataset plus its score cell's text.
const rowsOf = (page, tables, key) => page.$$eval(`${tables} tr[data-${key}]`, (trs) => trs.map((tr) => ({
  ...tr.dataset,
  shown: tr.querySelector('td.score')?.textContent ?? null,
  deltas: [...tr.querySelectorAll('td[data-delta]')].map((td) => td.dataset.delta),
})));

function mismatches(rows, expected, compare) {
  const wrong = [];
  if (rows.length !== expected.length) wrong.push(`${rows.length} rows for ${expected.length}`);
  rows.forEach((row, i) => {
    if (i < expected.length) wrong.push(...compare(row, expected[i]).map((m) => `${i}: ${m}`));
  });
  return wrong;
}

function outcomeMismatches(row, outcome) {
  const wrong = [];
  if (row.outcome !== outcome.id) wrong.push(`${row.outcome} is not ${outcome.id}`);
  if (!sameNumber(row.score, outcome.score)) wrong.push(`${outcome.id} score ${row.score} ≠ ${outcome.score}`);
  if (row.rating !== String(outcome.rating)) wrong.push(`${outcome.id} rating ${row.rating} ≠ ${outcome.rating}`);
  if (row.shown !== null && row.shown !== pct(outcome.score)) wrong.push(`${outcome.id} shows ${row.shown}`);
  return wrong;
}

function indicatorMismatches(row, indicator) {
  const wrong = [];
  if (row.indicator !== indicator.id) wrong.push(`${row.indicator} is not ${indicator.id}`);
  if (Number(row.relevant) !== indicator.relevant_cases) wrong.push(`${indicator.id} relevant ${row.relevant}`);
  if (Number(row.met) !== indicator.met_cases) wrong.push(`${indicator.id} met ${row.met}`);
  if (!sameNumber(row.score, indicator.score)) wrong.push(`${indicator.id} score ${row.score} ≠ ${indicator.score}`);
  if (row.shown !== pct(indicator.score)) wrong.push(`${indicator.id} shows ${row.shown}`);
  for (const [status, attribute] of Object.entries(ITEM_ATTRIBUTES)) {
    if (Number(row[attribute]) !== indicator.items[status]) wrong.push(`${indicator.id} ${status} ${row[attribute]}`);
  }
  return wrong;
}

function checkReportRows(label, outcomes, indicators, expected) {
  const o = mismatches(outcomes, expected.outcomes, outcomeMismatches);
  check(o.length === 0, `${label}: the 5 outcome rows have the JSON's scores and ratings`, o.slice(0, 5).join('; '));
  const i = mismatches(indicators, expected.indicators, indicatorMismatches);
  check(i.length === 0, `${label}: the 19 indicator rows have the JSON's cases, scores and items`, i.slice(0, 5).join('; '));
}

// Every chart: its size on the page, and how many of its shapes are actually drawn.
const chartsOf = (page) => page.$$eval('svg.chart', (svgs) => svgs.map((svg) => {
  const box = svg.getBoundingClientRect();
  const drawn = [...svg.querySelectorAll('rect, path, circle, line')].filter((shape) => {
    const b = shape.getBBox();
    return b.width > 0 || b.height > 0;
  });
  return {
    kind: svg.dataset.chart, outcome: svg.dataset.outcome ?? '', label: svg.getAttribute('aria-label'),
    width: box.width, height: box.height, drawn: drawn.length,
  };
}));

function expectedCharts(json) {
  const perOutcome = 3 + (json.groups.length > 0 ? 1 : 0) - (json.monthly.length > 0 ? 0 : 1);
  return {
    'outcome-scores': 1,
    'indicator-scores': 5,
    'item-statuses': 5,
    ...(json.monthly.length > 0 ? { trend: 5 } : {}),
    ...(json.groups.length > 0 ? { units: 5 } : {}),
    ...(json.comparisons.length > 0 ? { comparison: json.comparisons.length } : {}),
    ...(json.sample ? { 'sample-outcomes': 1 } : {}),
    total: 1 + 5 * perOutcome + json.comparisons.length + (json.sample ? 1 : 0),
  };
}

// ---- one report ----

async function inspectReport(browser, name, json, htmlPath, casesPath) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const fileUrl = pathToFileURL(htmlPath).href;
  const casesUrl = pathToFileURL(casesPath).href;
  const problems = [];
  const requests = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`failed request: ${r.url()}`));
  page.on('request', (r) => requests.push(r.url()));
  // The report must not reach out: anything but its own two files (the report and the case records
  // it links to) is refused, and counted.
  await context.route('**/*', (route) => ([fileUrl, casesUrl].includes(route.request().url().split('#')[0])
    ? route.continue() : route.abort()));

  try {
    await page.goto(fileUrl, { waitUntil: 'load' });
    check(problems.length === 0, `${name}: no console errors, page errors or failed requests`, problems.join('; '));
    check(requests.length === 1 && requests[0] === fileUrl, `${name}: the page requests nothing but its own file`,
      JSON.stringify(requests.filter((u) => u !== fileUrl).slice(0, 5)));

    // Charts.
    const charts = await chartsOf(page);
    const counts = {};
    for (const c of charts) counts[c.kind] = (counts[c.kind] ?? 0) + 1;
    const { total, ...expected } = expectedCharts(json);
    check(charts.length === total && JSON.stringify(counts, Object.keys(counts).sort())
      === JSON.stringify(expected, Object.keys(expected).sort()),
    `${name}: ${total} charts, one of each kind per outcome, comparison and sample`, JSON.stringify(counts));
    const blank = charts.filter((c) => !(c.width > 0 && c.height > 0 && c.drawn > 0 && c.label));
    check(charts.length > 0 && blank.length === 0, `${name}: every chart has a size on the page, a label and shapes drawn`,
      JSON.stringify(blank.slice(0, 3)));

    // The scope's numbers.
    const outcomes = await rowsOf(page, 'table[data-report="scope"]', 'outcome');
    const indicators = await rowsOf(page, 'table[data-report="scope"]', 'indicator');
    checkReportRows(`${name}: the scope`, outcomes, indicators, json.report);
    const titled = json.outcomes.every((o, i) => sameNumber(outcomes[i]?.score, o.score)
      && o.deltas.every((d, c) => sameNumber(outcomes[i].deltas[c], d)));
    check(titled && outcomes.every((o) => o.deltas.length === json.comparisons.length),
      `${name}: the summary has a change column per comparison with the JSON's deltas`);
    const sentence = await page.locator('#outcome-PUBLIC_PROTECTION .headline').textContent();
    const protection = json.report.outcomes[OUTCOMES.indexOf('PUBLIC_PROTECTION')];
    check(protection.score === null || sentence.includes(`Overall, ${pct(protection.score)} of work to protect the public`),
      `${name}: the public protection section opens with its overall score`, sentence);

    // Units one level down.
    const groups = await page.$$eval('table[data-report="groups"] tr[data-group]', (trs) => trs.map((tr) => ({
      name: tr.dataset.group,
      cases: Number(tr.dataset.cases),
      scores: [...tr.querySelectorAll('td[data-outcome]')].map((td) => td.dataset.score),
    })));
    const g = mismatches(groups, json.groups, (row, group) => {
      const wrong = [];
      if (row.name !== group.name || row.cases !== group.report.cases) wrong.push(`${row.name} ${row.cases} cases`);
      group.report.outcomes.forEach((o, i) => {
        if (!sameNumber(row.scores[i], o.score)) wrong.push(`${group.name} ${o.id} ${row.scores[i]}`);
      });
      return wrong;
    });
    check(json.groups.length > 0 && g.length === 0,
      `${name}: the ${json.groups.length} units by ${json.group_level} have the JSON's cases and scores`, g.slice(0, 5).join('; '));

    // Comparisons.
    for (const [index, comparison] of json.comparisons.entries()) {
      const table = `table[data-comparison="${index}"]`;
      const rows = await rowsOf(page, `${table}.comparison-indicators`, 'indicator');
      const wrong = mismatches(rows, comparison.baseline.indicators, (row, baseline) => {
        const k = json.report.indicators.findIndex((i) => i.id === baseline.id);
        const out = [];
        if (!sameNumber(row.baselineScore, baseline.score)) out.push(`${baseline.id} baseline ${row.baselineScore}`);
        if (!sameNumber(row.score, json.report.indicators[k].score)) out.push(`${baseline.id} score ${row.score}`);
        if (!sameNumber(row.delta, comparison.indicator_delta[k])) out.push(`${baseline.id} delta ${row.delta}`);
        const shift = comparison.shifts?.find((s) => s.indicator === baseline.id);
        if (shift && ['now_met', 'now_not_met', 'now_relevant', 'now_irrelevant']
          .some((key) => Number(row[key.replace(/_(.)/g, (_, c) => c.toUpperCase())]) !== shift[key])) {
          out.push(`${baseline.id} shifts`);
        }
        return out;
      });
      check(wrong.length === 0, `${name}: comparison ${comparison.kind} (${comparison.label}) shows the JSON's baseline, deltas`
        + `${comparison.shifts ? ' and verdict shifts' : ''}`, wrong.slice(0, 5).join('; '));
      if (comparison.kind === 'other_policy') {
        const shown = await page.$$eval('table[data-report="policy-differences"] tr[data-setting]',
          (trs) => trs.map((tr) => [tr.dataset.setting, ...[...tr.querySelectorAll('td')].map((td) => td.textContent)]));
        const differing = Object.entries(comparison.current_settings)
          .map(([key, value]) => [key, value, comparison.baseline_settings[key]]);
        check(differing.length > 0 && JSON.stringify(shown) === JSON.stringify(differing),
          `${name}: the policy keys that differ are listed with both values`, JSON.stringify(shown));
      }
    }

    // The case sample and its records.
    const sampleOutcomes = await rowsOf(page, 'table[data-report="sample"]', 'outcome');
    const sampleIndicators = await rowsOf(page, 'table[data-report="sample"]', 'indicator');
    checkReportRows(`${name}: the sample`, sampleOutcomes, sampleIndicators, json.sample.report);
    // The records are a file of their own: the report holds none, and links each case there.
    const casesFile = path.basename(casesPath);
    check(await page.locator('article.case').count() === 0
      && await page.locator(`a.cases-file[href="${encodeURI(casesFile)}"]`).count() === 1,
    `${name}: the report holds no case record and links to ${casesFile}`);
    const links = await page.$$eval('table[data-report="sample-cases"] tr[data-case]', (trs) => trs.map((tr) => ({
      id: tr.dataset.case, href: tr.querySelector('th a')?.getAttribute('href') ?? '',
    })));
    check(JSON.stringify(links.map((l) => l.id)) === JSON.stringify(json.sample.cases.map((c) => c.case_id)),
      `${name}: the sample table lists the JSON's ${json.sample.cases.length} cases in order`);

    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 1366, `${name}: the report fits a 1366-pixel screen without scrolling sideways`, `${width} px`);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(args.out, `inspection-${name}.png`), fullPage: true });

    await page.emulateMedia({ media: 'print' });
    const print = await page.evaluate(() => ({
      coverBackground: getComputedStyle(document.querySelector('.cover')).backgroundColor,
      breaks: getComputedStyle(document.querySelector('section.outcome')).breakBefore,
    }));
    check(print.coverBackground === 'rgb(255, 255, 255)' && print.breaks === 'page',
      `${name}: printed, the cover is on white and each outcome starts a page`, JSON.stringify(print));
    await page.emulateMedia({ media: 'screen' });

    if (args.screenshot && name === 'earlier') await documentationPictures(page);

    // The case records' file: every sampled case's record, with every event of its timeline, and a
    // link back to the sample's table.
    const records = await context.newPage();
    await records.goto(casesUrl, { waitUntil: 'load' });
    const targets = await records.$$eval('article.case', (articles) => articles.map((a) => ({
      id: a.dataset.case, anchor: a.id, events: a.querySelectorAll('tr[data-event]').length,
      back: a.querySelector('p.back a')?.getAttribute('href') ?? '',
    })));
    const byAnchor = new Map(targets.map((t) => [t.anchor, t]));
    const broken = links.filter((l, i) => {
      const [file, anchor] = l.href.split('#');
      const t = byAnchor.get(decodeURIComponent(anchor ?? ''));
      return file !== encodeURI(casesFile) || t?.id !== l.id || t.events !== json.sample.cases[i].timeline.length
        || t.back !== `${encodeURI(path.basename(htmlPath))}#sample-cases`;
    });
    check(links.length > 0 && broken.length === 0,
      `${name}: every sampled case links to its record in ${casesFile}, with every event of its timeline and a way back`,
      JSON.stringify(broken.slice(0, 3)));
    await records.locator('article.case').first().screenshot({ path: path.join(args.out, `inspection-${name}-case.png`) });
    await records.close();
    if (links.length > 0) {
      await page.locator(`a[href="${links[0].href}"]`).first().click();
      await page.waitForURL((url) => url.href.startsWith(casesUrl));
      const top = await page.evaluate((id) => document.querySelector(':target')?.dataset.case === id
        && Math.abs(document.querySelector(':target').getBoundingClientRect().top) < 5, links[0].id);
      check(top, `${name}: following a case link opens its record`);
    }
    check(problems.length === 0, `${name}: no console errors, page errors or failed requests in either file`,
      problems.join('; '));
  } finally {
    await context.close();
  }
}

// The pictures in the documentation: the cover and summary, and the public protection section's
// charts, at a laptop's width. Small on purpose (they are committed).
async function documentationPictures(page) {
  fs.mkdirSync(path.dirname(args.screenshot), { recursive: true });
  await page.setViewportSize({ width: 1280, height: 1000 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: args.screenshot });
  const charts = args.screenshot.replace(/(\.png)?$/, '-charts.png');
  await page.evaluate(() => document.querySelector('#outcome-PUBLIC_PROTECTION figure').scrollIntoView());
  await page.screenshot({ path: charts });
  for (const file of [args.screenshot, charts]) {
    const kb = Math.round(fs.statSync(file).size / 1024);
    check(kb < 400, `the picture ${file} is small enough to commit (${kb} KB)`);
  }
}

// ---- the test ----

async function main() {
  await casewatch('simulate', '--cases', '1500', '--start', '2022-01-01', '--months', '24', '--seed', '7',
    '--quiet', '--out', 'events.ndjson');
  fs.writeFileSync(path.join(work, 'strict.json'), JSON.stringify(STRICT_POLICY));
  const common = ['inspect', '--events', 'events.ndjson', '--as-of', AS_OF, '--from', '2023-01-01', '--sample', '40', '--seed', '3'];
  const runs = [
    { name: 'earlier', extra: ['--compare-as-of', '2022-12-31T23:59:59Z'] },
    { name: 'policy', extra: ['--compare-policy', 'strict.json'] },
  ];
  for (const run of runs) {
    run.html = path.join(args.out, `inspection-${run.name}.html`);
    run.jsonPath = path.join(work, `inspection-${run.name}.json`);
    await casewatch(...common, ...run.extra, '--html', run.html, '--json', run.jsonPath);
    run.json = JSON.parse(fs.readFileSync(run.jsonPath, 'utf8'));
    must(run.json.comparisons.length === 1 && run.json.sample?.cases.length === 40,
      `casewatch inspect (${run.name}) wrote a report with one comparison and 40 sampled cases`);
  }
  const shifted = runs[1].json.comparisons[0].shifts.some((s) => s.now_met + s.now_not_met > 0);
  check(shifted, 'the stricter home-visit policy moves some cases\' verdicts (the comparison has something to show)');

  const browser = await launchHeadless(chromium, args.chromium);
  try {
    for (const run of runs) {
      await inspectReport(browser, run.name, run.json, run.html, run.html.replace(/\.html$/, '-cases.html'));
    }
  } finally {
    await browser.close();
  }
}

await runTest(main, {
  deadlineS: 240,
  cleanup: async () => { if (!args.keep) fs.rmSync(work, { recursive: true, force: true }); },
  footer: `reports and screenshots: ${args.out}`,
});
