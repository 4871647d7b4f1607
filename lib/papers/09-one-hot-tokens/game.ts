/**
 * The communication game of Tucker et al. (2021), "Emergent Discrete Communication in Semantic
 * Spaces", Appendix A: a speaker sends token c_i ∈ [0, 1]^d for meaning i (of N, uniform), the
 * channel adds Gaussian noise y = c_i + ε, ε ~ N(0, σ²I), the listener decodes the nearest token j,
 * and both get reward R_ij. Their result: with R = I, one-hot tokens satisfy the KKT conditions of
 * this box-constrained problem — a local optimum, not necessarily a global one.
 *
 * `expectedReward` estimates the true game by seeded Monte Carlo (hard, nearest-token decoding).
 * `surrogateReward` is its smooth version used for gradients: the listener decodes j with the
 * posterior softmax_j(−‖y − c_j‖² / 2σ²), on a fixed set of noise draws (common random numbers),
 * so it is a deterministic, differentiable function of the codebook.
 *
 * Notebook: notebooks/09-one-hot-tokens.ipynb. Tests: test/papers/09-one-hot-tokens.test.ts.
 */
import * as tf from "@tensorflow/tfjs";
import { createRng, normalArray } from "../../engine/rng";

export type Codebook = number[][];

export interface GameOptions {
  /** Channel noise σ. */
  sigma: number;
  /** R[i][j]: reward when meaning i is sent and j decoded (default identity). */
  reward?: number[][];
}

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
 * Expected reward of the true game (nearest-token decoding), by Monte Carlo with `samples` noise
 * draws per meaning: mean and its standard error.
 */
export function expectedReward(
  codebook: Codebook,
  options: GameOptions & { samples?: number; seed?: number },
): { mean: number; stderr: number } {
  const { n, d } = checkCodebook(codebook, options.reward, "expectedReward");
  if (!(options.sigma >= 0)) throw new Error(`expectedReward: sigma must be ≥ 0, got ${options.sigma}`);
  const reward = options.reward ?? identityReward(n);
  const samples = options.samples ?? 4000;
  const rng = createRng(options.seed ?? 0);
  let sum = 0,
    sumSq = 0;
  const y = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const noise = normalArray(rng, samples * d, options.sigma);
    for (let s = 0; s < samples; s++) {
      for (let k = 0; k < d; k++) y[k] = codebook[i][k] + noise[s * d + k];
      let best = 0,
        bestDist = Infinity;
      for (let j = 0; j < n; j++) {
        let dist = 0;
        for (let k = 0; k < d; k++) {
          const t = y[k] - codebook[j][k];
          dist += t * t;
        }
        if (dist < bestDist) {
          bestDist = dist;
          best = j;
        }
      }
      const r = reward[i][best];
      sum += r;
      sumSq += r * r;
    }
  }
  const m = n * samples;
  const mean = sum / m;
  return { mean, stderr: Math.sqrt(Math.max(0, sumSq / m - mean * mean) / m) };
}

/** Fixed noise draws for the surrogate: [N, S, d], N(0, σ²). */
export function surrogateNoise(n: number, d: number, options: { sigma: number; samples: number; seed: number }): tf.Tensor3D {
  return tf.tensor3d(normalArray(createRng(options.seed), n * options.samples * d, options.sigma), [n, options.samples, d]);
}

/**
 * The smooth surrogate of the expected reward for a codebook tensor [N, d] and fixed noise
 * [N, S, d]: mean over meanings i and draws s of Σ_j softmax_j(−‖c_i + ε − c_j‖²/2σ²)·R_ij.
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
  codebook.forEach((row, i) =>
    row.forEach((v, k) => {
      const g = gradient[i][k];
      if (v >= 1) {
        r.upper++;
        if (g >= -tol) r.upperOk++;
        r.minOutward = Math.min(r.minOutward, g);
      } else if (v <= 0) {
        r.lower++;
        if (g <= tol) r.lowerOk++;
        r.minOutward = Math.min(r.minOutward, -g);
      } else {
        r.free++;
        r.maxFreeGradient = Math.max(r.maxFreeGradient, Math.abs(g));
      }
    }),
  );
  r.holds = r.upperOk === r.upper && r.lowerOk === r.lower && r.maxFreeGradient <= tol;
  return r;
}

/** Projected gradient ascent on the surrogate: c ← clip(c + lr·∇, 0, 1), `steps` times (fixed noise). */
export function optimiseCodebook(
  start: Codebook,
  options: GameOptions & { steps: number; lr: number; samples?: number; seed?: number },
): { codebook: Codebook; values: number[] } {
  const { n, d } = checkCodebook(start, options.reward, "optimiseCodebook");
  const noise = surrogateNoise(n, d, { sigma: options.sigma, samples: options.samples ?? 256, seed: options.seed ?? 0 });
  const reward = tf.tensor2d(options.reward ?? identityReward(n));
  let c = tf.tensor2d(start);
  const values: number[] = [];
  const step = tf.valueAndGrad((x: tf.Tensor) => surrogateReward(x, noise, options.sigma, reward));
  for (let t = 0; t < options.steps; t++) {
    const next = tf.tidy(() => {
      const { value, grad } = step(c);
      values.push(value.dataSync()[0]);
      return tf.clipByValue(tf.add(c, tf.mul(grad, options.lr)), 0, 1);
    });
    c.dispose();
    c = next as tf.Tensor2D;
  }
  const codebook = c.arraySync() as Codebook;
  tf.dispose([c, noise, reward]);
  return { codebook, values };
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
