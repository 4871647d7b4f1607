/**
 * Zhang & Sennrich (2019), "Root Mean Square Layer Normalization", and the Gopher report (Rae et
 * al. 2021, which trains with RMSNorm). The norms themselves are core (`models/norms.ts`), since
 * every transformer here can use them:
 *
 *   LayerNorm(x) = g ⊙ (x − μ)/√(σ² + ε) + b
 *   RMSNorm(x)   = g ⊙ x / √(mean(x²) + ε)            (re-scaling invariant, not re-centring)
 *   pRMSNorm(x)  = RMSNorm with the mean taken over the first ⌈p·d⌉ units only (p = 6.25%)
 *
 * What this folder adds is how the invariances are measured (`normInvariances`).
 *
 * Notebook: notebooks/02-rmsnorm-gopher.ipynb. Tests: test/papers/02-rmsnorm-gopher.test.ts.
 */
import * as tf from "@tensorflow/tfjs";
import { maxAbsDifference } from "../../metrics/stats";

export interface Invariances {
  /** max |f(c·x) − f(x)|: re-scaling the input (Table 1, "dataset re-scaling"). */
  inputScale: number;
  /** max |f(x + s) − f(x)|: re-centring the input ("dataset re-centering"). */
  inputShift: number;
  /** max |f(x·cW) − f(x·W)|: re-scaling the incoming weights ("weight matrix re-scaling"). */
  weightScale: number;
}

/**
 * How far a norm f is from invariant (Zhang & Sennrich, Table 1): f on x [N, d] against f on the
 * transformed input. ≈ 0 means invariant (to float32 rounding).
 */
export function normInvariances(
  f: (x: tf.Tensor) => tf.Tensor,
  x: tf.Tensor,
  w: tf.Tensor,
  options: { scale?: number; shift?: number; weightScale?: number } = {},
): Invariances {
  const { scale = 7.5, shift = 3, weightScale = 3 } = options;
  return tf.tidy(() => {
    const base = f(x);
    const viaW = f(tf.matMul(x, w));
    return {
      inputScale: maxAbsDifference(f(tf.mul(x, scale)), base),
      inputShift: maxAbsDifference(f(tf.add(x, shift)), base),
      weightScale: maxAbsDifference(f(tf.matMul(x, tf.mul(w, weightScale))), viaW),
    };
  });
}
