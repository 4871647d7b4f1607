/**
 * One Transformer for every reproduction, read top to bottom in the order of the figure in
 * Vaswani et al. (2017): attention → MLP → block → config → model.
 *
 *   Pre-LN  block (Xiong et al. 2020):  x ← x + Attn(N(x));   x ← x + MLP(N(x));   final N
 *   Post-LN block (Vaswani et al.):     x ← N(x + Attn(x));   x ← N(x + MLP(x))
 *   Attn(x) = softmax(q kᵀ / √K + mask) v · W_o,   MLP(x) = act(x W₁ + b₁) W₂ + b₂
 *
 * Shapes use fixed letters: B batch, T time, D dModel, H heads, K head size = D/H, F dFF, V vocab.
 * The residual stream is kept as [B·T, D] so every weight product is a plain 2-D matmul (the
 * [B,T,D]×[D,F] weight gradient fails in tfjs, issue 8721).
 * The forward pass only computes and captures; what experiments do to a model is a transform of its
 * params that shares the other weights: `ablateModule` zeroes one module, `replaceBlocks` puts a
 * function of the stream in place of a block.
 * Notebooks: 01 (norm placement), 02 (norm kind), and every later one that trains a transformer.
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError, type Schema, resolveConfig } from "../config";
import { fusedKernelsActive } from "../engine/fused";
import { checkMemory, tensorBytesInUse } from "../engine/memory";
import { type Rng, createRng } from "../engine/rng";
import { NORM_KINDS, type NormKind, type NormParams, type NormSpec, applyNorm, initNorm } from "./norms";
import { ACTIVATIONS, type Activation, activate, linear, mergeHeads, scaledDotProductAttention, splitHeads } from "./ops";
import { normalVariable, variableFrom, zerosVariable } from "./params";

// ---------------------------------------------------------------------------------------------
// Attention and MLP

export interface AttentionParams {
  wq: tf.Variable;
  bq: tf.Variable;
  wk: tf.Variable;
  bk: tf.Variable;
  wv: tf.Variable;
  bv: tf.Variable;
  wo: tf.Variable;
  bo: tf.Variable;
}

/** Multi-head attention on the residual stream x [B·T, D]: its output [B·T, D] and probabilities [B, H, T, T]. */
export function transformerAttention(
  cfg: TransformerConfig,
  p: AttentionParams,
  x: tf.Tensor,
  b: number,
  t: number,
): { out: tf.Tensor; probs: tf.Tensor } {
  const project = (w: tf.Tensor, bias: tf.Tensor) => splitHeads(linear(x, w, bias), b, t, cfg.nHeads); // [B, H, T, K]
  const { out, probs } = scaledDotProductAttention(project(p.wq, p.bq), project(p.wk, p.bk), project(p.wv, p.bv), { causal: cfg.causal });
  return { out: linear(mergeHeads(out), p.wo, p.bo), probs }; // [B·T, D]
}

export interface MlpParams {
  w1: tf.Variable;
  b1: tf.Variable;
  w2: tf.Variable;
  b2: tf.Variable;
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

function block(cfg: TransformerConfig, p: BlockParams, x: tf.Tensor, b: number, t: number) {
  const norm = (np: NormParams, y: tf.Tensor) => applyNorm(normSpec(cfg), np, y);
  if (cfg.normPlacement === "pre") {
    const a = transformerAttention(cfg, p.attn, norm(p.norm1, x), b, t);
    const y = tf.add(x, a.out);
    const m = mlp(cfg, p.mlp, norm(p.norm2, y));
    return { out: tf.add(y, m.out), probs: a.probs, hidden: m.hidden };
  }
  const a = transformerAttention(cfg, p.attn, x, b, t);
  const y = norm(p.norm1, tf.add(x, a.out));
  const m = mlp(cfg, p.mlp, y);
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
    vocabSize: 2000,
    seqLen: 35,
    dModel: 64,
    nHeads: 1,
    nLayers: 1,
    dFF: 64,
    activation: "relu",
    normPlacement: "post",
    finalNorm: false,
    tieEmbeddings: false,
    init: "xavier",
    embeddingStd: 0.8,
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
      throw new ConfigError(
        `TransformerConfig: unknown preset "${presetOrOverrides}"; presets: ${Object.keys(TRANSFORMER_PRESETS).join(", ")}`,
      );
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

/** A model's weights; `B` is `Block` once some blocks may be stand-ins (`replaceBlocks`). */
export interface TransformerParams<B extends Block = BlockParams> {
  config: TransformerConfig;
  tokenEmbedding: tf.Variable; // [V, D]
  positionEmbedding: tf.Variable; // [seqLen, D]
  blocks: B[];
  finalNorm?: NormParams;
  unembedding?: tf.Variable; // [D, V], when not tied
}

/**
 * Fresh parameters; every initial value comes from `rng` (or from `config.seed` if omitted).
 * A model whose weights (4 bytes a parameter) would not fit the memory limit (engine/memory.ts:
 * TA_MEMORY_LIMIT_MB, default half the machine's memory) is refused before anything is allocated.
 */
export function initTransformer(config: TransformerConfig, rng?: Rng): TransformerParams {
  const cfg = transformerConfig(config);
  const count = transformerParameterCount(cfg);
  checkMemory(`initTransformer (${count.toLocaleString("en-US")} parameters)`, {
    "tensors held now": tensorBytesInUse(),
    weights: 4 * count,
  });
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
  const std =
    cfg.init === "xavier"
      ? Math.sqrt(2 / (fanIn + fanOut))
      : residualOut
        ? cfg.initStd / Math.sqrt(2 * Math.max(1, cfg.nLayers))
        : cfg.initStd;
  return normalVariable(r, [fanIn, fanOut], std);
}

/** The `cfg.nLayers` blocks alone (also the backbone of the vision transformer in `vision.ts`). */
export function initTransformerBlocks(cfg: TransformerConfig, r: Rng): BlockParams[] {
  const { dModel: d, dFF: f } = cfg;
  const dense = (fanIn: number, fanOut: number, residualOut = false) => denseInit(cfg, r, fanIn, fanOut, residualOut);
  return Array.from({ length: cfg.nLayers }, () => ({
    norm1: initNorm(cfg.norm, d),
    attn: {
      wq: dense(d, d),
      bq: zerosVariable([d]),
      wk: dense(d, d),
      bk: zerosVariable([d]),
      wv: dense(d, d),
      bv: zerosVariable([d]),
      wo: dense(d, d, true),
      bo: zerosVariable([d]),
    },
    norm2: initNorm(cfg.norm, d),
    mlp: { w1: dense(d, f), b1: zerosVariable([f]), w2: dense(f, d, true), b2: zerosVariable([d]) },
  }));
}

/** A stand-in for a block: a function of the residual stream [B·T, D] (e.g. a fitted linear map, or identity). */
export type BlockReplacement = (stream: tf.Tensor) => tf.Tensor;

/** One entry of a transformer's block list: its weights, or a stand-in function. */
export type Block = BlockParams | BlockReplacement;

/** The weights of block `layer`; an error if that block is a stand-in. */
export function blockParams(params: TransformerParams<Block>, layer: number): BlockParams {
  checkLayer(params, layer, "blockParams");
  const block = params.blocks[layer];
  if (typeof block === "function") throw new Error(`blockParams: block ${layer} is a stand-in function; it has no weights`);
  return block;
}

function checkLayer(params: TransformerParams<Block>, layer: number, who: string): void {
  const n = params.blocks.length;
  if (!(Number.isInteger(layer) && layer >= 0 && layer < n)) throw new Error(`${who}: layer must be in 0…${n - 1}, got ${layer}`);
}

/**
 * The model with some blocks computed by stand-ins (block index → function of the stream
 * [B·T, D]); every other weight is shared with `params`, nothing is copied.
 */
export function replaceBlocks(
  params: TransformerParams<Block>,
  replacements: ReadonlyMap<number, BlockReplacement>,
): TransformerParams<Block> {
  for (const l of replacements.keys()) checkLayer(params, l, "replaceBlocks");
  return { ...params, blocks: params.blocks.map((b, l) => replacements.get(l) ?? b) };
}

export const ABLATED_MODULES = ["query", "key", "value", "mlp"] as const;
export type AblatedModule = (typeof ABLATED_MODULES)[number];

/**
 * The model with one module of one block zeroed (Hosseini & Fedorenko's supplement): the attention
 * queries, keys or values of all heads (that projection's weight and bias set to 0), or the MLP's
 * output (W₂ and b₂ set to 0; its hidden activations are still computed). Every other weight is
 * shared with `params`; the zeroed ones are new variables — free them with
 * `disposeNewVariables(ablated, params)`.
 */
export function ablateModule(params: TransformerParams<Block>, layer: number, module: AblatedModule): TransformerParams<Block> {
  const p = blockParams(params, layer);
  if (!ABLATED_MODULES.includes(module))
    throw new Error(`ablateModule: module must be one of ${ABLATED_MODULES.join(", ")}, got "${module}"`);
  const zeros = (v: tf.Variable) => variableFrom(() => tf.zerosLike(v), false);
  const attn = { ...p.attn };
  const mlpParams = { ...p.mlp };
  if (module === "query") Object.assign(attn, { wq: zeros(p.attn.wq), bq: zeros(p.attn.bq) });
  if (module === "key") Object.assign(attn, { wk: zeros(p.attn.wk), bk: zeros(p.attn.bk) });
  if (module === "value") Object.assign(attn, { wv: zeros(p.attn.wv), bv: zeros(p.attn.bv) });
  if (module === "mlp") Object.assign(mlpParams, { w2: zeros(p.mlp.w2), b2: zeros(p.mlp.b2) });
  return { ...params, blocks: params.blocks.map((b, l) => (l === layer ? { ...p, attn, mlp: mlpParams } : b)) };
}

export interface BlocksInput {
  config: TransformerConfig;
  blocks: readonly Block[];
  /** Applied after the last block when given. */
  finalNorm?: NormParams;
  /** The residual stream [B·T, D] entering the first block. */
  stream: tf.Tensor;
  batch: number;
  time: number;
  /**
   * Sees the stream after every block (before the final norm), that block's attention
   * probabilities [B, H, T, T] and MLP activations [B·T, F] (undefined for a stand-in).
   */
  onBlock?: (stream: tf.Tensor, probs: tf.Tensor | undefined, mlpHidden: tf.Tensor | undefined) => void;
}

/** Runs the residual stream through the blocks and the optional final norm: [B·T, D] → [B·T, D]. */
export function transformerBlocks(input: BlocksInput): tf.Tensor {
  const { config: cfg, batch: b, time: t } = input;
  let x = input.stream;
  for (const p of input.blocks) {
    if (typeof p === "function") {
      x = p(x);
      input.onBlock?.(x, undefined, undefined);
      continue;
    }
    const out = block(cfg, p, x, b, t);
    x = out.out;
    input.onBlock?.(x, out.probs, out.hidden);
  }
  return input.finalNorm ? applyNorm(normSpec(cfg), input.finalNorm, x) : x;
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
  return (
    cfg.vocabSize * d +
    cfg.seqLen * d +
    cfg.nLayers * transformerBlockParameterCount(cfg) +
    (cfg.finalNorm ? norm : 0) +
    (cfg.tieEmbeddings ? 0 : d * cfg.vocabSize)
  );
}

/**
 * Floats kept at the peak of one training step (forward, backward and the parameter gradients),
 * as tf.profile measures them: a·P + N·(L·(b·D + c·F + d·H·T) + e·D + f·V) with N = B·T tokens and
 * P parameters. The coefficients are least-squares fits over 16 configurations (1–4 layers, D 32–128,
 * F 128–512, H·T 64–256, V 100–3000, every norm, placement and tying): "fused" on the wasm backend
 * with the fused kernels (every configuration within 1%), "composed" for tf ops alone (cpu, or wasm
 * with the fused kernels off; within 6%, except ReLU, which needs 30% less).
 */
const STEP_FLOATS = {
  fused: { params: 2.2, layerD: 50, layerF: 6, layerHT: 4, d: 12, v: 7 },
  composed: { params: 3, layerD: 77, layerF: 20, layerHT: 10, d: 16, v: 17 },
} as const;

/**
 * Estimated peak bytes of one training step of the transformer on `batchSize` sequences of
 * `seqLen` tokens (default the config's): activations kept for the backward pass, the backward's
 * temporaries and the parameter gradients; not the weights themselves nor Adam's moments.
 */
export function transformerStepBytes(cfg: TransformerConfig, batchSize: number, seqLen = cfg.seqLen): number {
  const k = fusedKernelsActive() ? STEP_FLOATS.fused : STEP_FLOATS.composed;
  const n = batchSize * seqLen;
  const perToken =
    cfg.nLayers * (k.layerD * cfg.dModel + k.layerF * cfg.dFF + k.layerHT * cfg.nHeads * seqLen) + k.d * cfg.dModel + k.v * cfg.vocabSize;
  return 4 * (k.params * transformerParameterCount(cfg) + n * perToken);
}

export interface ForwardOptions {
  /** Keep the residual stream after the embeddings and after every block ([B, T, D] each). */
  captureHidden?: boolean;
  /** Keep every layer's attention probabilities ([B, H, T, T] each). */
  captureAttention?: boolean;
  /** Keep every layer's MLP hidden activations act(x W₁ + b₁) ([B, T, F] each). */
  captureMlp?: boolean;
}

export interface ForwardResult {
  logits: tf.Tensor; // [B, T, V]
  /**
   * nLayers + 1 entries: embeddings, then after each block (before the final norm). They stay on
   * the gradient tape: a loss built from them (e.g. a regulariser on the streams) is differentiated
   * through the model.
   */
  hidden?: tf.Tensor[];
  attention?: tf.Tensor[];
  mlp?: tf.Tensor[];
}

/** Token + position embeddings of ids [B, T]: the residual stream [B·T, D] entering the first block. */
export function embedTokens(params: TransformerParams<Block>, tokens: tf.Tensor): tf.Tensor {
  const d = params.config.dModel;
  const [b, t] = tokens.shape;
  return tf.tidy(() => {
    const ids = tf.reshape(tokens.dtype === "int32" ? tokens : tf.cast(tokens, "int32"), [b * t]);
    const positions = tf.slice(params.positionEmbedding, [0, 0], [t, d]); // [T, D]
    return tf.reshape(tf.add(tf.reshape(tf.gather(params.tokenEmbedding, ids), [b, t, d]), positions), [b * t, d]);
  });
}

/** The output projection (tied or not) of the final stream [B·T, D] → logits [B, T, V]. */
export function unembed(params: TransformerParams<Block>, x: tf.Tensor, b: number, t: number): tf.Tensor {
  return tf.tidy(() => {
    const flat = params.unembedding ? tf.matMul(x, params.unembedding) : tf.matMul(x, params.tokenEmbedding, false, true); // [B·T, V]
    return tf.reshape(flat, [b, t, params.config.vocabSize]);
  });
}

/** Token ids [B, T] (int32) → logits [B, T, V]. Captured tensors are the caller's to dispose. */
export function transformerForward(params: TransformerParams<Block>, tokens: tf.Tensor, options: ForwardOptions = {}): ForwardResult {
  const cfg = params.config;
  if (tokens.rank !== 2) throw new Error(`transformerForward: tokens must be [B, T], got shape [${tokens.shape}]`);
  const [b, t] = tokens.shape;
  if (t > cfg.seqLen) throw new Error(`transformerForward: sequence length ${t} exceeds config.seqLen ${cfg.seqLen}`);
  if (options.captureAttention || options.captureMlp) {
    const l = params.blocks.findIndex((p) => typeof p === "function");
    if (l >= 0) throw new Error(`transformerForward: block ${l} is a stand-in; it has no attention or MLP to capture`);
  }
  const hidden: tf.Tensor[] = [];
  const attention: tf.Tensor[] = [];
  const mlpActivations: tf.Tensor[] = [];
  const logits = tf.tidy(() => {
    const stream = embedTokens(params, tokens); // [B·T, D]
    if (options.captureHidden) hidden.push(tf.keep(tf.reshape(stream, [b, t, cfg.dModel])));
    const x = transformerBlocks({
      config: cfg,
      blocks: params.blocks,
      finalNorm: params.finalNorm,
      stream,
      batch: b,
      time: t,
      onBlock: (after, probs, mlpHidden) => {
        if (options.captureHidden) hidden.push(tf.keep(tf.reshape(after, [b, t, cfg.dModel])));
        if (options.captureAttention && probs) attention.push(tf.keep(probs));
        if (options.captureMlp && mlpHidden) mlpActivations.push(tf.keep(tf.reshape(mlpHidden, [b, t, cfg.dFF])));
      },
    });
    return unembed(params, x, b, t);
  });
  return {
    logits,
    hidden: options.captureHidden ? hidden : undefined,
    attention: options.captureAttention ? attention : undefined,
    mlp: options.captureMlp ? mlpActivations : undefined,
  };
}

/**
 * A transformer as a language model for `trainLanguageModel`: its params, sizes and logits.
 * Built from a config (fresh weights from `config.seed`) or from existing params (shared, not copied).
 */
export function transformerLm(source: TransformerConfig | TransformerParams): {
  params: TransformerParams;
  seqLen: number;
  vocabSize: number;
  logits(tokens: tf.Tensor): tf.Tensor;
  stepBytes(batchSize: number): number;
} {
  const params = "tokenEmbedding" in source ? source : initTransformer(source);
  return {
    params,
    seqLen: params.config.seqLen,
    vocabSize: params.config.vocabSize,
    logits: (tokens) => transformerForward(params, tokens).logits,
    stepBytes: (batchSize) => transformerStepBytes(params.config, batchSize),
  };
}
