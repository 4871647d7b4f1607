/**
 * gMLP and aMLP (Liu, Dai, So & Le 2021, "Pay Attention to MLPs"): a transformer without
 * self-attention, whose tokens interact through one learned n×n matrix per block.
 *
 *   block:   Z = GELU(LN(X) U);   Z̃ = s(Z);   Y = X + Z̃ V
 *   f(Z)   = W · LN(Z) + b        W ∈ ℝ^{n×n} mixes tokens (rows = output positions), b ∈ ℝ^n
 *   gates s(Z), the paper's Table 1 ablation:
 *     linear           f(Z)
 *     additive         Z + f(Z)
 *     multiplicative   Z ⊙ f(Z)
 *     split (the SGU)  Z₁ ⊙ f(Z₂),  Z = [Z₁ ‖ Z₂] halved along channels
 *   aMLP adds a single-head "tiny attention" on LN(X) to f's output (size 64 in the paper).
 *
 * Initialisation (paper §2.1): "W near zero and b = 1", so s(Z) ≈ Z₁ and each block starts as a
 * plain FFN. W ~ U(−ε, ε) with ε = spatialInitScale / n; the 1e-3 default follows the community
 * implementation lucidrains/g-mlp-pytorch (the authors released no code); gpt-neox uses exactly 0.
 * The rule "start as an FFN" fixes the other gates' init: additive gets b = 0 (s ≈ Z),
 * multiplicative b = 1 (s ≈ Z), linear W ≈ I and b = 0 (s ≈ LN(Z)) — with W ≈ 0, b = 1 the linear
 * gate would start as a constant and its block would discard its input.
 * Causal models mask W to its lower triangle. Inputs shorter than `seqLen` use W's leading t×t
 * block and b's first t entries (gpt-neox PRs #339/#340). No position embeddings: W is positional.
 * Shapes: B batch, T tokens, D dModel, F dFF, G gate width (F/2 for split, F otherwise), A tiny head.
 * Used by notebooks/03-gmlp.ipynb (masked LM and vision).
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError, type Schema, resolveConfig } from "../../config";
import { type Rng, createRng, uniformArray } from "../../engine/rng";
import { type NormParams, applyNorm, initNorm } from "../../models/norms";
import { normalVariable, variableFrom, zerosVariable } from "../../models/params";
import { activate, linear, scaledDotProductAttention } from "../../models/ops";

export const GATES = ["linear", "additive", "multiplicative", "split"] as const;
export type Gate = (typeof GATES)[number];

export interface GmlpConfig {
  vocabSize: number;
  /** n: the number of tokens W is sized for (longest input). */
  seqLen: number;
  dModel: number;
  /** Width of Z = GELU(LN(X) U); the paper uses 6·dModel. Must be even for the split gate. */
  dFF: number;
  nLayers: number;
  gate: Gate;
  /** Head size of aMLP's tiny attention; 0 = plain gMLP. */
  tinyAttention: number;
  causal: boolean;
  /** W ~ U(−ε, ε), ε = spatialInitScale / seqLen. */
  spatialInitScale: number;
  normEps: number;
  /** Std of the dense weights (U, V, embeddings, tiny attention), as the Transformer's GPT-2 init. */
  initStd: number;
  seed: number;
}

const SCHEMA: Schema<GmlpConfig> = {
  vocabSize: { kind: "int", min: 2 },
  seqLen: { kind: "int", min: 1 },
  dModel: { kind: "int", min: 1 },
  dFF: { kind: "int", min: 2 },
  nLayers: { kind: "int", min: 0 },
  gate: { kind: "enum", values: GATES },
  tinyAttention: { kind: "int", min: 0 },
  causal: { kind: "bool" },
  spatialInitScale: { kind: "number", min: 0 },
  normEps: { kind: "number", min: 0, minExclusive: true },
  initStd: { kind: "number", min: 0, minExclusive: true },
  seed: { kind: "int" },
};

export const GMLP_DEFAULTS: GmlpConfig = {
  vocabSize: 256,
  seqLen: 64,
  dModel: 64,
  dFF: 384,
  nLayers: 4,
  gate: "split",
  tinyAttention: 0,
  causal: false,
  spatialInitScale: 1e-3,
  normEps: 1e-5,
  initStd: 0.02,
  seed: 0,
};

export function gmlpConfig(overrides: Partial<GmlpConfig> = {}): GmlpConfig {
  const cfg = resolveConfig("GmlpConfig", GMLP_DEFAULTS, SCHEMA, overrides);
  if (cfg.gate === "split" && cfg.dFF % 2 !== 0) {
    throw new ConfigError(`GmlpConfig.dFF: the split gate halves Z, so dFF must be even, got ${cfg.dFF}`);
  }
  return cfg;
}

/** Width of the gated output Z̃ that V reads. */
export function gateWidth(cfg: Pick<GmlpConfig, "gate" | "dFF">): number {
  return cfg.gate === "split" ? cfg.dFF / 2 : cfg.dFF;
}

export interface TinyAttentionParams {
  wqkv: tf.Variable;
  bqkv: tf.Variable; // [D, 3A], [3A]
  wo: tf.Variable;
  bo: tf.Variable; // [A, G], [G]
}

export interface GmlpBlockParams {
  norm: NormParams; // on X, width D
  u: tf.Variable;
  bu: tf.Variable; // [D, F], [F]
  gateNorm: NormParams; // on the gate input, width G
  w: tf.Variable;
  bw: tf.Variable; // [n, n], [n]
  v: tf.Variable;
  bv: tf.Variable; // [G, D], [D]
  attn?: TinyAttentionParams;
}

export function initGmlpBlocks(cfg: GmlpConfig, r: Rng): GmlpBlockParams[] {
  const { dModel: d, dFF: f, seqLen: n } = cfg;
  const g = gateWidth(cfg);
  const eps = cfg.spatialInitScale / n;
  const outStd = cfg.initStd / Math.sqrt(Math.max(1, cfg.nLayers));
  return Array.from({ length: cfg.nLayers }, () => {
    const noise = uniformArray(r, n * n, -eps, eps);
    if (cfg.gate === "linear") for (let i = 0; i < n; i++) noise[i * n + i] += 1;
    const biasInit = cfg.gate === "split" || cfg.gate === "multiplicative" ? 1 : 0;
    const a = cfg.tinyAttention;
    return {
      norm: initNorm("layer", d),
      u: normalVariable(r, [d, f], cfg.initStd),
      bu: zerosVariable([f]),
      gateNorm: initNorm("layer", g),
      w: variableFrom(() => tf.tensor2d(noise, [n, n])),
      bw: variableFrom(() => tf.fill([n], biasInit)),
      v: normalVariable(r, [g, d], outStd),
      bv: zerosVariable([d]),
      attn:
        a > 0
          ? {
              wqkv: normalVariable(r, [d, 3 * a], cfg.initStd),
              bqkv: zerosVariable([3 * a]),
              wo: normalVariable(r, [a, g], cfg.initStd),
              bo: zerosVariable([g]),
            }
          : undefined,
    };
  });
}

/** [t, t] lower-triangular 0/1 mask, cached. */
const trilMasks = new Map<number, tf.Tensor>();
function tril(t: number): tf.Tensor {
  let m = trilMasks.get(t);
  if (!m || m.isDisposed) {
    m = tf.keep(tf.linalg.bandPart(tf.ones([t, t]), -1, 0));
    trilMasks.set(t, m);
  }
  return m;
}

/** W restricted to the first t tokens (and masked causal if configured): [t, t]. */
export function spatialWeights(cfg: GmlpConfig, p: GmlpBlockParams, t: number): tf.Tensor2D {
  return tf.tidy(() => {
    const w = t === cfg.seqLen ? p.w : tf.slice(p.w, [0, 0], [t, t]);
    return (cfg.causal ? tf.mul(w, tril(t)) : w) as tf.Tensor2D;
  });
}

/** f(Z) = W·Z + b over the token axis: out[b, i, c] = Σ_j W[i, j] Z[b, j, c] + bias[i]. z is [B·T, C]. */
function spatialProjection(cfg: GmlpConfig, p: GmlpBlockParams, z: tf.Tensor, b: number, t: number): tf.Tensor {
  const c = z.shape[1]!;
  const w = spatialWeights(cfg, p, t);
  const bias = tf.reshape(t === cfg.seqLen ? p.bw : tf.slice(p.bw, [0], [t]), [t, 1]);
  const tokensFirst = tf.reshape(tf.transpose(tf.reshape(z, [b, t, c]), [1, 0, 2]), [t, b * c]); // [T, B·C]
  const mixed = tf.add(tf.matMul(w, tokensFirst), bias); // [T, B·C]
  return tf.reshape(tf.transpose(tf.reshape(mixed, [t, b, c]), [1, 0, 2]), [b * t, c]);
}

/** aMLP's single-head attention on LN(X): softmax(q kᵀ/√A) v, projected to the gate width. */
function tinyAttention(cfg: GmlpConfig, p: TinyAttentionParams, x: tf.Tensor, b: number, t: number): tf.Tensor {
  const a = cfg.tinyAttention;
  const [q, k, v] = tf.split(tf.reshape(linear(x, p.wqkv, p.bqkv), [b, t, 3 * a]), 3, 2); // [B, T, A] each
  const { out } = scaledDotProductAttention(q, k, v, { causal: cfg.causal });
  return linear(tf.reshape(out, [b * t, a]), p.wo, p.bo);
}

const layerNormSpec = (cfg: GmlpConfig) => ({ kind: "layer" as const, eps: cfg.normEps, fraction: 1 });

/**
 * s(Z) for the configured gate. Z = [Z₁ ‖ Z₂]: for the split gate z1, z2 are the halves [B·T, F/2];
 * otherwise z1 = z2 = Z [B·T, F]. xNorm = LN(X) [B·T, D] (for aMLP).
 */
function gate(cfg: GmlpConfig, p: GmlpBlockParams, z1: tf.Tensor, z2: tf.Tensor, xNorm: tf.Tensor, b: number, t: number): tf.Tensor {
  let fz = spatialProjection(cfg, p, applyNorm(layerNormSpec(cfg), p.gateNorm, z2), b, t);
  if (p.attn) fz = tf.add(fz, tinyAttention(cfg, p.attn, xNorm, b, t));
  switch (cfg.gate) {
    case "linear":
      return fz;
    case "additive":
      return tf.add(z2, fz);
    case "multiplicative":
    case "split":
      return tf.mul(z1, fz);
  }
}

/**
 * One gMLP block on the residual stream x [B·T, D]. For the split gate Z₁ and Z₂ come from the two
 * column halves of U: the same numbers as splitting Z, but slicing the small weight is far cheaper
 * on this engine than slicing the [B·T, F] activation along its columns (a strided copy).
 */
export function gmlpBlock(cfg: GmlpConfig, p: GmlpBlockParams, x: tf.Tensor, b: number, t: number): tf.Tensor {
  const xNorm = applyNorm(layerNormSpec(cfg), p.norm, x);
  const { dModel: d, dFF: f } = cfg;
  let z1: tf.Tensor, z2: tf.Tensor;
  if (cfg.gate === "split") {
    const half = (start: number) =>
      activate("gelu", linear(xNorm, tf.slice(p.u, [0, start], [d, f / 2]), tf.slice(p.bu, [start], [f / 2])));
    z1 = half(0);
    z2 = half(f / 2);
  } else {
    z1 = z2 = activate("gelu", linear(xNorm, p.u, p.bu)); // [B·T, F]
  }
  return tf.add(x, linear(gate(cfg, p, z1, z2, xNorm, b, t), p.v, p.bv));
}

/** Runs x [B·T, D] through every block, then the final LayerNorm. */
export function gmlpBlocks(
  cfg: GmlpConfig,
  blocks: GmlpBlockParams[],
  finalNorm: NormParams,
  x: tf.Tensor,
  b: number,
  t: number,
): tf.Tensor {
  if (t > cfg.seqLen) throw new Error(`gMLP: ${t} tokens exceed seqLen ${cfg.seqLen} (W is ${cfg.seqLen}×${cfg.seqLen})`);
  for (const p of blocks) x = gmlpBlock(cfg, p, x, b, t);
  return applyNorm(layerNormSpec(cfg), finalNorm, x);
}

// ---------------------------------------------------------------------------------------------
// Token model (masked or causal LM): embeddings → blocks → LN → tied unembedding

export interface GmlpParams {
  config: GmlpConfig;
  tokenEmbedding: tf.Variable; // [V, D]
  blocks: GmlpBlockParams[];
  finalNorm: NormParams;
}

export function initGmlp(config: Partial<GmlpConfig>, rng?: Rng): GmlpParams {
  const cfg = gmlpConfig(config);
  const r = rng ?? createRng(cfg.seed);
  return {
    config: cfg,
    tokenEmbedding: normalVariable(r, [cfg.vocabSize, cfg.dModel], cfg.initStd),
    blocks: initGmlpBlocks(cfg, r),
    finalNorm: initNorm("layer", cfg.dModel),
  };
}

/** Token ids [B, T] → logits [B, T, V]. */
export function gmlpForward(params: GmlpParams, tokens: tf.Tensor): tf.Tensor {
  const cfg = params.config;
  if (tokens.rank !== 2) throw new Error(`gmlpForward: tokens must be [B, T], got shape [${tokens.shape}]`);
  const [b, t] = tokens.shape;
  return tf.tidy(() => {
    const ids = tf.reshape(tokens.dtype === "int32" ? tokens : tf.cast(tokens, "int32"), [b * t]);
    const x = gmlpBlocks(cfg, params.blocks, params.finalNorm, tf.gather(params.tokenEmbedding, ids), b, t);
    return tf.reshape(tf.matMul(x, params.tokenEmbedding, false, true), [b, t, cfg.vocabSize]);
  });
}

/** A gMLP as a language model for `trainLanguageModel` (fresh weights from the config's seed). */
export function gmlpLm(config: Partial<GmlpConfig>): {
  params: GmlpParams;
  seqLen: number;
  vocabSize: number;
  logits(tokens: tf.Tensor): tf.Tensor;
} {
  const params = initGmlp(config);
  return { params, seqLen: params.config.seqLen, vocabSize: params.config.vocabSize, logits: (tokens) => gmlpForward(params, tokens) };
}

/** Scalar parameters of one gMLP block, by formula (checked against the built model in the tests). */
export function gmlpBlockParameterCount(cfg: Pick<GmlpConfig, "dModel" | "dFF" | "gate" | "seqLen" | "tinyAttention">): number {
  const { dModel: d, dFF: f, seqLen: n, tinyAttention: a } = cfg;
  const g = gateWidth(cfg);
  return 2 * d + (d * f + f) + 2 * g + (n * n + n) + (g * d + d) + (a > 0 ? d * 3 * a + 3 * a + a * g + g : 0);
}

/** Scalar parameters of the token model (embedding, blocks, final norm), by formula. */
export function gmlpParameterCount(cfg: GmlpConfig): number {
  return cfg.vocabSize * cfg.dModel + cfg.nLayers * gmlpBlockParameterCount(cfg) + 2 * cfg.dModel;
}
