/**
 * Attention entropy (JoMA, Tian et al. 2023, §5): for attention probabilities a (rows sum to 1),
 * H = mean over batch, heads and query rows of −Σ_j a_ij log a_ij, in nats. Zero entries count as
 * 0·log 0 = 0, so causal rows (zeros above the diagonal) are scored over what they can see. The
 * official code adds 1e-8 inside the log (`eps` option); that changes H by < 1e-6 here.
 * Uniform causal attention over a window of T has the largest possible mean entropy,
 * (1/T)·Σ_{i=1..T} ln i (`causalEntropyCeiling`): 2.63 nats for T = 35.
 * Used by notebooks/04-joma.ipynb.
 */
import * as tf from "@tensorflow/tfjs";
import { type TransformerParams, transformerForward } from "../../models/transformer";

/** Mean row entropy (nats) of attention probabilities [..., T_q, T_k]. */
export function attentionEntropy(attention: tf.Tensor, options: { eps?: number } = {}): number {
  if (attention.rank < 2) throw new Error(`attentionEntropy: expected [..., queries, keys], got shape [${attention.shape}]`);
  const eps = options.eps ?? 0;
  if (!(eps >= 0)) throw new Error(`attentionEntropy: eps must be ≥ 0, got ${eps}`);
  return tf.tidy(() => {
    const a = attention.toFloat();
    const terms =
      eps > 0 ? tf.mul(a, tf.log(tf.add(a, eps))) : tf.where(tf.greater(a, 0), tf.mul(a, tf.log(tf.maximum(a, 1e-38))), tf.zerosLike(a));
    return 0 - tf.mean(tf.sum(terms, -1)).dataSync()[0]; // 0 − x: no −0 for one-hot rows
  });
}

/** Entropy per query position, averaged over everything else: [T_q] (where in the window attention is sharp). */
export function attentionEntropyByPosition(attention: tf.Tensor): number[] {
  return tf.tidy(() => {
    const a = attention.toFloat();
    const rowH = tf.neg(tf.sum(tf.where(tf.greater(a, 0), tf.mul(a, tf.log(tf.maximum(a, 1e-38))), tf.zerosLike(a)), -1)); // [..., T_q]
    const tq = rowH.shape[rowH.rank - 1];
    return Array.from(tf.mean(tf.reshape(rowH, [-1, tq]), 0).dataSync());
  });
}

/** The mean entropy of uniform causal attention over a window of T: (1/T)·Σ_{i=1..T} ln i. */
export function causalEntropyCeiling(t: number): number {
  if (!Number.isInteger(t) || t < 1) throw new Error(`causalEntropyCeiling: window must be a positive integer, got ${t}`);
  let s = 0;
  for (let i = 2; i <= t; i++) s += Math.log(i);
  return s / t;
}

/**
 * A `trainLanguageModel` probe: the attention entropy of every layer of a Transformer on fixed
 * validation inputs, averaged over the batches. Keys "layer 1", "layer 2", … .
 */
export function attentionEntropyProbe(
  params: TransformerParams,
  inputs: tf.Tensor[],
  options: { eps?: number } = {},
): () => Record<string, number> {
  if (inputs.length === 0) throw new Error("attentionEntropyProbe: no input batches");
  return () => {
    const sums = new Array<number>(params.blocks.length).fill(0);
    for (const x of inputs) {
      const { logits, attention } = transformerForward(params, x, { captureAttention: true });
      attention!.forEach((a, l) => (sums[l] += attentionEntropy(a, options)));
      tf.dispose([logits, ...attention!]);
    }
    return Object.fromEntries(sums.map((s, l) => [`layer ${l + 1}`, s / inputs.length]));
  };
}

/** A dip and the largest rebound after it, in a curve of entropies (or any values) over training. */
export interface DipRebound {
  /** The first value. */
  start: number;
  /** Lowest value before the largest rebound (the trough), and its step. */
  trough: number;
  troughStep: number;
  /** start − trough: how far it fell before rebounding. */
  dip: number;
  /** The largest rise from a trough to a later value: max over t of value(t) − min_{u ≤ t} value(u). */
  rebound: number;
  /** Where that rise peaks. */
  peakStep: number;
  /** Global minimum, the last value, and last − global minimum. */
  min: number;
  end: number;
  endAboveMin: number;
}

/**
 * Dip and rebound of a curve measured at `steps`: the rebound is the largest rise above the
 * running minimum anywhere in the run (so a dip at step 200 followed by a recovery is seen even if
 * the curve later falls below that trough), and the dip is how far the curve had fallen from its
 * start to that trough. A curve that only falls has rebound 0.
 */
export function dipAndRebound(steps: readonly number[], values: readonly number[]): DipRebound {
  if (steps.length !== values.length) throw new Error(`dipAndRebound: ${steps.length} steps for ${values.length} values`);
  if (values.length < 2) throw new Error("dipAndRebound: needs at least 2 values");
  if (!values.every(Number.isFinite)) throw new Error("dipAndRebound: values must be finite");
  let runMin = 0; // index of the running minimum
  let best = { rise: 0, trough: 0, peak: 0 };
  for (let t = 1; t < values.length; t++) {
    if (values[t] < values[runMin]) runMin = t;
    const rise = values[t] - values[runMin];
    if (rise > best.rise) best = { rise, trough: runMin, peak: t };
  }
  const trough = best.rise > 0 ? best.trough : runMin;
  const min = Math.min(...values);
  const end = values[values.length - 1];
  return {
    start: values[0],
    trough: values[trough],
    troughStep: steps[trough],
    dip: values[0] - values[trough],
    rebound: best.rise,
    peakStep: steps[best.rise > 0 ? best.peak : trough],
    min,
    end,
    endAboveMin: end - min,
  };
}
