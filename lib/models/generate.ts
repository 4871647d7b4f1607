/**
 * Sampling from a causal LM: greedy (argmax) or with a temperature, from our seeded generator.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../engine/rng";
import { type TransformerParams, transformerForward } from "./transformer";

export interface GenerateOptions {
  /** Number of new tokens. */
  steps: number;
  /** 0 = greedy; otherwise softmax(logits / temperature) sampled with `rng`. */
  temperature?: number;
  rng?: Rng;
}

/** Continues `prompt` (token ids) by `steps` tokens; the context is cut to the model's seqLen. */
export function generate(params: TransformerParams, prompt: ArrayLike<number>, options: GenerateOptions): number[] {
  const { steps, temperature = 0 } = options;
  if (prompt.length === 0) throw new Error("generate: the prompt must contain at least one token");
  if (temperature > 0 && !options.rng) throw new Error("generate: sampling with a temperature needs options.rng");
  const ids = Array.from(prompt);
  for (let i = 0; i < steps; i++) {
    const context = ids.slice(-params.config.seqLen);
    const last = tf.tidy(() => {
      const { logits } = transformerForward(params, tf.tensor2d([context], [1, context.length], "int32"));
      return tf.reshape(tf.slice(logits, [0, context.length - 1, 0], [1, 1, params.config.vocabSize]), [-1]);
    });
    const values = last.dataSync() as Float32Array;
    last.dispose();
    ids.push(temperature > 0 ? sample(values, temperature, options.rng!) : argmax(values));
  }
  return ids.slice(prompt.length);
}

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

function sample(logits: Float32Array, temperature: number, rng: Rng): number {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const weights = Array.from(logits, (v) => Math.exp((v - max) / temperature));
  let u = rng.uniform() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i];
    if (u <= 0) return i;
  }
  return weights.length - 1;
}
