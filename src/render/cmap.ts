import { UserError } from '../errors.js';
import { CmslError, compileCmsl, type ControlPoints, type Rgb } from './cmsl.js';
import { VIRELAY_MAPS } from './virelay-maps.js';

/**
 * Colour maps: Zennit's built-in CMSL maps, ViRelAy's maps (for the viewer) and any CMSL source.
 * Every map is a function from a position p ∈ [0, 1] to RGB in [0, 255]; `palette()` samples it
 * at Zennit's 256 palette positions (docs/heatmap.md §2), so a heatmap's 8-bit
 * indices can be recoloured with any map by swapping the palette only.
 */
export interface ColorMap {
  /** Registry name, or the CMSL source for ad-hoc maps. */
  readonly name: string;
  /** Where the definition comes from. */
  readonly origin: 'zennit' | 'virelay' | 'cmsl';
  /** One line for `--list-cmaps`. */
  readonly description: string;
  /** True when relevance 0 should sit in the middle (symmetric normalisation suits it). */
  readonly signed: boolean;
  /** CMSL source and compiled control points (absent for ViRelAy's function-defined maps). */
  readonly source?: string;
  readonly controlPoints?: ControlPoints;
  /** Colour at p ∈ [0, 1] (clipped), channels in [0, 255] as float64 before quantisation. */
  color(p: number): Rgb;
}

/** Zennit's `CMAPS` (image.py), in its order. */
const ZENNIT_SOURCES: Array<[name: string, source: string, description: string]> = [
  ['gray', '000,fff', 'black to white'],
  ['wred', 'fff,f00', 'white to red'],
  ['wblue', 'fff,00f', 'white to blue'],
  ['hot', '000,f00,ff0,fff', 'black to red to yellow to white'],
  ['cold', '000,00f,0ff', 'black to blue to cyan'],
  ['coldnhot', '0ff,00f,80:000,f00,ff0,fff', 'cold reversed and hot, centred on black'],
  ['bwr', '00f,80:fff,f00', 'blue to white to red, centred on white'],
  ['france', '0055a4,80:fff,ef4135', 'the French flag: blue to white to red'],
  ['seismic', '0000d0,80:d0d0d0,d00000', "Zennit's seismic: blue to grey d0 to red (ViRelAy's is virelay-seismic)"],
  ['coolio', '00d0d0,80:d0d0d0,d000d0', 'cyan to grey d0 to magenta'],
  ['coleus', '00d000,80:d0d0d0,d000d0', 'green to grey d0 to magenta'],
];

/** Zennit maps whose centre (index 0x80) is a neutral colour. */
const SIGNED_ZENNIT = new Set(['coldnhot', 'bwr', 'france', 'seismic', 'coolio', 'coleus']);

/** Evaluates compiled control points exactly as Zennit's `ColorMap.__call__` (float64). */
function controlPointColor(points: ControlPoints): (p: number) => Rgb {
  const { indices, colors } = points;
  const last = indices.length - 1; // the sentinel 256 is never searched
  return (p: number): Rgb => {
    let q = p * 255;
    q = q < 0 ? 0 : q > 255 ? 255 : q;
    // searchsorted(indices[:-1], q, side='right'): number of entries ≤ q.
    let k = 0;
    while (k < last && indices[k] <= q) k++;
    const i0 = indices[k - 1];
    const alpha = (q - i0) / (indices[k] - i0);
    const c0 = colors[k - 1];
    const c1 = colors[k];
    // Zennit divides by 255 and the palette multiplies by 255 again; keep both for identical rounding.
    return [0, 1, 2].map((c) => ((c0[c] * (1 - alpha) + c1[c] * alpha) / 255) * 255) as Rgb;
  };
}

/** Builds a colour map from CMSL source (throws CmslError with the offending position). */
export function compileColorMap(source: string, name = source, description = 'CMSL source'): ColorMap {
  const controlPoints = compileCmsl(source);
  const zennit = ZENNIT_SOURCES.some(([n, s]) => n === name && s === source);
  return {
    name,
    origin: zennit ? 'zennit' : 'cmsl',
    description,
    signed: zennit ? SIGNED_ZENNIT.has(name) : controlPoints.indices.includes(128),
    source,
    controlPoints,
    color: controlPointColor(controlPoints),
  };
}

const registry = new Map<string, ColorMap | (() => ColorMap)>();
for (const [name, source, description] of ZENNIT_SOURCES) registry.set(name, () => compileColorMap(source, name, description));
for (const map of VIRELAY_MAPS) registry.set(map.name, map);

/**
 * Adds a named map to the registry (docs/extending.md §4): a CMSL source, compiled on first use, or
 * a ready ColorMap (a function-defined one). Every consumer (heatmap --cmap, --list-cmaps, the
 * viewer's colour maps, palette()) looks maps up here, so registering is the whole job. A name that
 * is already taken is refused: a map must never silently change under a saved heatmap.
 */
export function registerColorMap(name: string, map: string | ColorMap, description = 'CMSL source'): void {
  if (registry.has(name)) throw new Error(`colour map '${name}' is already registered`);
  if (typeof map !== 'string' && map.name !== name) throw new Error(`colour map registered as '${name}' is named '${map.name}'`);
  registry.set(name, typeof map === 'string' ? () => compileColorMap(map, name, description) : map);
}

/** Every registered name: Zennit's 11 maps first, then ViRelAy's, then any registered later. */
export function listColorMaps(): string[] {
  return [...registry.keys()];
}

/** Names of the maps defined by Zennit (byte-identical palettes). */
export function zennitColorMaps(): string[] {
  return ZENNIT_SOURCES.map(([name]) => name);
}

/**
 * A registered map by name (names take precedence, as in Zennit's get_cmap), else a map compiled
 * from `nameOrSource` as CMSL. A word that is neither gives a UserError listing the valid names;
 * malformed CMSL gives a CmslError with the position.
 */
export function getColorMap(nameOrSource: string | ColorMap): ColorMap {
  if (typeof nameOrSource !== 'string') return nameOrSource;
  const entry = registry.get(nameOrSource);
  if (entry) {
    if (typeof entry !== 'function') return entry;
    const compiled = entry();
    registry.set(nameOrSource, compiled); // compile lazily, once
    return compiled;
  }
  try {
    return compileColorMap(nameOrSource);
  } catch (error) {
    // Something that does not look like CMSL at all was meant as a name.
    const looksLikeCmsl = /[,:]/.test(nameOrSource) || /^\s*[0-9a-f]+\s*$/i.test(nameOrSource);
    if (error instanceof CmslError && !looksLikeCmsl) {
      throw new UserError(
        undefined,
        `unknown colour map "${nameOrSource}"; valid names: ${listColorMaps().join(', ')} (or a CMSL source such as "00f,80:fff,f00")`,
      );
    }
    throw error;
  }
}

/** NumPy's round(x, 12): scale, round half to even, unscale. */
function round12(x: number): number {
  const y = x * 1e12;
  let r = Math.round(y);
  if (r - y === 0.5 && r % 2 !== 0) r -= 1; // Math.round rounds .5 up; rint rounds to even
  return r / 1e12;
}

/** NumPy's linspace(-1, 1, 256)[i]: i·step + start, with the last entry exactly 1. */
function paletteAbscissa(i: number): number {
  return i === 255 ? 1 : i * (2 / 255) + -1;
}

const paletteCache = new Map<string, Uint8Array>();

/**
 * The 256×3 RGB palette of a map at `level` (Zennit's `ColorMap.palette`): level > 1 saturates
 * earlier, 0 < level < 1 compresses towards the centre colour. Cached per (map, level) for
 * registry maps; the returned array must not be modified.
 */
export function palette(cmap: ColorMap | string, level = 1): Uint8Array {
  const map = getColorMap(cmap);
  if (!Number.isFinite(level)) throw new UserError('--level', `level must be a finite number, got ${level}`);
  const key = `${map.origin}\u0000${map.name}\u0000${level}`;
  const cached = paletteCache.get(key);
  if (cached) return cached;
  const out = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = paletteAbscissa(i) * level;
    let p = (x + 1) / 2;
    p = p < 0 ? 0 : p > 1 ? 1 : p;
    const rgb = map.color(p);
    for (let c = 0; c < 3; c++) {
      let v = round12(rgb[c]);
      v = v < 0 ? 0 : v > 255 ? 255 : v;
      out[i * 3 + c] = Math.trunc(v);
    }
  }
  if (paletteCache.size > 256) paletteCache.clear();
  paletteCache.set(key, out);
  return out;
}

export { CmslError, compileCmsl } from './cmsl.js';
export type { ControlPoints, Rgb } from './cmsl.js';
