/**
 * Our SIMD kernels on the tfjs heap (simd/index.as.ts: products in matmul.as.ts, fused kernels in fused.as.ts; built to dist/kernels/simd.wasm). The
 * module imports the shared memory of the threaded tfjs-wasm build, so its pointers are tfjs
 * tensors' byte offsets and no data is copied. Products run on the main thread plus `threads − 1`
 * worker threads (split over batch elements, or over output rows for one large product, or over
 * elements for large elementwise kernels); reductions and transposes run on the calling thread.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Worker } from "node:worker_threads";

declare const WebAssembly: {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

/** The compiled kernels, built next to the library (dist/kernels/). */
export const KERNEL_FILE = path.resolve(__dirname, "..", "..", "dist", "kernels", "simd.wasm");
/** The same kernels built with relaxed SIMD: the products' multiply-adds fused (measured +11–21% on one thread). */
export const RELAXED_KERNEL_FILE = path.resolve(__dirname, "..", "..", "dist", "kernels", "simd-relaxed.wasm");

let relaxedChoice: { use: boolean; why: string } | undefined;

/**
 * Whether to load the relaxed-SIMD build: when it is built, TA_RELAXED_SIMD is not "off", and the
 * runtime validates it. Node 20 has relaxed SIMD behind --experimental-wasm-relaxed-simd; the flag
 * is set here (process-wide, before any relaxed module is compiled) when validation fails without
 * it. Decided once per process.
 */
export function relaxedSimd(): { use: boolean; why: string } {
  relaxedChoice ??= decideRelaxed();
  return relaxedChoice;
}

function decideRelaxed(): { use: boolean; why: string } {
  if (process.env.TA_RELAXED_SIMD === "off") return { use: false, why: "TA_RELAXED_SIMD=off" };
  if (!fs.existsSync(RELAXED_KERNEL_FILE)) return { use: false, why: "relaxed build absent" };
  const bytes = fs.readFileSync(RELAXED_KERNEL_FILE);
  if (!WebAssembly.validate(bytes)) {
    try {
      (require("node:v8") as typeof import("node:v8")).setFlagsFromString("--experimental-wasm-relaxed-simd");
    } catch {
      // not Node's V8: keep plain SIMD
    }
  }
  const ok = WebAssembly.validate(bytes);
  return { use: ok, why: ok ? "" : "this runtime has no relaxed SIMD" };
}

type Entry = (...args: number[]) => void;

/** Control block layout (Int32): [posted job, finished job, entry index, 13 arguments]. */
const POSTED = 0,
  FINISHED = 1,
  ENTRY = 2,
  ARGS = 3,
  N_ARGS = 16;
/** Entry points a worker can run, by index. */
const PARALLEL = [
  "bmm",
  "gemmRows",
  "vexpRange",
  "verfRange",
  "vgeluRange",
  "vgeluGradRange",
  "normRows",
  "normGradRows",
  "normParamGradCols",
  "softmaxRows",
  "softmaxGradRows",
  "adamRange",
  "lstmCellRows",
  "lstmCellGradRows",
  "crossEntropyRows",
  "crossEntropyGradRows",
] as const;
/** Below this many elements an elementwise kernel runs on the calling thread alone. */
const SPLIT_ELEMENTS = 1 << 16;

// The worker: instantiate the same kernels on the same memory, then run posted jobs forever.
const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const { module, memory, control } = workerData;
const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
const entries = ${JSON.stringify(PARALLEL)}.map((name) => exports[name]);
const ctl = new Int32Array(control);
let seen = 0;
for (;;) {
  Atomics.wait(ctl, ${POSTED}, seen);
  seen = Atomics.load(ctl, ${POSTED});
  const a = [];
  for (let i = 0; i < ${N_ARGS}; i++) a.push(ctl[${ARGS} + i]);
  entries[ctl[${ENTRY}]](...a);
  Atomics.store(ctl, ${FINISHED}, seen);
  Atomics.notify(ctl, ${FINISHED});
}`;

interface Helper {
  worker: Worker;
  control: Int32Array;
  job: number;
}

export interface SimdKernels {
  readonly threads: number;
  /** Loaded from the relaxed-SIMD build (fused multiply-add in the products). */
  readonly relaxed: boolean;
  /** C[t] = op(A[t])·op(B[t]) for t < batch; pointers are heap byte offsets, strides in elements (0 = broadcast). */
  bmm(
    a: number,
    b: number,
    c: number,
    batch: number,
    m: number,
    k: number,
    n: number,
    transA: boolean,
    transB: boolean,
    strideA: number,
    strideB: number,
  ): void;
  /** One product C [m, n] = op(A)·op(B), its rows shared among the threads. */
  gemm(a: number, b: number, c: number, m: number, k: number, n: number, transA: boolean, transB: boolean): void;
  exp(x: number, out: number, size: number): void;
  erf(x: number, out: number, size: number): void;
  /** GELU x·Φ(x), and its gradient dy·GELU'(x). */
  gelu(x: number, out: number, size: number): void;
  geluGrad(x: number, dy: number, out: number, size: number): void;
  /** out[j] = Σ_r x[r, j] for x [rows, width], accumulated in float64. */
  sumRows(x: number, out: number, rows: number, width: number): void;
  /**
   * Norm over rows of d (LayerNorm with `centre`, else RMSNorm from the first k units); writes y
   * and per-row [μ, 1/√(σ² + ε)] to `stats` ([rows, 2]). `bias` is read only with `centre`.
   */
  norm(
    x: number,
    gain: number,
    bias: number,
    out: number,
    stats: number,
    rows: number,
    d: number,
    k: number,
    centre: boolean,
    eps: number,
  ): void;
  /** The norm's dx (rows split over the threads) and dgain, dbias (columns split; float64 sums). */
  normGrad(
    x: number,
    gain: number,
    stats: number,
    dy: number,
    dx: number,
    dgain: number,
    dbias: number,
    rows: number,
    d: number,
    k: number,
    centre: boolean,
  ): void;
  /** softmax(scale·x) along rows of n; with `causal`, row r (query r mod tq) sees keys ≤ its own position. */
  softmax(x: number, out: number, rows: number, n: number, tq: number, causal: boolean, scale: number): void;
  /** dx = scale·y·(dy − Σ y·dy) along rows of n. */
  softmaxGrad(y: number, dy: number, dx: number, rows: number, n: number, scale: number): void;
  /** One Adam/AdamW update of `size` elements into new w, m, v (see fused.as.ts for the formula). */
  adam(w: number, g: number, m: number, v: number, wOut: number, mOut: number, vOut: number, size: number, c: AdamConstants): void;
  /** LSTM cell over rows of a batch (h a multiple of 4): z = xw + p; writes gates, tanh c', c', h'. */
  lstmCell(xw: number, p: number, c: number, gates: number, tc: number, cOut: number, hOut: number, rows: number, h: number): void;
  /** Backward through the cell: dz and dc (to the previous step) from dh = dhUp + dhNext and dc'. */
  lstmCellGrad(
    gates: number,
    tc: number,
    c: number,
    dhUp: number,
    dhNext: number,
    dcIn: number,
    dz: number,
    dcOut: number,
    rows: number,
    h: number,
  ): void;
  /** Per-row cross-entropy of logits [rows, v] against int32 targets (in range; checked by the caller), and log Σ e^x. */
  crossEntropy(x: number, targets: number, loss: number, lse: number, rows: number, v: number): void;
  /** dx = (softmax(x) − onehot(target))·dloss per row. */
  crossEntropyGrad(x: number, targets: number, lse: number, dloss: number, dx: number, rows: number, v: number): void;
  /** Ends the helper threads (when the backend that owns this heap is disposed). */
  dispose(): void;
  /** [batch, r, c] → [batch, c, r]. */
  transpose(src: number, dst: number, batch: number, r: number, c: number): void;
}

/** Adam's per-step constants: β₁, β₂, the bias corrections c₁, c₂, ε, η·scale and decay λ. */
export interface AdamConstants {
  beta1: number;
  beta2: number;
  c1: number;
  c2: number;
  eps: number;
  lr: number;
  decay: number;
}

/** A float32's bit pattern as an int32 (the helpers' control block carries only integers). */
const bitsView = new DataView(new ArrayBuffer(4));
function f32bits(x: number): number {
  bitsView.setFloat32(0, x, true);
  return bitsView.getInt32(0, true);
}

let liveHelpers = 0;

/** Helper threads started and not yet ended, over every set of kernels (for the tests: no leak across backends). */
export function liveHelperThreads(): number {
  return liveHelpers;
}

/** Bytes of packing scratch each thread needs for one large product (a [256, 128] float block). */
const SCRATCH_BYTES = 256 * 128 * 4;

/**
 * Loads the kernels on `memory` (the shared tfjs heap); null if they were not built. `malloc`
 * allocates on that heap (per-thread scratch, allocated once).
 */
export function createSimdKernels(memory: object, threads: number, malloc: (bytes: number) => number): SimdKernels | null {
  if (!fs.existsSync(KERNEL_FILE)) return null;
  const relaxed = relaxedSimd().use;
  const module = new WebAssembly.Module(fs.readFileSync(relaxed ? RELAXED_KERNEL_FILE : KERNEL_FILE));
  const entry = new WebAssembly.Instance(module, { env: { memory } }).exports as Record<string, Entry>;
  const helpers: Helper[] = [];
  for (let i = 1; i < threads; i++) {
    const control = new SharedArrayBuffer(4 * (ARGS + N_ARGS));
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory, control } });
    worker.unref(); // waits on Atomics forever; must not keep Node alive
    helpers.push({ worker, control: new Int32Array(control), job: 0 });
    liveHelpers++;
  }
  const scratch = Array.from({ length: threads }, () => malloc(SCRATCH_BYTES));
  /** Adam's seven float constants, written before each update. */
  const adamConstants = malloc(32);
  const heap = () => (memory as { buffer: ArrayBuffer }).buffer;

  /**
   * Runs entry(args…, [scratch,] begin, end) over [0, total) split into one range per thread;
   * with `withScratch`, each thread also gets its own scratch block.
   */
  const split = (name: (typeof PARALLEL)[number], args: number[], total: number, grain: number, withScratch = false) => {
    const own = (t: number) => (withScratch ? [...args, scratch[t]] : args);
    const parts = Math.max(1, Math.min(1 + helpers.length, Math.floor(total / grain)));
    // Range bounds on multiples of `grain` (the kernels' row tile) so no thread gets a ragged edge
    // in the middle of the matrix.
    const bounds = Array.from({ length: parts + 1 }, (_, i) => (i === parts ? total : Math.round((i * total) / parts / grain) * grain));
    const posted: Helper[] = [];
    for (let w = 1; w < parts; w++) {
      const h = helpers[w - 1];
      h.control[ENTRY] = PARALLEL.indexOf(name);
      h.control.set([...own(w), bounds[w], bounds[w + 1]], ARGS);
      h.job += 1;
      Atomics.store(h.control, POSTED, h.job);
      Atomics.notify(h.control, POSTED);
      posted.push(h);
    }
    entry[name](...own(0), bounds[0], bounds[1]);
    for (const h of posted) {
      while (Atomics.load(h.control, FINISHED) !== h.job) Atomics.wait(h.control, FINISHED, h.job - 1, 1);
    }
  };

  // Elementwise: compute-bound (polynomials, a division), so large tensors are split too.
  const elementwise = (name: (typeof PARALLEL)[number], args: number[], size: number) =>
    split(name, args, size, size < SPLIT_ELEMENTS ? size + 1 : 4);
  // Row kernels: split over rows once the whole is large enough to pay for waking a helper.
  const rowwise = (name: (typeof PARALLEL)[number], args: number[], rows: number, width: number) =>
    split(name, args, rows, rows * width < SPLIT_ELEMENTS ? rows + 1 : 1);

  return {
    threads: 1 + helpers.length,
    relaxed,
    bmm(a, b, c, batch, m, k, n, transA, transB, strideA, strideB) {
      split("bmm", [a, b, c, m, k, n, transA ? 1 : 0, transB ? 1 : 0, strideA, strideB, m * n], batch, 1);
    },
    gemm(a, b, c, m, k, n, transA, transB) {
      split("gemmRows", [a, b, c, m, k, n, transA ? 1 : 0, transB ? 1 : 0], m, 4, true);
    },
    exp: (x, out, size) => elementwise("vexpRange", [x, out], size),
    erf: (x, out, size) => elementwise("verfRange", [x, out], size),
    gelu: (x, out, size) => elementwise("vgeluRange", [x, out], size),
    geluGrad: (x, dy, out, size) => elementwise("vgeluGradRange", [x, dy, out], size),
    sumRows: (x, out, rows, width) => entry.sumRows(x, out, rows, width),
    norm: (x, gain, bias, out, stats, rows, d, k, centre, eps) =>
      rowwise("normRows", [x, gain, bias, out, stats, d, k, centre ? 1 : 0, f32bits(eps)], rows, d),
    normGrad(x, gain, stats, dy, dx, dgain, dbias, rows, d, k, centre) {
      rowwise("normGradRows", [x, gain, stats, dy, dx, d, k, centre ? 1 : 0], rows, d);
      split("normParamGradCols", [x, stats, dy, dgain, dbias, rows, d, centre ? 1 : 0], d, rows * d < SPLIT_ELEMENTS ? d + 1 : 4);
    },
    softmax: (x, out, rows, n, tq, causal, scale) => rowwise("softmaxRows", [x, out, n, tq, causal ? 1 : 0, f32bits(scale)], rows, n),
    softmaxGrad: (y, dy, dx, rows, n, scale) => rowwise("softmaxGradRows", [y, dy, dx, n, f32bits(scale)], rows, n),
    adam(w, g, m, v, wOut, mOut, vOut, size, c) {
      // Float32 constants as the composed update would see them (each a float32 scalar tensor).
      new Float32Array(heap(), adamConstants, 7).set([c.beta1, 1 - c.beta1, c.beta2, 1 - c.beta2, c.c1, c.c2, c.eps]);
      elementwise("adamRange", [w, g, m, v, wOut, mOut, vOut, adamConstants, f32bits(c.lr), f32bits(c.decay)], size);
    },
    lstmCell: (xw, p, c, gates, tc, cOut, hOut, rows, h) => rowwise("lstmCellRows", [xw, p, c, gates, tc, cOut, hOut, h], rows, 4 * h),
    crossEntropy: (x, targets, loss, lse, rows, v) => rowwise("crossEntropyRows", [x, targets, loss, lse, v], rows, v),
    crossEntropyGrad: (x, targets, lse, dloss, dx, rows, v) => rowwise("crossEntropyGradRows", [x, targets, lse, dloss, dx, v], rows, v),
    lstmCellGrad: (gates, tc, c, dhUp, dhNext, dcIn, dz, dcOut, rows, h) =>
      rowwise("lstmCellGradRows", [gates, tc, c, dhUp, dhNext, dcIn, dz, dcOut, h], rows, 4 * h),
    dispose() {
      for (const h of helpers.splice(0)) {
        void h.worker.terminate();
        liveHelpers--;
      }
    },
    transpose: (src, dst, batch, r, c) => entry.transpose(src, dst, batch, r, c),
  };
}
