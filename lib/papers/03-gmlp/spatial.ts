/**
 * What a learned token-mixing matrix W [n, n] looks like when its n tokens are patches on a g×g
 * grid (n = g²; token i at row ⌊i/g⌋, column i mod g), as for gMLP's spatial weights on images
 * (Liu et al. 2021, Fig. 4: "local, roughly shift-invariant"). Both measures use |W| or W itself,
 * with the diagonal included.
 */

export interface Locality {
  /** Σ_ij |W_ij| · dist(i, j) / Σ_ij |W_ij|, grid (Euclidean) distance between patches. */
  weightedDistance: number;
  /** The same with equal weights: what a W with no preference for nearby patches gives. */
  uniformDistance: number;
  /** weightedDistance / uniformDistance: < 1 means W reads mostly from nearby patches. */
  ratio: number;
}

function gridOf(w: number[][]): number {
  const n = w.length;
  const g = Math.round(Math.sqrt(n));
  if (g * g !== n || w.some((row) => row.length !== n)) throw new Error(`spatial metrics: W must be [g², g²], got [${n}, ${w[0]?.length}]`);
  return g;
}

export function spatialLocality(w: number[][]): Locality {
  const g = gridOf(w);
  const n = g * g;
  let weighted = 0,
    mass = 0,
    uniform = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const d = Math.hypot(Math.floor(i / g) - Math.floor(j / g), (i % g) - (j % g));
      weighted += Math.abs(w[i][j]) * d;
      mass += Math.abs(w[i][j]);
      uniform += d;
    }
  }
  const weightedDistance = weighted / mass;
  const uniformDistance = uniform / (n * n);
  return { weightedDistance, uniformDistance, ratio: weightedDistance / uniformDistance };
}

/**
 * Shift invariance: the share of W's variance explained by a convolution. The best convolution
 * kernel has, at each offset (Δr, Δc), the mean of W_ij over all pairs at that offset; R² =
 * 1 − Σ(W − conv)² / Σ(W − mean W)². 1 for an exact convolution; for a W with no structure about
 * (offsets − 1) / (entries − 1), i.e. 168 / 2400 ≈ 0.07 on a 7×7 grid.
 */
export function shiftInvariance(w: number[][]): number {
  const g = gridOf(w);
  const n = g * g;
  const size = 2 * g - 1;
  const sum = new Float64Array(size * size),
    count = new Float64Array(size * size);
  const offset = (i: number, j: number) => (Math.floor(j / g) - Math.floor(i / g) + g - 1) * size + ((j % g) - (i % g) + g - 1);
  let total = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      sum[offset(i, j)] += w[i][j];
      count[offset(i, j)]++;
      total += w[i][j];
    }
  const mean = total / (n * n);
  let residual = 0,
    variance = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const o = offset(i, j);
      residual += (w[i][j] - sum[o] / count[o]) ** 2;
      variance += (w[i][j] - mean) ** 2;
    }
  return 1 - residual / variance;
}
