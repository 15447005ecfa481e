// The period picker's periods: decision dates [from, to] (both inclusive, YYYY-MM-DD), worked out
// from the engine's own date (its clock may be simulated), and the period before each of the same
// length, for "are we getting better?".

const DAY = 86400000;
const iso = (ms) => new Date(ms).toISOString().slice(0, 10);
const ms = (date) => Date.parse(`${date}T00:00:00Z`);
const addDays = (date, n) => iso(ms(date) + n * DAY);

// The same number of days ending the day before `from`.
function before({ from, to }) {
  const days = Math.round((ms(to) - ms(from)) / DAY) + 1;
  return { from: addDays(from, -days), to: addDays(from, -1) };
}

export const PERIODS = {
  all: 'All decisions to date',
  month: 'This month',
  quarter: 'Last quarter',
  year: 'Last 12 months',
  custom: 'Custom…',
};

// { from, to, previous: { from, to } } for `kind` on the engine's date `today`; null for 'all'
// (or a custom period that is incomplete or back to front).
export function periodOf(kind, today, custom = {}) {
  const [y, m] = today.split('-').map(Number);
  let range = null;
  if (kind === 'month') {
    range = { from: `${today.slice(0, 7)}-01`, to: today };
  } else if (kind === 'quarter') {
    const firstMonth = Math.floor((m - 1) / 3) * 3; // this quarter's first month, 0-based
    const end = iso(Date.UTC(y, firstMonth, 1) - DAY);
    const start = iso(Date.UTC(y, firstMonth - 3, 1));
    range = { from: start, to: end };
    return { ...range, previous: { from: iso(Date.UTC(y, firstMonth - 6, 1)), to: addDays(start, -1) } };
  } else if (kind === 'year') {
    range = { from: addDays(iso(Date.UTC(y - 1, m - 1, Number(today.slice(8, 10)))), 1), to: today };
  } else if (kind === 'custom') {
    if (!custom.from || !custom.to || custom.from > custom.to) return null;
    range = { from: custom.from, to: custom.to };
  }
  return range && { ...range, previous: before(range) };
}
