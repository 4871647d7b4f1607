/**
 * Sampling from a causal LM: greedy (argmax), or from softmax(logits / temperature) restricted to
 * the `topK` most likely tokens (all of them by default), with our seeded generator; `exclude`d
 * token ids are never generated. `generate`
 * continues one prompt; `generateBatch` continues equal-length prompts together (one forward
 * pass per new token for the whole batch), drawing each row's token from the generator in row order.
 */
import * as tf from "@tensorflow/tfjs";
import { type OptionsSchema, checkOptions as checkFields } from "../config";
import type { Rng } from "../engine/rng";
import { type TransformerParams, transformerForward } from "./transformer";

export interface GenerateOptions {
  /** Number of new tokens. */
  steps: number;
  /** 0 = greedy; otherwise softmax(logits / temperature) sampled with `rng`. */
  temperature?: number;
  /** Sample only among the k most likely tokens (0 or omitted = all). */
  topK?: number;
  /** Token ids never generated (e.g. <unk> and <eos> of a word vocabulary): their logits are set to −∞. */
  exclude?: readonly number[];
  rng?: Rng;
}

const GENERATE_SCHEMA: OptionsSchema<GenerateOptions> = {
  steps: { kind: "int", min: 0 },
  temperature: { kind: "number", min: 0, optional: true },
  topK: { kind: "int", min: 0, optional: true },
  exclude: { kind: "numbers", optional: true },
  rng: { kind: "object", what: "a generator (ta.createRng(seed))", optional: true },
};

function checkOptions(where: string, o: GenerateOptions): void {
  checkFields(where, o, GENERATE_SCHEMA);
  if ((o.temperature ?? 0) > 0 && typeof o.rng?.uniform !== "function")
    throw new Error(`${where}: sampling with a temperature needs options.rng (ta.createRng(seed))`);
}

function checkExclude(where: string, exclude: readonly number[], vocabSize: number): void {
  for (const id of exclude)
    if (!(Number.isInteger(id) && id >= 0 && id < vocabSize))
      throw new Error(`${where}: exclude holds ${id}, not a token id in 0…${vocabSize - 1}`);
  if (new Set(exclude).size >= vocabSize) throw new Error(`${where}: exclude leaves no token to generate`);
}

/** Continues `prompt` (token ids) by `steps` tokens; the context is cut to the model's seqLen. */
export function generate(params: TransformerParams, prompt: ArrayLike<number>, options: GenerateOptions): number[] {
  if (prompt.length === 0) throw new Error("generate: the prompt must contain at least one token");
  checkOptions("generate", options);
  return generateBatch(params, [prompt], options)[0];
}

/**
 * Continues each of `prompts` (token ids, all the same length) by `steps` tokens; returns the new
 * tokens of each. The context is cut to the model's seqLen.
 */
export function generateBatch(params: TransformerParams, prompts: ArrayLike<number>[], options: GenerateOptions): number[][] {
  checkOptions("generateBatch", options);
  if (prompts.length === 0) throw new Error("generateBatch: no prompts");
  const n = prompts[0].length;
  if (n === 0) throw new Error("generateBatch: the prompts must contain at least one token");
  prompts.forEach((p, i) => {
    if (p.length !== n)
      throw new Error(`generateBatch: prompt ${i} has ${p.length} tokens, prompt 0 has ${n}; prompts must have equal length`);
  });
  const { temperature = 0, topK = 0, exclude = [] } = options;
  const rows = prompts.map((p) => Array.from(p));
  const v = params.config.vocabSize;
  rows.forEach((r, i) => {
    const bad = r.findIndex((id) => !(Number.isInteger(id) && id >= 0 && id < v));
    if (bad >= 0) throw new Error(`generateBatch: prompt ${i} holds ${r[bad]} at position ${bad}, not a token id in 0…${v - 1}`);
  });
  checkExclude("generateBatch", exclude, v);
  for (let i = 0; i < options.steps; i++) {
    const context = rows.map((r) => r.slice(-params.config.seqLen));
    const t = context[0].length;
    const last = tf.tidy(() => {
      const { logits } = transformerForward(params, tf.tensor2d(context, [rows.length, t], "int32"));
      return tf.reshape(tf.slice(logits, [0, t - 1, 0], [rows.length, 1, v]), [rows.length, v]);
    });
    const values = last.dataSync() as Float32Array;
    last.dispose();
    rows.forEach((r, b) => {
      const row = Float32Array.from(values.subarray(b * v, (b + 1) * v));
      for (const id of exclude) row[id] = -Infinity;
      r.push(temperature > 0 ? sample(row, temperature, topK, options.rng!) : argmax(row));
    });
  }
  return rows.map((r) => r.slice(n));
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** A token from softmax(logits / temperature) over the `topK` largest logits (all when 0; ties at the cut kept). */
export function sampleToken(logits: ArrayLike<number>, temperature: number, topK: number, rng: Rng): number {
  return sample(logits, temperature, topK, rng);
}

function sample(logits: ArrayLike<number>, temperature: number, topK: number, rng: Rng): number {
  let cut = -Infinity;
  if (topK > 0 && topK < logits.length) cut = Float64Array.from(logits).sort()[logits.length - topK];
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const weights = Array.from(logits, (x) => (x >= cut ? Math.exp((x - max) / temperature) : 0));
  let u = rng.uniform() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i];
    if (u <= 0 && weights[i] > 0) return i;
  }
  return argmax(logits);
}
