/**
 * The hierarchical latent generative model of JoMA's Table 1 (Tian et al. 2023, §6; official
 * `luckmatters/ssl/real-dataset/decoder_only_hier.py`). Latent tokens form levels: each token of
 * level 0 is a fixed random set of `combinations[0]` leaf tokens (ids 0..vocabSize−2), each token
 * of level l is a set of `combinations[l]` tokens of level l−1, and the top level holds the
 * classes. A sample picks a class, expands it top-down into the union of the leaf tokens it
 * covers, and writes them in increasing order at the end of a window of `seqLen`, padded in front
 * with the pad id vocabSize−1. The task: predict the class from the sequence.
 * Defaults are the paper's: vocabulary 100, window 30, levels [10, 20, 20 classes], pairs.
 *
 * The official generator is deterministic given the class, so every leaf token names its latents
 * and one token often names the class. Two options make the latents *latent* (JoMA's model in §6
 * draws every child of an active latent at random, Fig. 5a): `keep` — each child of an active latent
 * is active with this probability (1 = the official generator), so a latent shows only through
 * some of its leaves; `noise` — this many distinct random leaf tokens are added to each sample
 * (distractors that belong to no active latent). The indicators are the latents that were active.
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError, checkValue } from "../../config";
import { type Rng, createRng } from "../../engine/rng";

export interface HierarchyOptions {
  vocabSize: number;
  seqLen: number;
  /** Number of latent tokens per level, bottom-up; the last level is the classes. */
  levels: number[];
  /** How many tokens of the level below make up one token of each level. */
  combinations: number[];
  seed: number;
  /** Probability that each child of an active latent is active (1: the official, deterministic generator). */
  keep: number;
  /** Distinct random leaf tokens added to every sample as distractors (0: none, as the official). */
  noise: number;
}

export interface Hierarchy extends HierarchyOptions {
  padId: number;
  numClasses: number;
  /** parts[l][k]: the ids (of level l−1, or leaf tokens for l = 0) that make up token k of level l. */
  parts: number[][][];
}

export const HIERARCHY_DEFAULTS: HierarchyOptions = {
  vocabSize: 100,
  seqLen: 30,
  levels: [10, 20, 20],
  combinations: [2, 2, 2],
  seed: 0,
  keep: 1,
  noise: 0,
};

export function createHierarchy(options: Partial<HierarchyOptions> = {}): Hierarchy {
  const o = { ...HIERARCHY_DEFAULTS, ...options };
  if (o.levels.length === 0 || o.levels.length !== o.combinations.length) {
    throw new ConfigError(
      `createHierarchy: levels (${o.levels.length}) and combinations (${o.combinations.length}) must be non-empty and the same length`,
    );
  }
  if (!(o.keep > 0 && o.keep <= 1)) throw new ConfigError(`createHierarchy: keep must be in (0, 1], got ${o.keep}`);
  if (!(Number.isInteger(o.noise) && o.noise >= 0)) throw new ConfigError(`createHierarchy: noise must be an integer ≥ 0, got ${o.noise}`);
  const rng = createRng(o.seed);
  const parts: number[][][] = [];
  let below = o.vocabSize - 1; // leaf tokens; the last id pads
  o.levels.forEach((count, l) => {
    const p = o.combinations[l];
    if (p > below) throw new ConfigError(`createHierarchy: level ${l} combines ${p} of only ${below} tokens below`);
    const possible = binomial(below, p);
    if (count > possible)
      throw new ConfigError(`createHierarchy: level ${l} wants ${count} distinct sets of ${p} from ${below}; only ${possible} exist`);
    const seen = new Set<string>();
    const level: number[][] = [];
    while (level.length < count) {
      const combo = sampleWithoutReplacement(rng, below, p).sort((a, b) => a - b);
      const key = combo.join(",");
      if (seen.has(key)) continue;
      seen.add(key);
      level.push(combo);
    }
    parts.push(level);
    below = count;
  });
  const h: Hierarchy = { ...o, padId: o.vocabSize - 1, numClasses: o.levels[o.levels.length - 1], parts };
  const longest = Math.max(...Array.from({ length: h.numClasses }, (_, c) => expand(h, c).leaves.length));
  if (longest + o.noise > o.vocabSize - 1)
    throw new ConfigError(
      `createHierarchy: ${longest} leaves plus ${o.noise} noise tokens need more than the ${o.vocabSize - 1} leaf tokens`,
    );
  if (longest + o.noise > o.seqLen)
    throw new ConfigError(
      `createHierarchy: a class expands to ${longest} leaf tokens, plus ${o.noise} noise, more than seqLen ${o.seqLen}`,
    );
  return h;
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 0; i < k; i++) r = (r * (n - i)) / (i + 1);
  return Math.round(r);
}

function sampleWithoutReplacement(rng: Rng, n: number, k: number): number[] {
  const pool = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, k);
}

/** The active tokens of every level for class c (index l: level l's ids; `leaves`: leaf ids, sorted). */
export function expand(h: Hierarchy, c: number): { active: number[][]; leaves: number[] } {
  const active: number[][] = new Array(h.levels.length);
  let current = [c];
  for (let l = h.levels.length - 1; l >= 0; l--) {
    active[l] = current;
    current = [...new Set(current.flatMap((k) => h.parts[l][k]))].sort((a, b) => a - b);
  }
  return { active, leaves: current };
}

export interface HierarchyBatch {
  /** [B·seqLen] token ids, row-major. */
  tokens: Int32Array;
  labels: Int32Array;
  /** indicators[l]: [B·levels[l]] 1 where token k of level l is active in the sample. */
  indicators: Uint8Array[];
}

/**
 * `batchSize` samples: a uniform class, its latents drawn top-down (each child of an active latent
 * kept with probability `keep`), the leaves of the active level-0 latents plus `noise` distractor
 * leaves, sorted, at the end of the window. With keep = 1 and noise = 0 no extra random numbers
 * are drawn, so the samples are those of the deterministic generator.
 */
export function sampleHierarchy(h: Hierarchy, rng: Rng, batchSize: number): HierarchyBatch {
  checkValue("sampleHierarchy", "batchSize", batchSize, { kind: "int", min: 1 });
  const tokens = new Int32Array(batchSize * h.seqLen).fill(h.padId);
  const labels = new Int32Array(batchSize);
  const indicators = h.levels.map((k) => new Uint8Array(batchSize * k));
  const keep = h.keep ?? 1;
  const noise = h.noise ?? 0;
  const leafCount = h.vocabSize - 1;
  for (let b = 0; b < batchSize; b++) {
    const c = rng.int(h.numClasses);
    labels[b] = c;
    let current = [c];
    for (let l = h.levels.length - 1; l >= 0; l--) {
      for (const k of current) indicators[l][b * h.levels[l] + k] = 1;
      const children = new Set<number>();
      for (const k of current) for (const child of h.parts[l][k]) if (keep >= 1 || rng.uniform() < keep) children.add(child);
      current = [...children];
    }
    const present = new Set(current);
    while (present.size < current.length + noise) present.add(rng.int(leafCount));
    const leaves = [...present].sort((x, y) => x - y);
    leaves.forEach((id, i) => (tokens[b * h.seqLen + h.seqLen - leaves.length + i] = id));
  }
  return { tokens, labels, indicators };
}

/**
 * The class-prediction task as a language-model batch: inputs are the token windows; the target at
 * the last position is the class, as token id vocabSize + class (the model's vocabulary is
 * vocabSize + numClasses), and only that position is scored (weight 1).
 */
export function hierarchyLmBatch(
  h: Hierarchy,
  sample: HierarchyBatch,
): { inputs: tf.Tensor2D; targets: tf.Tensor2D; weights: tf.Tensor2D } {
  const b = sample.labels.length,
    t = h.seqLen;
  const targets = new Int32Array(b * t);
  const weights = new Float32Array(b * t);
  for (let i = 0; i < b; i++) {
    targets[i * t + t - 1] = h.vocabSize + sample.labels[i];
    weights[i * t + t - 1] = 1;
  }
  return {
    inputs: tf.tensor2d(sample.tokens, [b, t], "int32"),
    targets: tf.tensor2d(targets, [b, t], "int32"),
    weights: tf.tensor2d(weights, [b, t], "float32"),
  };
}

/**
 * A bag-of-tokens baseline for the class task: naive Bayes on which leaf tokens are present
 * (Bernoulli per token and class, add-one smoothing), fitted on `train` and scored on `test`.
 * It sees which tokens occur, not how they combine: the count model a trained transformer should
 * at least match before its units are read.
 */
export function naiveBayesAccuracy(h: Hierarchy, train: HierarchyBatch, test: HierarchyBatch): number {
  const v = h.vocabSize - 1;
  const k = h.numClasses;
  const present = (s: HierarchyBatch, b: number) => {
    const on = new Uint8Array(v);
    for (let i = 0; i < h.seqLen; i++) {
      const id = s.tokens[b * h.seqLen + i];
      if (id !== h.padId) on[id] = 1;
    }
    return on;
  };
  const classCount = new Float64Array(k);
  const tokenCount = new Float64Array(k * v);
  for (let b = 0; b < train.labels.length; b++) {
    const c = train.labels[b];
    classCount[c]++;
    const on = present(train, b);
    for (let t = 0; t < v; t++) tokenCount[c * v + t] += on[t];
  }
  if (train.labels.length === 0) throw new Error("naiveBayesAccuracy: no training samples");
  let correct = 0;
  for (let b = 0; b < test.labels.length; b++) {
    const on = present(test, b);
    let best = -1;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < k; c++) {
      let score = Math.log((classCount[c] + 1) / (train.labels.length + k));
      for (let t = 0; t < v; t++) {
        const p = (tokenCount[c * v + t] + 1) / (classCount[c] + 2);
        score += Math.log(on[t] ? p : 1 - p);
      }
      if (score > bestScore) [best, bestScore] = [c, score];
    }
    if (best === test.labels[b]) correct++;
  }
  return correct / test.labels.length;
}
