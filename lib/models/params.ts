/**
 * Helpers over "params objects": plain nested objects and arrays whose leaves are tf.Variables.
 * Every model here is `init(config, rng) → params` plus pure functions over params.
 */
import * as tf from "@tensorflow/tfjs";
import { checkMemory, tensorBytesInUse } from "../engine/memory";
import { type Rng, normalArray } from "../engine/rng";

/** Every variable in a params object, keyed by its dotted path ("layers.0.attn.wq"). */
export function namedVariables(params: unknown, prefix = ""): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  const walk = (node: unknown, path: string) => {
    if (node instanceof tf.Variable) {
      out.set(path, node);
    } else if (Array.isArray(node)) {
      node.forEach((child, i) => walk(child, path ? `${path}.${i}` : String(i)));
    } else if (node !== null && typeof node === "object" && !(node instanceof tf.Tensor)) {
      for (const [key, child] of Object.entries(node)) {
        if (key === "config") continue;
        walk(child, path ? `${path}.${key}` : key);
      }
    }
  };
  walk(params, prefix);
  return out;
}

/** Total number of scalar parameters (trainable or not). */
export function countParameters(params: unknown): number {
  let n = 0;
  for (const v of namedVariables(params).values()) n += v.size;
  return n;
}

/** Disposes every variable of a params object. */
export function disposeParams(params: unknown): void {
  for (const v of namedVariables(params).values()) v.dispose();
}

/**
 * Disposes the variables of `derived` that `base` does not hold: what a params transform (e.g.
 * `ablateModule`) created, leaving the weights it shares with `base` alive.
 */
export function disposeNewVariables(derived: unknown, base: unknown): void {
  const shared = new Set(namedVariables(base).values());
  for (const v of namedVariables(derived).values()) if (!shared.has(v)) v.dispose();
}

/** A deep copy with fresh variables (same values); the copy is independent of the original. */
export function cloneParams<T>(params: T): T {
  const copy = (node: unknown): unknown => {
    if (node instanceof tf.Variable) return variableFrom(() => node.clone(), node.trainable);
    if (Array.isArray(node)) return node.map(copy);
    if (node !== null && typeof node === "object" && !(node instanceof tf.Tensor)) {
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(node)) out[key] = key === "config" ? child : copy(child);
      return out;
    }
    return node;
  };
  return copy(params) as T;
}

/**
 * A variable holding `make()`'s value. tf.variable(t) keeps its own reference and never frees `t`;
 * building it inside tidy does.
 */
export function variableFrom(make: () => tf.Tensor, trainable = true): tf.Variable {
  return tf.tidy(() => tf.variable(make(), trainable));
}

/**
 * Refuses a new variable that would take the tensors held past the memory limit (engine/memory.ts):
 * every model's weights are made here, so a model too large for the machine stops at its first
 * weight over the limit instead of filling the memory.
 */
function checkNewVariable(who: string, shape: number[]): number {
  const size = shape.reduce((p, s) => p * s, 1);
  checkMemory(`${who} [${shape}]`, { "tensors held now": tensorBytesInUse(), "this weight": 4 * size });
  return size;
}

/** Weight matrix [fanIn, fanOut] with N(0, std²) entries from our generator. */
export function normalVariable(rng: Rng, shape: number[], std: number): tf.Variable {
  const size = checkNewVariable("normalVariable", shape);
  return variableFrom(() => tf.tensor(normalArray(rng, size, std), shape, "float32"));
}

export function zerosVariable(shape: number[]): tf.Variable {
  checkNewVariable("zerosVariable", shape);
  return variableFrom(() => tf.zeros(shape));
}

/** Plain-array snapshot of all parameter values (for checkpoints kept in memory). */
export function snapshotParams(params: unknown): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, v] of namedVariables(params)) out.set(name, v.dataSync() as Float32Array);
  return out;
}

/** Writes a snapshot back into matching variables; throws on a missing name or shape mismatch. */
export function restoreParams(params: unknown, snapshot: Map<string, Float32Array>): void {
  for (const [name, v] of namedVariables(params)) {
    const values = snapshot.get(name);
    if (!values) throw new Error(`restoreParams: snapshot has no "${name}"`);
    if (values.length !== v.size) throw new Error(`restoreParams: "${name}" has ${v.size} values, snapshot ${values.length}`);
    tf.tidy(() => v.assign(tf.tensor(values, v.shape, "float32")));
  }
}

/**
 * The width w (a multiple of `step` in [min, max]) whose `count(w)` is closest to `target`: how
 * the notebooks match the parameter counts of different architectures.
 */
export function closestWidth(
  target: number,
  count: (width: number) => number,
  options: { max: number; min?: number; step?: number },
): number {
  const step = options.step ?? 1;
  const min = options.min ?? step;
  if (!(min > 0 && options.max >= min)) throw new Error(`closestWidth: need 0 < min ≤ max, got ${min}, ${options.max}`);
  let best = min;
  for (let w = min; w <= options.max; w += step) if (Math.abs(count(w) - target) < Math.abs(count(best) - target)) best = w;
  return best;
}
