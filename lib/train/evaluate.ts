/**
 * Evaluation of language models: mean cross-entropy over fixed batches, and perplexity = e^loss.
 */
import * as tf from "@tensorflow/tfjs";
import { LmBatch } from "../data/batches";
import { crossEntropy } from "../models/loss";

export interface LmEval {
  loss: number;
  perplexity: number;
}

/** Token-weighted mean loss of `logitsOf(inputs)` against the targets over all `batches`. */
export function evaluateLm(logitsOf: (inputs: tf.Tensor) => tf.Tensor, batches: LmBatch[]): LmEval {
  if (batches.length === 0) throw new Error("evaluateLm: no batches");
  let total = 0;
  let count = 0;
  for (const b of batches) {
    const loss = tf.tidy(() => crossEntropy(logitsOf(b.inputs), b.targets));
    total += loss.dataSync()[0] * b.targets.size;
    count += b.targets.size;
    loss.dispose();
  }
  const mean = total / count;
  return { loss: mean, perplexity: Math.exp(mean) };
}
