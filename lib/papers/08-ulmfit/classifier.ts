/**
 * ULMFiT's classifier (Howard & Ruder 2018, §3.3) on the LSTM encoder of `models/lstm.ts`: concat
 * pooling of the last layer's states,
 *
 *   h_c = [h_T; maxpool(H); meanpool(H)]   (over the real tokens of each sentence)
 *
 * then the head: batch norm → dropout → linear → ReLU → batch norm → dropout → linear. Also the
 * pooled features alone (for a frozen-feature probe) and the head's batch-norm statistics
 * recomputed exactly from data after training (a diagnostic: are the running averages stale?).
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError, checkValue } from "../../config";
import { createRng } from "../../engine/rng";
import { type EncodedSentences, sentenceBatch } from "../../data/batches";
import { type RnnLmParams, type RnnRunOptions, dropout, rnnEncode, rnnLayerWidths } from "../../models/lstm";
import { linear } from "../../models/ops";
import { normalVariable, variableFrom, zerosVariable } from "../../models/params";

export interface BatchNormParams {
  gain: tf.Variable;
  bias: tf.Variable;
}

/** Running mean and variance of a batch norm (plain arrays: state, not parameters). */
export interface RunningStats {
  mean: Float32Array;
  variance: Float32Array;
  momentum: number;
}

export interface RnnClassifierParams {
  encoder: RnnLmParams;
  /** ULMFiT's head: BN → dropout → linear → ReLU → BN → dropout → linear. */
  head: { bn1: BatchNormParams; w1: tf.Variable; b1: tf.Variable; bn2: BatchNormParams; w2: tf.Variable; b2: tf.Variable };
  /** Running statistics of the head's two batch norms (used in evaluation). */
  stats: { bn1: RunningStats; bn2: RunningStats };
}

function batchNormParams(d: number): BatchNormParams {
  return { gain: variableFrom(() => tf.ones([d])), bias: zerosVariable([d]) };
}

function runningStats(d: number): RunningStats {
  return { mean: new Float32Array(d), variance: new Float32Array(d).fill(1), momentum: 0.1 };
}

/**
 * Batch norm over rows of x [B, D]: in training (`update`) with the batch's statistics, which also
 * move the running ones; in evaluation with the running statistics.
 */
function batchNorm(x: tf.Tensor, p: BatchNormParams, stats: RunningStats, update: boolean, eps = 1e-5): tf.Tensor {
  let mean: tf.Tensor, variance: tf.Tensor;
  if (update && x.shape[0] > 1) {
    ({ mean, variance } = tf.moments(x, 0));
    const m = mean.dataSync(),
      v = variance.dataSync();
    const n = x.shape[0];
    for (let i = 0; i < m.length; i++) {
      stats.mean[i] = (1 - stats.momentum) * stats.mean[i] + stats.momentum * m[i];
      stats.variance[i] = (1 - stats.momentum) * stats.variance[i] + stats.momentum * v[i] * (n / (n - 1));
    }
  } else {
    mean = tf.tensor1d(stats.mean);
    variance = tf.tensor1d(stats.variance);
  }
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), p.gain), p.bias);
}

/** A classifier on an encoder (fresh or pretrained): concat pooling (3·H_last) → the head → classes. */
export function initRnnClassifier(encoder: RnnLmParams, options: { classes: number; hidden?: number; seed?: number }): RnnClassifierParams {
  if (!(Number.isInteger(options.classes) && options.classes >= 2))
    throw new ConfigError(`initRnnClassifier: classes must be an integer ≥ 2, got ${options.classes}`);
  const r = createRng(options.seed ?? 0);
  const d = 3 * rnnLayerWidths(encoder.config).slice(-1)[0];
  const hidden = options.hidden ?? 50;
  return {
    encoder,
    head: {
      bn1: batchNormParams(d),
      w1: normalVariable(r, [d, hidden], Math.sqrt(2 / d)),
      b1: zerosVariable([hidden]),
      bn2: batchNormParams(hidden),
      w2: normalVariable(r, [hidden, options.classes], Math.sqrt(1 / hidden)),
      b2: zerosVariable([options.classes]),
    },
    stats: { bn1: runningStats(d), bn2: runningStats(hidden) },
  };
}

/**
 * Concat pooling over the real tokens of each row ([B, T] ids padded at the end, `lengths` [B]):
 * [h at the last real token; max over real tokens; mean over real tokens] → [B, 3·H].
 */
export function concatPool(h: tf.Tensor3D, lengths: ArrayLike<number>): tf.Tensor2D {
  const [b, t, d] = h.shape;
  if (lengths.length !== b) throw new Error(`concatPool: ${lengths.length} lengths for ${b} rows`);
  const maskValues = new Float32Array(b * t);
  const lastIndex = new Int32Array(b);
  for (let i = 0; i < b; i++) {
    const n = lengths[i];
    if (!(Number.isInteger(n) && n >= 1 && n <= t)) throw new Error(`concatPool: row ${i} has length ${n}; lengths must be in 1…${t}`);
    for (let s = 0; s < n; s++) maskValues[i * t + s] = 1;
    lastIndex[i] = i * t + n - 1;
  }
  return tf.tidy(() => {
    const mask = tf.tensor3d(maskValues, [b, t, 1]);
    const last = tf.gather(tf.reshape(h, [b * t, d]), tf.tensor1d(lastIndex, "int32"));
    const max = tf.max(tf.add(h, tf.mul(tf.sub(mask, 1), 1e9)), 1);
    const mean = tf.div(tf.sum(tf.mul(h, mask), 1), tf.sum(mask, 1));
    return tf.concat([last, max, mean], 1) as tf.Tensor2D;
  });
}

/** Class logits [B, classes] for padded token ids [B, T] with their `lengths`; training mode (dropout, batch statistics) iff `options.rng`. */
export function rnnClassify(
  params: RnnClassifierParams,
  tokens: tf.Tensor,
  lengths: ArrayLike<number>,
  options: RnnRunOptions = {},
): tf.Tensor2D {
  const training = options.rng !== undefined;
  const { head, stats } = params;
  const rate = params.encoder.config.dropout;
  return tf.tidy(() => {
    const pooled = concatPool(rnnEncode(params.encoder, tokens, options), lengths);
    const a = dropout(batchNorm(pooled, head.bn1, stats.bn1, training), rate, options.rng);
    const hid = tf.relu(linear(a, head.w1, head.b1));
    const b = dropout(batchNorm(hid, head.bn2, stats.bn2, training), rate, options.rng);
    return linear(b, head.w2, head.b2) as tf.Tensor2D;
  });
}

/** Concat-pooled features [n][3·H] of every sentence of `data` (no dropout), in batches. */
export function pooledFeatures(encoder: RnnLmParams, data: EncodedSentences, batchSize = 64): number[][] {
  checkValue("pooledFeatures", "batchSize", batchSize, { kind: "int", min: 1 });
  const out: number[][] = [];
  for (let start = 0; start < data.ids.length; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, data.ids.length - start) }, (_, i) => start + i);
    const b = sentenceBatch(data, idx);
    const pooled = tf.tidy(() => concatPool(rnnEncode(encoder, b.tokens), b.lengths));
    out.push(...(pooled.arraySync() as number[][]));
    tf.dispose([pooled, b.tokens, b.labels]);
  }
  return out;
}

/**
 * Replaces the running statistics of the head's two batch norms with the exact mean and (unbiased)
 * variance over `data` in evaluation mode: first of the pooled features, then — normalised with
 * the new statistics — of the hidden layer. Labels are not used.
 */
export function recalibrateBatchNorm(params: RnnClassifierParams, data: EncodedSentences, batchSize = 64): void {
  const moments = (rows: number[][], stats: RunningStats) => {
    const n = rows.length;
    if (n < 2) throw new Error(`recalibrateBatchNorm: needs at least 2 sentences, got ${n}`);
    for (let k = 0; k < stats.mean.length; k++) {
      let m = 0;
      for (const r of rows) m += r[k];
      m /= n;
      let v = 0;
      for (const r of rows) v += (r[k] - m) ** 2;
      stats.mean[k] = m;
      stats.variance[k] = v / (n - 1);
    }
  };
  const pooled = pooledFeatures(params.encoder, data, batchSize);
  moments(pooled, params.stats.bn1);
  const { head, stats } = params;
  const hidden = tf.tidy(
    () => tf.relu(linear(batchNorm(tf.tensor2d(pooled), head.bn1, stats.bn1, false), head.w1, head.b1)).arraySync() as number[][],
  );
  moments(hidden, params.stats.bn2);
}
