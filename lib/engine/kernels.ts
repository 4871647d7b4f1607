/**
 * Our SIMD kernels on the tfjs heap (simd/matmul.as.ts, built to dist/kernels/matmul.wasm). The
 * module imports the shared memory of the threaded tfjs-wasm build, so its pointers are tfjs
 * tensors' byte offsets and no data is copied. Products run on the main thread plus `threads − 1`
 * worker threads (split over batch elements, or over output rows for one large product, or over
 * elements for large elementwise kernels); reductions and transposes run on the calling thread.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Worker } from "node:worker_threads";

declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

/** The compiled kernels, built next to the library (dist/kernels/). */
export const KERNEL_FILE = path.resolve(__dirname, "..", "..", "dist", "kernels", "matmul.wasm");

type Entry = (...args: number[]) => void;

/** Control block layout (Int32): [posted job, finished job, entry index, 13 arguments]. */
const POSTED = 0,
  FINISHED = 1,
  ENTRY = 2,
  ARGS = 3,
  N_ARGS = 13;
/** Entry points a worker can run, by index. */
const PARALLEL = ["bmm", "gemmRows", "vexpRange", "verfRange", "vgeluRange", "vgeluGradRange"] as const;
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
  /** Ends the helper threads (when the backend that owns this heap is disposed). */
  dispose(): void;
  /** [batch, r, c] → [batch, c, r]. */
  transpose(src: number, dst: number, batch: number, r: number, c: number): void;
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
  const module = new WebAssembly.Module(fs.readFileSync(KERNEL_FILE));
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

  return {
    threads: 1 + helpers.length,
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
    dispose() {
      for (const h of helpers.splice(0)) {
        void h.worker.terminate();
        liveHelpers--;
      }
    },
    transpose: (src, dst, batch, r, c) => entry.transpose(src, dst, batch, r, c),
  };
}
