/**
 * The communication game (Tucker et al. 2021, §3.2 and App. A): a speaker sends token c_i ∈ [0, 1]^d
 * for meaning i (of N, uniform), the channel adds y = c_i + ε, ε ~ N(0, σ²I), the listener decodes
 * the nearest token j, and both get R_ij. The paper's objective is the expected reward
 *
 *   E[R](c) = (1/N) Σ_i E_ε[ R_{i, dec(c_i + ε)} ],   dec(y) = argmin_j ‖y − c_j‖
 *
 * maximised over the box 0 ≤ c ≤ 1. Three ways to look at it:
 *   `expectedReward` / `rewardDraws`  the objective itself, by seeded Monte Carlo (and, with
 *                                     `decoder: "bayes"`, the game with the listener's best response
 *                                     to any R: argmax_j Σ_i p(y | c_i)·R_ij);
 *   `rewardGradient`                  its gradient by Monte Carlo (R = I), with standard errors;
 *   `surrogateReward`                 a smooth surrogate for ascent: the listener decodes j with the
 *                                     posterior softmax_j(−‖y − c_j‖²/2σ²) on fixed noise draws.
 */
import tQuantile from "@stdlib/stats-base-dists-t-quantile";
import * as tf from "@tensorflow/tfjs";
import { createRng, normalArray } from "../../engine/rng";

export type Codebook = number[][];

export interface GameOptions {
  /** Channel noise σ. */
  sigma: number;
  /** R[i][j]: reward when meaning i is sent and j decoded (default identity). */
  reward?: number[][];
}

/**
 * How the listener decodes y. "nearest": argmin_j ‖y − c_j‖, the paper's game (the best response
 * when R = I). "bayes": argmax_j Σ_i exp(−‖y − c_i‖²/2σ²)·R_ij, the best response to any R with
 * equal priors — it maximises the expected reward given y, so no decoder does better on average.
 */
export type Decoder = "nearest" | "bayes";

function checkCodebook(codebook: Codebook, reward: number[][] | undefined, who: string): { n: number; d: number } {
  const n = codebook.length;
  if (n < 2) throw new Error(`${who}: need at least 2 meanings, got ${n}`);
  const d = codebook[0].length;
  codebook.forEach((c, i) => {
    if (c.length !== d) throw new Error(`${who}: token ${i} has ${c.length} coordinates, token 0 has ${d}`);
    c.forEach((v, k) => {
      if (!(v >= 0 && v <= 1)) throw new Error(`${who}: token ${i} coordinate ${k} is ${v}, outside [0, 1]`);
    });
  });
  if (reward && (reward.length !== n || reward.some((r) => r.length !== n))) throw new Error(`${who}: the reward matrix must be ${n}×${n}`);
  return { n, d };
}

/** The identity reward (a meaning counts only if decoded exactly). */
export function identityReward(n: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
}

/** R_ij = exp(−|i − j|): neighbouring meanings are partly interchangeable. */
export function structuredReward(n: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => Math.exp(-Math.abs(i - j))));
}

/** N one-hot tokens in d ≥ N dimensions (zeros in the extra coordinates). */
export function oneHotCodebook(n: number, d = n): Codebook {
  if (d < n) throw new Error(`oneHotCodebook: ${n} one-hot tokens need d ≥ ${n}, got ${d}`);
  return Array.from({ length: n }, (_, i) => Array.from({ length: d }, (_, k) => (k === i ? 1 : 0)));
}

/**
 * The first `count` words of the extended Hamming code [8, 4, 4] (generator rows 11110000,
 * 11001100, 10101010, 01101001 over GF(2), words in the order of their 4-bit messages with the
 * all-ones word left out): any two differ in at least 4 of 8 bits, so they are ≥ 2 apart where
 * one-hot tokens are √2 apart.
 */
export function hammingCodebook(count = 8): Codebook {
  if (!(Number.isInteger(count) && count >= 2 && count <= 15)) throw new Error(`hammingCodebook: count must be 2–15, got ${count}`);
  const generator = ["11110000", "11001100", "10101010", "01101001"].map((r) => Array.from(r, Number));
  const words: Codebook = [];
  for (let m = 0; m < 16; m++) {
    const w = Array.from({ length: 8 }, (_, k) => generator.reduce((s, row, b) => s ^ ((m >> b) & 1 & row[k]), 0));
    if (w.some((v) => v === 0)) words.push(w);
  }
  return words.slice(0, count);
}

/** N tokens drawn uniformly from the box (seeded). */
export function uniformCodebook(n: number, d: number, seed: number): Codebook {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => Array.from({ length: d }, () => rng.uniform()));
}

/** N tokens clustered at the centre of the box: 0.5 + spread·N(0, 1) per coordinate (clipped), seeded. */
export function clusteredCodebook(n: number, d: number, o: { spread: number; seed: number }): Codebook {
  if (!(o.spread > 0 && o.spread < 0.5)) throw new Error(`clusteredCodebook: spread must be in (0, 0.5), got ${o.spread}`);
  const rng = createRng(o.seed);
  return Array.from({ length: n }, () => Array.from({ length: d }, () => Math.min(1, Math.max(0, 0.5 + o.spread * rng.normal()))));
}

/** Index of the nearest token to y (ties: the lowest index). */
function nearest(codebook: Codebook, y: ArrayLike<number>): number {
  let best = 0,
    bestDist = Infinity;
  for (let j = 0; j < codebook.length; j++) {
    let dist = 0;
    for (let k = 0; k < y.length; k++) {
      const t = y[k] - codebook[j][k];
      dist += t * t;
    }
    if (dist < bestDist) {
      bestDist = dist;
      best = j;
    }
  }
  return best;
}

/** The Bayes decoder: argmax_j Σ_i exp(−‖y − c_i‖²/2σ²)·R_ij (ties: the lowest index). `dist` is scratch space [N]. */
function bayes(codebook: Codebook, y: ArrayLike<number>, sigma: number, reward: number[][], dist: Float64Array): number {
  let least = Infinity;
  for (let i = 0; i < codebook.length; i++) {
    let sq = 0;
    for (let k = 0; k < y.length; k++) {
      const t = y[k] - codebook[i][k];
      sq += t * t;
    }
    dist[i] = sq;
    least = Math.min(least, sq);
  }
  // likelihoods relative to the nearest token's (the common factor does not change the argmax)
  for (let i = 0; i < codebook.length; i++) dist[i] = Math.exp(-(dist[i] - least) / (2 * sigma * sigma));
  let best = 0,
    bestValue = -Infinity;
  for (let j = 0; j < codebook.length; j++) {
    let v = 0;
    for (let i = 0; i < codebook.length; i++) v += dist[i] * reward[i][j];
    if (v > bestValue) {
      bestValue = v;
      best = j;
    }
  }
  return best;
}

/**
 * The reward of each Monte Carlo draw of the true game (nearest-token decoding unless `decoder`
 * says "bayes"): `samples` draws per meaning, meaning-major ([N·S]). Same seed, same draws — so
 * two codebooks of the same shape (or two decoders) scored with one seed are paired draw by draw.
 */
export function rewardDraws(
  codebook: Codebook,
  options: GameOptions & { samples?: number; seed?: number; decoder?: Decoder },
): Float64Array {
  const { n, d } = checkCodebook(codebook, options.reward, "rewardDraws");
  const decoder = options.decoder ?? "nearest";
  if (decoder !== "nearest" && decoder !== "bayes") throw new Error(`rewardDraws: decoder must be "nearest" or "bayes", got "${decoder}"`);
  if (!(options.sigma >= 0)) throw new Error(`rewardDraws: sigma must be ≥ 0, got ${options.sigma}`);
  if (decoder === "bayes" && !(options.sigma > 0)) throw new Error(`rewardDraws: the Bayes decoder needs sigma > 0, got ${options.sigma}`);
  const reward = options.reward ?? identityReward(n);
  const samples = options.samples ?? 4000;
  const rng = createRng(options.seed ?? 0);
  const out = new Float64Array(n * samples);
  const y = new Float64Array(d);
  const scratch = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const noise = normalArray(rng, samples * d, options.sigma);
    for (let s = 0; s < samples; s++) {
      for (let k = 0; k < d; k++) y[k] = codebook[i][k] + noise[s * d + k];
      const j = decoder === "nearest" ? nearest(codebook, y) : bayes(codebook, y, options.sigma, reward, scratch);
      out[i * samples + s] = reward[i][j];
    }
  }
  return out;
}

/** Expected reward of the true game by Monte Carlo (`rewardDraws`): mean and its standard error. */
export function expectedReward(
  codebook: Codebook,
  options: GameOptions & { samples?: number; seed?: number; decoder?: Decoder },
): { mean: number; stderr: number } {
  const r = rewardDraws(codebook, options);
  let sum = 0,
    sumSq = 0;
  for (const v of r) {
    sum += v;
    sumSq += v * v;
  }
  const mean = sum / r.length;
  return { mean, stderr: Math.sqrt(Math.max(0, sumSq / r.length - mean * mean) / r.length) };
}

/**
 * Gradient of the paper's objective E[R] for the identity reward, by Monte Carlo, with the
 * standard error of every component. Nearest-token decoding is the listener's best response when
 * R = I (the MAP decoder for equal priors and isotropic noise), so moving the decoding regions
 * changes E[R] only to second order (envelope theorem) and the gradient is the score-function term
 * of the sent token alone. Subtracting the baseline 1 (E[ε] = 0) leaves only the errors:
 *
 *   ∂E[R]/∂c_ik = (1/N) E_ε[(R_{i,dec(c_i+ε)} − 1)·ε_k] / σ² = −(1/N) E_ε[1{dec ≠ i}·ε_k] / σ²
 *
 * Valid for R = I only (for other R nearest-token decoding is not the best response).
 */
export function rewardGradient(
  codebook: Codebook,
  options: { sigma: number; samples: number; seed: number },
): { value: number; gradient: number[][]; stderr: number[][]; samples: number } {
  const { n, d } = checkCodebook(codebook, undefined, "rewardGradient");
  const { sigma, samples } = options;
  if (!(sigma > 0)) throw new Error(`rewardGradient: sigma must be > 0, got ${sigma}`);
  if (!(Number.isInteger(samples) && samples >= 2)) throw new Error(`rewardGradient: samples must be an integer ≥ 2, got ${samples}`);
  const rng = createRng(options.seed);
  const gradient: number[][] = [],
    stderr: number[][] = [];
  const y = new Float64Array(d);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const noise = normalArray(rng, samples * d, sigma);
    const sum = new Float64Array(d),
      sumSq = new Float64Array(d);
    for (let s = 0; s < samples; s++) {
      for (let k = 0; k < d; k++) y[k] = codebook[i][k] + noise[s * d + k];
      if (nearest(codebook, y) === i) {
        correct++;
        continue;
      }
      for (let k = 0; k < d; k++) {
        const e = noise[s * d + k];
        sum[k] += e;
        sumSq[k] += e * e;
      }
    }
    const scale = 1 / (n * sigma * sigma);
    gradient.push(Array.from(sum, (v) => -scale * (v / samples)));
    stderr.push(Array.from(sum, (v, k) => scale * Math.sqrt(Math.max(0, sumSq[k] / samples - (v / samples) ** 2) / samples)));
  }
  return { value: correct / (n * samples), gradient, stderr, samples };
}

/** Fixed noise draws for the surrogate: [N, S, d], N(0, σ²). */
export function surrogateNoise(n: number, d: number, options: { sigma: number; samples: number; seed: number }): tf.Tensor3D {
  return tf.tensor3d(normalArray(createRng(options.seed), n * options.samples * d, options.sigma), [n, options.samples, d]);
}

/**
 * The smooth surrogate of the expected reward for a codebook tensor [N, d] and fixed noise
 * [N, S, d]: mean over meanings i and draws s of Σ_j softmax_j(−‖c_i + ε − c_j‖²/2σ²)·R_ij. It
 * differs from the game in two ways: the listener decodes at random from the posterior instead of
 * taking its best guess (so the value is lower, and the decoder's response to the codebook enters
 * the gradient), and the expectation is over S fixed draws (a deterministic function, off the
 * true expectation by its Monte Carlo error).
 */
export function surrogateReward(codebook: tf.Tensor, noise: tf.Tensor3D, sigma: number, reward: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const [n, s, d] = noise.shape;
    const y = tf.add(tf.reshape(codebook, [n, 1, d]), noise); // [N, S, d]
    const flat = tf.reshape(y, [n * s, d]);
    const sq = tf.add(
      tf.sub(tf.sum(tf.square(flat), 1, true), tf.mul(2, tf.matMul(flat, codebook, false, true))),
      tf.reshape(tf.sum(tf.square(codebook), 1), [1, n]),
    ); // [N·S, N]
    const posterior = tf.softmax(tf.div(tf.neg(sq), 2 * sigma * sigma));
    const rewardRows = tf.reshape(tf.tile(tf.reshape(reward, [n, 1, n]), [1, s, 1]), [n * s, n]);
    return tf.mean(tf.sum(tf.mul(posterior, rewardRows), 1)) as tf.Scalar;
  });
}

/** Value and gradient of the surrogate at a codebook (plain arrays). */
export function surrogateGradient(
  codebook: Codebook,
  options: GameOptions & { samples?: number; seed?: number },
): { value: number; gradient: number[][] } {
  const { n, d } = checkCodebook(codebook, options.reward, "surrogateGradient");
  return tf.tidy(() => {
    const noise = surrogateNoise(n, d, { sigma: options.sigma, samples: options.samples ?? 256, seed: options.seed ?? 0 });
    const reward = tf.tensor2d(options.reward ?? identityReward(n));
    const c = tf.tensor2d(codebook);
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => surrogateReward(x, noise, options.sigma, reward))(c);
    return { value: value.dataSync()[0], gradient: grad.arraySync() as number[][] };
  });
}

export interface KktReport {
  /** Coordinates at 1 whose gradient is ≥ −tol (pushing outward or flat), of those at 1. */
  upperOk: number;
  upper: number;
  /** Coordinates at 0 whose gradient is ≤ tol, of those at 0. */
  lowerOk: number;
  lower: number;
  /** Interior coordinates, and the largest |gradient| among them (0 at a stationary point). */
  free: number;
  maxFreeGradient: number;
  /** Smallest outward gradient over the active bounds (positive: every bound is strictly active). */
  minOutward: number;
  holds: boolean;
}

/**
 * KKT conditions of max f(c) s.t. 0 ≤ c ≤ 1 at a codebook: at c = 1 the gradient must point out
 * (≥ 0), at c = 0 it must point out (≤ 0), in the interior it must vanish (|g| ≤ tol).
 */
export function kktCheck(codebook: Codebook, gradient: number[][], tol = 1e-6): KktReport {
  const r: KktReport = { upperOk: 0, upper: 0, lowerOk: 0, lower: 0, free: 0, maxFreeGradient: 0, minOutward: Infinity, holds: false };
  for (const b of activeBounds(codebook, gradient)) {
    if (b.at === 1) r.upper++;
    else r.lower++;
    if (b.outward >= -tol) {
      if (b.at === 1) r.upperOk++;
      else r.lowerOk++;
    }
    r.minOutward = Math.min(r.minOutward, b.outward);
  }
  codebook.forEach((row, i) =>
    row.forEach((v, k) => {
      if (v > 0 && v < 1) {
        r.free++;
        r.maxFreeGradient = Math.max(r.maxFreeGradient, Math.abs(gradient[i][k]));
      }
    }),
  );
  r.holds = r.upperOk === r.upper && r.lowerOk === r.lower && r.maxFreeGradient <= tol;
  return r;
}

/** A coordinate on the box's boundary: the gradient component pointing out of the box there (g at 1, −g at 0). */
export interface ActiveBound {
  meaning: number;
  coordinate: number;
  at: 0 | 1;
  outward: number;
  /** Standard error of `outward`, when the gradient is a Monte Carlo estimate. */
  se?: number;
}

/** Every active bound of a codebook with its outward gradient (and standard error, given `stderr`). */
export function activeBounds(codebook: Codebook, gradient: number[][], stderr?: number[][]): ActiveBound[] {
  const out: ActiveBound[] = [];
  codebook.forEach((row, i) =>
    row.forEach((v, k) => {
      if (v >= 1) out.push({ meaning: i, coordinate: k, at: 1, outward: gradient[i][k], se: stderr?.[i][k] });
      else if (v <= 0) out.push({ meaning: i, coordinate: k, at: 0, outward: -gradient[i][k], se: stderr?.[i][k] });
    }),
  );
  return out;
}

/**
 * The KKT margin of a codebook for max f s.t. 0 ≤ c ≤ 1: the smallest of the outward gradient at
 * every active bound and −|g| at every interior coordinate. It is > 0 exactly when every coordinate
 * sits on a bound with the gradient strictly pointing out — the first-order condition for a strict
 * local maximum — and ≤ 0 at any codebook with an interior coordinate. With Monte Carlo standard
 * errors it comes with a simultaneous interval: each coordinate's estimate ± t·se with t at level
 * 1 − (1 − level)/m over the m coordinates (Bonferroni), so with probability ≥ `level` every true
 * component lies in its interval, and then the true margin lies in [min lows, min highs].
 */
export function kktMargin(
  codebook: Codebook,
  gradient: number[][],
  stderr: number[][],
  o: { samples: number; level?: number },
): { estimate: number; low: number; high: number; level: number; m: number; t: number; interior: number; method: string } {
  const level = o.level ?? 0.95;
  const terms: { value: number; low: number; high: number }[] = [];
  const m = codebook.length * codebook[0].length;
  const t = tQuantile(1 - (1 - level) / (2 * m), o.samples - 1);
  const bounds = activeBounds(codebook, gradient, stderr);
  for (const b of bounds) {
    const se = b.se ?? 0;
    terms.push({ value: b.outward, low: b.outward - t * se, high: b.outward + t * se });
  }
  codebook.forEach((row, i) =>
    row.forEach((v, k) => {
      if (v > 0 && v < 1) {
        const g = Math.abs(gradient[i][k]);
        const half = t * stderr[i][k];
        terms.push({ value: -g, low: -(g + half), high: -Math.max(0, g - half) });
      }
    }),
  );
  return {
    estimate: Math.min(...terms.map((x) => x.value)),
    low: Math.min(...terms.map((x) => x.low)),
    high: Math.min(...terms.map((x) => x.high)),
    level,
    m,
    t,
    interior: m - bounds.length,
    method: `simultaneous Monte Carlo interval (Bonferroni over ${m} coordinates, t = ${t.toFixed(2)})`,
  };
}

/**
 * Projected gradient ascent on the surrogate: c ← clip(c + lr·∇, 0, 1), `steps` times (fixed
 * noise from `seed`). `values[t]` is the surrogate before step t; `path` (with `keepPath`) holds
 * the codebook before every step and after the last.
 */
export function optimiseCodebook(
  start: Codebook,
  options: GameOptions & { steps: number; lr: number; samples?: number; seed?: number; keepPath?: boolean },
): { codebook: Codebook; values: number[]; path?: Codebook[] } {
  const { n, d } = checkCodebook(start, options.reward, "optimiseCodebook");
  const noise = surrogateNoise(n, d, { sigma: options.sigma, samples: options.samples ?? 256, seed: options.seed ?? 0 });
  const reward = tf.tensor2d(options.reward ?? identityReward(n));
  let c = tf.tensor2d(start);
  const values: number[] = [];
  const path: Codebook[] | undefined = options.keepPath ? [start.map((r) => [...r])] : undefined;
  const step = tf.valueAndGrad((x: tf.Tensor) => surrogateReward(x, noise, options.sigma, reward));
  for (let t = 0; t < options.steps; t++) {
    const next = tf.tidy(() => {
      const { value, grad } = step(c);
      values.push(value.dataSync()[0]);
      return tf.clipByValue(tf.add(c, tf.mul(grad, options.lr)), 0, 1);
    });
    c.dispose();
    c = next as tf.Tensor2D;
    if (path) path.push(c.arraySync() as Codebook);
  }
  const codebook = c.arraySync() as Codebook;
  tf.dispose([c, noise, reward]);
  return { codebook, values, path };
}

/** Smallest distance between two tokens of a codebook. */
export function minimumDistance(codebook: Codebook): number {
  let best = Infinity;
  for (let i = 0; i < codebook.length; i++) {
    for (let j = i + 1; j < codebook.length; j++) {
      best = Math.min(best, Math.sqrt(codebook[i].reduce((s, v, k) => s + (v - codebook[j][k]) ** 2, 0)));
    }
  }
  return best;
}

/** Largest coordinate difference between two codebooks of the same shape. */
export function maxDeviation(a: Codebook, b: Codebook): number {
  let worst = 0;
  a.forEach((row, i) =>
    row.forEach((v, k) => {
      worst = Math.max(worst, Math.abs(v - b[i][k]));
    }),
  );
  return worst;
}
