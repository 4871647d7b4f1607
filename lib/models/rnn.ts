/**
 * A multi-layer LSTM language model and text classifier, ULMFiT-style (Howard & Ruder 2018, on
 * Merity et al.'s AWD-LSTM at a small size): embedding → LSTM layers (the last one as wide as the
 * embedding, so the decoder can be tied to it) → softmax over the vocabulary; or, for
 * classification, concat pooling [h_T; max_t h_t; mean_t h_t] of the last layer → ULMFiT's head
 * (batch norm, dropout, linear, ReLU, batch norm, dropout, linear).
 * Dropout on the embedding output and between layers (inverted; masks from our seeded generator).
 *
 * Each LSTM layer: z_t = x_t·Wx + h_{t−1}·Wh + b; i, f, g, o = split(z); c_t = σ(f + 1)·c_{t−1} +
 * σ(i)·tanh(g); h_t = σ(o)·tanh(c_t) (forget bias 1). x·Wx is computed for all steps at once.
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError, resolveConfig, Schema } from "../config";
import { Rng, createRng, uniformArray } from "../engine/rng";
import { normalVariable, variableFrom, zerosVariable } from "./params";

export interface RnnConfig {
  vocabSize: number;
  embedDim: number;
  hiddenDim: number;
  nLayers: number;
  /** Decoder = embedding transposed (the last layer then has embedDim units). */
  tieEmbeddings: boolean;
  /** Dropout on the embedding output and on each layer's output, in [0, 0.95] (0 = none). */
  dropout: number;
  seed: number;
}

const SCHEMA: Schema<RnnConfig> = {
  vocabSize: { kind: "int", min: 2 },
  embedDim: { kind: "int", min: 1 },
  hiddenDim: { kind: "int", min: 1 },
  nLayers: { kind: "int", min: 1 },
  tieEmbeddings: { kind: "bool" },
  dropout: { kind: "number", min: 0, max: 0.95 },
  seed: { kind: "int" },
};

export const RNN_DEFAULTS: RnnConfig = { vocabSize: 1000, embedDim: 64, hiddenDim: 128, nLayers: 2, tieEmbeddings: true, dropout: 0.1, seed: 0 };

export function rnnConfig(overrides: Partial<RnnConfig> = {}): RnnConfig {
  return resolveConfig("RnnConfig", RNN_DEFAULTS, SCHEMA, overrides);
}

export interface LstmLayer {
  wx: tf.Variable; // [in, 4H]
  wh: tf.Variable; // [H, 4H]
  b: tf.Variable; // [4H]
}

export interface RnnLmParams {
  config: RnnConfig;
  embedding: tf.Variable; // [V, E]
  layers: LstmLayer[];
  decoderBias: tf.Variable; // [V]
  decoder?: tf.Variable; // [H_last, V] when untied
}

/** Units of layer l: hiddenDim, except the last, which has embedDim when the decoder is tied. */
export function rnnLayerWidths(cfg: RnnConfig): number[] {
  return Array.from({ length: cfg.nLayers }, (_, l) => (l === cfg.nLayers - 1 && cfg.tieEmbeddings ? cfg.embedDim : cfg.hiddenDim));
}

export function initRnnLm(config: Partial<RnnConfig> | RnnConfig, rng?: Rng): RnnLmParams {
  const cfg = rnnConfig(config);
  const r = rng ?? createRng(cfg.seed);
  const widths = rnnLayerWidths(cfg);
  const layers = widths.map((h, l) => {
    const input = l === 0 ? cfg.embedDim : widths[l - 1];
    const s = 1 / Math.sqrt(h);
    return { wx: normalVariable(r, [input, 4 * h], s), wh: normalVariable(r, [h, 4 * h], s), b: zerosVariable([4 * h]) };
  });
  const last = widths[widths.length - 1];
  return {
    config: cfg,
    embedding: normalVariable(r, [cfg.vocabSize, cfg.embedDim], 0.1),
    layers,
    decoderBias: zerosVariable([cfg.vocabSize]),
    decoder: cfg.tieEmbeddings ? undefined : normalVariable(r, [last, cfg.vocabSize], 1 / Math.sqrt(last)),
  };
}

export interface RnnRunOptions {
  /** Dropout masks come from this generator; without it (evaluation) there is no dropout. */
  rng?: Rng;
}

function dropout(x: tf.Tensor, rate: number, rng: Rng | undefined): tf.Tensor {
  if (!rng || rate === 0) return x;
  const keep = uniformArray(rng, x.size).map((u) => (u >= rate ? 1 / (1 - rate) : 0));
  return tf.mul(x, tf.tensor(keep, x.shape));
}

/** Token ids [B, T] → the last layer's outputs [B, T, H_last]. */
export function rnnEncode(params: RnnLmParams, tokens: tf.Tensor, options: RnnRunOptions = {}): tf.Tensor3D {
  if (tokens.rank !== 2) throw new Error(`rnnEncode: tokens must be [B, T], got [${tokens.shape}]`);
  const cfg = params.config;
  const [b, t] = tokens.shape;
  return tf.tidy(() => {
    const ids = tf.reshape(tokens.dtype === "int32" ? tokens : tf.cast(tokens, "int32"), [b * t]);
    let x = dropout(tf.gather(params.embedding, ids), cfg.dropout, options.rng); // [B·T, E]
    for (const layer of params.layers) {
      const h4 = layer.wh.shape[1] as number;
      const hDim = h4 / 4;
      const xw = tf.reshape(tf.add(tf.matMul(x, layer.wx), layer.b), [b, t, h4]);
      let h: tf.Tensor = tf.zeros([b, hDim]);
      let c: tf.Tensor = tf.zeros([b, hDim]);
      const outs: tf.Tensor[] = [];
      for (let s = 0; s < t; s++) {
        const z = tf.add(tf.reshape(tf.slice(xw, [0, s, 0], [b, 1, h4]), [b, h4]), tf.matMul(h, layer.wh));
        const [i, f, g, o] = tf.split(z, 4, 1);
        c = tf.add(tf.mul(tf.sigmoid(tf.add(f, 1)), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
        h = tf.mul(tf.sigmoid(o), tf.tanh(c));
        outs.push(h);
      }
      x = dropout(tf.reshape(tf.stack(outs, 1), [b * t, hDim]), cfg.dropout, options.rng);
    }
    return tf.reshape(x, [b, t, x.shape[1] as number]) as tf.Tensor3D;
  });
}

/** Next-token logits [B, T, V]. */
export function rnnLmLogits(params: RnnLmParams, tokens: tf.Tensor, options: RnnRunOptions = {}): tf.Tensor3D {
  return tf.tidy(() => {
    const h = rnnEncode(params, tokens, options);
    const [b, t, d] = h.shape;
    const flat = tf.reshape(h, [b * t, d]);
    const logits = params.decoder ? tf.matMul(flat, params.decoder) : tf.matMul(flat, params.embedding, false, true);
    return tf.reshape(tf.add(logits, params.decoderBias), [b, t, params.config.vocabSize]) as tf.Tensor3D;
  });
}

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
    const m = mean.dataSync(), v = variance.dataSync();
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
  if (!(Number.isInteger(options.classes) && options.classes >= 2)) throw new ConfigError(`initRnnClassifier: classes must be an integer ≥ 2, got ${options.classes}`);
  const r = createRng(options.seed ?? 0);
  const d = 3 * rnnLayerWidths(encoder.config).slice(-1)[0];
  const hidden = options.hidden ?? 50;
  return {
    encoder,
    head: {
      bn1: batchNormParams(d), w1: normalVariable(r, [d, hidden], Math.sqrt(2 / d)), b1: zerosVariable([hidden]),
      bn2: batchNormParams(hidden), w2: normalVariable(r, [hidden, options.classes], Math.sqrt(1 / hidden)), b2: zerosVariable([options.classes]),
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
export function rnnClassify(params: RnnClassifierParams, tokens: tf.Tensor, lengths: ArrayLike<number>, options: RnnRunOptions = {}): tf.Tensor2D {
  const training = options.rng !== undefined;
  const { head, stats } = params;
  const rate = params.encoder.config.dropout;
  return tf.tidy(() => {
    const pooled = concatPool(rnnEncode(params.encoder, tokens, options), lengths);
    const a = dropout(batchNorm(pooled, head.bn1, stats.bn1, training), rate, options.rng);
    const hid = tf.relu(tf.add(tf.matMul(a, head.w1), head.b1));
    const b = dropout(batchNorm(hid, head.bn2, stats.bn2, training), rate, options.rng);
    return tf.add(tf.matMul(b, head.w2), head.b2) as tf.Tensor2D;
  });
}
