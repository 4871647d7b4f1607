/**
 * The augmented residual stream and attention heads over it (Huben & Morris 2023, §3; the layout of
 * the official code, `RobertHuben/ffn_via_attention`).
 *
 * Rows: 0 is the bias token, 1…T the tokens (the official code puts the bias token last; first, a
 * causal mask lets every token see it). Columns: the model's m columns, then nCtx + 1 one-hot
 * position columns, position 0 being the bias token's:
 *
 *   A = [ x (m) | pos₀ … pos_nCtx ],   width W = m + nCtx + 1,   bias row = [ 0 | e₀ ]
 *
 * isBias = pos₀ and isToken = Σ_{p≥1} pos_p are linear in the stream, so a weight that needs either
 * reads those columns. A head stack holds H heads of query/key width K and value width V:
 *
 *   logits_h = (A W_Q,h)(A W_K,h)ᵀ    (no 1/√K: any scale is inside W_Q)
 *   out      = Σ_h softmax(logits_h [+ causal mask]) (A W_V,h) W_O,h
 *
 * Weights are kept in float64 so the same heads run in float32 (tfjs, `runHeads`) and in float64
 * (plain loops, `runHeads64`, the precision of the official code).
 */
import * as tf from "@tensorflow/tfjs";
import { attentionProbs } from "../../models/ops";

/** Column layout of the augmented stream. */
export interface AugmentedLayout {
  /** m: the model's own columns (d, or d + F when hidden units live in the stream). */
  model: number;
  nCtx: number;
  /** W = model + nCtx + 1. */
  width: number;
  /** Column of pos₀ (the bias token); token p (row p) has its one-hot at position + p. */
  position: number;
}

export function augmentedLayout(model: number, nCtx: number): AugmentedLayout {
  if (!(Number.isInteger(model) && model > 0 && Number.isInteger(nCtx) && nCtx > 0)) {
    throw new Error(`augmentedLayout: model and nCtx must be positive integers, got ${model}, ${nCtx}`);
  }
  return { model, nCtx, width: model + nCtx + 1, position: model };
}

/** x [B, T, m] → the augmented stream [B, T + 1, W]: the bias token first, then the tokens. */
export function augmentStream(x: tf.Tensor, layout: AugmentedLayout): tf.Tensor3D {
  if (x.rank !== 3 || x.shape[2] !== layout.model) throw new Error(`augmentStream: expected [B, T, ${layout.model}], got [${x.shape}]`);
  const [b, t] = x.shape;
  if (t > layout.nCtx) throw new Error(`augmentStream: ${t} tokens exceed nCtx ${layout.nCtx}`);
  return tf.tidy(() => {
    const positions = tf.tile(tf.reshape(tf.slice(tf.eye(layout.nCtx + 1), [0, 0], [t + 1, layout.nCtx + 1]), [1, t + 1, -1]), [b, 1, 1]);
    const rows = tf.concat([tf.zeros([b, 1, layout.model]), x], 1); // [B, T + 1, m]
    return tf.concat([rows, positions], 2) as tf.Tensor3D;
  });
}

/** The model columns of the token rows: [B, T + 1, W] → [B, T, m]. */
export function tokenColumns(stream: tf.Tensor3D, layout: AugmentedLayout): tf.Tensor3D {
  const [b, n] = stream.shape;
  return tf.slice(stream, [0, 1, 0], [b, n - 1, layout.model]);
}

/** H heads of query/key width K and value width V over a stream of width W (row-major float64). */
export interface HeadStack {
  heads: number;
  width: number;
  qk: number;
  value: number;
  wq: Float64Array; // [H, W, K]
  wk: Float64Array; // [H, W, K]
  wv: Float64Array; // [H, W, V]
  wo: Float64Array; // [H, V, W]
}

/** A stack of zero weights, and index helpers into it. */
export function headStack(heads: number, width: number, qk: number, value: number): HeadStack {
  for (const [name, v] of Object.entries({ heads, width, qk, value }))
    if (!(Number.isInteger(v) && v > 0)) throw new Error(`headStack: ${name} must be a positive integer, got ${v}`);
  return {
    heads,
    width,
    qk,
    value,
    wq: new Float64Array(heads * width * qk),
    wk: new Float64Array(heads * width * qk),
    wv: new Float64Array(heads * width * value),
    wo: new Float64Array(heads * value * width),
  };
}

/** Offsets: q/k entry (head, stream column, qk dim); v entry (head, column, value dim); o entry (head, value dim, column). */
export const qkAt = (s: HeadStack, h: number, col: number, k: number) => (h * s.width + col) * s.qk + k;
export const vAt = (s: HeadStack, h: number, col: number, v: number) => (h * s.width + col) * s.value + v;
export const oAt = (s: HeadStack, h: number, v: number, col: number) => (h * s.value + v) * s.width + col;

/**
 * Writes a mask into head h's query/key dims from `firstDim` on (Theorem 9): logit(i → j) gains
 * Ω·(allowed(i, j) − 1) through the position one-hots — 0 where allowed (so nothing is added to
 * those logits), −Ω elsewhere. `i`, `j` are stream rows (0 = the bias token). Uses nCtx + 1 dims.
 */
export function encodeMask(
  s: HeadStack,
  h: number,
  layout: AugmentedLayout,
  firstDim: number,
  omega: number,
  allowed: (i: number, j: number) => boolean,
): void {
  if (firstDim + layout.nCtx + 1 > s.qk) throw new Error(`encodeMask: dims ${firstDim}…${firstDim + layout.nCtx} exceed K = ${s.qk}`);
  for (let i = 0; i <= layout.nCtx; i++) {
    for (let j = 0; j <= layout.nCtx; j++) if (!allowed(i, j)) s.wq[qkAt(s, h, layout.position + i, firstDim + j)] = -omega;
    s.wk[qkAt(s, h, layout.position + i, firstDim + i)] = 1;
  }
}

/**
 * A head that adds the constant b to every token row and nothing to the bias row: it attends to
 * itself (mask margin Ω) and its value is isToken. It carries a layer's output bias (b_O, b₂).
 */
export function constantHead(b: ArrayLike<number>, layout: AugmentedLayout, omega: number): HeadStack {
  if (b.length !== layout.model) throw new Error(`constantHead: b has ${b.length} entries, the stream ${layout.model} model columns`);
  const s = headStack(1, layout.width, layout.nCtx + 1, 1);
  encodeMask(s, 0, layout, 0, omega, (i, j) => i === j);
  for (let p = 1; p <= layout.nCtx; p++) s.wv[vAt(s, 0, layout.position + p, 0)] = 1;
  for (let c = 0; c < layout.model; c++) s.wo[oAt(s, 0, 0, c)] = b[c];
  return s;
}

/**
 * Theorem 9: a head attending uniformly over the tokens an arbitrary mask allows (mask[i][j] = 1 if
 * token i may see token j), to within ~e^{−Ω}; the bias row sees only itself and no token sees it.
 * Value and output copy model column 0, so the pattern (`headPatterns`) is the thing to inspect.
 * Run it without the built-in causal mask: the mask is all in the weights.
 */
export function maskHead(mask: number[][], omega: number, layout: AugmentedLayout): HeadStack {
  const n = mask.length;
  if (n > layout.nCtx) throw new Error(`maskHead: a ${n}-position mask exceeds nCtx ${layout.nCtx}`);
  mask.forEach((row, i) => {
    if (row.length !== n) throw new Error(`maskHead: row ${i} has ${row.length} entries, expected ${n}`);
    if (!row.some((v) => v === 1)) throw new Error(`maskHead: token ${i} may see nothing (row ${i} has no 1)`);
  });
  const s = headStack(1, layout.width, layout.nCtx + 1, 1);
  encodeMask(s, 0, layout, 0, omega, (i, j) => (i === 0 || j === 0 ? i === j : i <= n && j <= n && mask[i - 1][j - 1] === 1));
  s.wv[vAt(s, 0, 0, 0)] = 1;
  s.wo[oAt(s, 0, 0, 0)] = 1;
  return s;
}

export interface RunHeadsOptions {
  /** Add the built-in causal mask (query row i sees rows j ≤ i; the bias token is row 0). */
  causal: boolean;
}

const f32 = (s: HeadStack) => ({
  wq: tf.tensor3d(Float32Array.from(s.wq), [s.heads, s.width, s.qk]),
  wk: tf.tensor3d(Float32Array.from(s.wk), [s.heads, s.width, s.qk]),
  wv: tf.tensor3d(Float32Array.from(s.wv), [s.heads, s.width, s.value]),
  wo: tf.tensor3d(Float32Array.from(s.wo), [s.heads, s.value, s.width]),
});

/** A·W for every head: stream [B, N, W], weights [H, W, K] → [B, H, N, K]. */
function project(stream: tf.Tensor3D, w: tf.Tensor3D): tf.Tensor4D {
  const [b, n, width] = stream.shape;
  const [h, , k] = w.shape;
  const flat = tf.matMul(tf.reshape(stream, [b * n, width]), tf.reshape(tf.transpose(w, [1, 0, 2]), [width, h * k])); // [B·N, H·K]
  return tf.transpose(tf.reshape(flat, [b, n, h, k]), [0, 2, 1, 3]);
}

function checkWidth(s: HeadStack, stream: tf.Tensor3D, who: string): void {
  if (stream.rank !== 3 || stream.shape[2] !== s.width)
    throw new Error(`${who}: the stream is [${stream.shape}], the heads expect width ${s.width}`);
}

/** Attention probabilities of every head of a stack, [B, H, N, N]. */
export function headPatterns(s: HeadStack, stream: tf.Tensor3D, options: RunHeadsOptions): tf.Tensor4D {
  checkWidth(s, stream, "headPatterns");
  return tf.tidy(() => {
    const w = f32(s);
    return attentionProbs(project(stream, w.wq), project(stream, w.wk), { causal: options.causal, scale: 1 }) as tf.Tensor4D;
  });
}

/** Σ over the stacks' heads of softmax(logits)·(A W_V) W_O: what a layer adds to the stream, [B, N, W]. */
export function runHeads(stacks: readonly HeadStack[], stream: tf.Tensor3D, options: RunHeadsOptions): tf.Tensor3D {
  const [b, n, width] = stream.shape;
  return tf.tidy(() => {
    let total: tf.Tensor = tf.zeros([b * n, width]);
    for (const s of stacks) {
      checkWidth(s, stream, "runHeads");
      const w = f32(s);
      const probs = attentionProbs(project(stream, w.wq), project(stream, w.wk), { causal: options.causal, scale: 1 }); // [B, H, N, N]
      const mixed = tf.matMul(probs, project(stream, w.wv)); // [B, H, N, V]
      const flat = tf.reshape(tf.transpose(mixed, [0, 2, 1, 3]), [b * n, s.heads * s.value]); // [B·N, H·V]
      total = tf.add(total, tf.matMul(flat, tf.reshape(w.wo, [s.heads * s.value, width])));
    }
    return tf.reshape(total, [b, n, width]) as tf.Tensor3D;
  });
}

/** The same as `runHeads` in float64 for one sequence: rows [N][W] → what the heads add, [N][W]. */
export function runHeads64(stacks: readonly HeadStack[], rows: readonly ArrayLike<number>[], options: RunHeadsOptions): Float64Array[] {
  const n = rows.length;
  const out = Array.from({ length: n }, () => new Float64Array(stacks[0]?.width ?? 0));
  for (const s of stacks) {
    if (rows.some((r) => r.length !== s.width)) throw new Error(`runHeads64: rows must have width ${s.width}`);
    for (let h = 0; h < s.heads; h++) {
      const proj = (w: Float64Array, dim: number) =>
        rows.map((r) => {
          const o = new Float64Array(dim);
          for (let c = 0; c < s.width; c++) {
            const x = r[c];
            if (x === 0) continue;
            const base = (h * s.width + c) * dim;
            for (let k = 0; k < dim; k++) o[k] += x * w[base + k];
          }
          return o;
        });
      const q = proj(s.wq, s.qk),
        k = proj(s.wk, s.qk),
        v = proj(s.wv, s.value);
      for (let i = 0; i < n; i++) {
        const last = options.causal ? i : n - 1;
        const logits = new Float64Array(last + 1);
        for (let j = 0; j <= last; j++) for (let d = 0; d < s.qk; d++) logits[j] += q[i][d] * k[j][d];
        const max = Math.max(...logits);
        let sum = 0;
        for (let j = 0; j <= last; j++) {
          logits[j] = Math.exp(logits[j] - max);
          sum += logits[j];
        }
        const mixed = new Float64Array(s.value);
        for (let j = 0; j <= last; j++) for (let d = 0; d < s.value; d++) mixed[d] += (logits[j] / sum) * v[j][d];
        for (let d = 0; d < s.value; d++) for (let c = 0; c < s.width; c++) out[i][c] += mixed[d] * s.wo[oAt(s, h, d, c)];
      }
    }
  }
  return out;
}

/** Heads in a list of stacks. */
export function headCount(stacks: readonly HeadStack[]): number {
  return stacks.reduce((sum, s) => sum + s.heads, 0);
}
