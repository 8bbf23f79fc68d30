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
