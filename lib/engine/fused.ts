/**
 * Fused training kernels on the patched wasm backend (SIMD code in simd/fused.as.ts): LayerNorm and
 * RMSNorm forward and backward, softmax with the causal mask forward and backward, one Adam update
 * per variable, and a whole LSTM layer (its time loop runs inside one kernel, the recurrent
 * products on OpenBLAS or our SIMD kernels). Composed from tfjs ops, each of these is a chain of
 * kernels, each a full pass over memory and a saved tensor: LayerNorm is ~8 ops forward and ~20
 * backward; an LSTM step ~15 ops forward for every time step.
 *
 * Each function returns null when the fused path does not apply (another backend, our kernels not
 * built, an unsupported dtype or shape); callers then compose the same computation from tf ops.
 * `test/fused.test.ts` checks every one against the composed ops on the `cpu` backend (values and
 * gradients within 1e-5).
 */
import * as tf from "@tensorflow/tfjs";
import type { AdamConstants, SimdKernels } from "./kernels";

/** What the kernels need from the wasm backend (wasm.ts provides it; kept apart to avoid an import cycle). */
export interface FusedContext {
  /** Our SIMD kernels on the live backend's heap, or null. */
  kernels(): SimdKernels | null;
  /** Byte offset of a tensor's data on the heap. */
  offset(backend: unknown, t: tf.TensorInfo): number;
  makeOutput(backend: unknown, shape: number[]): tf.TensorInfo;
  dispose(backend: unknown, t: tf.TensorInfo): void;
  /** C [m, n] = op(A)·op(B) on heap offsets (OpenBLAS when it is loaded and the product is large enough, else our kernels). */
  product(backend: unknown, a: number, b: number, c: number, m: number, k: number, n: number, transA: boolean, transB: boolean): void;
  /** Zero `count` floats at a heap offset. */
  zero(backend: unknown, offset: number, count: number): void;
}

const NORM = "TransformerAnatomyNorm";
const NORM_GRAD = "TransformerAnatomyNormGrad";
const SOFTMAX = "TransformerAnatomySoftmax";
const SOFTMAX_GRAD = "TransformerAnatomySoftmaxGrad";
const ADAM = "TransformerAnatomyAdam";
const LSTM = "TransformerAnatomyLstm";
const LSTM_GRAD = "TransformerAnatomyLstmGrad";
const CROSS_ENTROPY = "TransformerAnatomyCrossEntropy";
const CROSS_ENTROPY_GRAD = "TransformerAnatomyCrossEntropyGrad";

let context: FusedContext | null = null;
/** Off with TA_FUSED=off, or at run time with setFusedKernels(false) (side-by-side checks, benchmarks). */
let enabled = process.env.TA_FUSED !== "off";

/** Turns the fused kernels on or off (default: on unless TA_FUSED=off); returns the previous setting. */
export function setFusedKernels(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

/** Registers the fused kernels for the wasm backend (once; wasm.ts calls this with its context). */
export function registerFusedKernels(ctx: FusedContext): void {
  if (context) return;
  context = ctx;
  const k = () => {
    const kernels = ctx.kernels();
    if (!kernels) throw new Error("fused kernel called without our SIMD kernels loaded (use the fused* functions, which check)");
    return kernels;
  };
  const register = (
    kernelName: string,
    kernelFunc: (
      inputs: Record<string, tf.TensorInfo>,
      attrs: Record<string, unknown>,
      backend: unknown,
    ) => tf.TensorInfo | tf.TensorInfo[],
  ) =>
    tf.registerKernel({
      kernelName,
      backendName: "wasm",
      kernelFunc: ({ inputs, attrs, backend }) =>
        kernelFunc(inputs as Record<string, tf.TensorInfo>, attrs as Record<string, unknown>, backend),
    });
  const off = (b: unknown, t: tf.TensorInfo) => ctx.offset(b, t);

  register(NORM, ({ x, gain, bias }, attrs, b) => {
    const { units, centre, eps } = attrs as { units: number; centre: boolean; eps: number };
    const d = x.shape[x.shape.length - 1];
    const rows = size(x.shape) / d;
    const y = ctx.makeOutput(b, x.shape);
    const stats = ctx.makeOutput(b, [rows, 2]);
    k().norm(off(b, x), off(b, gain), centre ? off(b, bias) : 0, off(b, y), off(b, stats), rows, d, units, centre, eps);
    return [y, stats];
  });
  register(NORM_GRAD, ({ x, gain, stats, dy }, attrs, b) => {
    const { units, centre } = attrs as { units: number; centre: boolean };
    const d = x.shape[x.shape.length - 1];
    const rows = size(x.shape) / d;
    const dx = ctx.makeOutput(b, x.shape);
    const dgain = ctx.makeOutput(b, [d]);
    const dbias = ctx.makeOutput(b, [d]);
    k().normGrad(off(b, x), off(b, gain), off(b, stats), off(b, dy), off(b, dx), off(b, dgain), off(b, dbias), rows, d, units, centre);
    return [dx, dgain, dbias];
  });
  register(SOFTMAX, ({ x }, attrs, b) => {
    const { scale, causal } = attrs as { scale: number; causal: boolean };
    const n = x.shape[x.shape.length - 1];
    const tq = x.shape[x.shape.length - 2] ?? 1;
    const y = ctx.makeOutput(b, x.shape);
    k().softmax(off(b, x), off(b, y), size(x.shape) / n, n, tq, causal, scale);
    return y;
  });
  register(SOFTMAX_GRAD, ({ y, dy }, attrs, b) => {
    const { scale } = attrs as { scale: number };
    const n = y.shape[y.shape.length - 1];
    const dx = ctx.makeOutput(b, y.shape);
    k().softmaxGrad(off(b, y), off(b, dy), off(b, dx), size(y.shape) / n, n, scale);
    return dx;
  });
  register(ADAM, ({ w, g, m, v }, attrs, b) => {
    const outs = [w, m, v].map(() => ctx.makeOutput(b, w.shape));
    const [w1, m1, v1] = outs;
    k().adam(
      off(b, w),
      off(b, g),
      off(b, m),
      off(b, v),
      off(b, w1),
      off(b, m1),
      off(b, v1),
      size(w.shape),
      attrs as unknown as AdamConstants,
    );
    return outs;
  });
  register(CROSS_ENTROPY, ({ x, targets }, _attrs, b) => {
    const [rows, v] = x.shape;
    const loss = ctx.makeOutput(b, [rows]);
    const lse = ctx.makeOutput(b, [rows]);
    k().crossEntropy(off(b, x), off(b, targets), off(b, loss), off(b, lse), rows, v);
    return [loss, lse];
  });
  register(CROSS_ENTROPY_GRAD, ({ x, targets, lse, dloss }, _attrs, b) => {
    const [rows, v] = x.shape;
    const dx = ctx.makeOutput(b, x.shape);
    k().crossEntropyGrad(off(b, x), off(b, targets), off(b, lse), off(b, dloss), off(b, dx), rows, v);
    return dx;
  });
  register(LSTM, ({ xw, wh }, _attrs, b) => {
    const [t, batch, h4] = xw.shape;
    const h = h4 / 4;
    const hs = ctx.makeOutput(b, [t, batch, h]);
    const cs = ctx.makeOutput(b, [t, batch, h]);
    const gates = ctx.makeOutput(b, [t, batch, h4]);
    const tcs = ctx.makeOutput(b, [t, batch, h]);
    const p = ctx.makeOutput(b, [batch, h4]); // h_{t−1}·Wh
    const c0 = ctx.makeOutput(b, [batch, h]);
    ctx.zero(b, off(b, p), batch * h4);
    ctx.zero(b, off(b, c0), batch * h);
    const at = (x: tf.TensorInfo, width: number, step: number) => off(b, x) + 4 * step * batch * width;
    for (let s = 0; s < t; s++) {
      if (s > 0) ctx.product(b, at(hs, h, s - 1), off(b, wh), off(b, p), batch, h, h4, false, false);
      k().lstmCell(
        at(xw, h4, s),
        off(b, p),
        s > 0 ? at(cs, h, s - 1) : off(b, c0),
        at(gates, h4, s),
        at(tcs, h, s),
        at(cs, h, s),
        at(hs, h, s),
        batch,
        h,
      );
    }
    ctx.dispose(b, p);
    ctx.dispose(b, c0);
    return [hs, cs, gates, tcs];
  });
  register(LSTM_GRAD, ({ dhs, wh, cs, gates, tcs }, _attrs, b) => {
    const [t, batch, h4] = gates.shape;
    const h = h4 / 4;
    const dz = ctx.makeOutput(b, [t, batch, h4]);
    // dh from step s + 1, and dc ping-ponging between two buffers; zeros after the last step.
    const scratch = [batch * h, batch * h, batch * h, batch * h].map((n) => {
      const s = ctx.makeOutput(b, [n]);
      ctx.zero(b, off(b, s), n);
      return s;
    });
    const [dhNext, zeros] = [off(b, scratch[0]), off(b, scratch[1])];
    let [dcIn, dcOut] = [off(b, scratch[2]), off(b, scratch[3])];
    const at = (x: tf.TensorInfo, width: number, step: number) => off(b, x) + 4 * step * batch * width;
    for (let s = t - 1; s >= 0; s--) {
      const cPrev = s > 0 ? at(cs, h, s - 1) : zeros;
      k().lstmCellGrad(at(gates, h4, s), at(tcs, h, s), cPrev, at(dhs, h, s), dhNext, dcIn, at(dz, h4, s), dcOut, batch, h);
      if (s > 0) ctx.product(b, at(dz, h4, s), off(b, wh), dhNext, batch, h4, h, false, true);
      [dcIn, dcOut] = [dcOut, dcIn];
    }
    for (const s of scratch) ctx.dispose(b, s);
    return dz;
  });
}

/** Whether the fused kernels run now (on, loaded, and the wasm backend active). */
export function fusedKernelsActive(): boolean {
  return live();
}

/** Whether the fused kernels can run on these tensors now. */
function live(...xs: tf.Tensor[]): boolean {
  return enabled && context?.kernels() != null && tf.getBackend() === "wasm" && xs.every((x) => x.dtype === "float32");
}

const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown> = {}) =>
  tf.engine().runKernel(name, inputs as never, attrs as never) as tf.Tensor | tf.Tensor[];

/**
 * LayerNorm (`bias` given) or RMSNorm over the last axis in one kernel each way; RMSNorm takes the
 * mean square over the first `units` entries (pRMSNorm; all of them by default).
 */
export function fusedNorm(x: tf.Tensor, gain: tf.Tensor, bias: tf.Tensor | null, eps: number, units?: number): tf.Tensor | null {
  const d = x.shape[x.rank - 1];
  if (!live(x, gain) || (bias && bias.dtype !== "float32") || x.rank < 1 || d === 0 || x.size === 0) return null;
  const centre = bias !== null;
  const attrs = { units: units ?? d, centre, eps };
  const op = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [xi, gi, bi] = args as tf.Tensor[];
    const [y, stats] = run(NORM, centre ? { x: xi, gain: gi, bias: bi } : { x: xi, gain: gi }, attrs) as tf.Tensor[];
    save([xi, gi, stats]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, [xs, gs, st]: tf.Tensor[]) => {
        const [dx, dgain, dbias] = run(NORM_GRAD, { x: xs, gain: gs, stats: st, dy }, attrs) as tf.Tensor[];
        if (centre) return [dx, dgain, dbias];
        dbias.dispose();
        return [dx, dgain];
      },
    };
  }) as never) as unknown as (...xs: tf.Tensor[]) => tf.Tensor;
  return centre ? op(x, gain, bias) : op(x, gain);
}

/**
 * softmax(scale·x) along the last axis, with the causal mask when asked (x [..., T, T]: query i
 * sees keys j ≤ i), forward and backward in one kernel each.
 */
export function fusedSoftmax(x: tf.Tensor, scale: number, causal: boolean): tf.Tensor | null {
  if (!live(x) || x.rank < 2 || x.size === 0) return null;
  if (causal && x.shape[x.rank - 1] !== x.shape[x.rank - 2]) return null;
  const attrs = { scale, causal };
  const op = tf.customGrad(((xi: tf.Tensor, save: tf.GradSaveFunc) => {
    const y = run(SOFTMAX, { x: xi }, attrs) as tf.Tensor;
    save([y]);
    return { value: y, gradFunc: (dy: tf.Tensor, [ys]: tf.Tensor[]) => run(SOFTMAX_GRAD, { y: ys, dy }, { scale }) as tf.Tensor };
  }) as never) as unknown as (x: tf.Tensor) => tf.Tensor;
  return op(x);
}

/**
 * Per-row cross-entropy −log softmax(logits)[target] for logits [N, V] and int32 targets [N] (in
 * range: the caller checks), forward and backward in one kernel each; the backward never builds
 * the one-hot mask or the log-probabilities.
 */
export function fusedCrossEntropyRows(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D | null {
  if (!live(logits) || targets.dtype !== "int32" || logits.size === 0) return null;
  const op = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const [loss, lse] = run(CROSS_ENTROPY, { x, targets }) as tf.Tensor[];
    save([x, lse, targets]);
    return {
      value: loss,
      gradFunc: (dloss: tf.Tensor, [xs, lses, ts]: tf.Tensor[]) =>
        run(CROSS_ENTROPY_GRAD, { x: xs, targets: ts, lse: lses, dloss }) as tf.Tensor,
    };
  }) as never) as unknown as (x: tf.Tensor) => tf.Tensor1D;
  return op(logits);
}

/** One Adam/AdamW update as a single kernel: the new [w, m, v], or null (compose it). */
export function fusedAdam(w: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, constants: AdamConstants): tf.Tensor[] | null {
  if (!live(w, g, m, v) || w.size === 0) return null;
  return run(ADAM, { w, g, m, v }, constants as unknown as Record<string, unknown>) as tf.Tensor[];
}

/**
 * A whole LSTM layer: xw [B, T, 4H] (the input projections x·Wx + b, gates i, f, g, o side by
 * side), wh [H, 4H] → h [B, T, H], with c₀ = h₀ = 0 and forget bias 1 (lstm.ts's cell). Runs
 * time-major inside (one transpose each way); forward and backward each run the time loop inside
 * one kernel, and dWh is one product over all steps.
 */
export function fusedLstmLayer(xw: tf.Tensor3D, wh: tf.Tensor2D): tf.Tensor3D | null {
  const h4 = xw.shape[2];
  if (!live(xw, wh) || h4 % 16 !== 0 || wh.shape[1] !== h4 || wh.shape[0] * 4 !== h4 || xw.size === 0) return null;
  return tf.tidy(() => tf.transpose(timeMajorLstm(tf.transpose(xw, [1, 0, 2]), wh), [1, 0, 2]));
}

function timeMajorLstm(xw: tf.Tensor3D, wh: tf.Tensor2D): tf.Tensor3D {
  const op = tf.customGrad(((x: tf.Tensor, w: tf.Tensor, save: tf.GradSaveFunc) => {
    const [hs, cs, gates, tcs] = run(LSTM, { xw: x, wh: w }) as tf.Tensor[];
    save([w, hs, cs, gates, tcs]);
    return {
      value: hs,
      gradFunc: (dhs: tf.Tensor, [ws, hsSaved, csSaved, gatesSaved, tcsSaved]: tf.Tensor[]) => {
        const dz = run(LSTM_GRAD, { dhs, wh: ws, cs: csSaved, gates: gatesSaved, tcs: tcsSaved }) as tf.Tensor3D;
        const [t, b, h] = hsSaved.shape;
        // dWh = Σ_s h_{s−1}ᵀ·dz_s over s ≥ 1 (h₀ = 0): one product over all steps.
        const dwh =
          t > 1
            ? tf.matMul(
                tf.reshape(tf.slice(hsSaved, [0, 0, 0], [t - 1, b, h]), [(t - 1) * b, h]),
                tf.reshape(tf.slice(dz, [1, 0, 0], [t - 1, b, 4 * h]), [(t - 1) * b, 4 * h]),
                true,
                false,
              )
            : tf.zerosLike(ws);
        return [dz, dwh];
      },
    };
  }) as never) as unknown as (x: tf.Tensor, w: tf.Tensor) => tf.Tensor3D;
  return op(xw, wh);
}
