/**
 * Batched small matmuls on the tfjs heap, with our own SIMD kernel (simd/matmul.as.ts, built to
 * dist/kernels/matmul.wasm) running on the main thread plus `threads − 1` worker threads that
 * share the heap. Used by the patched wasm backend for attention-sized batched products, where
 * XNNPACK's per-product set-up dominates. Needs the threaded (shared-memory) wasm build.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Worker } from "node:worker_threads";

declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

/** The compiled kernel, built next to the library (dist/kernels/). */
export const KERNEL_FILE = path.resolve(__dirname, "..", "..", "dist", "kernels", "matmul.wasm");

type Bmm = (a: number, b: number, c: number, m: number, k: number, n: number, transA: number, transB: number,
  strideA: number, strideB: number, strideC: number, begin: number, end: number) => void;

/** Control block layout (Int32): [posted job, finished job, 13 kernel arguments]. */
const POSTED = 0, FINISHED = 1, ARGS = 2, N_ARGS = 13;

// The worker: instantiate the same kernel on the same memory, then run posted jobs until stopped.
const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const { module, memory, control } = workerData;
const bmm = new WebAssembly.Instance(module, { env: { memory } }).exports.bmm;
const ctl = new Int32Array(control);
let seen = 0;
for (;;) {
  Atomics.wait(ctl, ${POSTED}, seen);
  seen = Atomics.load(ctl, ${POSTED});
  const a = [];
  for (let i = 0; i < ${N_ARGS}; i++) a.push(ctl[${ARGS} + i]);
  bmm(...a);
  Atomics.store(ctl, ${FINISHED}, seen);
  Atomics.notify(ctl, ${FINISHED});
}`;

interface Helper {
  worker: Worker;
  control: Int32Array;
  job: number;
}

export interface BatchedKernel {
  readonly threads: number;
  /** C[t] = op(A[t])·op(B[t]) for t < batch; pointers are heap byte offsets, strides in elements (0 = broadcast). */
  run(a: number, b: number, c: number, batch: number, m: number, k: number, n: number,
    transA: boolean, transB: boolean, strideA: number, strideB: number): void;
}

/** Loads the kernel on `memory` (the shared tfjs heap); null if the kernel was not built. */
export function createBatchedKernel(memory: object, threads: number): BatchedKernel | null {
  if (!fs.existsSync(KERNEL_FILE)) return null;
  const module = new WebAssembly.Module(fs.readFileSync(KERNEL_FILE));
  const bmm = new WebAssembly.Instance(module, { env: { memory } }).exports.bmm as Bmm;
  const helpers: Helper[] = [];
  for (let i = 1; i < threads; i++) {
    const control = new SharedArrayBuffer(4 * (ARGS + N_ARGS));
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory, control } });
    worker.unref(); // waits on Atomics forever; must not keep Node alive
    helpers.push({ worker, control: new Int32Array(control), job: 0 });
  }

  return {
    threads: 1 + helpers.length,
    run(a, b, c, batch, m, k, n, transA, transB, strideA, strideB) {
      const args = [a, b, c, m, k, n, transA ? 1 : 0, transB ? 1 : 0, strideA, strideB, m * n];
      const parts = Math.min(1 + helpers.length, batch);
      const bounds = Array.from({ length: parts + 1 }, (_, i) => Math.round((i * batch) / parts));
      const posted: Helper[] = [];
      for (let w = 1; w < parts; w++) {
        const h = helpers[w - 1];
        h.control.set([...args, bounds[w], bounds[w + 1]], ARGS);
        h.job += 1;
        Atomics.store(h.control, POSTED, h.job);
        Atomics.notify(h.control, POSTED);
        posted.push(h);
      }
      bmm(a, b, c, m, k, n, args[6], args[7], strideA, strideB, m * n, bounds[0], bounds[1]);
      for (const h of posted) {
        while (Atomics.load(h.control, FINISHED) !== h.job) Atomics.wait(h.control, FINISHED, h.job - 1, 1);
      }
    },
  };
}
