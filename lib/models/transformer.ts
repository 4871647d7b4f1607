/**
 * One Transformer for every reproduction, read top to bottom in the order of the figure in
 * Vaswani et al. (2017): embeddings → attention → MLP → block → config → model.
 *
 *   Pre-LN  block (Xiong et al. 2020):  x ← x + Attn(N(x));   x ← x + MLP(N(x));   final N
 *   Post-LN block (Vaswani et al.):     x ← N(x + Attn(x));   x ← N(x + MLP(x))
 *   Attn(x) = softmax(q kᵀ / √K + mask) v · W_o,   MLP(x) = act(x W₁ + b₁) W₂ + b₂
 *
 * Shapes use fixed letters: B batch, T time, D dModel, H heads, K head size = D/H, F dFF, V vocab.
 * The residual stream is kept as [B·T, D] so every weight product is a plain 2-D matmul (the
 * [B,T,D]×[D,F] weight gradient fails in tfjs, issue 8721).
 * Notebooks: 01 (norm placement), 02 (norm kind), and every later one that trains a transformer.
 */
import * as tf from "@tensorflow/tfjs";
import { resolveConfig, Schema, ConfigError } from "../config";
import { Rng, createRng } from "../engine/rng";
import { fusedGelu } from "../engine/wasm";
import { NormParams, NormKind, NORM_KINDS, applyNorm, initNorm, NormSpec } from "./norms";
import { normalVariable, zerosVariable } from "./params";

// ---------------------------------------------------------------------------------------------
// Attention

export interface AttentionParams {
  wq: tf.Variable; bq: tf.Variable;
  wk: tf.Variable; bk: tf.Variable;
  wv: tf.Variable; bv: tf.Variable;
  wo: tf.Variable; bo: tf.Variable;
}

const causalMasks = new Map<number, tf.Tensor>();

/** [T, T] additive mask: 0 on and below the diagonal, −1e9 above (a query never sees the future). */
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

/** [B·T, D] → [B, H, T, K] */
function splitHeads(x: tf.Tensor, b: number, t: number, h: number): tf.Tensor {
  const k = x.shape[1]! / h;
  return tf.transpose(tf.reshape(x, [b, t, h, k]), [0, 2, 1, 3]);
}

/** [B, H, T, K] → [B·T, D] */
function mergeHeads(x: tf.Tensor): tf.Tensor {
  const [b, h, t, k] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [b * t, h * k]);
}

function linear(x: tf.Tensor, w: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  return tf.add(tf.matMul(x, w), bias);
}

/** Multi-head attention on the residual stream x [B·T, D]; returns [B·T, D] and the probabilities. */
function attention(cfg: TransformerConfig, p: AttentionParams, x: tf.Tensor, b: number, t: number, ablate?: AblatedModule) {
  const h = cfg.nHeads;
  const project = (w: tf.Tensor, bias: tf.Tensor, module: AblatedModule) =>
    splitHeads(ablate === module ? tf.zeros([b * t, cfg.dModel]) : linear(x, w, bias), b, t, h); // [B, H, T, K]
  const q = project(p.wq, p.bq, "query");
  const k = project(p.wk, p.bk, "key");
  const v = project(p.wv, p.bv, "value");
  let scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(cfg.dModel / h)); // [B, H, T, T]
  if (cfg.causal) scores = tf.add(scores, causalMask(t));
  const probs = tf.softmax(scores); // rows sum to 1 over keys
  const out = linear(mergeHeads(tf.matMul(probs, v)), p.wo, p.bo); // [B·T, D]
  return { out, probs };
}

/** One attention sub-layer on the stream x [B·T, D]: its output [B·T, D] and probabilities [B, H, T, T]. */
export function transformerAttention(cfg: TransformerConfig, p: AttentionParams, x: tf.Tensor, b: number, t: number): { out: tf.Tensor; probs: tf.Tensor } {
  return attention(cfg, p, x, b, t);
}

// ---------------------------------------------------------------------------------------------
// MLP

export const ACTIVATIONS = ["relu", "gelu", "silu"] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export interface MlpParams {
  w1: tf.Variable; b1: tf.Variable;
  w2: tf.Variable; b2: tf.Variable;
}

/** act(x) elementwise. GELU is the exact x·Φ(x) (PyTorch's default), SiLU is x·σ(x). */
export function activate(kind: Activation, x: tf.Tensor): tf.Tensor {
  switch (kind) {
    case "relu":
      return tf.relu(x);
    case "gelu":
      return fusedGelu(x) ?? tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
    case "silu":
      return tf.mul(x, tf.sigmoid(x));
  }
}

function mlp(cfg: TransformerConfig, p: MlpParams, x: tf.Tensor): { out: tf.Tensor; hidden: tf.Tensor } {
  const hidden = activate(cfg.activation, linear(x, p.w1, p.b1)); // [B·T, F]
  return { out: linear(hidden, p.w2, p.b2), hidden }; // [B·T, D]
}

// ---------------------------------------------------------------------------------------------
// Block

export interface BlockParams {
  norm1: NormParams;
  attn: AttentionParams;
  norm2: NormParams;
  mlp: MlpParams;
}

function normSpec(cfg: TransformerConfig): NormSpec {
  return { kind: cfg.norm, eps: cfg.normEps, fraction: cfg.normFraction };
}

function block(cfg: TransformerConfig, p: BlockParams, x: tf.Tensor, b: number, t: number, ablate?: AblatedModule) {
  const norm = (np: NormParams, y: tf.Tensor) => applyNorm(normSpec(cfg), np, y);
  const mlpOut = (y: tf.Tensor) => {
    const m = mlp(cfg, p.mlp, y);
    return ablate === "mlp" ? { out: tf.zerosLike(m.out), hidden: m.hidden } : m;
  };
  if (cfg.normPlacement === "pre") {
    const a = attention(cfg, p.attn, norm(p.norm1, x), b, t, ablate);
    const y = tf.add(x, a.out);
    const m = mlpOut(norm(p.norm2, y));
    return { out: tf.add(y, m.out), probs: a.probs, hidden: m.hidden };
  }
  const a = attention(cfg, p.attn, x, b, t, ablate);
  const y = norm(p.norm1, tf.add(x, a.out));
  const m = mlpOut(y);
  return { out: norm(p.norm2, tf.add(y, m.out)), probs: a.probs, hidden: m.hidden };
}

// ---------------------------------------------------------------------------------------------
// Config

export interface TransformerConfig {
  vocabSize: number;
  /** Longest context; the learned position table has this many rows. */
  seqLen: number;
  dModel: number;
  nHeads: number;
  nLayers: number;
  /** MLP hidden width; 4·dModel in the original Transformer and GPT-2. */
  dFF: number;
  activation: Activation;
  /** "pre": x + F(N(x)) (GPT-2, Xiong et al.); "post": N(x + F(x)) (original Transformer, BERT). */
  normPlacement: "pre" | "post";
  norm: NormKind;
  /** ε inside the root: 1e-5 as PyTorch (tfjs-layers uses 1e-3). */
  normEps: number;
  /** pRMSNorm's fraction of units; 6.25% in Zhang & Sennrich (2019). */
  normFraction: number;
  /** A norm after the last block: required by Pre-LN (its stream is never normalised otherwise). */
  finalNorm: boolean;
  /** Causal (decoder) or bidirectional (encoder) attention. */
  causal: boolean;
  /** Output projection = token embedding transposed (GPT-2) or its own matrix. */
  tieEmbeddings: boolean;
  /** "gpt2": N(0, initStd²), residual outputs scaled by 1/√(2L); "xavier": Glorot normal (Xiong et al.). */
  init: "gpt2" | "xavier";
  initStd: number;
  /**
   * Std of the token and position embeddings; 0 = by `init` (gpt2: initStd, xavier: 1/√D). The
   * PyTorch word-LM tutorial scales its embeddings by √D, giving entries of order 1 (≈ 1 here).
   */
  embeddingStd: number;
  seed: number;
}

const SCHEMA: Schema<TransformerConfig> = {
  vocabSize: { kind: "int", min: 2 },
  seqLen: { kind: "int", min: 1 },
  dModel: { kind: "int", min: 1 },
  nHeads: { kind: "int", min: 1 },
  nLayers: { kind: "int", min: 0 },
  dFF: { kind: "int", min: 1 },
  activation: { kind: "enum", values: ACTIVATIONS },
  normPlacement: { kind: "enum", values: ["pre", "post"] },
  norm: { kind: "enum", values: NORM_KINDS },
  normEps: { kind: "number", min: 0, minExclusive: true },
  normFraction: { kind: "number", min: 0, max: 1, minExclusive: true },
  finalNorm: { kind: "bool" },
  causal: { kind: "bool" },
  tieEmbeddings: { kind: "bool" },
  init: { kind: "enum", values: ["gpt2", "xavier"] },
  initStd: { kind: "number", min: 0, minExclusive: true },
  embeddingStd: { kind: "number", min: 0 },
  seed: { kind: "int" },
};

export const TRANSFORMER_DEFAULTS: TransformerConfig = {
  vocabSize: 256,
  seqLen: 128,
  dModel: 128,
  nHeads: 4,
  nLayers: 4,
  dFF: 512,
  activation: "gelu",
  normPlacement: "pre",
  norm: "layer",
  normEps: 1e-5,
  normFraction: 0.0625,
  finalNorm: true,
  causal: true,
  tieEmbeddings: true,
  init: "gpt2",
  initStd: 0.02,
  embeddingStd: 0,
  seed: 0,
};

/** Named sizes. "lm-reference" is the benchmark's step (B16, T128, d128, 4 layers, 4 heads, vocab 256). */
export const TRANSFORMER_PRESETS = {
  "lm-tiny": { vocabSize: 96, seqLen: 32, dModel: 32, nHeads: 2, nLayers: 2, dFF: 128 },
  "lm-small": { vocabSize: 96, seqLen: 64, dModel: 64, nHeads: 4, nLayers: 4, dFF: 256 },
  "lm-reference": { vocabSize: 256, seqLen: 128, dModel: 128, nHeads: 4, nLayers: 4, dFF: 512 },
  /**
   * JoMA's WikiText-2 model at our scale: the PyTorch word-LM tutorial's encoder (Post-LN, ReLU,
   * one head, d_hid = d, untied decoder, bptt 35, Glorot init as PyTorch's attention projections)
   * with d = 64 and a 2,000-word vocabulary. Embedding std 0.8: the tutorial scales U(±0.1)
   * embeddings by √d and adds sinusoidal positions, a stream of std ≈ 1.1 at d = 200; token +
   * position at 0.8 each gives the same.
   */
  "joma-word": {
    vocabSize: 2000, seqLen: 35, dModel: 64, nHeads: 1, nLayers: 1, dFF: 64,
    activation: "relu", normPlacement: "post", finalNorm: false, tieEmbeddings: false, init: "xavier", embeddingStd: 0.8,
  },
} satisfies Record<string, Partial<TransformerConfig>>;
export type TransformerPreset = keyof typeof TRANSFORMER_PRESETS;

/** Defaults ← preset (if named) ← overrides, validated. */
export function transformerConfig(
  presetOrOverrides: TransformerPreset | Partial<TransformerConfig> = {},
  overrides: Partial<TransformerConfig> = {},
): TransformerConfig {
  let base: Partial<TransformerConfig> = {};
  if (typeof presetOrOverrides === "string") {
    if (!(presetOrOverrides in TRANSFORMER_PRESETS)) {
      throw new ConfigError(`TransformerConfig: unknown preset "${presetOrOverrides}"; presets: ` +
        Object.keys(TRANSFORMER_PRESETS).join(", "));
    }
    base = TRANSFORMER_PRESETS[presetOrOverrides];
  } else {
    overrides = { ...presetOrOverrides, ...overrides };
  }
  const cfg = resolveConfig("TransformerConfig", { ...TRANSFORMER_DEFAULTS, ...base }, SCHEMA, overrides);
  if (cfg.dModel % cfg.nHeads !== 0) {
    throw new ConfigError(`TransformerConfig.nHeads: dModel (${cfg.dModel}) must be divisible by nHeads (${cfg.nHeads})`);
  }
  return cfg;
}

// ---------------------------------------------------------------------------------------------
// Model

export interface TransformerParams {
  config: TransformerConfig;
  tokenEmbedding: tf.Variable; // [V, D]
  positionEmbedding: tf.Variable; // [seqLen, D]
  blocks: BlockParams[];
  finalNorm?: NormParams;
  unembedding?: tf.Variable; // [D, V], when not tied
}

/** Fresh parameters; every initial value comes from `rng` (or from `config.seed` if omitted). */
export function initTransformer(config: TransformerConfig, rng?: Rng): TransformerParams {
  const cfg = transformerConfig(config);
  const r = rng ?? createRng(cfg.seed);
  const d = cfg.dModel;
  const embedStd = cfg.embeddingStd > 0 ? cfg.embeddingStd : cfg.init === "xavier" ? 1 / Math.sqrt(d) : cfg.initStd;
  return {
    config: cfg,
    tokenEmbedding: normalVariable(r, [cfg.vocabSize, d], embedStd),
    positionEmbedding: normalVariable(r, [cfg.seqLen, d], embedStd),
    blocks: initTransformerBlocks(cfg, r),
    finalNorm: cfg.finalNorm ? initNorm(cfg.norm, d) : undefined,
    unembedding: cfg.tieEmbeddings ? undefined : denseInit(cfg, r, d, cfg.vocabSize),
  };
}

/** A weight matrix initialised per `cfg.init`; `residualOut` marks GPT-2's 1/√(2L)-scaled projections. */
function denseInit(cfg: TransformerConfig, r: Rng, fanIn: number, fanOut: number, residualOut = false): tf.Variable {
  const std = cfg.init === "xavier" ? Math.sqrt(2 / (fanIn + fanOut))
    : residualOut ? cfg.initStd / Math.sqrt(2 * Math.max(1, cfg.nLayers)) : cfg.initStd;
  return normalVariable(r, [fanIn, fanOut], std);
}

/** The `cfg.nLayers` blocks alone (also the backbone of the vision transformer in `vision.ts`). */
export function initTransformerBlocks(cfg: TransformerConfig, r: Rng): BlockParams[] {
  const { dModel: d, dFF: f } = cfg;
  const dense = (fanIn: number, fanOut: number, residualOut = false) => denseInit(cfg, r, fanIn, fanOut, residualOut);
  return Array.from({ length: cfg.nLayers }, () => ({
    norm1: initNorm(cfg.norm, d),
    attn: {
      wq: dense(d, d), bq: zerosVariable([d]),
      wk: dense(d, d), bk: zerosVariable([d]),
      wv: dense(d, d), bv: zerosVariable([d]),
      wo: dense(d, d, true), bo: zerosVariable([d]),
    },
    norm2: initNorm(cfg.norm, d),
    mlp: { w1: dense(d, f), b1: zerosVariable([f]), w2: dense(f, d, true), b2: zerosVariable([d]) },
  }));
}

export const ABLATED_MODULES = ["query", "key", "value", "mlp"] as const;
export type AblatedModule = (typeof ABLATED_MODULES)[number];

/** A stand-in for a block: a function of the residual stream [B·T, D] (e.g. a fitted linear map, or identity). */
export type BlockReplacement = (stream: tf.Tensor) => tf.Tensor;

/**
 * Runs the residual stream x [B·T, D] through `blocks` and the optional final norm. `each` sees the
 * stream after every block (before the final norm) and that block's attention probabilities and
 * MLP activations (undefined for a block that `replace` substitutes).
 */
export function transformerBlocks(
  cfg: TransformerConfig, blocks: BlockParams[], finalNorm: NormParams | undefined, x: tf.Tensor, b: number, t: number,
  each?: (stream: tf.Tensor, probs: tf.Tensor | undefined, mlpHidden: tf.Tensor | undefined) => void,
  replace?: ReadonlyMap<number, BlockReplacement>,
  ablate?: { layer: number; module: AblatedModule },
): tf.Tensor {
  blocks.forEach((p, l) => {
    const stand = replace?.get(l);
    if (stand) {
      x = stand(x);
      each?.(x, undefined, undefined);
      return;
    }
    const out = block(cfg, p, x, b, t, ablate?.layer === l ? ablate.module : undefined);
    x = out.out;
    each?.(x, out.probs, out.hidden);
  });
  return finalNorm ? applyNorm(normSpec(cfg), finalNorm, x) : x;
}

/** Scalar parameters of one block: attention 4(D² + D), MLP D·F + F + F·D + D, two norms (2D or D each). */
export function transformerBlockParameterCount(cfg: Pick<TransformerConfig, "dModel" | "dFF" | "norm">): number {
  const d = cfg.dModel;
  const norm = cfg.norm === "layer" ? 2 * d : d;
  return 4 * (d * d + d) + (d * cfg.dFF + cfg.dFF + cfg.dFF * d + d) + 2 * norm;
}

/** Scalar parameters of a whole model from its config, without building it (pinned against built models in tests). */
export function transformerParameterCount(cfg: TransformerConfig): number {
  const d = cfg.dModel;
  const norm = cfg.norm === "layer" ? 2 * d : d;
  return cfg.vocabSize * d + cfg.seqLen * d + cfg.nLayers * transformerBlockParameterCount(cfg) +
    (cfg.finalNorm ? norm : 0) + (cfg.tieEmbeddings ? 0 : d * cfg.vocabSize);
}

export interface ForwardOptions {
  /** Keep the residual stream after the embeddings and after every block ([B, T, D] each). */
  captureHidden?: boolean;
  /** Keep every layer's attention probabilities ([B, H, T, T] each). */
  captureAttention?: boolean;
  /** Keep every layer's MLP hidden activations act(x W₁ + b₁) ([B, T, F] each). */
  captureMlp?: boolean;
  /**
   * Zero one module of one block (Hosseini & Fedorenko's supplement): the attention queries, keys or
   * values of all heads, or the MLP's output.
   */
  ablate?: { layer: number; module: AblatedModule };
  /** Blocks computed by a stand-in instead (block index → function of the stream [B·T, D]). */
  replace?: ReadonlyMap<number, BlockReplacement>;
  /**
   * A scalar computed from the streams (embeddings, then after each block; [B·T, D] each) inside
   * the forward pass, so it can be part of a differentiated loss (e.g. a regulariser).
   */
  hiddenTerm?: (streams: tf.Tensor[]) => tf.Scalar;
}

export interface ForwardResult {
  logits: tf.Tensor; // [B, T, V]
  /** nLayers + 1 entries: embeddings, then after each block (before the final norm). */
  hidden?: tf.Tensor[];
  attention?: tf.Tensor[];
  mlp?: tf.Tensor[];
  /** `hiddenTerm`'s value, when given. */
  hiddenTerm?: tf.Scalar;
}

/** Token + position embeddings of ids [B, T]: the residual stream [B·T, D] entering the first block. */
export function embedTokens(params: TransformerParams, tokens: tf.Tensor): tf.Tensor {
  const d = params.config.dModel;
  const [b, t] = tokens.shape;
  return tf.tidy(() => {
    const ids = tf.reshape(tokens.dtype === "int32" ? tokens : tf.cast(tokens, "int32"), [b * t]);
    const positions = tf.slice(params.positionEmbedding, [0, 0], [t, d]); // [T, D]
    return tf.reshape(tf.add(tf.reshape(tf.gather(params.tokenEmbedding, ids), [b, t, d]), positions), [b * t, d]);
  });
}

/** The output projection (tied or not) of the final stream [B·T, D] → logits [B, T, V]. */
export function unembed(params: TransformerParams, x: tf.Tensor, b: number, t: number): tf.Tensor {
  return tf.tidy(() => {
    const flat = params.unembedding ? tf.matMul(x, params.unembedding) : tf.matMul(x, params.tokenEmbedding, false, true); // [B·T, V]
    return tf.reshape(flat, [b, t, params.config.vocabSize]);
  });
}

/** Token ids [B, T] (int32) → logits [B, T, V]. Captured tensors are the caller's to dispose. */
export function transformerForward(params: TransformerParams, tokens: tf.Tensor, options: ForwardOptions = {}): ForwardResult {
  const cfg = params.config;
  if (tokens.rank !== 2) throw new Error(`transformerForward: tokens must be [B, T], got shape [${tokens.shape}]`);
  const [b, t] = tokens.shape;
  if (t > cfg.seqLen) throw new Error(`transformerForward: sequence length ${t} exceeds config.seqLen ${cfg.seqLen}`);
  const hidden: tf.Tensor[] = [];
  const attention: tf.Tensor[] = [];
  const mlpActivations: tf.Tensor[] = [];
  const replace = options.replace;
  if (replace) {
    for (const l of replace.keys()) {
      if (!(Number.isInteger(l) && l >= 0 && l < cfg.nLayers)) throw new Error(`transformerForward: replace names block ${l}; blocks are 0…${cfg.nLayers - 1}`);
      if (options.captureAttention || options.captureMlp) throw new Error(`transformerForward: block ${l} is replaced; it has no attention or MLP to capture`);
    }
  }
  if (options.ablate) {
    const { layer, module } = options.ablate;
    if (!(Number.isInteger(layer) && layer >= 0 && layer < cfg.nLayers)) throw new Error(`transformerForward: ablate.layer must be in 0…${cfg.nLayers - 1}, got ${layer}`);
    if (!ABLATED_MODULES.includes(module)) throw new Error(`transformerForward: ablate.module must be one of ${ABLATED_MODULES.join(", ")}, got "${module}"`);
  }
  let term: tf.Scalar | undefined;
  const logits = tf.tidy(() => {
    let x = embedTokens(params, tokens); // [B·T, D]
    const streams = [x];
    if (options.captureHidden) hidden.push(tf.keep(tf.reshape(x, [b, t, cfg.dModel])));
    x = transformerBlocks(cfg, params.blocks, params.finalNorm, x, b, t, (stream, probs, mlpHidden) => {
      streams.push(stream);
      if (options.captureHidden) hidden.push(tf.keep(tf.reshape(stream, [b, t, cfg.dModel])));
      if (options.captureAttention) attention.push(tf.keep(probs!));
      if (options.captureMlp) mlpActivations.push(tf.keep(tf.reshape(mlpHidden!, [b, t, cfg.dFF])));
    }, replace, options.ablate);
    if (options.hiddenTerm) term = tf.keep(options.hiddenTerm(streams));
    return unembed(params, x, b, t);
  });
  return {
    logits,
    hidden: options.captureHidden ? hidden : undefined,
    attention: options.captureAttention ? attention : undefined,
    mlp: options.captureMlp ? mlpActivations : undefined,
    hiddenTerm: term,
  };
}
