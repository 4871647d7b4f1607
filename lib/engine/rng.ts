/**
 * Seeded pseudo-random numbers for everything random in this project: initial weights, data
 * order, masking, Monte-Carlo noise.
 *
 * Why our own: TensorFlow.js initialisers ignore their `seed` argument (tfjs issue 7104) and its
 * random ops draw from a global generator, so "same seed → same numbers" needs a generator we
 * own. The core is xoshiro128** (Blackman & Vigna 2018), seeded through splitmix32 so that nearby
 * seeds give unrelated streams. Normals use the Box–Muller transform.
 */
import * as tf from "@tensorflow/tfjs";

export interface Rng {
  /** The seed this generator was created from (for logging). */
  readonly seed: number;
  /** Uniform float in [0, 1). */
  uniform(): number;
  /** Standard normal N(0, 1). */
  normal(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** A new generator whose stream is independent of this one's; `label` names the purpose. */
  fork(label: string): Rng;
  /** Fisher–Yates shuffle, in place; returns the array. */
  shuffle<T>(items: T[]): T[];
}

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function hashLabel(label: string): number {
  // FNV-1a, enough to turn a purpose label into 32 seed bits.
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Creates a generator from an integer seed (any safe integer; negative and large seeds are fine). */
export function createRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed)) throw new Error(`createRng: seed must be a safe integer, got ${seed}`);
  const mix = splitmix32((seed >>> 0) ^ Math.floor(seed / 2 ** 32));
  let a = mix(),
    b = mix(),
    c = mix(),
    d = mix();
  if ((a | b | c | d) === 0) a = 1;
  let spareNormal: number | null = null;

  const next = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
  const uniform = (): number => next() / 2 ** 32;

  const rng: Rng = {
    seed,
    uniform,
    normal() {
      if (spareNormal !== null) {
        const z = spareNormal;
        spareNormal = null;
        return z;
      }
      let u = 0;
      while (u === 0) u = uniform();
      const v = uniform();
      const r = Math.sqrt(-2 * Math.log(u));
      spareNormal = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    int(n) {
      if (!Number.isInteger(n) || n <= 0) throw new Error(`Rng.int: n must be a positive integer, got ${n}`);
      return Math.floor(uniform() * n);
    },
    fork(label) {
      return createRng(((next() ^ hashLabel(label)) >>> 0) + 2 ** 32 * (next() & 0xffff));
    },
    shuffle(items) {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(uniform() * (i + 1));
        [items[i], items[j]] = [items[j], items[i]];
      }
      return items;
    },
  };
  return rng;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Float32 values drawn from N(0, std²). */
export function normalArray(rng: Rng, size: number, std = 1): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.normal() * std;
  return out;
}

/** A tensor of N(0, std²) values from our generator (tfjs's own ignore seeds). */
export function randomNormal(rng: Rng, shape: number[], std = 1): tf.Tensor {
  return tf.tensor(
    normalArray(
      rng,
      shape.reduce((p, s) => p * s, 1),
      std,
    ),
    shape,
    "float32",
  );
}

/** Float32 values drawn from U[lo, hi). */
export function uniformArray(rng: Rng, size: number, lo = 0, hi = 1): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = lo + (hi - lo) * rng.uniform();
  return out;
}

/** A tensor of U[lo, hi) values from our generator. */
export function randomUniform(rng: Rng, shape: number[], lo = 0, hi = 1): tf.Tensor {
  return tf.tensor(
    uniformArray(
      rng,
      shape.reduce((p, s) => p * s, 1),
      lo,
      hi,
    ),
    shape,
    "float32",
  );
}
