/**
 * MLPs as attention heads (Huben & Morris 2023, "Attention-Only Transformers and Implementing MLPs
 * with Attention Heads"). An MLP unit with SiLU activation is an attention head whose value/output
 * circuit has dimension 1: over a residual stream augmented with a bias token and one-hot
 * positions, the head puts weight σ(s) on its own token (s = x·w₁ + b₁) and the rest on the bias
 * token (value 0), so it outputs σ(s)·s·w₂ = SiLU(s)·w₂. One head per hidden unit (plus one for
 * the output bias b₂) sums to the MLP layer.
 *
 * Augmented sequence: row 0 is the bias token, rows 1…n the tokens. Columns:
 *   [ x (d) | isToken | isBias | position one-hot (nCtx + 1) ],  width D' = d + 3 + nCtx.
 * Unit h's logits from row i to row j (causal, j ≤ i), with β = 1 for SiLU:
 *   β·s_i·isToken_j  +  2Ω·[i = j]  +  2Ω·isToken_i·isBias_j
 * i.e. self 2Ω + βs, bias token 2Ω, any earlier token βs: those sit 2Ω below and get ≈ e^{−2Ω}.
 * In float32 the logits are O(Ω), so rounding costs ~Ω·1e-7 while leakage costs ~n·e^{−2Ω}: the
 * error against Ω is U-shaped. ReLU and GELU units use SiLU(βs)/β (β large for ReLU, max error
 * 0.2785/β; β = 1.702 for GELU).
 *
 * Notebook: notebooks/06-attention-only.ipynb. Tests: test/papers/06-attention-only.test.ts.
 */
import * as tf from "@tensorflow/tfjs";
import { type NormParams, applyNorm } from "../../models/norms";
import { attentionProbs } from "../../models/ops";
import { type MlpParams, type TransformerParams, embedTokens, transformerAttention, unembed } from "../../models/transformer";

/** Column layout of the augmented stream. */
export interface AugmentedLayout {
  dModel: number;
  nCtx: number;
  /** D' = dModel + 3 + nCtx. */
  width: number;
  isToken: number;
  isBias: number;
  /** First of the nCtx + 1 position columns (position 0 is the bias token). */
  position: number;
}

export function augmentedLayout(dModel: number, nCtx: number): AugmentedLayout {
  if (!(Number.isInteger(dModel) && dModel > 0 && Number.isInteger(nCtx) && nCtx > 0)) {
    throw new Error(`augmentedLayout: dModel and nCtx must be positive integers, got ${dModel}, ${nCtx}`);
  }
  return { dModel, nCtx, width: dModel + 3 + nCtx, isToken: dModel, isBias: dModel + 1, position: dModel + 2 };
}

/** x [B, T, d] → the augmented stream [B, T + 1, D'] (bias token first, then the tokens). */
export function augmentStream(x: tf.Tensor, layout: AugmentedLayout): tf.Tensor3D {
  if (x.rank !== 3 || x.shape[2] !== layout.dModel) throw new Error(`augmentStream: expected [B, T, ${layout.dModel}], got [${x.shape}]`);
  const [b, t] = x.shape;
  if (t > layout.nCtx) throw new Error(`augmentStream: ${t} tokens exceed nCtx ${layout.nCtx}`);
  return tf.tidy(() => {
    const rows = t + 1;
    const extra = new Float32Array(rows * (3 + layout.nCtx));
    for (let i = 0; i < rows; i++) {
      const row = extra.subarray(i * (3 + layout.nCtx), (i + 1) * (3 + layout.nCtx));
      row[i === 0 ? 1 : 0] = 1; // isBias for row 0, isToken otherwise
      row[2 + i] = 1; // position one-hot
    }
    const features = tf.tile(tf.tensor3d(extra, [1, rows, 3 + layout.nCtx]), [b, 1, 1]);
    const xs = tf.concat([tf.zeros([b, 1, layout.dModel]), x], 1);
    return tf.concat([xs, features], 2) as tf.Tensor3D;
  });
}

/** Stacked heads over the augmented stream: logits = (A·wq)(A·wk)ᵀ, out = Σ_h softmax(logits)·(A·wv)·wo. */
export interface AttentionHeads {
  wq: tf.Tensor3D; // [H, D', K]
  wk: tf.Tensor3D; // [H, D', K]
  wv: tf.Tensor3D; // [H, D', 1]
  wo: tf.Tensor3D; // [H, 1, D']
  layout: AugmentedLayout;
}

export const MLP_ACTIVATIONS = ["silu", "relu", "gelu"] as const;

/** An MLP's weights (variables of a model, or plain tensors): W₁ [d, F], b₁ [F], W₂ [F, d], b₂ [d]. */
export type MlpWeights = { [K in keyof MlpParams]: tf.Tensor };

export interface MlpToHeadsOptions {
  /** Ω: the attention logit margin. */
  omega: number;
  /** Longest sequence the heads serve (sets the position columns). */
  nCtx: number;
  /** The MLP's activation; relu and gelu are realised as SiLU(βs)/β. */
  activation?: (typeof MLP_ACTIVATIONS)[number];
  /** β of the SiLU approximation (default 1 for silu, 1.702 for gelu, 10 for relu). */
  beta?: number;
}

/** The β used for an activation when none is given. */
export function defaultBeta(activation: (typeof MLP_ACTIVATIONS)[number]): number {
  return activation === "silu" ? 1 : activation === "gelu" ? 1.702 : 10;
}

/**
 * One attention head per hidden unit of the MLP x ↦ act(x·W₁ + b₁)·W₂ + b₂ (W₁ [d, F], W₂ [F, d]),
 * plus one head for b₂: F + 1 heads of value dimension 1 and query/key dimension nCtx + 3.
 */
export function mlpToAttentionHeads(mlp: MlpWeights, options: MlpToHeadsOptions): AttentionHeads {
  const { omega, nCtx } = options;
  const activation = options.activation ?? "silu";
  if (!MLP_ACTIVATIONS.includes(activation))
    throw new Error(`mlpToAttentionHeads: activation must be one of ${MLP_ACTIVATIONS.join(", ")}, got "${activation}"`);
  const beta = options.beta ?? defaultBeta(activation);
  if (!(omega > 0 && Number.isFinite(omega))) throw new Error(`mlpToAttentionHeads: omega must be a positive number, got ${omega}`);
  if (!(beta > 0 && Number.isFinite(beta))) throw new Error(`mlpToAttentionHeads: beta must be a positive number, got ${beta}`);
  if (activation === "silu" && beta !== 1)
    throw new Error("mlpToAttentionHeads: a SiLU MLP is converted exactly; beta applies to relu and gelu only");
  const [d, f] = mlp.w1.shape as [number, number];
  if (mlp.w2.shape[0] !== f || mlp.w2.shape[1] !== d || mlp.b1.size !== f || mlp.b2.size !== d) {
    throw new Error(
      `mlpToAttentionHeads: shapes do not form an MLP: w1 [${mlp.w1.shape}], b1 [${mlp.b1.shape}], w2 [${mlp.w2.shape}], b2 [${mlp.b2.shape}]`,
    );
  }
  const layout = augmentedLayout(d, nCtx);
  const D = layout.width,
    K = nCtx + 3,
    H = f + 1;
  const w1 = mlp.w1.arraySync() as number[][],
    b1 = mlp.b1.dataSync(),
    w2 = mlp.w2.arraySync() as number[][],
    b2 = mlp.b2.dataSync();
  const wq = new Float32Array(H * D * K),
    wk = new Float32Array(H * D * K),
    wv = new Float32Array(H * D),
    wo = new Float32Array(H * D);
  const at = (h: number, row: number, col: number) => (h * D + row) * K + col;
  for (let h = 0; h < H; h++) {
    // Self: 2Ω·[i = j] through the position one-hots (query 2Ω·pos_i, key pos_j).
    for (let p = 0; p <= nCtx; p++) {
      wq[at(h, layout.position + p, 1 + p)] = 2 * omega;
      wk[at(h, layout.position + p, 1 + p)] = 1;
    }
    if (h < f) {
      // β·s_i·isToken_j: the query carries β·(x·w₁ + b₁·isToken), the key isToken.
      for (let r = 0; r < d; r++) wq[at(h, r, 0)] = beta * w1[r][h];
      wq[at(h, layout.isToken, 0)] = beta * b1[h];
      wk[at(h, layout.isToken, 0)] = 1;
      // 2Ω·isToken_i·isBias_j: every token also sees the bias token at 2Ω.
      wq[at(h, layout.isToken, K - 1)] = 2 * omega;
      wk[at(h, layout.isBias, K - 1)] = 1;
      // Value s_j = x_j·w₁ + b₁·isToken_j (0 on the bias token); output s·W₂[h].
      for (let r = 0; r < d; r++) wv[h * D + r] = w1[r][h];
      wv[h * D + layout.isToken] = b1[h];
      for (let c = 0; c < d; c++) wo[h * D + c] = w2[h][c];
    } else {
      // The b₂ head: attends to itself, value isToken, output b₂.
      wv[h * D + layout.isToken] = 1;
      for (let c = 0; c < d; c++) wo[h * D + c] = b2[c];
    }
  }
  return {
    wq: tf.tensor3d(wq, [H, D, K]),
    wk: tf.tensor3d(wk, [H, D, K]),
    wv: tf.tensor3d(wv, [H, D, 1]),
    wo: tf.tensor3d(wo, [H, 1, D]),
    layout,
  };
}

/** Attention probabilities of every head, [B, H, N, N] (causal). */
export function headPatterns(heads: AttentionHeads, stream: tf.Tensor3D): tf.Tensor4D {
  const [b, n, dw] = stream.shape;
  const [h, dh, k] = heads.wq.shape;
  if (dw !== dh) throw new Error(`headPatterns: the stream has width ${dw}, the heads expect ${dh}`);
  return tf.tidy(() => {
    const flat = tf.reshape(stream, [b * n, dw]);
    const project = (w: tf.Tensor3D) =>
      tf.transpose(tf.reshape(tf.matMul(flat, tf.reshape(tf.transpose(w, [1, 0, 2]), [dw, h * k])), [b, n, h, k]), [0, 2, 1, 3]);
    return attentionProbs(project(heads.wq), project(heads.wk), { causal: true, scale: 1 }) as tf.Tensor4D;
  });
}

/** Σ over heads of softmax(logits)·(A·wv)·wo: [B, N, D'] (written back into the augmented stream's columns). */
export function runAttentionHeads(heads: AttentionHeads, stream: tf.Tensor3D): tf.Tensor3D {
  const [b, n, dw] = stream.shape;
  const h = heads.wq.shape[0];
  return tf.tidy(() => {
    const probs = headPatterns(heads, stream); // [B, H, N, N]
    const values = tf.transpose(
      tf.reshape(tf.matMul(tf.reshape(stream, [b * n, dw]), tf.reshape(tf.transpose(heads.wv, [1, 0, 2]), [dw, h])), [b, n, h, 1]),
      [0, 2, 1, 3],
    ); // [B, H, N, 1]
    const mixed = tf.reshape(tf.transpose(tf.matMul(probs, values), [0, 2, 1, 3]), [b * n, h]); // [B·N, H]
    return tf.reshape(tf.matMul(mixed, tf.reshape(heads.wo, [h, dw])), [b, n, dw]) as tf.Tensor3D;
  });
}

/** The MLP computed by its heads: x [B, T, d] → [B, T, d]. */
export function mlpViaHeads(heads: AttentionHeads, x: tf.Tensor): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, t, d] = x.shape;
    const out = runAttentionHeads(heads, augmentStream(x, heads.layout));
    return tf.slice(out, [0, 1, 0], [b, t, d]) as tf.Tensor3D;
  });
}

export function disposeHeads(heads: AttentionHeads): void {
  tf.dispose([heads.wq, heads.wk, heads.wv, heads.wo]);
}

/**
 * A head that attends uniformly over the allowed positions of `mask` (mask[i][j] = 1 if query
 * position i may see key position j ≤ i), to within e^{−Ω}: logits Ω·(mask − 1) through the position
 * one-hots (Theorem 9's mask encoding). Value and output are the identity on the first column of x,
 * so the head's pattern is the thing to inspect (`headPatterns`).
 */
export function maskHead(mask: number[][], omega: number, layout: AugmentedLayout): AttentionHeads {
  const n = mask.length;
  if (n > layout.nCtx) throw new Error(`maskHead: a ${n}-position mask exceeds nCtx ${layout.nCtx}`);
  mask.forEach((row, i) => {
    if (row.length !== n) throw new Error(`maskHead: row ${i} has ${row.length} entries, expected ${n}`);
    if (!row.slice(0, i + 1).some((v) => v === 1))
      throw new Error(`maskHead: position ${i} may see nothing (row ${i} has no allowed key at or before it)`);
  });
  const D = layout.width,
    K = layout.nCtx + 1;
  const wq = new Float32Array(D * K),
    wk = new Float32Array(D * K),
    wv = new Float32Array(D),
    wo = new Float32Array(D);
  // Token i (augmented row i + 1) against token j (row j + 1): Ω·(mask[i][j] − 1); the bias row is masked out (−Ω).
  for (let i = 0; i <= layout.nCtx; i++) {
    for (let j = 0; j <= layout.nCtx; j++) {
      const allowed = i >= 1 && j >= 1 && i - 1 < n && j - 1 < n ? mask[i - 1][j - 1] === 1 : i === 0 && j === 0;
      wq[(layout.position + i) * K + j] = allowed ? 0 : -omega;
    }
    wk[(layout.position + i) * K + i] = 1;
  }
  wv[0] = 1;
  wo[0] = 1;
  return {
    wq: tf.tensor3d(wq, [1, D, K]),
    wk: tf.tensor3d(wk, [1, D, K]),
    wv: tf.tensor3d(wv, [1, D, 1]),
    wo: tf.tensor3d(wo, [1, 1, D]),
    layout,
  };
}

/** A Pre-LN transformer whose MLPs are attention heads: the same attention layers, no MLP layers. */
export interface AttentionOnlyTransformer {
  source: TransformerParams;
  mlpHeads: AttentionHeads[];
  /** Heads in total (original attention heads + MLP heads). */
  headCount: number;
  /** Width of the augmented stream the MLP heads read. */
  width: number;
}

/**
 * Converts every MLP of a Pre-LN transformer (activation silu, or relu/gelu via SiLU(βs)/β) into
 * attention heads. Norms stay where they were: the MLP heads read the normalised stream N₂(x), as
 * the MLP did, over the augmented layout.
 */
export function toAttentionOnly(
  params: TransformerParams,
  options: Omit<MlpToHeadsOptions, "nCtx" | "activation">,
): AttentionOnlyTransformer {
  const cfg = params.config;
  if (cfg.normPlacement !== "pre") throw new Error('toAttentionOnly: needs a Pre-LN transformer (normPlacement "pre")');
  const activation = cfg.activation;
  if (activation === "linear")
    throw new Error(`toAttentionOnly: converts MLPs with activation ${MLP_ACTIVATIONS.join(", ")}, got "linear"`);
  const mlpHeads = params.blocks.map((b) => mlpToAttentionHeads(b.mlp, { ...options, nCtx: cfg.seqLen, activation }));
  return {
    source: params,
    mlpHeads,
    headCount: cfg.nLayers * cfg.nHeads + mlpHeads.reduce((s, h) => s + h.wq.shape[0], 0),
    width: mlpHeads[0]?.layout.width ?? cfg.dModel,
  };
}

/** Logits [B, T, V] of the attention-only model (compare with `transformerForward`). */
export function attentionOnlyForward(model: AttentionOnlyTransformer, tokens: tf.Tensor): tf.Tensor {
  const params = model.source,
    cfg = params.config;
  const [b, t] = tokens.shape;
  const norm = (np: NormParams, y: tf.Tensor) => applyNorm({ kind: cfg.norm, eps: cfg.normEps, fraction: cfg.normFraction }, np, y);
  return tf.tidy(() => {
    let x = embedTokens(params, tokens);
    params.blocks.forEach((p, l) => {
      x = tf.add(x, transformerAttention(cfg, p.attn, norm(p.norm1, x), b, t).out);
      const viaHeads = mlpViaHeads(model.mlpHeads[l], tf.reshape(norm(p.norm2, x), [b, t, cfg.dModel]));
      x = tf.add(x, tf.reshape(viaHeads, [b * t, cfg.dModel]));
    });
    if (params.finalNorm) x = norm(params.finalNorm, x);
    return unembed(params, x, b, t);
  });
}

export function disposeAttentionOnly(model: AttentionOnlyTransformer): void {
  for (const h of model.mlpHeads) disposeHeads(h);
}
