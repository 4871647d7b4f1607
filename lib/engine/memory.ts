/**
 * A memory guard: what a model or a training run is about to hold, estimated before it is
 * allocated, against a limit, so that a model far too large for the machine is refused at once
 * (with the figures) instead of running for minutes towards an out-of-memory crash.
 *
 * The limit is `TA_MEMORY_LIMIT_MB` when set (megabytes, 1 MB = 2²⁰ bytes); otherwise half of the
 * machine's memory (os.totalmem()), and at most 4 GiB on the wasm backend, whose heap cannot grow
 * beyond that. A run's own `memoryLimitMB` option, where there is one, overrides both.
 * The estimates count tensor bytes only (what tf.memory() counts), not JavaScript arrays.
 */
import * as os from "node:os";
import * as tf from "@tensorflow/tfjs";

const MB = 2 ** 20;
/** The wasm backend's heap is a 32-bit WebAssembly memory: 4 GiB at most. */
export const WASM_HEAP_LIMIT_BYTES = 4 * 2 ** 30;

export interface MemoryLimit {
  bytes: number;
  /** Where the limit comes from, for error messages. */
  source: string;
}

/** The limit in force: `overrideMB` (a run's option), else TA_MEMORY_LIMIT_MB, else the default. */
export function memoryLimit(overrideMB?: number): MemoryLimit {
  if (overrideMB !== undefined) {
    if (!(Number.isFinite(overrideMB) && overrideMB > 0)) throw new Error(`memoryLimitMB must be a number > 0, got ${overrideMB}`);
    return { bytes: overrideMB * MB, source: `the run's memoryLimitMB option (${overrideMB} MB)` };
  }
  const env = process.env.TA_MEMORY_LIMIT_MB;
  if (env !== undefined && env !== "") {
    const mb = Number(env);
    if (!(Number.isFinite(mb) && mb > 0)) throw new Error(`TA_MEMORY_LIMIT_MB must be a number of megabytes > 0, got "${env}"`);
    return { bytes: mb * MB, source: `TA_MEMORY_LIMIT_MB=${env}` };
  }
  const half = os.totalmem() / 2;
  if (currentBackend() === "wasm" && WASM_HEAP_LIMIT_BYTES < half) {
    return { bytes: WASM_HEAP_LIMIT_BYTES, source: "the wasm backend's 4 GiB heap; set TA_MEMORY_LIMIT_MB to change the limit" };
  }
  return {
    bytes: half,
    source: `half of this machine's ${formatBytes(os.totalmem())}; set TA_MEMORY_LIMIT_MB to change it`,
  };
}

function currentBackend(): string | null {
  try {
    return tf.getBackend() ?? null;
  } catch {
    return null;
  }
}

/** Bytes held by tensors now (tfjs's own count). */
export function tensorBytesInUse(): number {
  return tf.memory().numBytes;
}

/** "1.5 GB", "12.0 MB", "512 bytes" (binary units: 1 GB = 2³⁰ bytes). */
export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 40) return `${(bytes / 2 ** 40).toFixed(1)} TB`;
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GB`;
  if (bytes >= MB) return `${(bytes / MB).toFixed(1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${bytes} bytes`;
}

/**
 * Throws when the parts (label → bytes) add up to more than the limit, naming the total, each
 * part, the limit and where it comes from. Returns the total otherwise.
 */
export function checkMemory(who: string, parts: Record<string, number>, limitMB?: number): number {
  const total = Object.values(parts).reduce((a, b) => a + b, 0);
  const limit = memoryLimit(limitMB);
  if (total > limit.bytes) {
    const detail = Object.entries(parts)
      .filter(([, b]) => b > 0)
      .map(([label, b]) => `${label} ${formatBytes(b)}`)
      .join(" + ");
    throw new Error(
      `${who}: needs about ${formatBytes(total)} (${detail}), above the memory limit of ${formatBytes(limit.bytes)} (${limit.source}); use a smaller model or batch`,
    );
  }
  return total;
}
