/**
 * Line charts for `evaluate` written as SVG by hand (PNG: the same SVG rasterised by sharp): mean
 * curves with a ± one standard error band, a legend, axes with round ticks.
 */
import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import sharp from 'sharp';
import { UserError } from '../errors.js';
import { writeAtomically } from '../util/atomic.js';

export interface Series {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** Half-width of the band around y (± one standard error); none drawn when absent. */
  band?: ArrayLike<number>;
  /** Drawn dashed and grey: a baseline to compare the others with. */
  baseline?: boolean;
  /** Drawn dashed in the colour of the series before it (a second measure of the same method). */
  companion?: boolean;
}

export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
}

/** Tableau-like colours that stay apart in print and for common colour-vision deficiencies. */
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const BASELINE_COLOR = '#7f7f7f';

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** About `count` round tick values covering [lo, hi]. */
export function ticks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

const label = (v: number): string => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(1) : String(Number(v.toPrecision(4))));

export function renderSvg(chart: Chart): string {
  const W = 880;
  const H = 460;
  const m = { left: 70, right: 350, top: 40, bottom: 56 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  let xLo = Infinity,
    xHi = -Infinity,
    yLo = Infinity,
    yHi = -Infinity;
  for (const s of chart.series) {
    for (let i = 0; i < s.x.length; i++) {
      const y = s.y[i]!;
      const b = s.band?.[i] ?? 0;
      if (!Number.isFinite(y)) continue;
      xLo = Math.min(xLo, s.x[i]!);
      xHi = Math.max(xHi, s.x[i]!);
      yLo = Math.min(yLo, y - b);
      yHi = Math.max(yHi, y + b);
    }
  }
  if (!Number.isFinite(xLo)) {
    xLo = 0;
    xHi = 1;
    yLo = 0;
    yHi = 1;
  }
  if (xHi === xLo) xHi = xLo + 1;
  if (yHi === yLo) {
    yHi += 0.5;
    yLo -= 0.5;
  }
  const pad = (yHi - yLo) * 0.05;
  yLo -= pad;
  yHi += pad;
  const px = (x: number): number => m.left + ((x - xLo) / (xHi - xLo)) * pw;
  const py = (y: number): number => m.top + (1 - (y - yLo) / (yHi - yLo)) * ph;
  const f = (v: number): string => v.toFixed(1);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${m.left + pw / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escape(chart.title)}</text>`,
  ];
  for (const t of ticks(yLo, yHi)) {
    parts.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${f(py(t))}" y2="${f(py(t))}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.left - 6}" y="${f(py(t) + 4)}" text-anchor="end">${label(t)}</text>`);
  }
  for (const t of ticks(xLo, xHi)) {
    parts.push(`<line x1="${f(px(t))}" x2="${f(px(t))}" y1="${m.top + ph}" y2="${m.top + ph + 5}" stroke="black"/>`);
    parts.push(`<text x="${f(px(t))}" y="${m.top + ph + 19}" text-anchor="middle">${label(t)}</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="black"/>`);
  parts.push(`<text x="${m.left + pw / 2}" y="${H - 14}" text-anchor="middle">${escape(chart.xLabel)}</text>`);
  parts.push(`<text transform="translate(18 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${escape(chart.yLabel)}</text>`);
  let colorIndex = 0;
  chart.series.forEach((s, index) => {
    const color = s.baseline ? BASELINE_COLOR : COLORS[(s.companion ? colorIndex - 1 : colorIndex++) % COLORS.length]!;
    const dash = s.baseline || s.companion ? ' stroke-dasharray="6 4"' : '';
    const points = Array.from({ length: s.x.length }, (_, i) => i).filter((i) => Number.isFinite(s.y[i]!));
    if (s.band && points.length > 0) {
      const upper = points.map((i) => `${f(px(s.x[i]!))},${f(py(s.y[i]! + s.band![i]!))}`);
      const lower = points.reverse().map((i) => `${f(px(s.x[i]!))},${f(py(s.y[i]! - s.band![i]!))}`);
      points.reverse();
      parts.push(`<polygon points="${[...upper, ...lower].join(' ')}" fill="${color}" fill-opacity="0.18" stroke="none"/>`);
    }
    parts.push(
      `<polyline points="${points.map((i) => `${f(px(s.x[i]!))},${f(py(s.y[i]!))}`).join(' ')}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`,
    );
    const ly = m.top + 10 + index * 20;
    const lx = m.left + pw + 14;
    parts.push(`<line x1="${lx}" x2="${lx + 24}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`);
    parts.push(`<text x="${lx + 30}" y="${ly + 4}">${escape(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Writes the chart as .svg or .png (by the extension), atomically. */
export async function writeChart(path: string, chart: Chart): Promise<void> {
  const kind = extname(path).toLowerCase();
  if (kind !== '.svg' && kind !== '.png') throw new UserError(path, 'a plot is written as .svg or .png');
  const svg = renderSvg(chart);
  await writeAtomically(path, async (tmp) => {
    if (kind === '.svg') writeFileSync(tmp, svg);
    else await sharp(Buffer.from(svg), { density: 144 }).png().toFile(tmp);
  });
}
