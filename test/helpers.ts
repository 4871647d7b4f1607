import { expect } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { ready, type BackendName } from "../lib/engine";
import { maxAbsDifference } from "../lib/metrics/stats";

/** Runs `f` on a backend and returns plain arrays of its outputs (tensors are disposed). */
export async function onBackend<T extends tf.Tensor | tf.Tensor[]>(
  backend: BackendName,
  f: () => T,
): Promise<{ values: Float32Array | Int32Array | Uint8Array; shape: number[] }[]> {
  await ready({ backend, quiet: true });
  const out = tf.tidy(f);
  const list = Array.isArray(out) ? out : [out];
  const result = list.map((t) => ({ values: t.dataSync() as Float32Array, shape: t.shape.slice() }));
  tf.dispose(list);
  return result;
}

export function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number): void {
  const d = maxAbsDifference(a, b);
  expect(d, `max |a − b| = ${d}`).toBeLessThanOrEqual(tol);
}
