/**
 * "Your Transformer is Secretly Linear": the linearity score (identities, invariances, chance
 * level), anisotropy, TwoNN, the affine fit, block replacement and distillation, the cosine
 * regulariser, and the Brown corpus loader.
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { ready } from "../../lib/engine";
import { createRng, normalArray } from "../../lib/engine/rng";
import {
  anisotropy,
  blockLinearity,
  identityScore,
  fitAffineMap,
  linearityBaseline,
  linearityProfile,
  linearityScore,
  symmetricEigenvalues,
  twoNNIntrinsicDimension,
} from "../../lib/papers/05-secretly-linear";
import {
  consecutiveCosinePenalty,
  distillLinearBlock,
  distillLinearBlocks,
  classifySentences,
  evaluateSentenceClassifier,
  fineTuneSentences,
  initSentenceHead,
  sentenceStreams,
  fitLinearBlock,
  identityBlock,
  linearReplacement,
  residualStreams,
  withHiddenPenalty,
} from "../../lib/papers/05-secretly-linear";
import { distillationKl } from "../../lib/models/loss";
import { disposeParams, namedVariables } from "../../lib/models/params";
import {
  blockParams,
  embedTokens,
  initTransformer,
  replaceBlocks,
  transformerBlocks,
  transformerConfig,
  transformerForward,
} from "../../lib/models/transformer";
import { trainLanguageModel } from "../../lib/train/lm";
import { BROWN_GENRES, detagBrownSentence, loadBrown } from "../../lib/data/brown";
import { type EncodedSentences, sentenceBatch } from "../../lib/data/batches";

beforeAll(async () => {
  await ready({ backend: "cpu", quiet: true });
});

function gaussian(seed: number, n: number, d: number, std = 1): number[][] {
  const a = normalArray(createRng(seed), n * d, std);
  return Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * d, (i + 1) * d)));
}
const matmul = (x: number[][], a: number[][]) => x.map((row) => a[0].map((_, j) => row.reduce((s, v, k) => s + v * a[k][j], 0)));

describe("linearityScore", () => {
  const X = gaussian(1, 400, 8);

  it("is 1 for the identity and for Y = XA with any invertible A (plus a shift)", () => {
    expect(linearityScore(X, X)).toBeCloseTo(1, 12);
    const A = gaussian(2, 8, 8);
    const Y = matmul(X, A).map((row) => row.map((v, j) => v + 5 * j));
    expect(linearityScore(X, Y)).toBeCloseTo(1, 10);
  });

  it("is invariant to scaling X or Y", () => {
    const Y = matmul(X, gaussian(3, 8, 8)).map((row, i) => row.map((v, j) => Math.tanh(v) + 0.1 * X[i][(j + 1) % 8] ** 2));
    const base = linearityScore(X, Y);
    expect(base).toBeGreaterThan(0.3);
    expect(base).toBeLessThan(0.999);
    expect(
      linearityScore(
        X.map((r) => r.map((v) => 1e3 * v)),
        Y,
      ),
    ).toBeCloseTo(base, 10);
    expect(
      linearityScore(
        X,
        Y.map((r) => r.map((v) => -0.01 * v)),
      ),
    ).toBeCloseTo(base, 10);
  });

  it("matches a hand-computed case: Y = X² on X = (−1, 0, 1, 2) has linearity r² = 5/9", () => {
    // Centred X = (−1.5, −0.5, 0.5, 1.5), centred Y = (−0.5, −1.5, −0.5, 2.5): X·Y = 5, |X|² = 5, |Y|² = 9,
    // and for one column the least-squares fit leaves 1 − r² of the unit-norm Y: r² = 25/45.
    expect(linearityScore([[-1], [0], [1], [2]], [[1], [0], [1], [4]])).toBeCloseTo(5 / 9, 12);
  });

  it("without the residual scores the update Y − X: Y = X + f(X) with a nonlinear f drops", () => {
    const f = X.map((row) => row.map((v) => 0.05 * Math.sin(3 * v)));
    const Y = X.map((row, i) => row.map((v, j) => v + f[i][j]));
    expect(linearityScore(X, Y)).toBeGreaterThan(0.99);
    expect(linearityScore(X, Y, { residual: false })).toBeCloseTo(linearityScore(X, f), 10);
    expect(linearityScore(X, Y, { residual: false })).toBeLessThan(0.6);
  });

  it("blockLinearity gives both scores from one QR: the same numbers as two linearityScore calls", () => {
    const f = X.map((row) => row.map((v) => 0.3 * Math.tanh(2 * v)));
    const Y = X.map((row, i) => row.map((v, j) => v + f[i][j]));
    const both = blockLinearity(X, Y);
    expect(both.withResidual).toBeCloseTo(linearityScore(X, Y), 12);
    expect(both.withoutResidual).toBeCloseTo(linearityScore(X, Y, { residual: false }), 12);
    expect(both.withResidual).toBeGreaterThan(both.withoutResidual);
    expect(() =>
      blockLinearity(
        X,
        Y.map((r) => r.slice(1)),
      ),
    ).toThrow(/same width/);
    expect(() => blockLinearity(X.slice(0, 5), Y.slice(0, 5))).toThrow(/use at least 20·d rows/);
  });

  it("identityScore: 1 for Y = X or a shifted and scaled X, ≤ the fitted score, and 1 − 2(1 − ρ) for a hand-computed pair", () => {
    expect(identityScore(X, X)).toBeCloseTo(1, 12);
    expect(
      identityScore(
        X,
        X.map((r) => r.map((v) => 3 * v + 1)),
      ),
    ).toBeCloseTo(1, 12);
    const f = X.map((row) => row.map((v) => 0.3 * Math.tanh(2 * v)));
    const Y = X.map((row, i) => row.map((v, j) => v + f[i][j]));
    expect(identityScore(X, Y)).toBeLessThanOrEqual(linearityScore(X, Y) + 1e-12);
    // one column: X = (−1, 0, 1), Y = (−1, 1, 0): unit-centred x = (−1, 0, 1)/√2, y = (−1, 1, 0)/√2; ‖x − y‖² = (0 + 1 + 1)/2 = 1 → score 0
    expect(identityScore([[-1], [0], [1]], [[-1], [1], [0]])).toBeCloseTo(0, 12);
    expect(() =>
      identityScore(
        X,
        Y.map((r) => r.slice(1)),
      ),
    ).toThrow(/same width/);
  });

  it("is ≈ d/(n − 1) for independent random matrices (the chance level)", () => {
    for (const [n, d] of [
      [400, 8],
      [640, 32],
    ] as const) {
      const base = linearityBaseline(n, d, { trials: 4, seed: 5 });
      expect(base.chance).toBeCloseTo(d / (n - 1), 12);
      expect(Math.abs(base.mean - base.chance)).toBeLessThan(0.25 * base.chance);
    }
  });

  it("accepts a 2-D tensor like number[][]", () => {
    const Y = matmul(X, gaussian(4, 8, 8)).map((r) => r.map(Math.tanh));
    const viaTensor = linearityScore(tf.tensor2d(X), tf.tensor2d(Y));
    expect(viaTensor).toBeCloseTo(linearityScore(X, Y), 5); // float32 round trip
  });

  it("rejects mismatched shapes, NaN, constant data and too few rows with a clear error", () => {
    expect(() => linearityScore(X, X.slice(1))).toThrow(/X has 400 rows .* Y has 399/);
    expect(() => linearityScore(X, gaussian(6, 400, 4), { residual: false })).toThrow(/same width/);
    const bad = X.map((r) => [...r]);
    bad[7][3] = NaN;
    expect(() => linearityScore(bad, X)).toThrow(/entry \(7, 3\) is NaN/);
    expect(() => linearityScore(X.slice(0, 9), X.slice(0, 9))).toThrow(/9 rows for 8 columns/);
    expect(() =>
      linearityScore(
        X.map(() => Array(8).fill(1)),
        X,
      ),
    ).toThrow(/X is constant/);
    expect(() =>
      linearityScore(
        [[1, 2], [3]],
        [
          [1, 2],
          [3, 4],
        ],
      ),
    ).toThrow(/row 1 has 1 columns/);
    expect(() => linearityScore(tf.zeros([4, 2, 2]), X)).toThrow(/2-D tensor/);
    expect(() => linearityBaseline(10, 10)).toThrow(/n > d \+ 1/);
  });
});

describe("fitAffineMap", () => {
  it("recovers an exact affine map and handles rank-deficient inputs", () => {
    const X = gaussian(7, 50, 3);
    const A = [
      [1, 2],
      [0, -1],
      [3, 0.5],
    ];
    const Y = matmul(X, A).map((r) => [r[0] + 4, r[1] - 2]);
    const fit = fitAffineMap(X, Y);
    fit.weight.flat().forEach((v, i) => expect(v).toBeCloseTo(A.flat()[i], 10));
    expect(fit.bias[0]).toBeCloseTo(4, 10);
    expect(fit.bias[1]).toBeCloseTo(-2, 10);
    expect(fit.unexplained).toBeLessThan(1e-20);
    // A duplicated column: rank 3 of 4, and the fit is still exact.
    const X4 = X.map((r) => [...r, r[0]]);
    const fit4 = fitAffineMap(X4, Y);
    expect(fit4.rank).toBe(3);
    expect(fit4.unexplained).toBeLessThan(1e-20);
  });
});

describe("anisotropy and eigenvalues", () => {
  it("Jacobi eigenvalues of a known symmetric matrix", () => {
    // [[2, 1], [1, 2]] has eigenvalues 3 and 1.
    const ev = symmetricEigenvalues([Float64Array.from([2, 1]), Float64Array.from([1, 2])]);
    expect(ev[0]).toBeCloseTo(3, 12);
    expect(ev[1]).toBeCloseTo(1, 12);
  });

  it("is 1 for rank-1 data and 1/d for isotropic data", () => {
    const u = [0.3, -1, 2, 0.5];
    const rank1 = Array.from({ length: 30 }, (_, i) => u.map((v) => v * Math.sin(i + 1)));
    expect(anisotropy(rank1)).toBeCloseTo(1, 10);
    // ±eᵢ·s for every axis: exactly isotropic covariance.
    const d = 6;
    const iso: number[][] = [];
    for (let i = 0; i < d; i++) for (const s of [1, -1]) iso.push(Array.from({ length: d }, (_, j) => (i === j ? s * 2.5 : 0)));
    expect(anisotropy(iso)).toBeCloseTo(1 / d, 10);
    // Large Gaussian samples approach 1/d from above.
    const g = anisotropy(gaussian(8, 4000, 8));
    expect(g).toBeGreaterThan(1 / 8);
    expect(g).toBeLessThan(1 / 8 + 0.03);
  });
});

describe("twoNNIntrinsicDimension", () => {
  it("finds the dimension of a k-dim linear subspace embedded in 20 dimensions", () => {
    for (const k of [2, 5]) {
      const latent = gaussian(10 + k, 1200, k);
      const embed = gaussian(20 + k, k, 20);
      const res = twoNNIntrinsicDimension(matmul(latent, embed));
      expect(res.discardFraction).toBe(0.1);
      expect(res.used).toBe(Math.floor(1200 * 0.9));
      expect(Math.abs(res.dimension - k), `estimate ${res.dimension} for k = ${k}`).toBeLessThan(0.15 * k);
    }
  });

  it("drops duplicate points and says so; rejects a bad discard fraction", () => {
    const pts = gaussian(30, 200, 3);
    const res = twoNNIntrinsicDimension([...pts, pts[0], pts[1]]);
    expect(res.duplicates).toBe(4);
    expect(() => twoNNIntrinsicDimension(pts, { discard: 1 })).toThrow(/discard must be in \[0, 1\)/);
  });
});

describe("blocks as linear maps", () => {
  const cfg = transformerConfig({ vocabSize: 11, seqLen: 6, dModel: 8, nHeads: 2, nLayers: 3, dFF: 16, seed: 3 });
  const batch = () =>
    tf.tensor2d(
      Array.from({ length: 4 }, (_, i) => Array.from({ length: 6 }, (_, j) => (3 * i + 5 * j) % 11)),
      [4, 6],
      "int32",
    );

  it("residual streams match the captured hidden states; profiles have one entry per block", () => {
    const params = initTransformer(cfg);
    const streams = residualStreams(params, [batch(), batch()]);
    expect(streams.length).toBe(4);
    expect(streams[0].shape).toEqual([48, 8]);
    const { hidden, logits } = transformerForward(params, batch(), { captureHidden: true });
    const first = (hidden![2].dataSync() as Float32Array).slice(0, 24 * 8);
    expect(Array.from(streams[2].dataSync().slice(0, 24 * 8))).toEqual(Array.from(first));
    tf.dispose([...hidden!, logits]);
    const profile = linearityProfile(streams.map((s) => tf.concat([s, tf.mul(s, 1.0001)])) as tf.Tensor2D[]);
    expect(profile.withResidual.length).toBe(3);
    expect(profile.withoutResidual.length).toBe(3);
    tf.dispose(streams);
    disposeParams(params);
  });

  it("replacing a block by its exact linear fit, or by identity, changes the forward as it should", () => {
    const params = initTransformer(cfg);
    // Identity: stream after block 1 equals the stream after block 0.
    const { hidden, logits } = transformerForward(replaceBlocks(params, new Map([[1, identityBlock]])), batch(), { captureHidden: true });
    expect(Array.from(hidden![2].dataSync())).toEqual(Array.from(hidden![1].dataSync()));
    tf.dispose([...hidden!, logits]);
    // A linear block fitted on the very states it replaces reproduces them to float32 precision only if
    // the block is linear; the fit leaves (1 − unexplained) explained and the result stays finite.
    const streams = residualStreams(params, [batch()]);
    const { block, fit } = fitLinearBlock(streams[1], streams[2]);
    expect(fit.unexplained).toBeGreaterThanOrEqual(0);
    const withStandIn = replaceBlocks(params, new Map([[1, linearReplacement(block)]]));
    expect(withStandIn.blocks[0]).toBe(params.blocks[0]); // shared, not copied
    expect(withStandIn.blocks[2]).toBe(params.blocks[2]);
    const replaced = transformerForward(withStandIn, batch(), { captureHidden: true });
    const expected = tf.add(tf.matMul(streams[1], block.weight), block.bias);
    const got = tf.reshape(replaced.hidden![2], [-1, 8]);
    expect(tf.max(tf.abs(tf.sub(got, expected))).dataSync()[0]).toBeLessThan(1e-5);
    expect(() => replaceBlocks(params, new Map([[3, identityBlock]]))).toThrow(/replaceBlocks: layer must be in 0…2, got 3/);
    expect(() => transformerForward(replaceBlocks(params, new Map([[0, identityBlock]])), batch(), { captureAttention: true })).toThrow(
      /block 0 is a stand-in/,
    );
    expect(() => blockParams(withStandIn, 1)).toThrow(/block 1 is a stand-in function/);
    tf.dispose([...replaced.hidden!, replaced.logits, expected, got, ...streams]);
    disposeParams([params, block]);
  });

  it("distillation KL is 0 for equal logits, positive otherwise, and distilling lowers it without touching the model", () => {
    const a = tf.randomNormal([5, 7], 0, 1, "float32", 1);
    expect(distillationKl(a, a).dataSync()[0]).toBeCloseTo(0, 6);
    expect(distillationKl(tf.mul(a, 0.5), a).dataSync()[0]).toBeGreaterThan(0);
    expect(() => distillationKl(a, tf.zeros([5, 6]))).toThrow(/differ in shape/);

    // Larger weights than GPT-2's 0.02 so that the output depends visibly on block 0.
    const params = initTransformer(transformerConfig({ ...cfg, initStd: 0.3 }));
    const before = new Map([...namedVariables(params)].map(([k, v]) => [k, Array.from(v.dataSync())]));
    const streams = residualStreams(params, [batch()]);
    const { block } = fitLinearBlock(streams[0], streams[1]);
    // Start from a worse map so there is something to distil.
    block.weight.assign(tf.mul(block.weight, 0.5));
    const nTensors = tf.memory().numTensors;
    const result = distillLinearBlock({ params, layer: 0, block, nextInputs: batch, steps: 30, lr: 3e-3 });
    expect(tf.memory().numTensors).toBe(nTensors);
    expect(result.losses[result.losses.length - 1]).toBeLessThan(0.7 * result.losses[0]);
    for (const [k, v] of namedVariables(params)) expect(Array.from(v.dataSync())).toEqual(before.get(k));
    expect(() => distillLinearBlock({ params, layer: 3, block, nextInputs: batch, steps: 1, lr: 1e-2 })).toThrow(/layer must be in 0…2/);
    expect(() => distillLinearBlock({ params, layer: 0, block, nextInputs: batch, steps: 1, lr: 1e-2, temperature: 2 } as never)).toThrow(
      /^distillLinearBlock: unknown field "temperature"; allowed fields: steps, lr,/,
    );
    expect(() => distillLinearBlock({ params, layer: 0, block, nextInputs: batch, steps: 1, lr: -1e-2 })).toThrow(
      "distillLinearBlock.lr: expected a number ≥ 0 or a function (step) => learning rate, got -0.01",
    );
    tf.dispose(streams);
    disposeParams([params, block]);
  });
});

describe("several blocks distilled at once", () => {
  it("trains every stand-in jointly, lowers the KL, leaves the model alone, and rejects an empty or bad set", () => {
    const cfg = transformerConfig({ vocabSize: 11, seqLen: 6, dModel: 8, nHeads: 2, nLayers: 3, dFF: 16, seed: 4, initStd: 0.3 });
    const batch = () =>
      tf.tensor2d(
        Array.from({ length: 4 }, (_, i) => Array.from({ length: 6 }, (_, j) => (2 * i + 7 * j) % 11)),
        [4, 6],
        "int32",
      );
    const params = initTransformer(cfg);
    const before = new Map([...namedVariables(params)].map(([k, v]) => [k, Array.from(v.dataSync())]));
    const streams = residualStreams(params, [batch()]);
    const blocks = new Map([0, 2].map((l) => [l, fitLinearBlock(streams[l], streams[l + 1]).block]));
    for (const b of blocks.values()) b.weight.assign(tf.mul(b.weight, 0.5));
    const start = new Map([...blocks].map(([l, b]) => [l, Array.from(b.weight.dataSync())]));
    const nTensors = tf.memory().numTensors;
    const result = distillLinearBlocks({ params, blocks, nextInputs: batch, steps: 30, lr: 3e-3 });
    expect(tf.memory().numTensors).toBe(nTensors);
    expect(result.losses[result.losses.length - 1]).toBeLessThan(0.7 * result.losses[0]);
    for (const [l, b] of blocks) expect(Array.from(b.weight.dataSync())).not.toEqual(start.get(l)); // both trained
    for (const [k, v] of namedVariables(params)) expect(Array.from(v.dataSync())).toEqual(before.get(k));
    expect(() => distillLinearBlocks({ params, blocks: new Map(), nextInputs: batch, steps: 1, lr: 1e-3 })).toThrow(/no blocks/);
    expect(() => distillLinearBlocks({ params, blocks: new Map([[5, blocks.get(0)!]]), nextInputs: batch, steps: 1, lr: 1e-3 })).toThrow(
      /layer must be in 0…2, got 5/,
    );
    tf.dispose(streams);
    disposeParams([params, [...blocks.values()]]);
  });
});

describe("fine-tuning a sentence classifier", () => {
  const cfg = transformerConfig({ vocabSize: 12, seqLen: 8, dModel: 8, nHeads: 2, nLayers: 2, dFF: 16, seed: 5 });
  // Label 1 when token 3 occurs in the sentence; lengths 2…7.
  const rng = createRng(9);
  const sentences = Array.from({ length: 48 }, (_, i) => {
    const len = 2 + (i % 6);
    const ids = Int32Array.from({ length: len }, () => 4 + rng.int(8));
    if (i % 2) ids[rng.int(len)] = 3;
    return ids;
  });
  const data: EncodedSentences = { ids: sentences, labels: sentences.map((s) => (s.includes(3) ? 1 : 0)) };

  it("classifies by the mean final stream over real tokens: padding never changes a sentence's logits", () => {
    const params = initTransformer(cfg);
    const head = initSentenceHead(8, 2, 1);
    const alone = sentenceBatch(data, [0]);
    const padded = sentenceBatch(data, [0, 5]); // sentence 5 is longer, so sentence 0 is padded
    expect(padded.tokens.shape[1]).toBeGreaterThan(alone.tokens.shape[1]);
    const a = classifySentences(params, head, alone.tokens, alone.lengths);
    const b = classifySentences(params, head, padded.tokens, padded.lengths);
    const diff = tf.max(tf.abs(tf.sub(a, tf.slice(b, [0, 0], [1, 2])))).dataSync()[0];
    expect(diff).toBeLessThan(1e-6);
    expect(() => classifySentences(params, head, alone.tokens, [0])).toThrow(/every length must be an integer in 1…2/);
    expect(() => initSentenceHead(8, 1, 1)).toThrow(/classes must be an integer ≥ 2/);
    tf.dispose([a, b, alone.tokens, alone.labels, padded.tokens, padded.labels]);
    disposeParams([params, head]);
  });

  it("fine-tuning reaches every weight of the model and the head, learns a separable task, is deterministic and leaks nothing", () => {
    const runOnce = () => {
      const params = initTransformer(cfg);
      const head = initSentenceHead(8, 2, 1);
      const before = new Map([...namedVariables({ model: params, head })].map(([k, v]) => [k, Array.from(v.dataSync())]));
      const start = evaluateSentenceClassifier(params, head, data);
      // the causal mask of each length is cached (kept) on first use: create them all before counting
      for (let t = 1; t <= 8; t++) tf.tidy(() => void transformerForward(params, tf.zeros([1, t], "int32")));
      const nTensors = tf.memory().numTensors;
      const result = fineTuneSentences({ params, head, data, steps: 120, lr: 1e-2, batchSize: 8, seed: 3 });
      expect(tf.memory().numTensors).toBe(nTensors);
      const end = evaluateSentenceClassifier(params, head, data);
      const unchanged = [...namedVariables({ model: params, head })].filter(([k, v]) => {
        const a = Array.from(v.dataSync());
        return a.every((x, i) => x === before.get(k)![i]);
      });
      disposeParams([params, head]);
      return { start, end, losses: result.losses, unchanged: unchanged.map(([k]) => k) };
    };
    const r = runOnce();
    expect(r.unchanged).toEqual([]); // gradients reached every parameter
    expect(r.start.accuracy).toBeLessThan(0.75);
    expect(r.end.accuracy).toBeGreaterThan(0.9);
    expect(r.end.loss).toBeLessThan(r.start.loss);
    expect(runOnce().losses).toEqual(r.losses);
    const params = initTransformer(cfg);
    const head = initSentenceHead(8, 2, 1);
    expect(() => fineTuneSentences({ params, head, data, steps: 1, lr: 1e-3, batchSize: 100, seed: 1 })).toThrow(
      /batchSize must be an integer in 1…48/,
    );
    // options are checked like configs (issue 24, item 9)
    expect(() => fineTuneSentences({ params, head, data, steps: 1, lr: 1e-3, batchSize: 0, seed: 1 })).toThrow(
      "fineTuneSentences.batchSize: expected an integer ≥ 1, got 0",
    );
    expect(() => fineTuneSentences({ params, head, data, steps: -1, lr: 1e-3, batchSize: 8, seed: 1 })).toThrow(
      "fineTuneSentences.steps: expected an integer ≥ 0, got -1",
    );
    expect(() => fineTuneSentences({ params, head, data, steps: 1, learningRate: 1e-3, batchSize: 8, seed: 1 } as never)).toThrow(
      /fineTuneSentences: unknown field "learningRate" \(did you mean "lr"\?\)/,
    );
    disposeParams([params, head]);
  });

  it("sentence streams keep real tokens only, in order, and equal the states of the unpadded sentence", () => {
    const params = initTransformer(cfg);
    const streams = sentenceStreams(params, data, 5);
    expect(() => sentenceStreams(params, data, 0)).toThrow("sentenceStreams.batchSize: expected an integer ≥ 1, got 0"); // not an endless loop
    const total = sentences.reduce((s, x) => s + x.length, 0);
    expect(streams.length).toBe(3);
    for (const s of streams) expect(s.shape).toEqual([total, 8]);
    // sentence 7 on its own, through the ordinary forward
    const offset = sentences.slice(0, 7).reduce((s, x) => s + x.length, 0);
    const one = tf.tensor2d([Array.from(sentences[7])], [1, sentences[7].length], "int32");
    const { hidden, logits } = transformerForward(params, one, { captureHidden: true });
    const got = tf.slice(streams[2], [offset, 0], [sentences[7].length, 8]);
    expect(tf.max(tf.abs(tf.sub(got, tf.reshape(hidden![2], [-1, 8])))).dataSync()[0]).toBeLessThan(1e-6);
    tf.dispose([one, logits, got, ...hidden!, ...streams]);
    disposeParams(params);
  });
});

describe("cosine regulariser", () => {
  it("is 0 for identical streams, 1 for orthogonal ones, 2 for opposite ones (hand-computed)", () => {
    const a = tf.tensor2d([
      [1, 0],
      [0, 2],
    ]);
    expect(consecutiveCosinePenalty([a, tf.mul(a, 3)]).dataSync()[0]).toBeCloseTo(0, 6);
    expect(
      consecutiveCosinePenalty([
        a,
        tf.tensor2d([
          [0, 1],
          [-5, 0],
        ]),
      ]).dataSync()[0],
    ).toBeCloseTo(1, 6);
    expect(consecutiveCosinePenalty([a, tf.neg(a)]).dataSync()[0]).toBeCloseTo(2, 6);
    // Mean over pairs: (0 + 1) / 2.
    expect(
      consecutiveCosinePenalty([
        a,
        a,
        tf.tensor2d([
          [0, 1],
          [1, 0],
        ]),
      ]).dataSync()[0],
    ).toBeCloseTo(0.5, 6);
    expect(() => consecutiveCosinePenalty([a])).toThrow(/at least 2 streams/);
  });

  it("plugs into training: gradients reach every parameter, the run is deterministic, no tensors leak", () => {
    const cfg = transformerConfig({ vocabSize: 11, seqLen: 8, dModel: 8, nHeads: 2, nLayers: 2, dFF: 16, seed: 4 });
    const ids = Int32Array.from({ length: 600 }, (_, i) => (i * 7 + (i >> 3)) % 11);
    const params = initTransformer(cfg);
    const vars = [...namedVariables(params).values()];
    const inputs = tf.tensor2d([Array.from(ids.slice(0, 8))], [1, 8], "int32");
    // The penalty built from the captured streams ([B, T, D], kept by the forward pass) ...
    const grads = tf.variableGrads(() => {
      const out = transformerForward(params, inputs, { captureHidden: true });
      const term = consecutiveCosinePenalty(out.hidden!);
      tf.dispose([out.logits, ...out.hidden!]);
      return term;
    }, vars);
    // ... has the gradients of the same penalty on streams taken straight from the blocks, inside one graph.
    const direct = tf.variableGrads(
      () =>
        tf.tidy(() => {
          const stream = embedTokens(params, inputs);
          const streams = [stream];
          transformerBlocks({
            config: cfg,
            blocks: params.blocks,
            stream,
            batch: 1,
            time: 8,
            onBlock: (after) => {
              streams.push(after);
            },
          });
          return consecutiveCosinePenalty(streams);
        }),
      vars,
    );
    expect(grads.value.dataSync()[0]).toBeCloseTo(direct.value.dataSync()[0], 6);
    for (const v of vars) {
      const a = grads.grads[v.name],
        b = direct.grads[v.name];
      expect(a === undefined, v.name).toBe(b === undefined);
      if (a && b) expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0], v.name).toBeLessThan(1e-6);
    }
    tf.dispose([direct.value, ...Object.values(direct.grads)]);
    // Every block and the embeddings feed the streams; the final norm does not (the penalty is on the streams).
    for (const [name, v] of namedVariables(params)) {
      const g = grads.grads[v.name];
      if (name.startsWith("finalNorm")) continue;
      expect(g, name).toBeDefined();
      expect(tf.sum(tf.abs(g)).dataSync()[0], name).toBeGreaterThan(0);
    }
    tf.dispose([grads.value, ...Object.values(grads.grads), inputs]);
    disposeParams(params);

    const run = (weight: number) => {
      const model = withHiddenPenalty(initTransformer(cfg), weight, consecutiveCosinePenalty);
      try {
        return trainLanguageModel({
          model,
          trainIds: ids,
          validIds: ids,
          steps: 6,
          lr: 1e-2,
          batchSize: 4,
          dataSeed: 1,
          evalEvery: 3,
          evalBatches: 1,
        });
      } finally {
        disposeParams(model.params);
      }
    };
    const nTensors = tf.memory().numTensors;
    const a = run(0.5),
      b = run(0.5),
      plain = run(0);
    expect(tf.memory().numTensors).toBe(nTensors);
    expect(a.result.losses).toEqual(b.result.losses);
    expect(a.result.losses[0]).toBeGreaterThan(plain.result.losses[0]); // the penalty is added to the same first-step CE
    expect(() => withHiddenPenalty(params, NaN, consecutiveCosinePenalty)).toThrow(/withHiddenPenalty: weight must be finite, got NaN/);
  });
});

describe("Brown corpus", () => {
  it("detags sentences: words kept, `` '' → \", punctuation glued", () => {
    expect(detagBrownSentence("\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ,/, and/cc left/vbd ./.")).toBe(
      'The jury said "no evidence", and left.',
    );
    expect(detagBrownSentence("He/pps said/vbd ,/, ``/`` I'm/ppss+bem full/jj ''/'' ./.")).toBe('He said, "I\'m full".');
  });

  it("loads genres with a deterministic split by sample and rejects unknown genres", () => {
    const fiction = loadBrown(["fiction", "romance"]);
    expect(fiction.samples.length).toBe(29 + 29);
    expect(fiction.samples.filter((s) => s.split === "valid").map((s) => s.id)).toEqual(["ck09", "ck19", "ck29", "cp10", "cp20"]);
    expect(fiction.train.length).toBeGreaterThan(200_000);
    expect(fiction.train).not.toMatch(/\w\/(at|nn|vbd)\b/);
    expect(BROWN_GENRES.length).toBe(15);
    expect(() => loadBrown(["poetry" as never])).toThrow(/unknown genre "poetry"/);
  });
});
