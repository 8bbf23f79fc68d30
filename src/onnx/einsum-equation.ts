/**
 * Einsum equations (ONNX Einsum-12): parsing and the output shape. A term is a list of labels
 * (letters) with at most one ellipsis `...` standing for the dims not named; `->` gives the
 * output explicitly, else it is the ellipsis followed by the labels that occur exactly once, in
 * alphabetical (ASCII) order. Whitespace is ignored (torch writes `B G H I D, B G H J D -> …`).
 */
import type { SDim } from './shapes.js';

export interface EinsumTerm {
  labels: string[];
  /** Index in `labels` before which the ellipsis stands; -1 without one. */
  ellipsisAt: number;
}

export interface EinsumEquation {
  inputs: EinsumTerm[];
  output: EinsumTerm;
}

function parseTerm(text: string): EinsumTerm | string {
  const at = text.indexOf('...');
  if (at >= 0 && text.indexOf('...', at + 3) >= 0) return 'a term has more than one ellipsis';
  const letters = at >= 0 ? text.slice(0, at) + text.slice(at + 3) : text;
  if (!/^[a-zA-Z]*$/.test(letters)) return `"${text}" is not a term of letters and one optional ellipsis`;
  return { labels: [...letters], ellipsisAt: at };
}

/** The parsed equation, or a string saying why it is not a valid one. */
export function parseEinsum(equation: string): EinsumEquation | string {
  const text = equation.replace(/\s+/g, '');
  const [left, right, extra] = text.split('->');
  if (extra !== undefined) return 'more than one "->"';
  const inputs: EinsumTerm[] = [];
  for (const part of left!.split(',')) {
    const term = parseTerm(part);
    if (typeof term === 'string') return term;
    inputs.push(term);
  }
  let output: EinsumTerm;
  if (right !== undefined) {
    const term = parseTerm(right);
    if (typeof term === 'string') return term;
    output = term;
  } else {
    const counts = new Map<string, number>();
    for (const t of inputs) for (const l of t.labels) counts.set(l, (counts.get(l) ?? 0) + 1);
    const once = [...counts].filter(([, n]) => n === 1).map(([l]) => l);
    once.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    output = { labels: once, ellipsisAt: inputs.some((t) => t.ellipsisAt >= 0) ? 0 : -1 };
  }
  const named = new Set(inputs.flatMap((t) => t.labels));
  const stray = output.labels.find((l) => !named.has(l));
  if (stray) return `output label ${stray} is in no input`;
  if (new Set(output.labels).size !== output.labels.length) return 'the output repeats a label';
  return { inputs, output };
}

/** Dims of `shape` behind each label and behind the ellipsis of `term`. */
export function splitDims(term: EinsumTerm, shape: SDim[]): { labels: SDim[]; ellipsis: SDim[] } | string {
  const extra = shape.length - term.labels.length;
  if (extra < 0 || (extra > 0 && term.ellipsisAt < 0)) return `an input of rank ${shape.length} for a term of ${term.labels.length} labels`;
  if (term.ellipsisAt < 0) return { labels: [...shape], ellipsis: [] };
  return {
    labels: [...shape.slice(0, term.ellipsisAt), ...shape.slice(term.ellipsisAt + extra)],
    ellipsis: shape.slice(term.ellipsisAt, term.ellipsisAt + extra),
  };
}

/** The output shape for input shapes `shapes` (null dims where unknown), or why there is none. */
export function einsumShape(eq: EinsumEquation, shapes: SDim[][]): SDim[] | string {
  if (shapes.length !== eq.inputs.length) return `${eq.inputs.length} terms for ${shapes.length} inputs`;
  const dims = new Map<string, SDim>();
  const ellipses: SDim[][] = [];
  for (let i = 0; i < shapes.length; i++) {
    const split = splitDims(eq.inputs[i]!, shapes[i]!);
    if (typeof split === 'string') return split;
    ellipses.push(split.ellipsis);
    eq.inputs[i]!.labels.forEach((l, k) => {
      const d = split.labels[k]!;
      const seen = dims.get(l);
      // A label of size 1 broadcasts against the other operand's size.
      if (seen === undefined || seen === 1 || (seen === null && d !== 1)) dims.set(l, d);
    });
  }
  const rank = Math.max(0, ...ellipses.map((e) => e.length));
  const ellipsis = Array.from({ length: rank }, (_, j): SDim => {
    const at: SDim[] = ellipses.map((e) => (e.length - rank + j >= 0 ? e[e.length - rank + j]! : 1));
    return at.find((d) => d !== 1 && d !== null) ?? (at.includes(null) ? null : 1);
  });
  const out: SDim[] = eq.output.labels.map((l) => dims.get(l)!);
  if (eq.output.ellipsisAt >= 0) out.splice(eq.output.ellipsisAt, 0, ...ellipsis);
  return out;
}
