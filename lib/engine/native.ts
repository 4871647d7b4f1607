/**
 * Float32 products on the machine's BLAS (OpenBLAS), through a small N-API addon
 * (lib/engine/native/blas.cc → dist/native/blas.node) that runs `sgemm` directly on the tfjs wasm
 * heap. Built by `npm run build` when a C++ compiler and OpenBLAS's headers are present (set-up
 * installs Debian's libopenblas-dev); otherwise, or with TA_NATIVE_BLAS=off, products stay on our
 * WebAssembly SIMD kernels. Its absence is reported in the engine line, never an error.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export const NATIVE_BLAS_FILE = path.resolve(__dirname, "..", "..", "dist", "native", "blas.node");

export interface NativeBlas {
  /** C_i = op(A_i)·op(B_i) for i < batch, row-major, on the heap (byte offsets; strides in floats, 0 = shared). */
  sgemm(
    heap: Float32Array,
    a: number,
    b: number,
    c: number,
    batch: number,
    m: number,
    k: number,
    n: number,
    transA: number,
    transB: number,
    strideA: number,
    strideB: number,
    strideC: number,
  ): void;
  info(): string;
  setThreads(n: number): void;
}

let loaded: { blas: NativeBlas | null; why: string } | undefined;

/**
 * The addon with OpenBLAS on `threads` threads, or null and why not. OpenBLAS's threads are told
 * to sleep right after each call (OPENBLAS_THREAD_TIMEOUT): spinning, they would take the cores
 * from the WebAssembly kernels that run between products.
 */
export function nativeBlas(threads: number): { blas: NativeBlas | null; why: string } {
  if (loaded) return loaded;
  if (process.env.TA_NATIVE_BLAS === "off") {
    loaded = { blas: null, why: "TA_NATIVE_BLAS=off" };
  } else if (!fs.existsSync(NATIVE_BLAS_FILE)) {
    loaded = { blas: null, why: "not built (no C++ compiler or OpenBLAS headers when the library was built)" };
  } else {
    process.env.OPENBLAS_THREAD_TIMEOUT ??= "4";
    try {
      const blas = require(NATIVE_BLAS_FILE) as NativeBlas;
      blas.setThreads(threads);
      loaded = { blas, why: "" };
    } catch (e) {
      loaded = { blas: null, why: `failed to load (${(e as Error).message.split("\n")[0]})` };
    }
  }
  return loaded;
}

/** "OpenBLAS 0.3.21, 2 threads" from the library's own config string. */
export function describeBlas(blas: NativeBlas): string {
  const info = blas.info();
  const version = /OpenBLAS\s+([\d.]+)/.exec(info)?.[1];
  const threads = /\((\d+) threads\)/.exec(info)?.[1];
  return `OpenBLAS${version ? ` ${version}` : ""}${threads ? `, ${threads} thread${threads === "1" ? "" : "s"}` : ""}`;
}
