/**
 * A whole Pre-LN transformer made attention-only (Huben & Morris 2023, Theorem 6). The converted
 * model has its own residual stream, the augmented one (heads.ts): the bias token is its row 0 and
 * the position one-hots are its last nCtx + 1 columns, written once at the embedding and carried
 * by every layer after it. Each block becomes two attention layers over that stream:
 *
 *   x ← x + Attn(N₁(x))   →   A ← A + Σ (its H heads, extended; one head for b_O)(N(A))
 *   x ← x + MLP(N₂(x))    →   A ← A + Σ (F unit heads, Theorem 3; one head for b₂)(N(A))
 *
 * The attention heads keep their weights on the model columns and gain nCtx + 1 query/key dims that
 * write a mask into the weights (Theorem 9, margin maskOmega): a token never sees the bias token,
 * the bias token sees only itself, and — when the source is causal — no token sees the future. So
 * the converted model runs with or without the built-in causal mask (`causal` option).
 *
 * Normalisation. N standardises the model columns only, x̂ = (x − μ)/√(σ² + ε) over the first d
 * columns (x/√(mean x² + ε) for RMSNorm), and passes the position columns through unchanged. The
 * norm's gain g and bias c are folded into the heads that read it: a weight w on N(x) becomes g ⊙ w
 * on x̂, plus (c·w) on every token one-hot — a constant on token rows and 0 on the bias row. The bias
 * row's model columns are 0, so x̂ = 0 there, every head's value on it is 0, and it stays 0. With
 * `normColumns: "full"` N standardises the whole augmented row instead (a LayerNorm that does not
 * know the bookkeeping columns): the control.
 *
 * Notebook: notebooks/06-attention-only.ipynb. Tests: test/papers/06-attention-only.test.ts.
 */
import * as tf from "@tensorflow/tfjs";
import { type NormKind, applyNorm, layerNorm, partialRmsNorm, rmsNorm } from "../../models/norms";
import type { AttentionParams, TransformerConfig, TransformerParams } from "../../models/transformer";
import { embedTokens, unembed } from "../../models/transformer";
import {
  type AugmentedLayout,
  type HeadStack,
  augmentStream,
  augmentedLayout,
  constantHead,
  encodeMask,
  headCount,
  headStack,
  oAt,
  qkAt,
  runHeads,
  tokenColumns,
  vAt,
} from "./heads";
import { mlpToHeads } from "./mlp";

export interface AttentionOnlyOptions {
  /** Ω of the MLP unit heads (their margin is 2Ω). */
  omega: number;
  /** Ω of the masks written into the attention heads and the bias heads (Theorem 9). */
  maskOmega: number;
  /** β for relu and gelu units (default: `defaultBeta`). */
  beta?: number;
  /** "model" (ours: statistics over the d model columns) or "full" (the whole augmented row; the control). Default "model". */
  normColumns?: "model" | "full";
}

export interface AttentionOnlyTransformer {
  /** Embeddings, final norm and unembedding are read from it. */
  source: TransformerParams;
  layout: AugmentedLayout;
  /** Two per block: the attention layer's heads, then the MLP's; each a list of head stacks. */
  layers: HeadStack[][];
  normColumns: "model" | "full";
  /** Heads in total. */
  headCount: number;
}

const normOf = (p: { gain: tf.Tensor; bias?: tf.Tensor }, d: number) => ({
  gain: Array.from(p.gain.dataSync()),
  bias: p.bias ? Array.from(p.bias.dataSync()) : new Array<number>(d).fill(0),
});

/** Block l's attention as H heads over the augmented stream (plus the b_O head). */
function attentionHeads(
  cfg: TransformerConfig,
  attn: AttentionParams,
  norm: { gain: number[]; bias: number[] },
  layout: AugmentedLayout,
  maskOmega: number,
): HeadStack[] {
  const d = cfg.dModel,
    hd = d / cfg.nHeads,
    scale = 1 / Math.sqrt(hd);
  const s = headStack(cfg.nHeads, layout.width, hd + layout.nCtx + 1, hd);
  const [wq, wk, wv, wo] = [attn.wq, attn.wk, attn.wv, attn.wo].map((w) => w.arraySync() as number[][]);
  const [bq, bk, bv] = [attn.bq, attn.bk, attn.bv].map((b) => b.dataSync());
  for (let h = 0; h < cfg.nHeads; h++) {
    for (let k = 0; k < hd; k++) {
      const col = h * hd + k;
      let cq = bq[col],
        ck = bk[col],
        cv = bv[col];
      for (let r = 0; r < d; r++) {
        s.wq[qkAt(s, h, r, k)] = norm.gain[r] * wq[r][col] * scale;
        s.wk[qkAt(s, h, r, k)] = norm.gain[r] * wk[r][col];
        s.wv[vAt(s, h, r, k)] = norm.gain[r] * wv[r][col];
        cq += norm.bias[r] * wq[r][col];
        ck += norm.bias[r] * wk[r][col];
        cv += norm.bias[r] * wv[r][col];
      }
      for (let p = 1; p <= layout.nCtx; p++) {
        s.wq[qkAt(s, h, layout.position + p, k)] = cq * scale;
        s.wk[qkAt(s, h, layout.position + p, k)] = ck;
        s.wv[vAt(s, h, layout.position + p, k)] = cv;
      }
      for (let c = 0; c < d; c++) s.wo[oAt(s, h, k, c)] = wo[col][c];
    }
    encodeMask(s, h, layout, hd, maskOmega, (i, j) => (i === 0 || j === 0 ? i === j : !cfg.causal || j <= i));
  }
  return [s, constantHead(attn.bo.dataSync(), layout, maskOmega)];
}

/** Converts every block of a Pre-LN transformer (activation silu, or relu/gelu via SiLU(βs)/β). */
export function toAttentionOnly(params: TransformerParams, options: AttentionOnlyOptions): AttentionOnlyTransformer {
  const cfg = params.config;
  if (cfg.normPlacement !== "pre") throw new Error('toAttentionOnly: needs a Pre-LN transformer (normPlacement "pre")');
  if (cfg.activation === "linear") throw new Error('toAttentionOnly: converts MLPs with activation silu, relu or gelu, got "linear"');
  for (const [name, v] of [
    ["omega", options.omega],
    ["maskOmega", options.maskOmega],
  ] as const)
    if (!(v >= 0 && Number.isFinite(v))) throw new Error(`toAttentionOnly: ${name} must be a number ≥ 0, got ${v}`);
  const normColumns = options.normColumns ?? "model";
  if (normColumns !== "model" && normColumns !== "full")
    throw new Error(`toAttentionOnly: normColumns must be "model" or "full", got "${normColumns}"`);
  const layout = augmentedLayout(cfg.dModel, cfg.seqLen);
  const layers = params.blocks.flatMap((p) => {
    const n2 = normOf(p.norm2, cfg.dModel);
    return [
      attentionHeads(cfg, p.attn, normOf(p.norm1, cfg.dModel), layout, options.maskOmega),
      mlpToHeads(p.mlp, {
        omega: options.omega,
        nCtx: cfg.seqLen,
        activation: cfg.activation as "silu" | "relu" | "gelu",
        beta: cfg.activation === "silu" ? undefined : options.beta,
        inputGain: n2.gain,
        inputBias: n2.bias,
        maskOmega: options.maskOmega,
      }),
    ];
  });
  return { source: params, layout, layers, normColumns, headCount: layers.reduce((sum, l) => sum + headCount(l), 0) };
}

/** The norm's standardisation alone (unit gain, no bias) over the last axis. */
function standardise(kind: NormKind, eps: number, fraction: number, x: tf.Tensor): tf.Tensor {
  const n = x.shape[x.rank - 1];
  if (kind === "layer") return layerNorm(x, tf.ones([n]), tf.zeros([n]), eps);
  if (kind === "rms") return rmsNorm(x, tf.ones([n]), eps);
  return partialRmsNorm(x, tf.ones([n]), fraction, eps);
}

export interface AttentionOnlyRunOptions {
  /** Use the built-in causal mask (default true); without it the masks written in the weights do the work. */
  causal?: boolean;
}

/** The converted model's residual stream after its last layer, [B, T + 1, W] (before the final norm). */
export function attentionOnlyStream(
  model: AttentionOnlyTransformer,
  tokens: tf.Tensor,
  options: AttentionOnlyRunOptions = {},
): tf.Tensor3D {
  const cfg = model.source.config;
  if (tokens.rank !== 2) throw new Error(`attentionOnlyStream: tokens must be [B, T], got shape [${tokens.shape}]`);
  const [b, t] = tokens.shape;
  const { model: d, width } = model.layout;
  const normalise = (a: tf.Tensor3D) =>
    model.normColumns === "full"
      ? standardise(cfg.norm, cfg.normEps, cfg.normFraction, a)
      : tf.concat(
          [
            standardise(cfg.norm, cfg.normEps, cfg.normFraction, tf.slice(a, [0, 0, 0], [b, t + 1, d])),
            tf.slice(a, [0, 0, d], [b, t + 1, width - d]),
          ],
          2,
        );
  return tf.tidy(() => {
    let a = augmentStream(tf.reshape(embedTokens(model.source, tokens), [b, t, d]), model.layout);
    for (const layer of model.layers) a = tf.add(a, runHeads(layer, normalise(a) as tf.Tensor3D, { causal: options.causal ?? true }));
    return a;
  });
}

/** Logits [B, T, V] of the attention-only model (compare with `transformerForward`). */
export function attentionOnlyForward(model: AttentionOnlyTransformer, tokens: tf.Tensor, options: AttentionOnlyRunOptions = {}): tf.Tensor {
  const params = model.source,
    cfg = params.config;
  const [b, t] = tokens.shape;
  return tf.tidy(() => {
    let x = tf.reshape(tokenColumns(attentionOnlyStream(model, tokens, options), model.layout), [b * t, cfg.dModel]);
    if (params.finalNorm) x = applyNorm({ kind: cfg.norm, eps: cfg.normEps, fraction: cfg.normFraction }, params.finalNorm, x);
    return unembed(params, x, b, t);
  });
}
