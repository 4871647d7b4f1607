/**
 * Batches for language modelling from a token-id stream.
 *   causal LM: inputs = ids[s .. s+T), targets = ids[s+1 .. s+T+1), random s (seeded)
 *   evaluation: non-overlapping windows spread evenly over the whole split (so a few batches
 *               sample all of it, as the n-gram baselines do, not just its first pages)
 */
import * as tf from "@tensorflow/tfjs";
import { type Rng, createRng } from "../engine/rng";
import type { Tokenizer } from "./tokenizers";

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
    next: () =>
      windowsToBatch(
        ids,
        Array.from({ length: options.batchSize }, () => rng.int(span)),
        options.seqLen,
      ),
  };
}

/**
 * Window start positions for evaluation: `count` of the `windows` non-overlapping windows of
 * `seqLen`, evenly spaced over the split (all of them, in order, when count = windows).
 */
function spreadStarts(windows: number, count: number, seqLen: number): number[] {
  return Array.from({ length: count }, (_, j) => Math.floor((j * windows) / count) * seqLen);
}

/**
 * Non-overlapping evaluation windows spread evenly over the whole split, in batches; at most
 * `maxBatches` batches (all that fit by default).
 */
export function lmEvalBatches(ids: ArrayLike<number>, options: WindowOptions & { maxBatches?: number }): LmBatch[] {
  checkWindows(ids, options, "lmEvalBatches");
  const { batchSize, seqLen } = options;
  const windows = Math.floor((ids.length - 1) / seqLen);
  const nBatches = Math.min(options.maxBatches ?? Infinity, Math.floor(windows / batchSize));
  if (nBatches < 1) throw new Error(`lmEvalBatches: ${windows} windows of ${seqLen} do not fill one batch of ${batchSize}`);
  const starts = spreadStarts(windows, nBatches * batchSize, seqLen);
  return Array.from({ length: nBatches }, (_, i) => windowsToBatch(ids, starts.slice(i * batchSize, (i + 1) * batchSize), seqLen));
}

export function disposeBatches(batches: LmBatch[]): void {
  for (const b of batches) tf.dispose([b.inputs, b.targets]);
}

export interface MlmBatch {
  inputs: tf.Tensor2D; // [B, T] int32, with masking applied
  targets: tf.Tensor2D; // [B, T] int32, the original tokens
  weights: tf.Tensor2D; // [B, T] float32, 1 where a prediction is scored
}

export interface MlmOptions extends WindowOptions {
  /** Id of the [MASK] token (outside the tokenizer's vocabulary: the model's vocab is one larger). */
  maskId: number;
  /** Ids 0..vocabSize−1 are real tokens, drawn for random replacement. */
  vocabSize: number;
  /** Fraction of positions selected for prediction (BERT: 15%). */
  maskProb?: number;
  seed?: number;
  rng?: Rng;
}

/**
 * BERT-style masked-LM batches (Devlin et al. 2019, §3.1): each position is selected with
 * probability `maskProb`; a selected token becomes [MASK] 80% of the time, a random token 10%,
 * and stays unchanged 10%. Loss is scored on selected positions only (weights = 1 there). At least
 * one position per row is selected, so no row is empty.
 */
export function mlmBatcher(ids: ArrayLike<number>, options: MlmOptions): { next(): MlmBatch } {
  checkMlm(ids, options, "mlmBatcher");
  const rng = options.rng ?? createRng(options.seed ?? 0);
  const span = ids.length - options.seqLen + 1;
  return {
    next: () =>
      maskedBatch(
        ids,
        Array.from({ length: options.batchSize }, () => rng.int(span)),
        options,
        rng,
      ),
  };
}

/**
 * Fixed masked-LM evaluation batches: consecutive windows from the start of the split, masked as
 * in training with their own seed (the same batches on every call with the same options).
 */
export function mlmEvalBatches(ids: ArrayLike<number>, options: MlmOptions & { maxBatches?: number }): MlmBatch[] {
  checkMlm(ids, options, "mlmEvalBatches");
  const { batchSize, seqLen } = options;
  const windows = Math.floor(ids.length / seqLen);
  const nBatches = Math.min(options.maxBatches ?? Infinity, Math.floor(windows / batchSize));
  if (nBatches < 1) throw new Error(`mlmEvalBatches: ${windows} windows of ${seqLen} do not fill one batch of ${batchSize}`);
  const rng = options.rng ?? createRng(options.seed ?? 0);
  const starts = spreadStarts(windows, nBatches * batchSize, seqLen);
  return Array.from({ length: nBatches }, (_, i) => maskedBatch(ids, starts.slice(i * batchSize, (i + 1) * batchSize), options, rng));
}

export function disposeMlmBatches(batches: MlmBatch[]): void {
  for (const b of batches) tf.dispose([b.inputs, b.targets, b.weights]);
}

function checkMlm(ids: ArrayLike<number>, options: MlmOptions, caller: string): void {
  checkWindows(ids, options, caller);
  const { maskId, vocabSize, maskProb = 0.15 } = options;
  if (!(maskProb > 0 && maskProb <= 1)) throw new Error(`${caller}: maskProb must be in (0, 1], got ${maskProb}`);
  if (maskId < vocabSize) throw new Error(`${caller}: maskId (${maskId}) must be outside the real vocabulary (< ${vocabSize})`);
}

function maskedBatch(ids: ArrayLike<number>, starts: number[], options: MlmOptions, rng: Rng): MlmBatch {
  const { seqLen, maskId, vocabSize, maskProb = 0.15 } = options;
  const batchSize = starts.length;
  const inputs = new Int32Array(batchSize * seqLen);
  const targets = new Int32Array(batchSize * seqLen);
  const weights = new Float32Array(batchSize * seqLen);
  starts.forEach((start, row) => {
    let selected = 0;
    for (let t = 0; t < seqLen; t++) {
      const i = row * seqLen + t;
      const token = ids[start + t];
      targets[i] = token;
      inputs[i] = token;
      if (rng.uniform() < maskProb) {
        weights[i] = 1;
        selected++;
      }
    }
    if (selected === 0) weights[row * seqLen + rng.int(seqLen)] = 1;
    for (let t = 0; t < seqLen; t++) {
      const i = row * seqLen + t;
      if (weights[i] === 0) continue;
      const u = rng.uniform();
      if (u < 0.8) inputs[i] = maskId;
      else if (u < 0.9) inputs[i] = rng.int(vocabSize);
    }
  });
  return {
    inputs: tf.tensor2d(inputs, [batchSize, seqLen], "int32"),
    targets: tf.tensor2d(targets, [batchSize, seqLen], "int32"),
    weights: tf.tensor2d(weights, [batchSize, seqLen], "float32"),
  };
}

/**
 * Token rows of different lengths as one batch: ids [B, T] (int32, T = the longest row), each row
 * padded at the end with `padId`, and the real lengths (for masks and pooling).
 */
export function padTokenRows(rows: ArrayLike<number>[], padId = 0): { tokens: tf.Tensor2D; lengths: number[] } {
  if (rows.length === 0) throw new Error("padTokenRows: no rows");
  const lengths = rows.map((r) => r.length);
  const t = Math.max(...lengths);
  if (t === 0) throw new Error("padTokenRows: every row is empty");
  const flat = new Int32Array(rows.length * t).fill(padId);
  rows.forEach((r, i) => flat.set(Array.from(r), i * t));
  return { tokens: tf.tensor2d(flat, [rows.length, t], "int32"), lengths };
}

// ---------------------------------------------------------------------------------------------
// Labelled sentences (classification)

export interface EncodedSentences {
  ids: Int32Array[];
  labels: number[];
}

/** Token ids of each sentence, cut to `maxLength` tokens (at least one token each: empty → [unk]). */
export function encodeSentences(tokenizer: Tokenizer, items: { text: string; label: number }[], maxLength: number): EncodedSentences {
  return {
    ids: items.map((x) => {
      const ids = tokenizer.encode(x.text).slice(0, maxLength);
      return ids.length ? ids : Int32Array.of(tokenizer.unkId ?? 0);
    }),
    labels: items.map((x) => x.label),
  };
}

export interface SentenceBatch {
  tokens: tf.Tensor2D;
  lengths: number[];
  labels: tf.Tensor1D;
}

/** Rows `indices` of `data`, padded with 0 to the longest. */
export function sentenceBatch(data: EncodedSentences, indices: number[]): SentenceBatch {
  const { tokens, lengths } = padTokenRows(indices.map((i) => data.ids[i]));
  return {
    tokens,
    lengths,
    labels: tf.tensor1d(
      indices.map((i) => data.labels[i]),
      "int32",
    ),
  };
}
