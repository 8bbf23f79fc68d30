import { UserError } from '../errors.js';

/**
 * Zennit's colour-map specification language (CMSL): comma-separated colours with optional
 * `index:` prefixes, e.g. `0ff,00f,80:000,f00,ff0,fff`. This module lexes, parses and compiles a
 * source into control points; evaluation lives in cmap.ts. Semantics follow
 * docs/heatmap.md §1 (including the lexer's greedy token order, which makes
 * `fffff` a colour `fff` followed by a stray index `ff`).
 */

export type Rgb = [number, number, number];

/** A compile error with the 0-based character offset of the offending token in the source. */
export class CmslError extends UserError {
  readonly source: string;
  readonly position: number;
  readonly problem: string;

  constructor(source: string, position: number, problem: string) {
    super(undefined, `colour map "${source}": ${problem} at column ${position + 1}`);
    this.name = 'CmslError';
    this.source = source;
    this.position = position;
    this.problem = problem;
  }
}

type TokenType = 'longcolor' | 'shortcolor' | 'index' | 'adsep' | 'sep' | 'whitespace' | 'error';

interface Token {
  type: TokenType;
  value: string;
  pos: number;
}

/** Token patterns in the order they are tried at each position (first match wins). */
const TOKEN_PATTERNS: Array<[TokenType, RegExp]> = [
  ['longcolor', /[0-9a-fA-F]{6}/y],
  ['shortcolor', /[0-9a-fA-F]{3}/y],
  ['index', /[0-9a-fA-F]{1,2}/y],
  ['adsep', /:/y],
  ['sep', /,/y],
  ['whitespace', /\s+/y],
  // Anything else swallows the rest of the line, as the reference lexer does.
  ['error', /.+/y],
];

export function lex(source: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  while (pos < source.length) {
    let matched = false;
    for (const [type, pattern] of TOKEN_PATTERNS) {
      pattern.lastIndex = pos;
      const m = pattern.exec(source);
      if (m && m[0].length > 0) {
        tokens.push({ type, value: m[0], pos });
        pos += m[0].length;
        matched = true;
        break;
      }
    }
    // Only a lone line break can escape every pattern ('.' excludes it, but \s matches it).
    if (!matched) pos += 1;
  }
  return tokens;
}

export interface ColorNode {
  /** Explicit control index 0..255, or null when the colour should be spread evenly. */
  index: number | null;
  rgb: Rgb;
  /** Where the node starts in the source (for error messages). */
  pos: number;
}

const isColor = (t: Token | undefined): boolean => t?.type === 'longcolor' || t?.type === 'shortcolor';

function describe(token: Token): string {
  const kind: Record<TokenType, string> = {
    longcolor: 'colour ',
    shortcolor: 'colour ',
    index: 'index ',
    adsep: '',
    sep: '',
    whitespace: '',
    error: '',
  };
  return `unexpected ${kind[token.type]}"${token.value}"`;
}

function colorValue(token: Token): Rgb {
  const hex = token.value;
  if (token.type === 'shortcolor') return [0, 1, 2].map((i) => parseInt(hex[i] + hex[i], 16)) as Rgb;
  return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16)) as Rgb;
}

/** Parses tokens into colour nodes with the reference's per-node state machine. */
export function parse(source: string, tokens: Token[] = lex(source)): ColorNode[] {
  const nodes: ColorNode[] = [];
  // Tokens of the node being read: [], [index], [index, ':'], [colour] or [index, ':', colour].
  const log: Token[] = [];
  for (const token of tokens) {
    if (token.type === 'index' && log.length === 0) {
      log.push(token);
    } else if (token.type === 'adsep' && log.length === 1 && log[0].type === 'index') {
      log.push(token);
    } else if (isColor(token)) {
      let index: number | null;
      if (log.length === 2 && log[0].type === 'index') {
        const digits = log[0].value.length === 1 ? log[0].value.repeat(2) : log[0].value;
        index = parseInt(digits, 16);
      } else if (log.length === 0) {
        index = null;
      } else {
        throw new CmslError(source, token.pos, describe(token));
      }
      nodes.push({ index, rgb: colorValue(token), pos: log.length ? log[0].pos : token.pos });
      log.push(token);
    } else if (token.type === 'sep' && log.length > 0 && isColor(log[log.length - 1])) {
      log.length = 0;
    } else if (token.type !== 'whitespace') {
      throw new CmslError(source, token.pos, describe(token));
    }
  }
  const last = log[log.length - 1];
  if (last && !isColor(last)) throw new CmslError(source, last.pos, `${describe(last)} without a colour after it`);
  return nodes;
}

/** Control points: strictly paired indices (ending with the sentinel 256) and colours. */
export interface ControlPoints {
  indices: number[];
  colors: Rgb[];
}

/** Turns nodes into control points: even spreading of unindexed colours, ordering check, sentinel. */
export function compileNodes(source: string, input: ColorNode[]): ControlPoints {
  if (input.length < 2) throw new CmslError(source, source.length, `needs at least 2 colours, found ${input.length}`);
  const indices: number[] = [];
  const colors: Rgb[] = [];
  const emit = (index: number, rgb: Rgb): void => {
    indices.push(index);
    colors.push(rgb);
  };
  const [first, ...rest] = input;
  emit(0, first.rgb);
  if (first.index !== null && first.index > 0) emit(first.index, first.rgb);

  const stash: ColorNode[] = [];
  rest.forEach((node, n) => {
    let index = node.index;
    if (index === null) {
      if (n < rest.length - 1) {
        stash.push(node);
        return;
      }
      index = 255;
    } else if (index < indices[indices.length - 1]) {
      throw new CmslError(
        source,
        node.pos,
        `index ${node.index} is smaller than the previous index ${indices[indices.length - 1]} (indices must not decrease)`,
      );
    }
    if (stash.length > 0) {
      // Same float64 arithmetic as np.linspace(0, 1, m + 2)[1:-1] followed by int() truncation.
      const prev = indices[indices.length - 1];
      const step = 1 / (stash.length + 1);
      stash.forEach((stashed, j) => {
        const alpha = (j + 1) * step;
        emit(Math.trunc(prev * (1 - alpha) + index! * alpha), stashed.rgb);
      });
      stash.length = 0;
    }
    emit(index, node.rgb);
  });
  emit(256, colors[colors.length - 1]);
  return { indices, colors };
}

/** Lex, parse and compile a CMSL source; throws CmslError (a UserError) with the position. */
export function compileCmsl(source: string): ControlPoints {
  return compileNodes(source, parse(source));
}
