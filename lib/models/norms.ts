/**
 * Normalisation layers, each normalising the last axis.
 *
 *   LayerNorm (Ba et al. 2016):        y = (x − μ) / √(σ² + ε) · g + b,   μ, σ² over the last axis
 *   RMSNorm (Zhang & Sennrich 2019):   y = x / √(mean(x²) + ε) · g
 *   pRMSNorm:                          as RMSNorm, with mean(x²) over the first ⌈p·d⌉ units only
 *
 * ε sits inside the square root in both (as in PyTorch's LayerNorm and the RMSNorm reference
 * code `bzhangGo/rmsnorm`); `test/norms.test.ts` pins this. Default ε = 1e-5 (PyTorch) rather than
 * tfjs-layers' 1e-3, which visibly damps small activations.
 * On the patched wasm backend each runs as one fused kernel forward and one backward
 * (engine/fused.ts), equal to these composed ops within 1e-5 (`test/fused.test.ts`).
 * Used by every model here; compared in notebooks/02-rmsnorm-gopher.ipynb.
 */
import * as tf from "@tensorflow/tfjs";
import { fusedNorm } from "../engine/fused";
import { variableFrom } from "./params";

export const NORM_KINDS = ["layer", "rms", "prms"] as const;
export type NormKind = (typeof NORM_KINDS)[number];

/** LayerNorm over the last axis; `gain` and `bias` have the last axis' size. */
export function layerNorm(x: tf.Tensor, gain: tf.Tensor, bias: tf.Tensor, eps = 1e-5): tf.Tensor {
  const fused = fusedNorm(x, gain, bias, eps);
  if (fused) return fused;
  return tf.tidy(() => {
    const mean = tf.mean(x, -1, true);
    const centred = tf.sub(x, mean);
    const variance = tf.mean(tf.mul(centred, centred), -1, true);
    return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, eps))), gain), bias);
  });
}

/** RMSNorm over the last axis: no centring, no bias. */
export function rmsNorm(x: tf.Tensor, gain: tf.Tensor, eps = 1e-5): tf.Tensor {
  const fused = fusedNorm(x, gain, null, eps);
  if (fused) return fused;
  return tf.tidy(() => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.mul(x, x), -1, true), eps))), gain));
}

/** Number of leading units pRMSNorm estimates the RMS from: ⌈p·d⌉, at least 1. */
export function partialUnits(d: number, p: number): number {
  if (!(p > 0 && p <= 1)) throw new Error(`pRMSNorm fraction p must be in (0, 1], got ${p}`);
  return Math.max(1, Math.ceil(p * d));
}

/** pRMSNorm: RMS estimated from the first ⌈p·d⌉ units (p = 6.25% in the RMSNorm paper). */
export function partialRmsNorm(x: tf.Tensor, gain: tf.Tensor, p: number, eps = 1e-5): tf.Tensor {
  return tf.tidy(() => {
    const d = x.shape[x.rank - 1];
    const k = partialUnits(d, p);
    const fused = fusedNorm(x, gain, null, eps, k);
    if (fused) return fused;
    const begin = new Array<number>(x.rank).fill(0);
    const size = [...x.shape.slice(0, -1), k];
    const head = tf.slice(x, begin, size);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.mul(head, head), -1, true), eps))), gain);
  });
}

export interface NormParams {
  gain: tf.Variable;
  /** LayerNorm only. */
  bias?: tf.Variable;
}

export interface NormSpec {
  kind: NormKind;
  eps: number;
  /** pRMSNorm's fraction p. */
  fraction: number;
}

export function initNorm(kind: NormKind, d: number): NormParams {
  const gain = variableFrom(() => tf.ones([d]));
  return kind === "layer" ? { gain, bias: variableFrom(() => tf.zeros([d])) } : { gain };
}

export function applyNorm(spec: NormSpec, p: NormParams, x: tf.Tensor): tf.Tensor {
  switch (spec.kind) {
    case "layer":
      return layerNorm(x, p.gain, p.bias!, spec.eps);
    case "rms":
      return rmsNorm(x, p.gain, spec.eps);
    case "prms":
      return partialRmsNorm(x, p.gain, spec.fraction, spec.eps);
  }
}
