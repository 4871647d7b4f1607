/**
 * Evaluation: language models (mean cross-entropy over fixed batches, perplexity = e^loss; masked
 * LMs score only their selected positions) and classifiers (loss and accuracy).
 */
import * as tf from "@tensorflow/tfjs";
import { checkValue } from "../config";
import { type EncodedSentences, type LmBatch, type MlmBatch, sentenceBatch } from "../data/batches";
import type { ImageBatch } from "../data/images";
import { crossEntropy } from "../models/loss";

export interface LmEval {
  loss: number;
  perplexity: number;
}

/**
 * Token-weighted mean loss of `logitsOf(inputs)` against the targets over all `batches`; for
 * masked-LM batches, over the scored positions only (weight 1).
 */
export function evaluateLm(logitsOf: (inputs: tf.Tensor) => tf.Tensor, batches: (LmBatch | MlmBatch)[]): LmEval {
  if (batches.length === 0) throw new Error("evaluateLm: no batches");
  let total = 0;
  let count = 0;
  for (const b of batches) {
    const weights = "weights" in b ? b.weights : undefined;
    const [loss, n] = tf.tidy(() => [
      crossEntropy(logitsOf(b.inputs), b.targets, weights),
      weights ? tf.sum(weights) : tf.scalar(b.targets.size),
    ]);
    const scored = n.dataSync()[0];
    total += loss.dataSync()[0] * scored;
    count += scored;
    tf.dispose([loss, n]);
  }
  const mean = total / count;
  return { loss: mean, perplexity: Math.exp(mean) };
}

export interface ClassifierEval {
  loss: number;
  accuracy: number;
  count: number;
}

/** Mean cross-entropy and accuracy of `logitsOf(images)` [B, C] over all `batches`. */
export function evaluateClassifier(logitsOf: (images: tf.Tensor) => tf.Tensor, batches: ImageBatch[]): ClassifierEval {
  if (batches.length === 0) throw new Error("evaluateClassifier: no batches");
  let loss = 0;
  let correct = 0;
  let count = 0;
  for (const b of batches) {
    const [l, hits] = tf.tidy(() => {
      const logits = logitsOf(b.images);
      return [crossEntropy(logits, b.labels), tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), b.labels), "int32"))];
    });
    const n = b.labels.size;
    loss += l.dataSync()[0] * n;
    correct += hits.dataSync()[0];
    count += n;
    tf.dispose([l, hits]);
  }
  return { loss: loss / count, accuracy: correct / count, count };
}

export interface SentenceEval {
  /** Sentences whose arg-max class is their label. */
  right: number;
  count: number;
  /** Mean cross-entropy per sentence. */
  loss: number;
  /** Per sentence, in order: 1 when its arg-max class is its label. */
  correct: Uint8Array;
}

/** A sentence classifier `logitsOf(tokens [B, T], lengths)` → [B, C] over all of `data`, in batches of `batchSize`. */
export function evaluateSentences(
  logitsOf: (tokens: tf.Tensor2D, lengths: number[]) => tf.Tensor,
  data: EncodedSentences,
  batchSize = 64,
): SentenceEval {
  checkValue("evaluateSentences", "batchSize", batchSize, { kind: "int", min: 1 });
  let right = 0,
    loss = 0;
  const correct = new Uint8Array(data.ids.length);
  for (let start = 0; start < data.ids.length; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, data.ids.length - start) }, (_, i) => start + i);
    const batch = sentenceBatch(data, idx);
    let hits: ArrayLike<number> = [];
    let l = 0;
    tf.tidy(() => {
      const logits = logitsOf(batch.tokens, batch.lengths);
      hits = tf.cast(tf.equal(tf.argMax(logits, 1), batch.labels), "int32").dataSync();
      l = crossEntropy(logits, batch.labels).dataSync()[0] * idx.length;
    });
    for (let k = 0; k < hits.length; k++) {
      correct[start + k] = hits[k];
      right += hits[k];
    }
    loss += l;
    tf.dispose([batch.tokens, batch.labels]);
  }
  return { right, count: data.ids.length, loss: loss / data.ids.length, correct };
}
