/**
 * A multi-layer LSTM language model (Merity et al.'s AWD-LSTM at a small size, as ULMFiT uses it):
 * embedding → LSTM layers (the last one as wide as the embedding, so the decoder can be tied to
 * it) → softmax over the vocabulary. Dropout on the embedding output and between layers
 * (inverted; masks from our seeded generator).
 *
 * Each LSTM layer: z_t = x_t·Wx + h_{t−1}·Wh + b; i, f, g, o = split(z); c_t = σ(f + 1)·c_{t−1} +
 * σ(i)·tanh(g); h_t = σ(o)·tanh(c_t) (forget bias 1). x·Wx is computed for all steps at once.
 * The ULMFiT classifier on this encoder is in papers/08-ulmfit; notebook 10 uses the LM as a
 * recurrent stand-in.
 */
import * as tf from "@tensorflow/tfjs";
import { type Schema, resolveConfig } from "../config";
import { fusedLstmLayer } from "../engine/fused";
import { type Rng, createRng, uniformArray } from "../engine/rng";
import { normalVariable, zerosVariable } from "./params";

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

export const RNN_DEFAULTS: RnnConfig = {
  vocabSize: 1000,
  embedDim: 64,
  hiddenDim: 128,
  nLayers: 2,
  tieEmbeddings: true,
  dropout: 0.1,
  seed: 0,
};

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

export function dropout(x: tf.Tensor, rate: number, rng: Rng | undefined): tf.Tensor {
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
      const xw = tf.reshape(tf.add(tf.matMul(x, layer.wx), layer.b), [b, t, h4]) as tf.Tensor3D;
      // The whole time loop as one kernel each way on the patched wasm backend (engine/fused.ts).
      const fused = fusedLstmLayer(xw, layer.wh as tf.Tensor2D);
      if (fused) {
        x = dropout(tf.reshape(fused, [b * t, hDim]), cfg.dropout, options.rng);
        continue;
      }
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
