/**
 * Cluster colours. Ids are ranked (−1 "noise" included) and spread over the hue circle with a
 * golden-ratio step, so neighbouring ids differ clearly even with 30 clusters (ViRelAy's evenly
 * spaced hues make adjacent clusters hard to tell apart, and wrap −1 onto the largest id).
 */
export function clusterColors(ids: readonly number[]): Map<number, string> {
  const colors = new Map<number, string>();
  ids.forEach((id, rank) => {
    if (id < 0) {
      colors.set(id, '#8a8a8a');
      return;
    }
    const hue = (rank * 0.618033988749895 * 360) % 360;
    colors.set(id, hslToHex(hue, 0.68, 0.52));
  });
  return colors;
}

export function hslToHex(h: number, s: number, l: number): string {
  const k = (n: number) => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  const hex = (v: number) =>
    Math.round(v * 255)
      .toString(16)
      .padStart(2, '0');
  return `#${hex(f(0))}${hex(f(8))}${hex(f(4))}`;
}
