/**
 * Faithfulness on the page: points coloured by a sample's AOPC (from the `evaluate` files the
 * project links) and the AOPC of every method in the sample tooltip. Self-contained so the page
 * only needs three hooks: `installEvaluation` (once per project), `evaluationColors` (when drawing
 * points) and `evaluationText` (in the tooltip).
 */
import { $, fillSelect } from './dom.js';

interface EvaluationMethod {
  name: string;
  order: string;
  mean: number;
  index: number[];
  aopc: number[];
}

/** Low → high AOPC: a colour-blind-safe sequential ramp (viridis stops). */
const RAMP = ['#440154', '#472c7a', '#3b518b', '#2c718e', '#21908d', '#27ad81', '#5cc863', '#aadc32', '#fde725'];
const CLUSTERS = '';

let project = '';
let methods: EvaluationMethod[] = [];
let bySample: Array<Map<number, number>> = [];
let chosen = CLUSTERS;

/**
 * Loads the project's evaluations and fills the "Colour by" menu. On a change `invalidate` makes the
 * page forget its drawn points and `redraw` draws them again (with `evaluationColors`).
 */
export async function installEvaluation(projectId: string, redraw: () => void, invalidate: () => void): Promise<void> {
  if (projectId === project) return;
  project = projectId;
  chosen = CLUSTERS;
  const response = await fetch(`api/projects/${encodeURIComponent(projectId)}/evaluation`);
  methods = response.ok ? ((await response.json()) as { methods: EvaluationMethod[] }).methods : [];
  bySample = methods.map((m) => new Map(m.index.map((s, i) => [s, m.aopc[i]!])));
  const select = $('color-by') as HTMLSelectElement;
  select.closest('label')!.hidden = methods.length === 0;
  fillSelect(select, [{ value: CLUSTERS, label: 'clusters' }, ...methods.map((m) => ({ value: m.name, label: `AOPC: ${m.name}` }))], CLUSTERS);
  select.onchange = () => {
    chosen = select.value;
    invalidate();
    redraw();
  };
}

/**
 * Colour slots for AOPC colouring of the drawn points (9 equal-width bins between the lowest and
 * highest AOPC among them, grey where a sample was not evaluated), or undefined when colouring by cluster.
 */
export function evaluationColors(samples: ArrayLike<number>): { slot: Int32Array; colors: string[] } | undefined {
  const m = methods.findIndex((x) => x.name === chosen);
  if (m < 0) return undefined;
  const values = Array.from(samples, (s) => bySample[m]!.get(s));
  const known = values.filter((v): v is number => v !== undefined);
  const lo = Math.min(...known);
  const hi = Math.max(...known);
  const slot = Int32Array.from(values, (v) =>
    v === undefined ? RAMP.length : Math.min(RAMP.length - 1, Math.floor(((v - lo) / (hi - lo || 1)) * RAMP.length)),
  );
  return { slot, colors: [...RAMP, '#9a9a9a'] };
}

/** "AOPC epsilon-plus 9.81 · gradient 8.74" for the tooltip ('' when the sample has no evaluation). */
export function evaluationText(sample: number): string {
  const parts = methods.flatMap((m, i) => {
    const v = bySample[i]!.get(sample);
    return v === undefined ? [] : [`${m.name} ${v.toFixed(2)}`];
  });
  return parts.length ? `AOPC ${parts.join(' · ')}` : '';
}
