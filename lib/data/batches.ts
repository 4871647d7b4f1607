/**
 * Batches for language modelling from a token-id stream.
 *   causal LM: inputs = ids[s .. s+T), targets = ids[s+1 .. s+T+1), random s (seeded)
 *   evaluation: consecutive non-overlapping windows from the start of the split
 */
import * as tf from "@tensorflow/tfjs";
import { Rng, createRng } from "../engine/rng";

export interface LmBatch {
  inputs: tf.Tensor2D; // [B, T] int32
  targets: tf.Tensor2D; // [B, T] int32
}

export interface WindowOptions {
  batchSize: number;
  seqLen: number;
}

function checkWindows(ids: ArrayLike<number>, { batchSize, seqLen }: WindowOptions, caller: string): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`${caller}: batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new Error(`${caller}: seqLen must be a positive integer, got ${seqLen}`);
  if (ids.length < seqLen + 1) throw new Error(`${caller}: ${ids.length} tokens are too few for windows of ${seqLen} + 1`);
}

function windowsToBatch(ids: ArrayLike<number>, starts: number[], seqLen: number): LmBatch {
  const b = starts.length;
  const inputs = new Int32Array(b * seqLen);
  const targets = new Int32Array(b * seqLen);
  starts.forEach((s, row) => {
    for (let t = 0; t < seqLen; t++) {
      inputs[row * seqLen + t] = ids[s + t];
      targets[row * seqLen + t] = ids[s + t + 1];
    }
  });
  return { inputs: tf.tensor2d(inputs, [b, seqLen], "int32"), targets: tf.tensor2d(targets, [b, seqLen], "int32") };
}

/** Random training windows; the same seed gives the same sequence of batches. */
export function lmBatcher(ids: ArrayLike<number>, options: WindowOptions & { seed?: number; rng?: Rng }): { next(): LmBatch } {
  checkWindows(ids, options, "lmBatcher");
  const rng = options.rng ?? createRng(options.seed ?? 0);
  const span = ids.length - options.seqLen;
  return {
    next: () => windowsToBatch(ids, Array.from({ length: options.batchSize }, () => rng.int(span)), options.seqLen),
  };
}

/** Consecutive windows from the start, at most `maxBatches` batches (all that fit by default). */
export function lmEvalBatches(ids: ArrayLike<number>, options: WindowOptions & { maxBatches?: number }): LmBatch[] {
  checkWindows(ids, options, "lmEvalBatches");
  const { batchSize, seqLen } = options;
  const windows = Math.floor((ids.length - 1) / seqLen);
  const nBatches = Math.min(options.maxBatches ?? Infinity, Math.floor(windows / batchSize));
  if (nBatches < 1) throw new Error(`lmEvalBatches: ${windows} windows of ${seqLen} do not fill one batch of ${batchSize}`);
  return Array.from({ length: nBatches }, (_, i) =>
    windowsToBatch(ids, Array.from({ length: batchSize }, (_, r) => (i * batchSize + r) * seqLen), seqLen));
}

export function disposeBatches(batches: LmBatch[]): void {
  for (const b of batches) tf.dispose([b.inputs, b.targets]);
}
