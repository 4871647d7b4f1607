/**
 * Small statistics over plain arrays (and tensors, for differences), for summarising runs and seeds.
 */
import * as tf from "@tensorflow/tfjs";

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

/** Perplexity e^loss from a mean cross-entropy in nats. */
export function perplexity(lossNats: number): number {
  return Math.exp(lossNats);
}

/** Standard error of the mean, std/√n (sample std, n − 1); 0 for a single value. */
export function standardError(xs: ArrayLike<number>): number {
  return std(xs) / Math.sqrt(xs.length);
}

/**
 * Standard error of the difference of two independent means (unequal variances, Welch):
 * √(s_a²/n_a + s_b²/n_b).
 */
export function differenceStandardError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return Math.hypot(standardError(a), standardError(b));
}

/**
 * max_i |a_i − b_i| over two tensors or arrays of the same shape (NaN if any difference is NaN).
 * Two tensors are compared in their own precision (float32 a − b), arrays in float64.
 */
export function maxAbsDifference(a: tf.Tensor | ArrayLike<number>, b: tf.Tensor | ArrayLike<number>): number {
  if (a instanceof tf.Tensor && b instanceof tf.Tensor) {
    if (a.shape.join() !== b.shape.join()) throw new Error(`maxAbsDifference: shapes differ, [${a.shape}] vs [${b.shape}]`);
    if (a.size === 0) return 0;
    const [max, nan] = tf.tidy(() => {
      const d = tf.sub(a, b);
      return [tf.max(tf.abs(d)).dataSync()[0], tf.any(tf.isNaN(d)).dataSync()[0]];
    });
    return nan ? NaN : max;
  }
  const values = (x: tf.Tensor | ArrayLike<number>) => (x instanceof tf.Tensor ? x.dataSync() : x);
  const av = values(a),
    bv = values(b);
  if (av.length !== bv.length) throw new Error(`maxAbsDifference: ${av.length} values vs ${bv.length}`);
  let m = 0;
  for (let i = 0; i < av.length; i++) {
    const d = Math.abs(av[i] - bv[i]);
    if (Number.isNaN(d)) return NaN; // a NaN is never hidden by a later 0
    if (d > m) m = d;
  }
  return m;
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
  const mx = mean(x),
    my = mean(y);
  let sxy = 0,
    sxx = 0,
    syy = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}

/** Pearson correlation of two equal-length series; 0 when either is constant. */
export function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length || a.length < 2)
    throw new Error(`correlation: need two series of equal length ≥ 2, got ${a.length} and ${b.length}`);
  const n = a.length;
  let ma = 0,
    mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0,
    saa = 0,
    sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma,
      db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

/**
 * How well some unit of `features` ([N][F], one row per sample) tracks each latent indicator
 * (`indicators` [N][K]): for latent k, max over units u of |corr(features[·][u], indicators[·][k])|;
 * returns those K values and their mean. JoMA's Table 1 measure (Tian et al. 2023), with features
 * = a layer's MLP activations max-pooled over positions.
 */
export function bestUnitCorrelation(features: number[][], indicators: number[][]): { perLatent: number[]; mean: number } {
  const n = features.length;
  if (n !== indicators.length) throw new Error(`bestUnitCorrelation: ${n} feature rows but ${indicators.length} indicator rows`);
  const f = features[0].length,
    k = indicators[0].length;
  const column = (m: number[][], j: number) => m.map((row) => row[j]);
  const unitColumns = Array.from({ length: f }, (_, u) => column(features, u));
  const perLatent = Array.from({ length: k }, (_, j) => {
    const latent = column(indicators, j);
    return Math.max(...unitColumns.map((u) => Math.abs(correlation(u, latent))));
  });
  return { perLatent, mean: mean(perLatent) };
}

/** Ranks (1-based) with ties given their average rank. */
export function ranks(xs: ArrayLike<number>): number[] {
  const order = Array.from(xs, (v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(xs.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    for (let k = i; k <= j; k++) out[order[k][1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return out;
}

/** Spearman rank correlation: Pearson correlation of the ranks (ties averaged). */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`spearman: series of different lengths (${a.length} and ${b.length})`);
  return correlation(ranks(a), ranks(b));
}
