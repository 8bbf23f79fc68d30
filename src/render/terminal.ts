import { listColorMaps, getColorMap, palette } from './cmap.js';

/**
 * `--list-cmaps`: one line per colour map with a colour ramp when the terminal can show 24-bit
 * colour (NO_COLOR / FORCE_COLOR respected), otherwise the map's CMSL source or origin.
 */
export function terminalSupportsColor(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return Boolean(stream.isTTY) && typeof stream.hasColors === 'function' && stream.hasColors(2 ** 24);
}

/** A ramp of `cells` background-coloured spaces sampled evenly from the palette. */
export function colorRamp(pal: Uint8Array, cells = 32): string {
  let out = '';
  for (let k = 0; k < cells; k++) {
    const i = Math.round((k * 255) / (cells - 1)) * 3;
    out += `\x1b[48;2;${pal[i]};${pal[i + 1]};${pal[i + 2]}m `;
  }
  return `${out}\x1b[0m`;
}

export function formatColorMapList(color: boolean, level = 1): string {
  const names = listColorMaps();
  const width = Math.max(...names.map((n) => n.length));
  return names
    .map((name) => {
      const map = getColorMap(name);
      const preview = color ? `${colorRamp(palette(map, level))}  ` : '';
      const what = map.source ? `${map.description} [${map.source}]` : map.description;
      return `${name.padEnd(width)}  ${preview}${map.origin.padEnd(7)}  ${what}`;
    })
    .join('\n');
}
