/**
 * A Pre-LN transformer with its attention and MLPs converted to attention heads (Huben & Morris
 * 2023, Theorem 6; the norms are kept, see below). The converted
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
 * What is converted: the attention and the MLPs. What is kept, outside attention: the embedding,
 * a norm before every layer, the final norm and the unembedding. The paper's Theorem 6 (like the
 * official code) has no normalisation; keeping the norms as below is our extension.
 *
 * Normalisation (kept, not converted). N standardises the model columns only, x̂ = (x − μ)/√(σ² + ε)
 * over the first d columns (x/√(mean x² + ε) for RMSNorm) — a nonlinear operation that is not
 * attention — and passes the position columns through unchanged. The norm's gain g and bias c are
 * folded into the heads that read it: a weight w on N(x) becomes g ⊙ w on x̂, plus (c·w) on every
 * token one-hot — a constant on token rows and 0 on the bias row. The bias row's model columns are
 * 0, so x̂ = 0 there, every head's value on it is 0, and it stays 0. With `normColumns: "full"` N
 * standardises the whole augmented row instead: these heads fail under it (a control; we did not
 * try a construction that works with such a norm).
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
  /**
   * Sees every layer's input: the stream A [B, T + 1, W] and its normalised form N(A) that the heads
   * read (layer 2l is block l's attention, 2l + 1 its MLP). Read values synchronously; the tensors
   * are disposed afterwards.
   */
  onLayer?: (layer: number, stream: tf.Tensor3D, normalised: tf.Tensor3D) => void;
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
    model.layers.forEach((layer, l) => {
      const n = normalise(a) as tf.Tensor3D;
      options.onLayer?.(l, a, n);
      a = tf.add(a, runHeads(layer, n, { causal: options.causal ?? true }));
    });
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

/**
 * The source model's logits in float64 (plain loops): the reference against which the float32
 * reference (`transformerForward`) shows its own rounding, the float32 noise floor. A Pre-LN
 * transformer with LayerNorm or RMSNorm and SiLU or ReLU MLPs; tokens [B][T] → logits [B][T][V].
 */
export function transformerForward64(params: TransformerParams, tokens: readonly (readonly number[])[]): number[][][] {
  const cfg = params.config;
  const who = "transformerForward64";
  if (cfg.normPlacement !== "pre") throw new Error(`${who}: needs a Pre-LN transformer (normPlacement "pre")`);
  if (cfg.norm !== "layer" && cfg.norm !== "rms") throw new Error(`${who}: norm must be layer or rms, got "${cfg.norm}"`);
  if (cfg.activation !== "silu" && cfg.activation !== "relu")
    throw new Error(`${who}: activation must be silu or relu, got "${cfg.activation}"`);
  const d = cfg.dModel,
    hd = d / cfg.nHeads;
  const mat = (t: tf.Tensor) => t.arraySync() as number[][];
  const vec = (t: tf.Tensor) => Array.from(t.dataSync());
  /** x W (+ b): x [D_in], W [D_in][D_out]. */
  const times = (x: readonly number[], w: number[][], b?: number[]) => {
    const out = b ? b.slice() : new Array<number>(w[0].length).fill(0);
    x.forEach((v, r) => {
      const row = w[r];
      for (let c = 0; c < out.length; c++) out[c] += v * row[c];
    });
    return out;
  };
  const normOf = (p: { gain: tf.Tensor; bias?: tf.Tensor }) => ({ gain: vec(p.gain), bias: p.bias ? vec(p.bias) : undefined });
  const norm = (x: readonly number[], p: { gain: number[]; bias?: number[] }) => {
    const mean = cfg.norm === "layer" ? x.reduce((a, v) => a + v, 0) / d : 0;
    const centred = x.map((v) => v - mean);
    const scale = 1 / Math.sqrt(centred.reduce((a, v) => a + v * v, 0) / d + cfg.normEps);
    return centred.map((v, c) => v * scale * p.gain[c] + (p.bias ? p.bias[c] : 0));
  };
  const act = (s: number) => (cfg.activation === "silu" ? s / (1 + Math.exp(-s)) : Math.max(0, s));
  const emb = mat(params.tokenEmbedding),
    pos = mat(params.positionEmbedding);
  const unemb = params.unembedding ? mat(params.unembedding) : emb[0].map((_, r) => emb.map((row) => row[r])); // [D][V]
  const blocks = params.blocks.map((p) => ({
    n1: normOf(p.norm1),
    n2: normOf(p.norm2),
    a: {
      wq: mat(p.attn.wq),
      bq: vec(p.attn.bq),
      wk: mat(p.attn.wk),
      bk: vec(p.attn.bk),
      wv: mat(p.attn.wv),
      bv: vec(p.attn.bv),
      wo: mat(p.attn.wo),
      bo: vec(p.attn.bo),
    },
    m: { w1: mat(p.mlp.w1), b1: vec(p.mlp.b1), w2: mat(p.mlp.w2), b2: vec(p.mlp.b2) },
  }));
  const finalNorm = params.finalNorm ? normOf(params.finalNorm) : undefined;
  return tokens.map((ids) => {
    const t = ids.length;
    if (t > cfg.seqLen) throw new Error(`${who}: sequence length ${t} exceeds config.seqLen ${cfg.seqLen}`);
    let x = ids.map((id, i) => emb[id].map((v, c) => v + pos[i][c]));
    for (const blk of blocks) {
      const h = x.map((r) => norm(r, blk.n1));
      const q = h.map((r) => times(r, blk.a.wq, blk.a.bq)),
        k = h.map((r) => times(r, blk.a.wk, blk.a.bk)),
        v = h.map((r) => times(r, blk.a.wv, blk.a.bv));
      const mixed = x.map(() => new Array<number>(d).fill(0));
      for (let head = 0; head < cfg.nHeads; head++) {
        const o = head * hd;
        for (let i = 0; i < t; i++) {
          const last = cfg.causal ? i : t - 1;
          const logits: number[] = [];
          for (let j = 0; j <= last; j++) {
            let z = 0;
            for (let c = 0; c < hd; c++) z += q[i][o + c] * k[j][o + c];
            logits.push(z / Math.sqrt(hd));
          }
          const top = Math.max(...logits);
          const e = logits.map((z) => Math.exp(z - top));
          const sum = e.reduce((a, w) => a + w, 0);
          for (let j = 0; j <= last; j++) for (let c = 0; c < hd; c++) mixed[i][o + c] += (e[j] / sum) * v[j][o + c];
        }
      }
      x = x.map((r, i) => times(mixed[i], blk.a.wo, blk.a.bo).map((u, c) => r[c] + u));
      x = x.map((r) => {
        const hidden = times(norm(r, blk.n2), blk.m.w1, blk.m.b1).map(act);
        return times(hidden, blk.m.w2, blk.m.b2).map((u, c) => r[c] + u);
      });
    }
    return x.map((r) => times(finalNorm ? norm(r, finalNorm) : r, unemb));
  });
}
