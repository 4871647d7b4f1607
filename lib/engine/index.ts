/**
 * Backend selection. At import we register, in order of preference:
 *   tensorflow — @tensorflow/tfjs-node (native libtensorflow), when its optional install succeeded;
 *   wasm       — the WebAssembly backend with our patches (./wasm.ts): threads and fast matmuls;
 *   cpu        — pure JavaScript, 20–50× slower; the reference the patched kernels are tested against.
 * `TA_BACKEND=tensorflow|wasm|cpu` forces one; `TA_THREADS=n` sets the wasm thread count
 * (default: the machine's cores, at most 8, the size of tfjs's worker pool).
 */
import * as os from "node:os";
import * as tf from "@tensorflow/tfjs";
import * as tfWasm from "@tensorflow/tfjs-backend-wasm";
import { registerMissingKernels, registerPatchedWasm, wasmInitInfo } from "./wasm";

export { setNativeProducts } from "./wasm";
export { setFusedKernels } from "./fused";

export const BACKENDS = ["tensorflow", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface EngineInfo {
  backend: BackendName;
  /** Threads doing tensor work (1 for cpu; tfjs-node manages its own pool, reported as cores). */
  threads: number;
  simd: boolean | null;
  /** wasm only: our patches (threads, matmul routing, extra kernels) are active. */
  patched: boolean | null;
  /** wasm only: what runs the float32 products ("OpenBLAS 0.3.21, 2 threads", "SIMD kernels …"). */
  products: string | null;
  versions: { tfjs: string; node: string; tslab: string | null; transformerAnatomy: string };
}

let nativeAvailable = false;
try {
  // Registers the "tensorflow" backend as a side effect. Absent when its install script could not
  // download libtensorflow (it is an optional dependency), which is the normal case offline.
  require("@tensorflow/tfjs-node");
  nativeAvailable = true;
} catch {
  nativeAvailable = false;
}

// Silences tfjs's "install tfjs-node" banner and its debug checks; errors still throw.
tf.enableProdMode();

const defaultThreads = Math.min(8, Math.max(1, os.availableParallelism?.() ?? os.cpus().length));
const threads = parseThreads(process.env.TA_THREADS) ?? defaultThreads;
// Priority 2.5: above webgl and stock wasm (2), below tfjs-node's "tensorflow" (3), so a bare
// `tf.ready()` picks the same backend as `ready()` below. TA_WASM_PATCHES=off keeps stock tfjs
// (single-threaded, stock kernels, plus only the kernel training cannot do without): the
// benchmark's "before" column.
const patched = process.env.TA_WASM_PATCHES !== "off";
if (patched) registerPatchedWasm(threads, 2.5);
else registerMissingKernels();

function parseThreads(value: string | undefined): number | null {
  if (value === undefined || value === "") return null;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`TA_THREADS must be a positive integer, got "${value}"`);
  return n;
}

function parseBackend(value: string | undefined): BackendName | null {
  if (value === undefined || value === "") return null;
  if (!(BACKENDS as readonly string[]).includes(value)) {
    throw new Error(`TA_BACKEND must be one of ${BACKENDS.join(", ")}; got "${value}"`);
  }
  return value as BackendName;
}

/** The backends that can run here, best first. */
export function availableBackends(): BackendName[] {
  return nativeAvailable ? ["tensorflow", "wasm", "cpu"] : ["wasm", "cpu"];
}

let current: EngineInfo | null = null;

/** Lines printed under the engine line by `ready()` (each a function returning a line, or null for none). */
const bannerNotes: (() => string | null)[] = [];

/**
 * Adds a line under the engine line `ready()` prints (the first output of every notebook); the
 * package entry adds the smoke-mode autosave warning (lib/notebook/mode.ts). Each note is computed
 * at every `ready()`, also a quiet one, so a note that throws (a malformed setting) stops `ready()`.
 */
export function addBannerNote(note: () => string | null): void {
  if (!bannerNotes.includes(note)) bannerNotes.push(note);
}

/**
 * Starts the best available backend (or the one asked for, or `TA_BACKEND`) and returns what runs.
 * Call once at the top of a notebook or script: `const engine = await ready();`.
 */
export async function ready(options: { backend?: BackendName; quiet?: boolean } = {}): Promise<EngineInfo> {
  const wanted = options.backend ?? parseBackend(process.env.TA_BACKEND) ?? availableBackends()[0];
  if (!(BACKENDS as readonly string[]).includes(wanted)) {
    throw new Error(`backend must be one of ${BACKENDS.join(", ")}; got "${wanted}"`);
  }
  if (wanted === "tensorflow" && !nativeAvailable) {
    throw new Error(
      'backend "tensorflow" needs @tensorflow/tfjs-node, which is not installed here ' +
        '(its install downloads libtensorflow; offline it is skipped). Use "wasm".',
    );
  }
  if (current?.backend !== wanted || tf.getBackend() !== wanted) {
    const ok = await tf.setBackend(wanted);
    if (!ok) throw new Error(`backend "${wanted}" failed to start`);
    await tf.ready();
    current = describe(wanted);
  }
  const notes = bannerNotes.map((note) => note()).filter((line): line is string => Boolean(line));
  if (!options.quiet) console.log([formatEngine(current!), ...notes].join("\n"));
  return current!;
}

/** The engine `ready()` started (backend, threads, versions); an error before `ready()`. */
export function engineInfo(): EngineInfo {
  if (!current) throw new Error("engineInfo: the engine is not started; call `await ta.ready()` first");
  return current;
}

function describe(backend: BackendName): EngineInfo {
  const wasm = patched
    ? wasmInitInfo()
    : { threads: tfWasm.getThreadsCount(), simd: Boolean(tf.env().get("WASM_HAS_SIMD_SUPPORT")), products: "stock tfjs kernels" };
  return {
    backend,
    patched: backend === "wasm" ? patched : null,
    threads: backend === "wasm" ? (wasm?.threads ?? 1) : backend === "cpu" ? 1 : os.cpus().length,
    simd: backend === "wasm" ? (wasm?.simd ?? null) : null,
    products: backend === "wasm" ? (wasm?.products ?? null) : null,
    versions: {
      tfjs: tf.version.tfjs,
      node: process.version,
      tslab: tslabVersion(),
      transformerAnatomy: (require("../../package.json") as { version: string }).version,
    },
  };
}

function tslabVersion(): string | null {
  try {
    return (require("tslab/package.json") as { version: string }).version;
  } catch {
    return null;
  }
}

/** One line: backend, threads, versions — the first output of every notebook. */
export function formatEngine(info: EngineInfo): string {
  const simd = info.simd === null ? "" : info.simd ? ", SIMD" : ", no SIMD";
  const stock = info.patched === false ? ", stock tfjs kernels" : "";
  const v = info.versions;
  return (
    `engine: ${info.backend} (${info.threads} thread${info.threads === 1 ? "" : "s"}${simd}${stock}${info.products && info.patched ? `; products: ${info.products}` : ""}) · ` +
    `tfjs ${v.tfjs} · node ${v.node}${v.tslab ? ` · tslab ${v.tslab}` : ""} · transformer-anatomy ${v.transformerAnatomy}`
  );
}
