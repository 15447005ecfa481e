// What the browser tests share: their flags, Node.js, Chromium and playwright-core (any of them
// missing fails the test, saying what is missing: never a skip), a headless launch that keeps
// Chromium's own background traffic off the network, TAP-like checks ("ok N - …", ending with
// "N passed, N failed") and the run of a test's body with a deadline.
import fs from 'node:fs';
import path from 'node:path';

// The oldest Node.js the tests and playwright-core run on (package.json's "engines"): Debian 12's.
const NODE_MAJOR = 18;

// `--keep`, and `--NAME VALUE` for each NAME of `values`; those in `required` must be given.
// --chromium defaults to CHROMIUM_PATH, else Debian's /usr/bin/chromium.
export function parseArgs(argv, { values, required }) {
  const args = { keep: false };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    if (flag === '--keep') args.keep = true;
    else if (flag.startsWith('--') && [...values, 'chromium'].includes(flag.slice(2))) args[flag.slice(2)] = argv[++i];
    else throw new Error(`unknown argument ${flag}`);
  }
  for (const need of required) {
    if (!args[need]) throw new Error(`--${need} is required (see the comment at the top of ${path.basename(process.argv[1])})`);
  }
  args.chromium ??= process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  return args;
}

// Ends the test as failed before it could start: what is missing, and what installs it.
export function cannotRun(message) {
  console.log(`not ok 1 - ${message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

// playwright-core's Chromium launcher; fails the test, saying what is missing, when it cannot run.
export async function chromiumOrFail(executablePath) {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < NODE_MAJOR) {
    cannotRun(`Node.js ${process.versions.node} is too old: the browser tests need ${NODE_MAJOR} or newer `
      + '(scripts/setup.sh installs Debian\'s nodejs)');
  }
  if (!fs.existsSync(executablePath)) {
    cannotRun(`no Chromium at ${executablePath} (Debian package "chromium"; scripts/setup.sh installs it, `
      + 'or give --chromium PATH or CHROMIUM_PATH)');
  }
  try {
    const { chromium } = await import('playwright-core');
    return chromium;
  } catch (e) {
    if (e.code === 'ERR_MODULE_NOT_FOUND') {
      cannotRun('playwright-core is not installed in tests/e2e/node_modules: run `npm ci` in tests/e2e '
        + '(scripts/setup.sh does)');
    }
    cannotRun(`playwright-core could not be loaded: ${e.message}`);
  }
  return null;
}

// Chromium's own background traffic is refused by a closed network: keep it from trying.
export function launchHeadless(chromium, executablePath) {
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-sync',
      '--disable-background-networking', '--disable-component-update'],
  });
}

export const tally = { passed: 0, failed: 0 };

export function check(condition, message, detail = '') {
  if (condition) {
    tally.passed += 1;
    console.log(`ok ${tally.passed + tally.failed} - ${message}`);
  } else {
    tally.failed += 1;
    console.log(`not ok ${tally.passed + tally.failed} - ${message}${detail ? `\n    ${detail}` : ''}`);
  }
  return condition;
}

// A check that must hold for the rest of the test to make sense.
export function must(condition, message, detail) {
  if (!check(condition, message, detail)) throw new Error(`cannot go on: ${message}`);
}

// Runs a test's body and ends the process (exit 1 when any check failed). A thrown error is one
// more failure, after which `onError` may add detail; `cleanup` runs whatever happens, and also
// when the body outlasts `deadlineS`: ctest's TIMEOUT would kill only this process, not what it
// started.
export async function runTest(body, { deadlineS, cleanup = async () => {}, onError = () => {}, footer = '' }) {
  const deadline = setTimeout(async () => {
    console.log(`not ok - the test took longer than ${deadlineS} s; stopping`);
    await cleanup();
    console.log(`${tally.passed} passed, ${tally.failed + 1} failed`);
    process.exit(1);
  }, deadlineS * 1000);
  try {
    await body();
  } catch (e) {
    tally.failed += 1;
    console.log(`not ok ${tally.passed + tally.failed} - ${e.message}`);
    onError(e);
  } finally {
    await cleanup();
  }
  clearTimeout(deadline);
  if (footer) console.log(`# ${footer}`);
  console.log(`${tally.passed} passed, ${tally.failed} failed`);
  process.exit(tally.failed > 0 ? 1 : 0);
}
