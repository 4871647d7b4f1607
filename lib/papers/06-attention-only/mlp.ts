/**
 * MLPs as attention heads (Huben & Morris 2023): one head per hidden unit (Theorem 3), or the
 * linear maps and the activation as separate heads (Theorems 7–8). Over the augmented stream
 * (heads.ts), for unit h with pre-activation s = x·w₁,h + b₁,h:
 *
 *   Theorem 3 (a unit is a head)      logit(i → i) = 2Ω + βs_i,  logit(i → bias) = 2Ω,  other tokens βs_i
 *                                     → weight σ(βs_i) on itself, the rest on the bias token (value 0);
 *                                     value s, output W₂[h]: σ(βs)·s·W₂[h] = SiLU(βs)/β · W₂[h]
 *   Theorem 7 (a linear map)          a head attending to itself (2Ω on the position diagonal) with
 *                                     W_OV = W − I: with the residual, x ← x + x(W − I) = xW
 *   Theorem 8 (SiLU on a channel c)   logit(i → i) = 2Ω − βx_c, → bias 2Ω, value −x_c:
 *                                     x_c ← x_c − x_c σ(−βx_c) = x_c σ(βx_c)
 *
 * β = 1 is SiLU; ReLU ≈ SiLU(βs)/β (max error 0.2785/β), GELU ≈ SiLU(1.702 s)/1.702.
 * `margin: "forbidden"` writes the same pattern the other way round (Theorem 9's form): 0 added to
 * the self and bias logits, −2Ω to every other token. The paper's form adds 2Ω to the two allowed
 * logits, so float32 rounds βs to ~2Ω·2⁻²⁴; the forbidden form never adds anything to them.
 * Biases enter through the token one-hots (isToken), so the bias row's value is always 0.
 */
import * as tf from "@tensorflow/tfjs";
import type { MlpParams } from "../../models/transformer";
import {
  type AugmentedLayout,
  type HeadStack,
  type RunHeadsOptions,
  augmentStream,
  augmentedLayout,
  constantHead,
  encodeMask,
  headStack,
  oAt,
  qkAt,
  runHeads,
  runHeads64,
  tokenColumns,
  vAt,
} from "./heads";

export const MLP_ACTIVATIONS = ["silu", "relu", "gelu"] as const;
export type MlpActivation = (typeof MLP_ACTIVATIONS)[number];

/** The β used for an activation when none is given: SiLU exactly, GELU's 1.702, ReLU's 10. */
export function defaultBeta(activation: MlpActivation): number {
  return activation === "silu" ? 1 : activation === "gelu" ? 1.702 : 10;
}

/** An MLP's weights (variables of a model, or plain tensors): W₁ [d, F], b₁ [F], W₂ [F, d], b₂ [d]. */
export type MlpWeights = { [K in keyof MlpParams]: tf.Tensor };

interface Mlp64 {
  d: number;
  f: number;
  w1: number[][];
  b1: number[];
  w2: number[][];
  b2: number[];
}

function readMlp(mlp: MlpWeights, who: string): Mlp64 {
  const [d, f] = mlp.w1.shape as [number, number];
  if (mlp.w1.rank !== 2 || mlp.w2.shape[0] !== f || mlp.w2.shape[1] !== d || mlp.b1.size !== f || mlp.b2.size !== d) {
    throw new Error(
      `${who}: shapes do not form an MLP: w1 [${mlp.w1.shape}], b1 [${mlp.b1.shape}], w2 [${mlp.w2.shape}], b2 [${mlp.b2.shape}]`,
    );
  }
  return {
    d,
    f,
    w1: mlp.w1.arraySync() as number[][],
    b1: Array.from(mlp.b1.dataSync()),
    w2: mlp.w2.arraySync() as number[][],
    b2: Array.from(mlp.b2.dataSync()),
  };
}

function checkOmega(who: string, omega: number): void {
  if (!(omega >= 0 && Number.isFinite(omega))) throw new Error(`${who}: omega must be a number ≥ 0, got ${omega}`);
}

function checkOmegaBeta(who: string, omega: number, beta: number): void {
  checkOmega(who, omega);
  if (!(beta > 0 && Number.isFinite(beta))) throw new Error(`${who}: beta must be a positive number, got ${beta}`);
}

function resolveBeta(who: string, activation: MlpActivation, beta: number | undefined): number {
  if (!MLP_ACTIVATIONS.includes(activation))
    throw new Error(`${who}: activation must be one of ${MLP_ACTIVATIONS.join(", ")}, got "${activation}"`);
  if (activation === "silu" && beta !== undefined && beta !== 1)
    throw new Error(`${who}: a SiLU MLP is converted exactly; beta applies to relu and gelu only`);
  return beta ?? defaultBeta(activation);
}

/**
 * The attention pattern of Theorems 3 and 8 in head h: weight σ(score) on itself and the rest on
 * the bias token, with `score` written by the caller into qk dim 0. Dims 1…nCtx + 1 hold the margin.
 */
function selfOrBias(s: HeadStack, h: number, layout: AugmentedLayout, omega: number, margin: "allowed" | "forbidden"): void {
  for (let p = 1; p <= layout.nCtx; p++) s.wk[qkAt(s, h, layout.position + p, 0)] = 1; // score_i · isToken_j
  if (margin === "forbidden") {
    encodeMask(s, h, layout, 1, 2 * omega, (i, j) => j === i || j === 0);
    return;
  }
  for (let p = 0; p <= layout.nCtx; p++) {
    s.wk[qkAt(s, h, layout.position + p, 1 + p)] = 1;
    s.wq[qkAt(s, h, layout.position + p, 1 + p)] = 2 * omega; // 2Ω · [i = j]
    s.wq[qkAt(s, h, layout.position + p, 1)] = 2 * omega; // 2Ω · [j = bias token] (the same entry for p = 0)
  }
}

export interface MlpToHeadsOptions {
  /** Ω: the pattern's margin is 2Ω. */
  omega: number;
  /** Longest sequence the heads serve (the position columns). */
  nCtx: number;
  /** The MLP's activation; relu and gelu are realised as SiLU(βs)/β. */
  activation?: MlpActivation;
  /** β of the SiLU approximation (default: `defaultBeta`). */
  beta?: number;
  /** "allowed" (the paper's: +2Ω on the self and bias logits) or "forbidden" (−2Ω on the others). Default "allowed". */
  margin?: "allowed" | "forbidden";
  /**
   * The MLP reads g ⊙ x + c (a norm's gain and bias, folded into the heads so the stream keeps the
   * normalised x̂ alone); default g = 1, c = 0.
   */
  inputGain?: ArrayLike<number>;
  inputBias?: ArrayLike<number>;
  /**
   * When given, the bias row's logits to the tokens get −maskOmega (a mask in the weights, Theorem 9)
   * and the b₂ head's margin is maskOmega: then, without a built-in causal mask, the bias row still
   * attends only to itself. Default: 2Ω for the b₂ head and no bias-row term.
   */
  maskOmega?: number;
}

/**
 * Theorem 3: the MLP x ↦ act(x W₁ + b₁) W₂ + b₂ (W₁ [d, F]) as F unit heads (value width 1, query
 * width nCtx + 2) and one head for b₂, over a stream whose first d columns are x.
 */
export function mlpToHeads(mlp: MlpWeights, options: MlpToHeadsOptions): HeadStack[] {
  const who = "mlpToHeads";
  const beta = resolveBeta(who, options.activation ?? "silu", options.beta);
  checkOmegaBeta(who, options.omega, beta);
  const m = readMlp(mlp, who);
  const layout = augmentedLayout(m.d, options.nCtx);
  const gain = options.inputGain ?? new Array<number>(m.d).fill(1);
  const shift = options.inputBias ?? new Array<number>(m.d).fill(0);
  if (gain.length !== m.d || shift.length !== m.d) throw new Error(`${who}: inputGain and inputBias need ${m.d} entries`);
  const s = headStack(m.f, layout.width, layout.nCtx + 2, 1);
  for (let h = 0; h < m.f; h++) {
    let c = m.b1[h]; // s = x̂·(g ⊙ w₁) + (c·w₁ + b₁)·isToken
    for (let r = 0; r < m.d; r++) {
      const u = gain[r] * m.w1[r][h];
      s.wq[qkAt(s, h, r, 0)] = beta * u;
      s.wv[vAt(s, h, r, 0)] = u;
      c += shift[r] * m.w1[r][h];
    }
    for (let p = 1; p <= layout.nCtx; p++) {
      s.wq[qkAt(s, h, layout.position + p, 0)] = beta * c;
      s.wv[vAt(s, h, layout.position + p, 0)] = c;
    }
    selfOrBias(s, h, layout, options.omega, options.margin ?? "allowed");
    if (options.maskOmega !== undefined) s.wq[qkAt(s, h, layout.position, 0)] = -options.maskOmega; // bias row ↛ tokens
    for (let col = 0; col < m.d; col++) s.wo[oAt(s, h, 0, col)] = m.w2[h][col];
  }
  return [s, constantHead(m.b2, layout, options.maskOmega ?? 2 * options.omega)];
}

/**
 * Theorem 7: one head that, added to the residual stream, maps the model columns x ↦ x W + b
 * (W [m, m]): it attends to itself (2Ω on the position diagonal) with value [x | isToken] and
 * output [W − I ; b].
 */
export function linearMapHead(w: number[][], b: ArrayLike<number>, layout: AugmentedLayout, omega: number): HeadStack {
  const m = layout.model;
  if (w.length !== m || w.some((row) => row.length !== m) || b.length !== m)
    throw new Error(`linearMapHead: W must be [${m}, ${m}] and b [${m}] for a stream with ${m} model columns`);
  checkOmega("linearMapHead", omega);
  const s = headStack(1, layout.width, layout.nCtx + 1, m + 1);
  for (let p = 0; p <= layout.nCtx; p++) {
    s.wq[qkAt(s, 0, layout.position + p, p)] = 2 * omega;
    s.wk[qkAt(s, 0, layout.position + p, p)] = 1;
  }
  for (let r = 0; r < m; r++) s.wv[vAt(s, 0, r, r)] = 1;
  for (let p = 1; p <= layout.nCtx; p++) s.wv[vAt(s, 0, layout.position + p, m)] = 1;
  for (let r = 0; r < m; r++) for (let c = 0; c < m; c++) s.wo[oAt(s, 0, r, c)] = w[r][c] - (r === c ? 1 : 0);
  for (let c = 0; c < m; c++) s.wo[oAt(s, 0, m, c)] = b[c];
  return s;
}

/**
 * Theorem 8: one head per listed model column c that, added to the residual stream, replaces x_c
 * by x_c σ(βx_c) (SiLU for β = 1) and leaves every other column alone.
 */
export function siluHeads(channels: readonly number[], layout: AugmentedLayout, omega: number, beta = 1): HeadStack {
  checkOmegaBeta("siluHeads", omega, beta);
  if (channels.length === 0 || channels.some((c) => !(Number.isInteger(c) && c >= 0 && c < layout.model)))
    throw new Error(`siluHeads: channels must be model columns in 0…${layout.model - 1}, got [${channels}]`);
  const s = headStack(channels.length, layout.width, layout.nCtx + 2, 1);
  channels.forEach((c, h) => {
    s.wq[qkAt(s, h, c, 0)] = -beta; // score −βx_c: weight σ(−βx_c) on itself
    selfOrBias(s, h, layout, omega, "allowed");
    s.wv[vAt(s, h, c, 0)] = -1;
    s.wo[oAt(s, h, 0, c)] = 1;
  });
  return s;
}

/**
 * Theorems 7 and 8 composed: the residual MLP block x ↦ x + act(x W₁ + b₁) W₂ + b₂ as three
 * attention layers over a stream with room for the hidden units, [x (d) | z (F) | positions]:
 * a linear head writes z = x W₁ + b₁, F SiLU heads apply the activation in place, and a linear
 * head adds z W₂ + b₂ to x and clears z. Returns the layers (each a list of stacks) and the layout.
 */
export function separateMlpLayers(
  mlp: MlpWeights,
  options: { omega: number; nCtx: number; activation?: MlpActivation; beta?: number },
): { layers: HeadStack[][]; layout: AugmentedLayout } {
  const who = "separateMlpLayers";
  const beta = resolveBeta(who, options.activation ?? "silu", options.beta);
  const { d, f, w1, b1, w2, b2 } = readMlp(mlp, who);
  const layout = augmentedLayout(d + f, options.nCtx);
  const identity = (n: number): number[][] => Array.from({ length: n }, (_, r) => Array.from({ length: n }, (_, c) => (r === c ? 1 : 0)));
  const expand = identity(d + f); // x stays, z ← x W₁
  for (let r = 0; r < d; r++) for (let h = 0; h < f; h++) expand[r][d + h] = w1[r][h];
  const contract = identity(d + f); // x ← x + z W₂, z ← 0
  for (let h = 0; h < f; h++) {
    contract[d + h][d + h] = 0;
    for (let c = 0; c < d; c++) contract[d + h][c] = w2[h][c];
  }
  const hidden = Array.from({ length: f }, (_, h) => d + h);
  return {
    layout,
    layers: [
      [linearMapHead(expand, [...new Array<number>(d).fill(0), ...b1], layout, options.omega)],
      [siluHeads(hidden, layout, options.omega, beta)],
      [linearMapHead(contract, [...b2, ...new Array<number>(f).fill(0)], layout, options.omega)],
    ],
  };
}

/** Layers applied with the residual, A ← A + Σ heads(A), no norm: [B, N, W] → [B, N, W] (float32). */
export function runResidualLayers(layers: readonly HeadStack[][], stream: tf.Tensor3D, options: RunHeadsOptions): tf.Tensor3D {
  return tf.tidy(() => layers.reduce((a, layer) => tf.add(a, runHeads(layer, a, options)) as tf.Tensor3D, stream));
}

/** The same in float64 for one sequence, rows [N][W]. */
export function runResidualLayers64(
  layers: readonly HeadStack[][],
  rows: readonly ArrayLike<number>[],
  options: RunHeadsOptions,
): Float64Array[] {
  return layers.reduce<Float64Array[]>(
    (a, layer) => {
      const add = runHeads64(layer, a, options);
      return a.map((r, i) => r.map((v, c) => v + add[i][c]));
    },
    rows.map((r) => Float64Array.from(r)),
  );
}

/** The MLP computed by its heads (Theorem 3, one layer, no residual): x [B, T, d] → [B, T, d]. */
export function mlpViaHeads(stacks: readonly HeadStack[], x: tf.Tensor3D, options: RunHeadsOptions): tf.Tensor3D {
  const d = x.shape[2];
  const layout = augmentedLayout(d, stacks[0].width - d - 1);
  return tf.tidy(() => tokenColumns(runHeads(stacks, augmentStream(x, layout), options), layout));
}

/** The same in float64 for one sequence: x [T][d] → [T][d]. */
export function mlpViaHeads64(stacks: readonly HeadStack[], x: readonly ArrayLike<number>[], options: RunHeadsOptions): number[][] {
  const d = x[0].length;
  const layout = augmentedLayout(d, stacks[0].width - d - 1);
  const rows = [
    new Float64Array(layout.width),
    ...x.map((r) => Float64Array.from([...Array.from(r), ...new Array<number>(layout.nCtx + 1).fill(0)])),
  ];
  rows.forEach((r, i) => {
    r[layout.position + i] = 1;
  });
  return runHeads64(stacks, rows, options)
    .slice(1)
    .map((r) => Array.from(r.subarray(0, d)));
}

/** A SiLU MLP in float64 (the official code's precision): x [T][d] → [T][d]. */
export function siluMlp64(mlp: MlpWeights, x: readonly ArrayLike<number>[]): number[][] {
  const { d, f, w1, b1, w2, b2 } = readMlp(mlp, "siluMlp64");
  return x.map((row) => {
    const out = Array.from(b2);
    for (let h = 0; h < f; h++) {
      let s = b1[h];
      for (let r = 0; r < d; r++) s += row[r] * w1[r][h];
      const a = s / (1 + Math.exp(-s));
      for (let c = 0; c < d; c++) out[c] += a * w2[h][c];
    }
    return out;
  });
}

/**
 * The official code's test of Theorem 3 (`test_FFN` in ffn_via_attention_single_layer.py), in
 * float64: the MLP's unit heads run over the augmented sequence x [T][d], and the largest absolute
 * difference, entry by entry over the whole augmented output — the bias row and the position columns
 * included, both 0 in the reference — from the MLP computed directly. The official test uses no mask
 * (`causal: false`), Ω = 1000 and a tolerance of 1e-10.
 */
export function officialFfnError64(mlp: MlpWeights, x: readonly ArrayLike<number>[], options: { omega: number; causal: boolean }): number {
  const d = mlp.w1.shape[0];
  if (x.length === 0 || x.some((r) => r.length !== d)) throw new Error(`officialFfnError64: x must be [T][${d}] with T ≥ 1`);
  const heads = mlpToHeads(mlp, { omega: options.omega, nCtx: x.length });
  const layout = augmentedLayout(d, x.length);
  const rows = [new Float64Array(layout.width), ...x.map((r) => Float64Array.from({ length: layout.width }, (_, c) => (c < d ? r[c] : 0)))];
  rows.forEach((r, i) => {
    r[layout.position + i] = 1;
  });
  const out = runHeads64(heads, rows, { causal: options.causal });
  const ref = siluMlp64(mlp, x);
  let worst = 0;
  out.forEach((r, i) =>
    r.forEach((v, c) => {
      const want = i > 0 && c < d ? ref[i - 1][c] : 0;
      worst = Math.max(worst, Math.abs(v - want));
    }),
  );
  return worst;
}
