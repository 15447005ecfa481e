// Trend sparklines as inline SVG: scores (0..1) placed by date across [from, to]; a null score
// breaks the line.

const SVG = 'http://www.w3.org/2000/svg';
const DAY_MS = 86400000;

function svgEl(name, attrs) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

const dayNumber = (date) => Date.parse(`${date}T00:00:00Z`) / DAY_MS;

// points: [{date: 'YYYY-MM-DD', value: number|null, when?: 'in Mar 2025', partial?: bool}] in date
// order; `when` names a point in the title (default: "on <date>"); a partial point (a period not
// yet over) is drawn apart from the line.
export function sparkline(points, { from, to, width = 96, height = 22, label = 'Trend' } = {}) {
  const svg = svgEl('svg', {
    class: 'spark', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
  });
  const scored = points.filter((p) => p.value !== null && p.value !== undefined);
  const title = svgEl('title', {});
  svg.append(title);
  if (scored.length === 0) {
    title.textContent = `${label}: no scores recorded yet`;
    svg.append(svgEl('line', {
      x1: 2, x2: width - 2, y1: height / 2, y2: height / 2, class: 'spark-none',
    }));
    return svg;
  }
  const first = dayNumber(from ?? points[0].date);
  const span = Math.max(dayNumber(to ?? points.at(-1).date) - first, 0);
  const pad = 2.5;
  const x = (date) => (span === 0 ? width / 2 : pad + ((dayNumber(date) - first) / span) * (width - 2 * pad));
  const y = (v) => pad + (1 - Math.min(Math.max(v, 0), 1)) * (height - 2 * pad);

  svg.append(svgEl('line', { x1: 0, x2: width, y1: y(0.5), y2: y(0.5), class: 'spark-mid' }));
  let run = [];
  const flush = () => {
    if (run.length > 1) svg.append(svgEl('polyline', { points: run.join(' '), class: 'spark-line' }));
    run = [];
  };
  // A partial point (a month so far) stands apart, hollow: it is not yet comparable.
  for (const p of points) {
    if (p.value === null || p.value === undefined || p.partial) flush();
    else run.push(`${x(p.date).toFixed(1)},${y(p.value).toFixed(1)}`);
  }
  flush();
  const last = scored.at(-1);
  const whole = scored.filter((p) => !p.partial).at(-1);
  if (whole) {
    svg.append(svgEl('circle', { cx: x(whole.date).toFixed(1), cy: y(whole.value).toFixed(1), r: 2, class: 'spark-dot' }));
  }
  if (last.partial) {
    svg.append(svgEl('circle', { cx: x(last.date).toFixed(1), cy: y(last.value).toFixed(1), r: 1.8, class: 'spark-partial' }));
  }
  const pc = (v) => `${Math.round(v * 100)}%`;
  const when = (p) => p.when ?? `on ${p.date}`;
  title.textContent = scored.length === 1
    ? `${label}: ${pc(last.value)} ${when(last)}`
    : `${label}: ${pc(scored[0].value)} ${when(scored[0])} → ${pc(last.value)} ${when(last)}`;
  svg.dataset.points = String(scored.length);
  return svg;
}
