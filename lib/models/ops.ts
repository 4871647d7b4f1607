/**
 * The few operations every model here is built from, written once: a dense layer, the head split
 * and merge, the causal mask, the activations, and scaled dot-product attention (Vaswani et al.
 * 2017, eq. 1):
 *
 *   Attention(Q, K, V) = softmax(Q Kᵀ · scale + M) V,   scale = 1/√K by default, M = causal mask
 *
 * Used by the transformer, gMLP's tiny attention (papers/03-gmlp), the softmax baseline of
 * papers/07-fast-weights and the attention-only construction (papers/06-attention-only).
 * Shapes: B batch, T time, H heads, K head size, D = H·K.
 */
import * as tf from "@tensorflow/tfjs";
import { fusedSoftmax } from "../engine/fused";
import { fusedGelu } from "../engine/wasm";

/** x W + b for x [N, in], W [in, out], b [out]. */
export function linear(x: tf.Tensor, w: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  return tf.add(tf.matMul(x, w), bias);
}

/** [B·T, D] → [B, H, T, K] */
export function splitHeads(x: tf.Tensor, b: number, t: number, h: number): tf.Tensor {
  const d = x.shape[x.rank - 1];
  if (d % h !== 0) throw new Error(`splitHeads: width ${d} is not divisible by ${h} heads`);
  return tf.transpose(tf.reshape(x, [b, t, h, d / h]), [0, 2, 1, 3]);
}

/** [B, H, T, K] → [B·T, D] */
export function mergeHeads(x: tf.Tensor): tf.Tensor {
  const [b, h, t, k] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [b * t, h * k]);
}

const causalMasks = new Map<number, tf.Tensor>();

/** [T, T] additive mask: 0 on and below the diagonal, −1e9 above (a query never sees the future). Cached; do not dispose. */
export function causalMask(t: number): tf.Tensor {
  let mask = causalMasks.get(t);
  if (!mask || mask.isDisposed) {
    const values = new Float32Array(t * t);
    for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) values[i * t + j] = -1e9;
    mask = tf.keep(tf.tensor(values, [t, t]));
    causalMasks.set(t, mask);
  }
  return mask;
}

export const ACTIVATIONS = ["relu", "gelu", "silu", "linear"] as const;
export type Activation = (typeof ACTIVATIONS)[number];

/**
 * act(x) elementwise. GELU is the exact x·Φ(x) (PyTorch's default), SiLU is x·σ(x), "linear" is the
 * identity (a copy of x: the MLP becomes a linear map, JoMA's linear case).
 */
export function activate(kind: Activation, x: tf.Tensor): tf.Tensor {
  switch (kind) {
    case "relu":
      return tf.relu(x);
    case "gelu":
      return fusedGelu(x) ?? tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
    case "silu":
      return tf.mul(x, tf.sigmoid(x));
    case "linear":
      return tf.clone(x);
  }
}

export interface AttentionOptions {
  /** Add the causal mask (query i sees keys j ≤ i). */
  causal: boolean;
  /** Multiplies Q Kᵀ; default 1/√K with K the query width. */
  scale?: number;
}

/** softmax(Q Kᵀ · scale + M) for q [..., Tq, K], k [..., Tk, K]: rows sum to 1 over keys, [..., Tq, Tk]. */
export function attentionProbs(q: tf.Tensor, k: tf.Tensor, options: AttentionOptions): tf.Tensor {
  const width = q.shape[q.rank - 1];
  let scores = tf.matMul(q, k, false, true);
  const scale = options.scale ?? 1 / Math.sqrt(width);
  const fused = fusedSoftmax(scores, scale, options.causal);
  if (fused) return fused;
  if (scale !== 1) scores = tf.mul(scores, scale);
  if (options.causal) scores = tf.add(scores, causalMask(q.shape[q.rank - 2]));
  return tf.softmax(scores);
}

/** Scaled dot-product attention: out = probs · V ([..., Tq, Kv]) and the probabilities ([..., Tq, Tk]). */
export function scaledDotProductAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  options: AttentionOptions,
): { out: tf.Tensor; probs: tf.Tensor } {
  const probs = attentionProbs(q, k, options);
  return { out: tf.matMul(probs, v), probs };
}
