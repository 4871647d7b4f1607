/**
 * Curvature of sentence trajectories (Hosseini & Fedorenko 2023, "Large language models implicitly
 * learn to straighten neural sentence trajectories"). For one sentence at one layer, states
 * x_1…x_T; steps v_t = x_{t+1} − x_t; c_t = arccos(v̂_t · v̂_{t+1}); curvature = mean_t c_t in degrees.
 * A straight line scores 0°, a zigzag 180°, i.i.d. isotropic states in high dimension ≈ 120°.
 * Zero-length steps (a repeated state) have no direction: every angle involving one is skipped.
 * Also: per-sentence surprisal (the paper's Fig. 5 relates it to curvature), held-out sentences
 * as token rows, word-shuffled controls, the change of curvature from a reference layer (the
 * paper's code measures it from layer 1, the first block's output), how much each layer rewrites
 * the stream, and how often a continuation repeats itself.
 *
 * Notebook: notebooks/10-sentence-curvature.ipynb. Tests: test/papers/10-sentence-curvature.test.ts.
 */
import * as tf from "@tensorflow/tfjs";
import { padTokenRows } from "../../data/batches";
import type { Tokenizer } from "../../data/tokenizers";
import { type Rng, createRng } from "../../engine/rng";
import { type MatrixInput, toMatrix64 } from "../../metrics/matrix";
import { type RnnLmParams, rnnEncode } from "../../models/lstm";
import { type Block, type TransformerParams, transformerForward } from "../../models/transformer";

/** Mean turning angle (degrees) of the trajectory through the rows of `states` ([T, D], T ≥ 3). */
export function trajectoryCurvature(states: MatrixInput): number {
  const { rows: t, cols: d, data } = toMatrix64(states, "trajectoryCurvature states", 3);
  const steps: Float64Array[] = [];
  for (let i = 0; i + 1 < t; i++) {
    const v = new Float64Array(d);
    let norm = 0;
    for (let k = 0; k < d; k++) {
      v[k] = data[(i + 1) * d + k] - data[i * d + k];
      norm += v[k] * v[k];
    }
    norm = Math.sqrt(norm);
    steps.push(norm > 0 ? v.map((x) => x / norm) : new Float64Array(0));
  }
  let sum = 0,
    count = 0;
  for (let i = 0; i + 1 < steps.length; i++) {
    const a = steps[i],
      b = steps[i + 1];
    if (a.length === 0 || b.length === 0) continue;
    // 2·atan2(‖â − b̂‖, ‖â + b̂‖): the angle between unit vectors, accurate near 0° and 180° (acos is not).
    let diff = 0,
      plus = 0;
    for (let k = 0; k < d; k++) {
      diff += (a[k] - b[k]) ** 2;
      plus += (a[k] + b[k]) ** 2;
    }
    sum += (2 * Math.atan2(Math.sqrt(diff), Math.sqrt(plus)) * 180) / Math.PI;
    count++;
  }
  if (count === 0) throw new Error("trajectoryCurvature: no two consecutive non-zero steps (the states repeat)");
  return sum / count;
}

/** Curvature of each sentence at each layer: states[l] is [B, T, D] with per-sentence lengths; returns [L][B]. */
export function curvatureByLayer(states: tf.Tensor[], lengths: ArrayLike<number>): number[][] {
  return states.map((layer) => {
    const values = layer.arraySync() as number[][][];
    return values.map((sentence, i) => trajectoryCurvature(sentence.slice(0, lengths[i])));
  });
}

/**
 * Per-sentence surprisal: mean −log p(token) in nats over the predicted positions 1…len−1 of each
 * row of `tokens` [B, T] (padded at the end; `lengths` [B]), from next-token `logits` [B, T, V].
 */
export function sentenceSurprisal(logits: tf.Tensor, tokens: tf.Tensor, lengths: ArrayLike<number>): number[] {
  const [b, t] = logits.shape as [number, number, number];
  const lp = tf.tidy(() => tf.logSoftmax(logits).arraySync() as number[][][]);
  const ids = tokens.arraySync() as number[][];
  return Array.from({ length: b }, (_, i) => {
    let s = 0;
    const n = Math.min(lengths[i], t);
    if (n < 2) throw new Error(`sentenceSurprisal: row ${i} has fewer than 2 tokens`);
    for (let j = 0; j + 1 < n; j++) s -= lp[i][j][ids[i][j + 1]];
    return s / (n - 1);
  });
}

/**
 * Curvature [layer][sentence] of token rows (sentences of different lengths), in batches of
 * `batchSize`: `statesOf(tokens)` gives each layer's states [B, T, D] for padded ids [B, T]; the
 * padding never enters a sentence's curvature.
 */
export function curvatureProfile(rows: ArrayLike<number>[], batchSize: number, statesOf: (tokens: tf.Tensor2D) => tf.Tensor[]): number[][] {
  if (!(Number.isInteger(batchSize) && batchSize > 0))
    throw new Error(`curvatureProfile: batchSize must be a positive integer, got ${batchSize}`);
  let out: number[][] | undefined;
  for (let start = 0; start < rows.length; start += batchSize) {
    const { tokens, lengths } = padTokenRows(rows.slice(start, start + batchSize));
    const states = statesOf(tokens);
    const part = curvatureByLayer(states, lengths);
    tf.dispose([tokens, ...states]);
    out ??= part.map(() => []);
    if (part.length !== out.length) throw new Error(`curvatureProfile: statesOf gave ${part.length} layers, earlier ${out.length}`);
    part.forEach((c, l) => out![l].push(...c));
  }
  if (!out) throw new Error("curvatureProfile: no rows");
  return out;
}

/** A transformer's states for `curvatureProfile`: the embeddings, then the stream after each block. */
export function transformerStates(params: TransformerParams<Block>): (tokens: tf.Tensor2D) => tf.Tensor[] {
  return (tokens) => {
    const { logits, hidden } = transformerForward(params, tokens, { captureHidden: true });
    logits.dispose();
    return hidden ?? [];
  };
}

/** An LSTM LM's states for `curvatureProfile`: the embeddings, then each LSTM layer's outputs. */
export function lstmStates(params: RnnLmParams): (tokens: tf.Tensor2D) => tf.Tensor[] {
  return (tokens) =>
    tf.tidy(() => {
      const [b, t] = tokens.shape;
      const embedded = tf.reshape(tf.gather(params.embedding, tf.reshape(tokens, [-1])), [b, t, params.config.embedDim]);
      // The first l layers alone are an LSTM LM of l layers (untied: the decoder is not used here).
      const upTo = (l: number) =>
        rnnEncode({ ...params, config: { ...params.config, nLayers: l, tieEmbeddings: false }, layers: params.layers.slice(0, l) }, tokens);
      return [embedded, ...params.layers.map((_, l) => upTo(l + 1))];
    });
}

/**
 * A seeded sample of `count` sentences of `text` (one per line) as token rows: those with
 * `minTokens`…`maxTokens` tokens of which at most `maxUnknown` are <unk>.
 */
export function sentenceRows(
  text: string,
  tokenizer: Tokenizer,
  o: { count: number; minTokens: number; maxTokens: number; maxUnknown: number; seed: number },
): Int32Array[] {
  if (!(Number.isInteger(o.minTokens) && o.minTokens >= 3 && o.maxTokens >= o.minTokens))
    throw new Error(`sentenceRows: need 3 ≤ minTokens ≤ maxTokens, got ${o.minTokens}…${o.maxTokens}`);
  const pool = text
    .split("\n")
    .map((line) => tokenizer.encode(line))
    .filter((ids) => {
      if (ids.length < o.minTokens || ids.length > o.maxTokens) return false;
      let unknown = 0;
      for (const id of ids) if (id === tokenizer.unkId) unknown++;
      return unknown <= o.maxUnknown;
    });
  if (pool.length < o.count)
    throw new Error(
      `sentenceRows: only ${pool.length} lines have ${o.minTokens}–${o.maxTokens} tokens with ≤ ${o.maxUnknown} unknown; asked for ${o.count}`,
    );
  return createRng(o.seed).shuffle(pool).slice(0, o.count);
}

/**
 * Each row with its tokens in a random order (seeded): the same words, no sentence. With
 * `keepEnds` the first and last tokens stay in place (a sentence's opening word and its final
 * punctuation), only the inside is shuffled.
 */
export function shuffleTokens(rows: ArrayLike<number>[], seed: number, options: { keepEnds?: boolean } = {}): Int32Array[] {
  const rng: Rng = createRng(seed);
  return rows.map((r) => {
    const a = Array.from(r);
    if (!options.keepEnds || a.length < 3) return Int32Array.from(rng.shuffle(a));
    return Int32Array.from([a[0], ...rng.shuffle(a.slice(1, -1)), a[a.length - 1]]);
  });
}

/** Per-sentence change of curvature from layer `reference`: out[l][i] = profile[l][i] − profile[reference][i]. */
export function curvatureChange(profile: number[][], reference: number): number[][] {
  if (!(Number.isInteger(reference) && reference >= 0 && reference < profile.length))
    throw new Error(`curvatureChange: reference layer ${reference} is not one of 0…${profile.length - 1}`);
  const ref = profile[reference];
  return profile.map((layer) => {
    if (layer.length !== ref.length) throw new Error(`curvatureChange: layers have ${layer.length} and ${ref.length} sentences`);
    return layer.map((c, i) => c - ref[i]);
  });
}

/**
 * How much each layer rewrites the stream: for layers l = 1…L, the mean over real tokens of
 * ‖x_l − x_{l−1}‖ / ‖x_{l−1}‖ (states[l] is [B, T, D], `lengths` [B]). Near 0, a layer passes its
 * input through and cannot change the trajectory's shape.
 */
export function layerUpdateRatios(states: tf.Tensor[], lengths: ArrayLike<number>): number[] {
  const values = states.map((s) => s.arraySync() as number[][][]);
  return values.slice(1).map((layer, l) => {
    const prev = values[l];
    let sum = 0,
      n = 0;
    const [dPrev, d] = [states[l].shape[2], states[l + 1].shape[2]];
    if (dPrev !== d)
      throw new Error(`layerUpdateRatios: layer ${l} has width ${dPrev}, layer ${l + 1} width ${d}; the ratio needs one stream`);
    layer.forEach((sentence, i) => {
      for (let t = 0; t < lengths[i]; t++) {
        let diff = 0,
          base = 0;
        for (let k = 0; k < sentence[t].length; k++) {
          diff += (sentence[t][k] - prev[i][t][k]) ** 2;
          base += prev[i][t][k] ** 2;
        }
        sum += Math.sqrt(diff / base);
        n++;
      }
    });
    return sum / n;
  });
}

/** Share of the tokens at positions ≥ `from` of each row that already occurred earlier in the row (a repetition rate). */
export function repetitionRate(rows: ArrayLike<number>[], from: number): number {
  let repeated = 0,
    total = 0;
  for (const row of rows) {
    const seen = new Set<number>();
    for (let t = 0; t < row.length; t++) {
      if (t >= from) {
        total++;
        if (seen.has(row[t])) repeated++;
      }
      seen.add(row[t]);
    }
  }
  if (total === 0) throw new Error(`repetitionRate: no tokens at positions ≥ ${from}`);
  return repeated / total;
}
