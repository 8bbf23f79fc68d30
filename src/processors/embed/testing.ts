/** Test references for the t-SNE repulsion (testing.js files are left out of the package). */

/** Σ_j q_ij² (y_i − y_j) and Σ_ij q_ij (self terms included), directly: O(n²). */
export function exactRepulsion(y: Float64Array, n: number): { negX: Float64Array; negY: Float64Array; z: number } {
  const negX = new Float64Array(n);
  const negY = new Float64Array(n);
  let z = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const dx = y[2 * i]! - y[2 * j]!;
      const dy = y[2 * i + 1]! - y[2 * j + 1]!;
      const q = 1 / (1 + dx * dx + dy * dy);
      z += q;
      negX[i]! += q * q * dx;
      negY[i]! += q * q * dy;
    }
  }
  return { negX, negY, z };
}

/** Share of the n points whose nearest 2-D neighbour is in their group (point i is in group i mod `groups`). */
export function nearestSharesGroup(y: Float64Array, n: number, groups: number): number {
  let same = 0;
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestD = Infinity;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const dd = (y[2 * i]! - y[2 * j]!) ** 2 + (y[2 * i + 1]! - y[2 * j + 1]!) ** 2;
      if (dd < bestD) {
        bestD = dd;
        best = j;
      }
    }
    if (best % groups === i % groups) same++;
  }
  return same / n;
}
