/**
 * The TensorFlow.js WebAssembly backend, made fit for training under Node.
 *
 * Pinned to @tensorflow/tfjs-backend-wasm 4.22.0: this file relies on its internals (the emscripten
 * factories in `wasm-out/`, `BackendWasm.dataIdMap`, the exported C entry points). The tests in
 * `test/engine.test.ts` compare every patched kernel with the pure-JS `cpu` backend.
 *
 * What the stock backend does, and what we change (measured with 4.22.0 under Node 20 on a 2-vCPU
 * machine; step times before and after are in README.md's "Engine" section):
 *  1. Threads. Stock tfjs turns threads off under Node (tfjs issue 3830): its pthread workers are
 *     started from a `blob:` URL, which Node's `worker_threads` rejects. We start the threaded-SIMD
 *     build ourselves with the worker script written to a file. The C++ side also sizes its thread
 *     pool as logical cores / 2, which is 1 on a 2-vCPU VM; we report the core count we want.
 *  2. Matmuls. The C++ `BatchMatMul` uses XNNPACK (SIMD, threaded) only for a single,
 *     untransposed matrix pair; any transposed or batched product — every matmul gradient, every
 *     attention product — falls to a scalar single-threaded loop (~2 GFLOP/s), 91% of the stock
 *     reference step's time. Float32 products now run on our SIMD kernels (kernels.ts,
 *     simd/matmul.as.ts): cache-blocked with packed panels for one large product, rows split over
 *     the threads; per batch element for attention. XNNPACK's own pool is cut to one thread so
 *     its spin-waiting workers do not take our cores. Without our kernels (single-threaded build,
 *     or not built), and for the few products they do not take (a fused bias, an uncommon batch
 *     broadcast; see fastMatMul), products go to XNNPACK with explicit transposes and zero-copy
 *     per-element views.
 *  3. Elementwise and reduction kernels that cost most in a training step: Exp and Erf (SIMD
 *     polynomials instead of per-element libm), Sum over leading axes (bias gradients), GatherV2
 *     over rows (embeddings), Identity (no copy).
 *  4. `UnsortedSegmentSum`, the gradient of `tf.gather` (embedding lookups), has no wasm kernel; we
 *     add one.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import * as tfWasm from "@tensorflow/tfjs-backend-wasm";
import { registerFusedKernels } from "./fused";
import { KERNEL_FILE, type SimdKernels, createSimdKernels } from "./kernels";
import { type NativeBlas, describeBlas, nativeBlas } from "./native";

/** The parts of the emscripten module we call. */
interface WasmModule {
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  _BatchMatMul(...args: number[]): void;
  __FusedMatMul(...args: number[]): void;
  _Transpose(...args: number[]): void;
  cwrap(name: string, ret: string | null, args: string[]): (...a: unknown[]) => unknown;
  PThread?: { runningWorkers: { unref(): void }[] };
  /** The heap, shared with the pthread workers (threaded build only). */
  wasmMemory?: object;
  tfjs: {
    registerTensor(id: number, size: number, memoryOffset: number): void;
    disposeData(id: number): void;
  };
}

interface WasmTensorData {
  id: number;
  memoryOffset: number;
  shape: number[];
  dtype: tf.DataType;
  refCount: number;
}

/** The parts of `BackendWasm` (4.22.0) we use. */
interface WasmBackendInternals {
  wasm: WasmModule;
  dataIdNextNumber: number;
  dataIdMap: { get(dataId: object): WasmTensorData };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

// Node has WebAssembly; its types live in lib.dom, which this project does not load.
declare const WebAssembly: {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: unknown; module: unknown }>;
};

const WASM_OUT = path.join(path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "wasm-out");

export interface WasmInitInfo {
  threads: number;
  simd: boolean;
  /** What runs the float32 products: "OpenBLAS 0.3.21, 2 threads", "SIMD kernels" or "XNNPACK". */
  products: string;
}

let initInfo: WasmInitInfo | null = null;
/** OpenBLAS through our addon (null: not built, disabled, or failed to load; see native.ts). */
let blas: NativeBlas | null = null;
/** A float view of the heap for the addon, remade when the memory grows. */
let heapFloats: Float32Array | null = null;
/** Our SIMD kernels on the tfjs heap (null: not built, or single-threaded build). */
let simd: SimdKernels | null = null;

/**
 * Turns the OpenBLAS products on or off at run time (for side-by-side checks and benchmarks; the
 * default is on whenever the addon loaded). Returns whether they are on now.
 */
export function setNativeProducts(on: boolean): boolean {
  blas = on ? nativeBlas(initInfo?.threads ?? 1).blas : null;
  return blas !== null;
}

/** Threads and SIMD of the live wasm backend, or null before it has started. */
export function wasmInitInfo(): WasmInitInfo | null {
  return initInfo;
}

/**
 * Replaces the stock `wasm` backend registration with one that runs threaded under Node and sends
 * float32 matmuls to our own SIMD kernels (kernels.ts, simd/matmul.as.ts; see fastMatMul), with
 * XNNPACK as the fallback where those are not available (single-threaded build, or
 * dist/kernels/simd.wasm not built) or do not apply (a fused bias, an uncommon batch
 * broadcast); also patches the other kernels listed at the top of this file. Call before the
 * backend is first used.
 */
export function registerPatchedWasm(threads: number, priority: number): void {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`wasm threads must be a positive integer, got ${threads}`);
  tf.removeBackend("wasm");
  tf.registerBackend("wasm", () => createBackend(threads), priority);
  patchKernels();
}

async function createBackend(threads: number): Promise<tf.KernelBackend> {
  const hasSimd = Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"));
  const threaded = hasSimd && threads > 1;
  const before = processListeners();
  const wasm = threaded ? await startThreadedModule(threads) : await startSingleThreadModule(hasSimd);
  // Emscripten adds process handlers that rethrow every uncaught error from inside its minified
  // source, so Node prints that whole line (hundreds of KB) instead of the error; drop them.
  const after = processListeners();
  for (const event of ["uncaughtException", "unhandledRejection"] as const) {
    for (const listener of after[event]) {
      if (!(before[event] as unknown[]).includes(listener)) process.removeListener(event, listener as never);
    }
  }
  // The same C entry points stock tfjs wraps in its own init().
  wasm.tfjs = {
    init: wasm.cwrap("init", null, []),
    initWithThreadsCount: wasm.cwrap("init_with_threads_count", null, ["number"]),
    getThreadsCount: wasm.cwrap("get_threads_count", "number", []),
    registerTensor: wasm.cwrap("register_tensor", null, ["number", "number", "number"]),
    disposeData: wasm.cwrap("dispose_data", null, ["number"]),
    dispose: wasm.cwrap("dispose", null, []),
  } as unknown as WasmModule["tfjs"];
  // With our kernels doing the products on their own threads, XNNPACK's pool gets one thread: its
  // workers spin-wait after each job and took the cores from ours (step 409 ms with a 2-thread
  // pool, 281 ms with none, same kernels).
  const ours = threaded && fs.existsSync(KERNEL_FILE);
  tfWasm.setThreadsCount(ours ? 1 : threaded ? threads : 1);
  const backend = new tfWasm.BackendWasm(wasm as never);
  // The pool's threads wait for work forever; emscripten keeps them ref'd, so Node would never
  // exit. Compute runs synchronously on the main thread, so letting Node ignore them is safe.
  for (const worker of wasm.PThread?.runningWorkers ?? []) worker.unref();
  const kernels = threaded && wasm.wasmMemory ? createSimdKernels(wasm.wasmMemory, threads, (bytes) => wasm._malloc(bytes)) : null;
  simd = kernels;
  // The kernels' helper threads live on this backend's heap: end them with it (tfjs re-creates the
  // backend on engine resets; before, each re-creation left its helpers running).
  const stockDispose = backend.dispose.bind(backend);
  backend.dispose = () => {
    kernels?.dispose();
    if (simd === kernels) simd = null;
    stockDispose();
  };
  const native = nativeBlas(threads);
  blas = native.blas;
  initInfo = {
    threads: kernels ? kernels.threads : tfWasm.getThreadsCount(),
    simd: hasSimd,
    products: blas
      ? describeBlas(blas)
      : kernels
        ? `SIMD kernels${kernels.relaxed ? " with relaxed-SIMD FMA" : ""} (native BLAS ${native.why})`
        : `XNNPACK (native BLAS ${native.why})`,
  };
  return backend;
}

function processListeners() {
  return {
    uncaughtException: process.listeners("uncaughtException"),
    unhandledRejection: process.listeners("unhandledRejection"),
  };
}

type Factory = (config: Record<string, unknown>) => Promise<WasmModule>;

function startSingleThreadModule(simd: boolean): Promise<WasmModule> {
  const factory = require(path.join(WASM_OUT, "tfjs-backend-wasm.js")) as Factory;
  const binary = path.join(WASM_OUT, simd ? "tfjs-backend-wasm-simd.wasm" : "tfjs-backend-wasm.wasm");
  return factory({ locateFile: (file: string) => (file.endsWith(".wasm") ? binary : path.join(WASM_OUT, file)) });
}

function startThreadedModule(threads: number): Promise<WasmModule> {
  const script = path.join(WASM_OUT, "tfjs-backend-wasm-threaded-simd.js");
  const binary = path.join(WASM_OUT, "tfjs-backend-wasm-threaded-simd.wasm");
  const factory = require(script) as Factory;
  return factory({
    locateFile: (file: string) => (file.endsWith(".worker.js") ? workerScriptFile() : path.join(WASM_OUT, file)),
    // Workers load the factory by path (importScripts reads the file) instead of from a blob.
    mainScriptUrlOrBlob: script,
    instantiateWasm(imports: { env: Record<string, unknown> }, receive: (instance: unknown, module: unknown) => void) {
      // The C++ pool uses logical cores / 2 (assumes hyper-threading), capped by the request.
      imports.env.emscripten_num_logical_cores = () => 2 * threads;
      WebAssembly.instantiate(fs.readFileSync(binary), imports).then(
        ({ instance, module }) => receive(instance, module),
        (err: unknown) => {
          throw new Error(`could not instantiate ${binary}: ${err}`);
        },
      );
      return {};
    },
  });
}

let workerFile: string | null = null;

/**
 * The emscripten pthread worker as a real file (Node workers cannot start from blob: URLs).
 * Its content is fixed per tfjs version, so one shared, content-named file serves every process
 * and nothing needs cleaning up.
 */
function workerScriptFile(): string {
  if (workerFile) return workerFile;
  const { wasmWorkerContents } = require(path.join(WASM_OUT, "tfjs-backend-wasm-threaded-simd.worker.js")) as {
    wasmWorkerContents: string;
  };
  // Same escaping as tfjs's own blob path: the template keeps "\n" inside string literals.
  const source = wasmWorkerContents.replace(/\n/g, "\\n");
  const digest = crypto.createHash("sha256").update(source).digest("hex").slice(0, 16);
  const file = path.join(os.tmpdir(), `transformer-anatomy-wasm-worker-${digest}.js`);
  if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== source) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, source);
    fs.renameSync(tmp, file); // atomic: concurrent starters never see a half-written file
  }
  workerFile = file;
  return file;
}

// ---------------------------------------------------------------------------------------------
// Kernels

let kernelsPatched = false;

function patchKernels(): void {
  if (kernelsPatched) return;
  kernelsPatched = true;
  const stockFused = tf.getKernel("_FusedMatMul", "wasm");
  const stockIdentity = tf.getKernel("Identity", "wasm");
  const stockSum = tf.getKernel("Sum", "wasm");
  const replace = (config: tf.KernelConfig) => {
    if (tf.getKernel(config.kernelName, "wasm")) tf.unregisterKernel(config.kernelName, "wasm");
    tf.registerKernel(config);
  };
  replace({
    kernelName: "BatchMatMul",
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      return fastMatMul(backend as unknown as WasmBackendInternals, a, b, transposeA, transposeB, null);
    },
  });
  replace({
    kernelName: "_FusedMatMul",
    backendName: "wasm",
    setupFunc: stockFused?.setupFunc,
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args;
      const { a, b, bias, preluActivationWeights } = inputs as Record<string, tf.TensorInfo | undefined>;
      const { transposeA, transposeB, activation } = attrs as unknown as {
        transposeA: boolean;
        transposeB: boolean;
        activation: string;
      };
      // Our path adds a bias of one value per output column; anything else (e.g. a length-1 bias,
      // which tfjs broadcasts) goes to the stock kernel.
      const columns = transposeB ? b!.shape[b!.shape.length - 2] : b!.shape[b!.shape.length - 1];
      const biasIsVector = bias == null || (bias.shape.length === 1 && bias.shape[0] === columns);
      if (activation !== "linear" || preluActivationWeights != null || !biasIsVector) {
        if (!stockFused) throw new Error("stock _FusedMatMul kernel is missing");
        return stockFused.kernelFunc(args);
      }
      return fastMatMul(backend as unknown as WasmBackendInternals, a!, b!, transposeA, transposeB, bias ?? null);
    },
  });
  replace({
    // Tensors are immutable, so a copy only costs time; tfjs's engine clones every tensor it saves
    // for the backward pass (stock wasm copied ~70 ms per reference step).
    kernelName: "Identity",
    backendName: "wasm",
    kernelFunc: ({ inputs, backend }) => {
      const { x } = inputs as { x: tf.TensorInfo };
      if (x.dtype === "string") return stockIdentity!.kernelFunc({ inputs, backend, attrs: {} });
      (backend as unknown as WasmBackendInternals).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
  replace({
    kernelName: "Sum",
    backendName: "wasm",
    setupFunc: stockSum?.setupFunc,
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args;
      const { x } = inputs as { x: tf.TensorInfo };
      const { axis, keepDims } = attrs as unknown as { axis: number | number[]; keepDims: boolean };
      const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + x.shape.length : a)).sort((p, q) => p - q);
      const leading = axes.length > 0 && axes.every((a, i) => a === i) && axes.length < x.shape.length;
      if (x.dtype !== "float32" || !leading) return stockSum!.kernelFunc(args);
      return sumLeadingAxes(backend as unknown as WasmBackendInternals, x, axes.length, keepDims);
    },
  });
  // Unary kernels: stock tfjs-wasm calls libm per element (exp ≈ 7 ns, erf ≈ 3.7 ns per element);
  // ours are SIMD polynomials (exp ≈ 1.2 ns). GELU's erf and its gradient, and softmax-style exps.
  for (const [name, entry] of [
    ["Exp", "exp"],
    ["Erf", "erf"],
  ] as const) {
    const stock = tf.getKernel(name, "wasm");
    replace({
      kernelName: name,
      backendName: "wasm",
      setupFunc: stock?.setupFunc,
      kernelFunc: (args) => {
        const { x } = args.inputs as { x: tf.TensorInfo };
        if (!simd || x.dtype !== "float32") return stock!.kernelFunc(args);
        const b = args.backend as unknown as WasmBackendInternals;
        const out = b.makeOutput(x.shape, "float32");
        const size = x.shape.reduce((p, d) => p * d, 1);
        simd[entry](heapOffset(b, x), heapOffset(b, out), size);
        return out;
      },
    });
  }
  // GELU as one kernel forward and one backward (composed, it is five elementwise ops forward and
  // about eight backward, each a full pass and a saved [B·T, dFF] tensor). Only registered here;
  // used through `fusedGelu`, which checks that our kernels are live.
  const heapOf = (args: { backend: unknown }) => args.backend as unknown as WasmBackendInternals;
  const unary = (name: string, run: (b: WasmBackendInternals, ins: tf.TensorInfo[], out: tf.TensorInfo, size: number) => void) =>
    replace({
      kernelName: name,
      backendName: "wasm",
      kernelFunc: (args) => {
        const b = heapOf(args);
        const ins = Object.values(args.inputs) as tf.TensorInfo[];
        const out = b.makeOutput(ins[0].shape, "float32");
        run(
          b,
          ins,
          out,
          ins[0].shape.reduce((p, d) => p * d, 1),
        );
        return out;
      },
    });
  unary(GELU_KERNEL, (b, [x], out, size) => simd!.gelu(heapOffset(b, x), heapOffset(b, out), size));
  unary(GELU_GRAD_KERNEL, (b, [x, dy], out, size) => simd!.geluGrad(heapOffset(b, x), heapOffset(b, dy), heapOffset(b, out), size));
  const stockGather = tf.getKernel("GatherV2", "wasm");
  replace({
    // Embedding lookups: whole rows copied inside the heap (stock: ~37 ns per element).
    kernelName: "GatherV2",
    backendName: "wasm",
    setupFunc: stockGather?.setupFunc,
    kernelFunc: (args) => {
      const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
      const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims: number };
      const rank = x.shape.length;
      const ax = axis < 0 ? axis + rank : axis;
      if (ax !== 0 || (batchDims ?? 0) !== 0 || x.dtype !== "float32" || indices.dtype !== "int32") return stockGather!.kernelFunc(args);
      return gatherRows(args.backend as unknown as WasmBackendInternals, x, indices);
    },
  });
  registerMissingKernels();
  registerFusedKernels({
    kernels: () => simd,
    offset: (b, t) => heapOffset(b as WasmBackendInternals, t),
    makeOutput: (b, shape) => (b as WasmBackendInternals).makeOutput(shape, "float32"),
    dispose: (b, t) => (b as WasmBackendInternals).disposeData(t.dataId),
    zero: (b, offset, count) => new Float32Array((b as WasmBackendInternals).wasm.HEAPU8.buffer, offset, count).fill(0),
    product: (b, ...args) => heapProduct(b as WasmBackendInternals, ...args),
  });
}

/** C [m, n] = op(A)·op(B) on OpenBLAS (must be loaded), on heap byte offsets. */
function blasProduct(
  backend: WasmBackendInternals,
  a: number,
  b: number,
  c: number,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
): void {
  const heap = backend.wasm.HEAPU8.buffer;
  if (heapFloats?.buffer !== heap) heapFloats = new Float32Array(heap);
  blas!.sgemm(heapFloats, a, b, c, 1, m, k, n, transA ? 1 : 0, transB ? 1 : 0, 0, 0, 0);
}

/**
 * C [m, n] = op(A)·op(B) on heap byte offsets, for kernels that run products inside a loop (the
 * fused LSTM): OpenBLAS when loaded and the product is large enough, else our SIMD kernels.
 */
function heapProduct(
  backend: WasmBackendInternals,
  a: number,
  b: number,
  c: number,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
): void {
  if (blas && m * k * n >= NATIVE_MIN_MACS) {
    blasProduct(backend, a, b, c, m, k, n, transA, transB);
    return;
  }
  if (!simd) throw new Error("heapProduct needs our SIMD kernels");
  simd.gemm(a, b, c, m, k, n, transA, transB);
}

/** Products smaller than this many multiply-adds stay on our kernels (the call costs more than it saves). */
const NATIVE_MIN_MACS = 32 * 32 * 32;

const GELU_KERNEL = "TransformerAnatomyGelu";
const GELU_GRAD_KERNEL = "TransformerAnatomyGeluGrad";

const geluOp = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {
    value: tf.engine().runKernel(GELU_KERNEL, { x }) as tf.Tensor,
    gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => tf.engine().runKernel(GELU_GRAD_KERNEL, { x: saved, dy }) as tf.Tensor,
  };
}) as never) as unknown as (x: tf.Tensor) => tf.Tensor;

/**
 * Exact GELU x·Φ(x) as one fused kernel (and one for its gradient) when the patched wasm backend
 * with our SIMD kernels is running and x is float32; null otherwise (compose it from tf ops).
 */
export function fusedGelu(x: tf.Tensor): tf.Tensor | null {
  if (!simd || x.dtype !== "float32" || tf.getBackend() !== "wasm") return null;
  return geluOp(x);
}

/** out[i] = x[indices[i]] over the first axis, as whole-row copies within the heap. */
function gatherRows(backend: WasmBackendInternals, x: tf.TensorInfo, indices: tf.TensorInfo): tf.TensorInfo {
  const rows = x.shape[0];
  const inner = x.shape.slice(1);
  const width = inner.reduce((p, d) => p * d, 1);
  const out = backend.makeOutput([...indices.shape, ...inner], "float32");
  const ids = backend.typedArrayFromHeap(indices) as Int32Array;
  const heap = new Float32Array(backend.wasm.HEAPU8.buffer);
  const src = heapOffset(backend, x) / 4,
    dst = heapOffset(backend, out) / 4;
  for (let i = 0; i < ids.length; i++) {
    const r = ids[i];
    if (!(r >= 0 && r < rows)) {
      backend.disposeData(out.dataId);
      // tfjs's own wording (its op specs expect it), plus where the bad index sits.
      throw new Error(`GatherV2: the index value ${r} is not in [0, ${rows - 1}] (position ${i} of the indices)`);
    }
    heap.copyWithin(dst + i * width, src + r * width, src + (r + 1) * width);
  }
  return out;
}

/** Kernels stock tfjs-wasm lacks but training needs; also registered with the patches off. */
export function registerMissingKernels(): void {
  if (tf.getKernel("UnsortedSegmentSum", "wasm")) return;
  tf.registerKernel({
    kernelName: "UnsortedSegmentSum",
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const { numSegments } = attrs as unknown as { numSegments: number };
      return unsortedSegmentSum(backend as unknown as WasmBackendInternals, x, segmentIds, numSegments);
    },
  });
}

/** Byte offset of a tensor's data on the wasm heap (what our SIMD kernels take as a pointer). */
function heapOffset(backend: WasmBackendInternals, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset;
}

/** Per-backend scratch memory for the shape arguments of the C entry points. */
const shapeScratch = new WeakMap<WasmBackendInternals, number>();

function shapeArgs(backend: WasmBackendInternals, first: number[], second: number[]): [number, number] {
  let ptr = shapeScratch.get(backend);
  if (ptr === undefined) {
    ptr = backend.wasm._malloc(64);
    shapeScratch.set(backend, ptr);
  }
  const heap = new Int32Array(backend.wasm.HEAPU8.buffer, ptr, 16);
  heap.set(first, 0);
  heap.set(second, 8);
  return [ptr, ptr + 32];
}

/** Registers `size` floats at byte `offset` as a tensor id the C side can read; no copy, no ownership. */
function view(backend: WasmBackendInternals, offset: number, size: number): number {
  const id = backend.dataIdNextNumber++;
  backend.wasm.tfjs.registerTensor(id, size, offset);
  return id;
}

/**
 * [.., r, c] → [.., c, r]. Done here in tiles on the heap: the backend's Transpose kernel takes a
 * generic strided loop (measured ~0.2 GB/s, slower than the matmul it feeds).
 */
function transposeLastTwo(backend: WasmBackendInternals, x: tf.TensorInfo): tf.TensorInfo {
  const [r, c] = x.shape.slice(-2);
  const batch = x.shape.slice(0, -2).reduce((p, s) => p * s, 1);
  const out = backend.makeOutput([...x.shape.slice(0, -2), c, r], x.dtype);
  if (simd) simd.transpose(heapOffset(backend, x), heapOffset(backend, out), batch, r, c);
  else transposeTiles(backend.typedArrayFromHeap(x) as Float32Array, backend.typedArrayFromHeap(out) as Float32Array, batch, r, c);
  return out;
}

/** dst[b, j, i] = src[b, i, j] for [batch, r, c] → [batch, c, r]; contiguous writes, 64×64 tiles. */
function transposeTiles(src: Float32Array, dst: Float32Array, batch: number, r: number, c: number): void {
  const tile = 64;
  for (let b = 0; b < batch; b++) {
    const base = b * r * c;
    for (let j0 = 0; j0 < c; j0 += tile) {
      const j1 = Math.min(j0 + tile, c);
      for (let i0 = 0; i0 < r; i0 += tile) {
        const i1 = Math.min(i0 + tile, r);
        for (let j = j0; j < j1; j++) {
          let o = base + j * r + i0;
          let k = base + i0 * c + j;
          for (let i = i0; i < i1; i++) {
            dst[o++] = src[k];
            k += c;
          }
        }
      }
    }
  }
}

function broadcastOuter(a: number[], b: number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`matMul: batch dims [${a}] and [${b}] do not broadcast`);
    out.push(Math.max(da, db));
  }
  return out;
}

/** For each output batch index, the batch index into an operand with (broadcast) outer dims. */
function batchIndexer(outer: number[], operand: number[]): (i: number) => number {
  const rank = outer.length;
  const dims = outer.map((_, k) => operand[operand.length - rank + k] ?? 1);
  const strides = new Array<number>(rank).fill(0);
  for (let k = rank - 1, s = 1; k >= 0; k--) {
    strides[k] = dims[k] === 1 ? 0 : s;
    s *= dims[k];
  }
  return (i) => {
    let idx = 0;
    for (let k = rank - 1; k >= 0; k--) {
      const d = outer[k];
      idx += (i % d) * strides[k];
      i = Math.floor(i / d);
    }
    return idx;
  };
}

/** Estimated cost (≈ns) of XNNPACK packing a fresh weight matrix; measured here: ~0.5 ns per
 * element while it fits in cache, ~5 ns beyond ~1 MB (256k floats). */
function packCost(elements: number): number {
  return elements * (elements > 262144 ? 5 : 0.5);
}

/** Our tiled transpose, ≈2 ns per element. */
const TRANSPOSE_COST = 2;

/**
 * C = op(A)·op(B) (+ bias). On our SIMD kernels when they are available (threaded build with
 * dist/kernels/simd.wasm built), there is no bias, and the batch shapes are a single (or tall)
 * product or a plain batch with A broadcast at most. Otherwise, the fallback: XNNPACK's
 * fully-connected operator, which computes out = in · W for row-major in [rows, k] and
 * W [k, cols], packing W on first use. Two ways to get C:
 *   direct:  in = op(A) [m, k], W = op(B) [k, n]  → C
 *   swapped: in = op(B)ᵀ [n, k], W = op(A)ᵀ [k, m] → Cᵀ, then one transpose (m·n)
 * For a weight gradient Xᵀ·dY the swapped form packs X instead of the larger dY, which costs more
 * than the matmul itself once dY outgrows the cache. Batched products run one view per batch
 * element; a shared right operand is folded into a single tall product.
 */
function fastMatMul(
  backend: WasmBackendInternals,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  bias: tf.TensorInfo | null,
): tf.TensorInfo {
  if (a.dtype !== "float32" || b.dtype !== "float32") throw new Error("matMul on wasm supports float32 only");
  const ra = a.shape.length,
    rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const kA = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kB = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (kA !== kB) {
    throw new Error(
      `matMul: inner dimensions ${kA} and ${kB} of shapes [${a.shape}] and [${b.shape}] ` +
        `(transposeA=${transposeA}, transposeB=${transposeB}) must match`,
    );
  }
  const k = kA;
  const outerA = a.shape.slice(0, -2),
    outerB = b.shape.slice(0, -2);
  const outer = broadcastOuter(outerA, outerB);
  const batch = outer.reduce((p, s) => p * s, 1);
  const batchA = outerA.reduce((p, s) => p * s, 1),
    batchB = outerB.reduce((p, s) => p * s, 1);
  const out = backend.makeOutput([...outer, m, n], "float32");
  if (batch === 0 || m === 0 || n === 0) return out;
  if (k === 0) {
    backend.typedArrayFromHeap(out).fill(0);
    return out;
  }
  const biasId = bias ? backend.dataIdMap.get(bias.dataId).id : 0;
  const product = (inId: number, rows: number, weightId: number, cols: number, outId: number) => {
    const [inShape, weightShape] = shapeArgs(backend, [1, rows, k], [1, k, cols]);
    // (a, aShape, rank, b, bShape, rank, transposeA, transposeB, activation=linear, bias, prelu, alpha, out)
    backend.wasm.__FusedMatMul(inId, inShape, 3, weightId, weightShape, 3, 0, 0, 0, biasId, 0, 0, outId);
  };
  const temporaries: tf.TensorInfo[] = [];
  const rowMajor = (x: tf.TensorInfo, transpose: boolean) => {
    if (!transpose) return x;
    const t = transposeLastTwo(backend, x);
    temporaries.push(t);
    return t;
  };

  // Our SIMD kernels: no per-product set-up, operands used in place, rows or batch elements split
  // over the threads (measured faster than XNNPACK at every size of the benchmark).
  const simpleBatch = (batchA === batch || batchA === 1) && batchB === batch && outerA.length <= outerB.length;
  const tall = batch === 1 || (batchB === 1 && batchA === batch && !transposeA);

  // OpenBLAS on the heap: one product (or a shared right operand folded into a tall one). Batches
  // of small products (attention) stay on our kernels, which split the batch over the threads.
  if (blas && bias === null && tall && batch * m * k * n >= NATIVE_MIN_MACS) {
    blasProduct(backend, heapOffset(backend, a), heapOffset(backend, b), heapOffset(backend, out), batch * m, k, n, transposeA, transposeB);
    return out;
  }

  if (simd && bias === null && (tall || simpleBatch)) {
    const offset = (x: tf.TensorInfo) => heapOffset(backend, x);
    if (tall) {
      // One product (a shared right operand folds into a tall one). Bᵀ is stored [n, k]: making it
      // row-major costs k·n moves and lets the faster broadcast-A kernel run.
      const bRows = rowMajor(b, transposeB);
      simd.gemm(offset(a), offset(bRows), offset(out), batch * m, k, n, transposeA, false);
    } else {
      // Many small products (attention); both transposed has no tiled kernel, so make B row-major.
      const bb = transposeA && transposeB ? rowMajor(b, true) : b;
      simd.bmm(offset(a), offset(bb), offset(out), batch, m, k, n, transposeA, transposeB && !transposeA, batchA === 1 ? 0 : m * k, k * n);
    }
    for (const t of temporaries) backend.disposeData(t.dataId);
    return out;
  }

  const direct = (transposeA ? TRANSPOSE_COST * m * k : 0) + (transposeB ? TRANSPOSE_COST * k * n : 0) + packCost(k * n);
  const swapped =
    (transposeA ? 0 : TRANSPOSE_COST * m * k) + (transposeB ? 0 : TRANSPOSE_COST * k * n) + packCost(k * m) + TRANSPOSE_COST * m * n;
  if (batch === 1 && bias === null && swapped < direct) {
    const inRows = rowMajor(b, !transposeB); // [n, k]
    const weights = rowMajor(a, !transposeA); // [k, m]
    const outT = backend.makeOutput([n, m], "float32");
    temporaries.push(outT);
    product(backend.dataIdMap.get(inRows.dataId).id, n, backend.dataIdMap.get(weights.dataId).id, m, backend.dataIdMap.get(outT.dataId).id);
    transposeTiles(backend.typedArrayFromHeap(outT) as Float32Array, backend.typedArrayFromHeap(out) as Float32Array, 1, n, m);
  } else {
    const aData = backend.dataIdMap.get(rowMajor(a, transposeA).dataId); // [.., m, k]
    const bData = backend.dataIdMap.get(rowMajor(b, transposeB).dataId); // [.., k, n]
    const outData = backend.dataIdMap.get(out.dataId);
    if (batchB === 1) {
      // A shared right operand: one tall product [batch·m, k] × [k, n] (batchA === batch here).
      product(aData.id, batch * m, bData.id, n, outData.id);
    } else {
      const indexA = batchIndexer(outer, outerA),
        indexB = batchIndexer(outer, outerB);
      const viewIds: number[] = [];
      for (let i = 0; i < batch; i++) {
        const aId = batchA === 1 ? aData.id : view(backend, aData.memoryOffset + 4 * indexA(i) * m * k, m * k);
        const bId = view(backend, bData.memoryOffset + 4 * indexB(i) * k * n, k * n);
        const outId = view(backend, outData.memoryOffset + 4 * i * m * n, m * n);
        product(aId, m, bId, n, outId);
        if (aId !== aData.id) viewIds.push(aId);
        // Disposing the b view also drops the XNNPACK operator cached on its id.
        viewIds.push(bId, outId);
      }
      for (const id of viewIds) backend.wasm.tfjs.disposeData(id);
    }
  }
  for (const t of temporaries) backend.disposeData(t.dataId);
  return out;
}

/**
 * Sum over the leading `count` axes (bias gradients: [B·T, D] → [D]). The stock kernel transposes
 * the reduced axes to the end first, at generic-transpose speed; adding whole rows needs no
 * transpose. Accumulates in float64.
 */
function sumLeadingAxes(backend: WasmBackendInternals, x: tf.TensorInfo, count: number, keepDims: boolean): tf.TensorInfo {
  const rows = x.shape.slice(0, count).reduce((p, s) => p * s, 1);
  const inner = x.shape.slice(count);
  const width = inner.reduce((p, s) => p * s, 1);
  const out = backend.makeOutput(keepDims ? [...new Array<number>(count).fill(1), ...inner] : inner, "float32");
  if (simd) {
    simd.sumRows(heapOffset(backend, x), heapOffset(backend, out), rows, width);
    return out;
  }
  const src = backend.typedArrayFromHeap(x) as Float32Array;
  const acc = new Float64Array(width);
  for (let r = 0; r < rows; r++) {
    const base = r * width;
    for (let j = 0; j < width; j++) acc[j] += src[base + j];
  }
  (backend.typedArrayFromHeap(out) as Float32Array).set(acc);
  return out;
}

/** out[s] = Σ_{i: ids[i] = s} x[i]; rows with ids outside [0, numSegments) are dropped (as in TF). */
function unsortedSegmentSum(
  backend: WasmBackendInternals,
  x: tf.TensorInfo,
  segmentIds: tf.TensorInfo,
  numSegments: number,
): tf.TensorInfo {
  if (x.dtype !== "float32" && x.dtype !== "int32")
    throw new Error(`UnsortedSegmentSum on wasm supports float32 and int32, got ${x.dtype}`);
  const rows = segmentIds.shape.reduce((p, s) => p * s, 1);
  const inner = x.shape.slice(segmentIds.shape.length);
  const width = inner.reduce((p, s) => p * s, 1);
  // float32 out whatever the input, as tfjs's cpu kernel (it multiplies by a float mask).
  const out = backend.makeOutput([numSegments, ...inner], "float32");
  const outVals = backend.typedArrayFromHeap(out) as Float32Array;
  const xVals = backend.typedArrayFromHeap(x) as Float32Array | Int32Array;
  const ids = backend.typedArrayFromHeap(segmentIds);
  outVals.fill(0);
  for (let i = 0; i < rows; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * width,
      dst = s * width;
    for (let j = 0; j < width; j++) outVals[dst + j] += xVals[src + j];
  }
  return out;
}
