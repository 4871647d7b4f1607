/**
 * Uncertainty for the claims: intervals over seeds (t intervals of a mean, of a two-sample
 * difference with Welch's degrees of freedom, of paired differences), percentile bootstrap
 * intervals over examples (seeded), Spearman's ρ with a permutation p-value, and an equivalence
 * decision against a margin named in advance. Every interval says how it was made.
 *
 *   mean:      x̄ ± t_{n−1} · s/√n
 *   Welch:     (x̄_a − x̄_b) ± t_ν · √(s_a²/n_a + s_b²/n_b),
 *              ν = (s_a²/n_a + s_b²/n_b)² / [(s_a²/n_a)²/(n_a−1) + (s_b²/n_b)²/(n_b−1)]
 *   paired:    mean(a − b) ± t_{n−1} · s_{a−b}/√n
 *   Wilson:    a share k/n: (p̂ + z²/2n ± z·√(p̂(1 − p̂)/n + z²/4n²)) / (1 + z²/n)
 *   power:     pairs needed: the smallest n with effect·√n − t_{n−1, 1−α/2} ≥ z_power; inversely the
 *              effect n pairs detect, (t_{n−1, 1−α/2} + z_power)/√n
 */
import tQuantile from "@stdlib/stats-base-dists-t-quantile";
import { createRng } from "../engine/rng";
import { mean, spearman, std } from "./stats";

export interface Interval {
  /** The point estimate (a mean, or a difference of means). */
  estimate: number;
  low: number;
  high: number;
  /** Coverage, e.g. 0.95. */
  level: number;
  /** Standard error of the estimate, where the method has one. */
  se?: number;
  /** Sample size(s) behind it. */
  n: number;
  /** How it was made, e.g. "t interval over 3 seeds". */
  method: string;
}

function checkLevel(level: number, who: string): void {
  if (!(level > 0 && level < 1)) throw new Error(`${who}: level must be in (0, 1), got ${level}`);
}

function checkSample(xs: ArrayLike<number>, who: string, name = "sample"): void {
  if (xs.length < 2) throw new Error(`${who}: ${name} needs at least 2 values for an interval, got ${xs.length}`);
  for (let i = 0; i < xs.length; i++) if (!Number.isFinite(xs[i])) throw new Error(`${who}: ${name}[${i}] is ${xs[i]}`);
}

/** t interval of a mean over n ≥ 2 values (e.g. seeds). */
export function meanInterval(xs: ArrayLike<number>, level = 0.95): Interval {
  checkLevel(level, "meanInterval");
  checkSample(xs, "meanInterval");
  const n = xs.length;
  const se = std(xs) / Math.sqrt(n);
  const half = tQuantile(0.5 + level / 2, n - 1) * se;
  const m = mean(xs);
  return { estimate: m, low: m - half, high: m + half, level, se, n, method: `t interval over ${n} values` };
}

/** Welch's t interval of mean(a) − mean(b) for two independent samples (e.g. two arms' seeds). */
export function differenceInterval(a: ArrayLike<number>, b: ArrayLike<number>, level = 0.95): Interval {
  checkLevel(level, "differenceInterval");
  checkSample(a, "differenceInterval", "a");
  checkSample(b, "differenceInterval", "b");
  const va = std(a) ** 2 / a.length;
  const vb = std(b) ** 2 / b.length;
  const se = Math.sqrt(va + vb);
  const estimate = mean(a) - mean(b);
  if (se === 0)
    return {
      estimate,
      low: estimate,
      high: estimate,
      level,
      se,
      n: a.length + b.length,
      method: `Welch t interval, ${a.length} vs ${b.length} values (no spread)`,
    };
  const df = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  const half = tQuantile(0.5 + level / 2, df) * se;
  return {
    estimate,
    low: estimate - half,
    high: estimate + half,
    level,
    se,
    n: a.length + b.length,
    method: `Welch t interval, ${a.length} vs ${b.length} values (ν = ${df.toFixed(1)})`,
  };
}

/** t interval of mean(a_i − b_i) for paired values (same seed, same data, two treatments). */
export function pairedInterval(a: ArrayLike<number>, b: ArrayLike<number>, level = 0.95): Interval {
  if (a.length !== b.length) throw new Error(`pairedInterval: ${a.length} values paired with ${b.length}`);
  const d = Array.from(a, (x, i) => x - b[i]);
  return { ...meanInterval(d, level), method: `paired t interval over ${d.length} pairs` };
}

/**
 * Wilson score interval of a share: `successes` of `n` trials (e.g. how many perturbed starts
 * returned). Unlike p̂ ± z·√(p̂(1 − p̂)/n) it does not collapse to a point at 0 or n successes:
 * all n of n gives [n/(n + z²), 1].
 */
export function proportionInterval(successes: number, n: number, level = 0.95): Interval {
  checkLevel(level, "proportionInterval");
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`proportionInterval: n must be a positive integer, got ${n}`);
  if (!(Number.isInteger(successes) && successes >= 0 && successes <= n))
    throw new Error(`proportionInterval: successes must be an integer in [0, ${n}], got ${successes}`);
  const z = tQuantile(0.5 + level / 2, 1e9); // the normal quantile
  const p = successes / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
  return {
    estimate: p,
    low: successes === 0 ? 0 : Math.max(0, centre - half), // exact ends: rounding must not push p̂ outside
    high: successes === n ? 1 : Math.min(1, centre + half),
    level,
    se: Math.sqrt((p * (1 - p)) / n),
    n,
    method: `Wilson score interval, ${successes} of ${n}`,
  };
}

/**
 * How many pairs (seeds, starts) a paired t-test needs to detect a standardised effect — the mean
 * difference in units of the differences' sd (Cohen's d_z) — with probability `power` at the
 * two-sided `level`: the smallest n ≥ 2 with effect·√n − t_{n−1, (1+level)/2} ≥ z_power (the usual
 * normal approximation to the noncentral t; it gives the tabled 34 pairs for d_z = 0.5 and 10 for
 * d_z = 1 at 80% power and the 5% level). Fix it before the run, from an effect named in advance.
 */
export function pairedSampleSize(effect: number, o: { power?: number; level?: number } = {}): number {
  const power = o.power ?? 0.8,
    level = o.level ?? 0.95;
  if (!(effect > 0 && Number.isFinite(effect))) throw new Error(`pairedSampleSize: effect must be > 0, got ${effect}`);
  if (!(power > 0.5 && power < 1)) throw new Error(`pairedSampleSize: power must be in (0.5, 1), got ${power}`);
  checkLevel(level, "pairedSampleSize");
  const zPower = tQuantile(power, 1e9); // the normal quantile
  for (let n = 2; n <= 1e6; n++) if (effect * Math.sqrt(n) - tQuantile(0.5 + level / 2, n - 1) >= zPower) return n;
  throw new Error(`pairedSampleSize: more than 10⁶ pairs for effect ${effect}`);
}

/**
 * The inverse of `pairedSampleSize`: the smallest standardised effect (mean difference / sd of the
 * differences) that n pairs detect with probability `power` at the two-sided `level`,
 * (t_{n−1, (1+level)/2} + z_power)/√n — e.g. what a finished run could have resolved.
 */
export function detectableEffect(n: number, o: { power?: number; level?: number } = {}): number {
  const power = o.power ?? 0.8,
    level = o.level ?? 0.95;
  if (!(Number.isInteger(n) && n >= 2)) throw new Error(`detectableEffect: n must be an integer ≥ 2, got ${n}`);
  if (!(power > 0.5 && power < 1)) throw new Error(`detectableEffect: power must be in (0.5, 1), got ${power}`);
  checkLevel(level, "detectableEffect");
  return (tQuantile(0.5 + level / 2, n - 1) + tQuantile(power, 1e9)) / Math.sqrt(n);
}

/**
 * Percentile bootstrap interval of `statistic` over examples: `resamples` resamples with
 * replacement from a seeded generator (same seed, same interval).
 */
export function bootstrapInterval(
  xs: ArrayLike<number>,
  options: { statistic?: (sample: number[]) => number; resamples?: number; level?: number; seed: number },
): Interval {
  const { statistic = mean, resamples = 2000, level = 0.95, seed } = options;
  checkLevel(level, "bootstrapInterval");
  checkSample(xs, "bootstrapInterval");
  if (!(Number.isInteger(resamples) && resamples >= 100))
    throw new Error(`bootstrapInterval: resamples must be an integer ≥ 100, got ${resamples}`);
  const rng = createRng(seed);
  const values = Array.from(xs);
  const stats = new Float64Array(resamples);
  const sample = new Array<number>(values.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < values.length; i++) sample[i] = values[rng.int(values.length)];
    stats[r] = statistic(sample);
  }
  stats.sort();
  const at = (q: number) => stats[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))];
  return {
    estimate: statistic(values),
    low: at((1 - level) / 2),
    high: at(1 - (1 - level) / 2),
    level,
    n: values.length,
    method: `percentile bootstrap, ${resamples} resamples of ${values.length} examples (seed ${seed})`,
  };
}

/**
 * Spearman's ρ with a two-sided permutation p-value: the share of `permutations` random
 * re-pairings (seeded) whose |ρ| reaches the observed one, counting the observed pairing
 * ((k + 1)/(permutations + 1), never 0).
 */
export function spearmanTest(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  options: { permutations?: number; seed: number },
): { rho: number; p: number; permutations: number } {
  const { permutations = 2000, seed } = options;
  if (a.length !== b.length) throw new Error(`spearmanTest: ${a.length} values paired with ${b.length}`);
  if (a.length < 3) throw new Error(`spearmanTest: needs at least 3 pairs, got ${a.length}`);
  if (!(Number.isInteger(permutations) && permutations >= 99))
    throw new Error(`spearmanTest: permutations must be an integer ≥ 99, got ${permutations}`);
  const rho = spearman(a, b);
  const rng = createRng(seed);
  const shuffled = Array.from(b);
  let reach = 0;
  for (let k = 0; k < permutations; k++) {
    rng.shuffle(shuffled);
    if (Math.abs(spearman(a, shuffled)) >= Math.abs(rho) - 1e-12) reach++;
  }
  return { rho, p: (reach + 1) / (permutations + 1), permutations };
}

/**
 * Equivalence against a margin named in advance (two one-sided tests read off one interval): the
 * difference is "equivalent" when the whole interval lies inside (−margin, margin), "different"
 * when it lies wholly outside, otherwise "inconclusive".
 */
export function equivalence(interval: Pick<Interval, "low" | "high">, margin: number): "equivalent" | "different" | "inconclusive" {
  if (!(margin > 0)) throw new Error(`equivalence: margin must be > 0, got ${margin}`);
  if (interval.low > -margin && interval.high < margin) return "equivalent";
  if (interval.high <= -margin || interval.low >= margin) return "different";
  return "inconclusive";
}
