/**
 * Small statistics over plain arrays, for summarising runs and seeds.
 */

export function mean(xs: ArrayLike<number>): number {
  if (xs.length === 0) throw new Error("mean of an empty list");
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

/** Sample standard deviation (n − 1); 0 for a single value. */
export function std(xs: ArrayLike<number>): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i] - m) ** 2;
  return Math.sqrt(s / (xs.length - 1));
}

/** "mean ± std (n)" with `digits` decimals. */
export function meanStd(xs: ArrayLike<number>, digits = 3): string {
  return `${mean(xs).toFixed(digits)} ± ${std(xs).toFixed(digits)} (n=${xs.length})`;
}

export interface LinearFit {
  slope: number;
  intercept: number;
  /** Coefficient of determination of the fit. */
  r2: number;
}

/** Least-squares line y ≈ slope·x + intercept. */
export function linearFit(x: ArrayLike<number>, y: ArrayLike<number>): LinearFit {
  if (x.length !== y.length || x.length < 2) throw new Error(`linearFit: need ≥ 2 paired values, got ${x.length} and ${y.length}`);
  const mx = mean(x), my = mean(y);
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}
