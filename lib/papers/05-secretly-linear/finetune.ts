/**
 * Fine-tuning a pretrained decoder on a supervised task (Razzhigaev et al. 2024, §3: linearity
 * during fine-tuning): a sentence classifier made of the transformer and a linear head on the
 * mean of its final (normalised) stream over each sentence's real tokens, trained end to end; and
 * the residual streams of labelled sentences (real tokens only, padding dropped) for profiles.
 *
 * The model is causal, so right padding never reaches a real token: a sentence's states are the
 * same in any batch.
 */
import * as tf from "@tensorflow/tfjs";
import { type EncodedSentences, sentenceBatch } from "../../data/batches";
import { createRng } from "../../engine/rng";
import { crossEntropy } from "../../models/loss";
import { normalVariable, zerosVariable } from "../../models/params";
import { type Block, type TransformerParams, embedTokens, transformerBlocks, transformerForward } from "../../models/transformer";
import { evaluateSentences } from "../../train/evaluate";
import type { Schedule } from "../../train/schedules";
import { type ProgressSink, RUN_OPTIONS_SCHEMA, type TrainResult, train } from "../../train/trainer";
import { type OptionsSchema, checkOptions, checkValue } from "../../config";

export interface SentenceHead {
  weight: tf.Variable; // [D, C]
  bias: tf.Variable; // [C]
}

/** A linear head of `classes` outputs: N(0, 0.02²) weights (GPT-2's scale), zero bias. */
export function initSentenceHead(dModel: number, classes: number, seed: number): SentenceHead {
  if (!(Number.isInteger(classes) && classes >= 2)) throw new Error(`initSentenceHead: classes must be an integer ≥ 2, got ${classes}`);
  return { weight: normalVariable(createRng(seed).fork("sentence head"), [dModel, classes], 0.02), bias: zerosVariable([classes]) };
}

/** Mask [B, T] with 1 on each row's first `lengths[i]` positions. */
function lengthMask(lengths: readonly number[], t: number): tf.Tensor2D {
  const m = new Float32Array(lengths.length * t);
  lengths.forEach((len, i) => m.fill(1, i * t, i * t + len));
  return tf.tensor2d(m, [lengths.length, t]);
}

/** Class logits [B, C] of token rows [B, T] with real lengths: the head on the mean final stream (after the final norm). */
export function classifySentences(
  params: TransformerParams<Block>,
  head: SentenceHead,
  tokens: tf.Tensor2D,
  lengths: readonly number[],
): tf.Tensor2D {
  const [b, t] = tokens.shape;
  if (lengths.length !== b) throw new Error(`classifySentences: ${lengths.length} lengths for ${b} rows`);
  if (lengths.some((len) => !(Number.isInteger(len) && len >= 1 && len <= t)))
    throw new Error(`classifySentences: every length must be an integer in 1…${t}, got ${lengths.join(", ")}`);
  return tf.tidy(() => {
    const d = params.config.dModel;
    const final = transformerBlocks({
      config: params.config,
      blocks: params.blocks,
      finalNorm: params.finalNorm,
      stream: embedTokens(params, tokens),
      batch: b,
      time: t,
    }); // [B·T, D]
    const mask = lengthMask(lengths, t);
    const summed = tf.sum(tf.mul(tf.reshape(final, [b, t, d]), tf.expandDims(mask, 2)), 1); // [B, D]
    const pooled = tf.div(summed, tf.expandDims(tf.sum(mask, 1), 1));
    return tf.add(tf.matMul(pooled, head.weight), head.bias) as tf.Tensor2D;
  });
}

/** Accuracy and mean cross-entropy of the classifier on `data`, in batches. */
export function evaluateSentenceClassifier(
  params: TransformerParams<Block>,
  head: SentenceHead,
  data: EncodedSentences,
  batchSize = 64,
): { accuracy: number; loss: number } {
  const e = evaluateSentences((tokens, lengths) => classifySentences(params, head, tokens, lengths), data, batchSize);
  return { accuracy: e.right / e.count, loss: e.loss };
}

export interface SentenceFineTuneOptions {
  /** Trained in place (pass a copy to keep the pretrained weights). */
  params: TransformerParams<Block>;
  head: SentenceHead;
  data: EncodedSentences;
  steps: number;
  lr: number | Schedule;
  batchSize: number;
  /** Seeds the batch order (reshuffled every epoch). */
  seed: number;
  clipNorm?: number;
  progress?: ProgressSink;
}

const SENTENCE_FINE_TUNE_SCHEMA: OptionsSchema<SentenceFineTuneOptions> = {
  params: { kind: "object", what: "transformer params" },
  head: { kind: "object", what: "a sentence head (initSentenceHead)" },
  data: { kind: "object", what: "encoded sentences (encodeSentences)" },
  steps: RUN_OPTIONS_SCHEMA.steps,
  lr: RUN_OPTIONS_SCHEMA.lr,
  batchSize: { kind: "int", min: 1 },
  seed: { kind: "int" },
  clipNorm: RUN_OPTIONS_SCHEMA.clipNorm,
  progress: RUN_OPTIONS_SCHEMA.progress,
};

/** Fine-tunes every weight of the transformer and the head on cross-entropy (Adam). */
export function fineTuneSentences(o: SentenceFineTuneOptions): TrainResult {
  checkOptions("fineTuneSentences", o, SENTENCE_FINE_TUNE_SCHEMA);
  const n = o.data.ids.length;
  if (n === 0) throw new Error("fineTuneSentences: no training sentences");
  if (!(Number.isInteger(o.batchSize) && o.batchSize >= 1 && o.batchSize <= n))
    throw new Error(`fineTuneSentences: batchSize must be an integer in 1…${n}, got ${o.batchSize}`);
  const rng = createRng(o.seed);
  const perEpoch = Math.floor(n / o.batchSize);
  let order: number[] = [];
  return train({
    params: { model: o.params, head: o.head },
    steps: o.steps,
    lr: o.lr,
    clipNorm: o.clipNorm,
    progress: o.progress,
    loss: (step) => {
      const k = step % perEpoch;
      if (k === 0) order = rng.fork(`epoch ${Math.floor(step / perEpoch)}`).shuffle(Array.from({ length: n }, (_, i) => i));
      const batch = sentenceBatch(o.data, order.slice(k * o.batchSize, (k + 1) * o.batchSize));
      const loss = tf.tidy(() => crossEntropy(classifySentences(o.params, o.head, batch.tokens, batch.lengths), batch.labels));
      tf.dispose([batch.tokens, batch.labels]);
      return loss;
    },
  });
}

/**
 * The residual streams of sentences (embeddings, then after each block, before the final norm)
 * over their real tokens only: nLayers + 1 tensors [N, D], N = the total length of the sentences,
 * in order. The caller disposes them.
 */
export function sentenceStreams(params: TransformerParams<Block>, data: EncodedSentences, batchSize = 64): tf.Tensor2D[] {
  checkValue("sentenceStreams", "batchSize", batchSize, { kind: "int", min: 1 });
  if (data.ids.length === 0) throw new Error("sentenceStreams: no sentences");
  const d = params.config.dModel;
  const perLayer: tf.Tensor2D[][] = Array.from({ length: params.config.nLayers + 1 }, () => []);
  for (let start = 0; start < data.ids.length; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, data.ids.length - start) }, (_, i) => start + i);
    const batch = sentenceBatch(data, idx);
    const t = batch.tokens.shape[1];
    const keep = tf.tensor1d(
      batch.lengths.flatMap((len, i) => Array.from({ length: len }, (_, j) => i * t + j)),
      "int32",
    );
    const { logits, hidden } = transformerForward(params, batch.tokens, { captureHidden: true });
    hidden!.forEach((h, l) => {
      perLayer[l].push(tf.tidy(() => tf.gather(tf.reshape(h, [-1, d]), keep) as tf.Tensor2D));
    });
    tf.dispose([logits, ...hidden!, keep, batch.tokens, batch.labels]);
  }
  return perLayer.map((parts) => {
    const all = parts.length === 1 ? parts[0] : (tf.concat(parts, 0) as tf.Tensor2D);
    if (parts.length > 1) tf.dispose(parts);
    return all;
  });
}
