/**
 * Exact constructions: MLPs as attention heads (Huben & Morris 2023) and linear attention as a fast
 * weight programmer (Schlag, Irie & Schmidhuber 2021).
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { ready } from "../lib/engine";
import { createRng, randomNormal } from "../lib/engine/rng";
import {
  attentionOnlyForward, augmentStream, augmentedLayout, defaultBeta, disposeAttentionOnly, disposeHeads, headPatterns, maskHead,
  mlpToAttentionHeads, mlpViaHeads, toAttentionOnly,
} from "../lib/models/attention-only";
import {
  applyFeatureMap, fastWeightProgrammer, featureDim, initRetrievalModel, linearAttention, retrievalBatch, retrievalLoss, retrievalReadout,
  softmaxAttention, trainRetrieval,
} from "../lib/models/fast-weights";
import { disposeParams } from "../lib/models/params";
import { activate, initTransformer, transformerConfig, transformerForward } from "../lib/models/transformer";

beforeAll(async () => {
  await ready({ backend: "cpu", quiet: true });
});

const maxAbs = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

function randomMlp(seed: number, d: number, f: number) {
  const rng = createRng(seed);
  return { w1: randomNormal(rng, [d, f], 0.5), b1: randomNormal(rng, [f], 0.5), w2: randomNormal(rng, [f, d], 0.5), b2: randomNormal(rng, [d], 0.5) };
}
const mlpRef = (m: ReturnType<typeof randomMlp>, x: tf.Tensor, kind: "silu" | "relu" | "gelu") =>
  tf.tidy(() => tf.add(tf.matMul(activate(kind, tf.add(tf.matMul(tf.reshape(x, [-1, m.w1.shape[0]]), m.w1), m.b1)), m.w2), m.b2));

describe("MLP → attention heads", () => {
  it("the augmented stream has the bias token first, isToken/isBias flags and position one-hots", () => {
    const layout = augmentedLayout(2, 4);
    expect(layout.width).toBe(2 + 3 + 4);
    const a = augmentStream(tf.tensor3d([[[5, 6], [7, 8]]]), layout).arraySync()[0];
    expect(a[0]).toEqual([0, 0, 0, 1, 1, 0, 0, 0, 0]);
    expect(a[1]).toEqual([5, 6, 1, 0, 0, 1, 0, 0, 0]);
    expect(a[2]).toEqual([7, 8, 1, 0, 0, 0, 1, 0, 0]);
    expect(() => augmentStream(tf.zeros([1, 5, 2]), layout)).toThrow(/5 tokens exceed nCtx 4/);
  });

  it("a SiLU MLP converted at a good Ω equals the original to float32 precision (odd sizes)", () => {
    for (const [d, f, t] of [[3, 5, 7], [6, 11, 4]]) {
      const mlp = randomMlp(d * 10 + f, d, f);
      const x = randomNormal(createRng(1), [2, t, d]);
      const heads = mlpToAttentionHeads(mlp, { omega: 10, nCtx: 8 });
      expect(heads.wq.shape).toEqual([f + 1, d + 3 + 8, 8 + 3]);
      const err = maxAbs(tf.reshape(mlpViaHeads(heads, x), [-1, d]), mlpRef(mlp, x, "silu"));
      expect(err, `d ${d}, F ${f}`).toBeLessThan(2e-5);
      disposeHeads(heads);
    }
  });

  it("the error grows when Ω is too small (attention leaks to earlier tokens)", () => {
    const mlp = randomMlp(3, 4, 6);
    const x = randomNormal(createRng(2), [1, 8, 4]);
    const err = (omega: number) => {
      const heads = mlpToAttentionHeads(mlp, { omega, nCtx: 8 });
      const e = maxAbs(tf.reshape(mlpViaHeads(heads, x), [-1, 4]), mlpRef(mlp, x, "silu"));
      disposeHeads(heads);
      return e;
    };
    expect(err(1)).toBeGreaterThan(100 * err(10));
    expect(err(2)).toBeGreaterThan(err(10));
    // And too large: float32 rounding of logits of size 2Ω.
    expect(err(1e5)).toBeGreaterThan(10 * err(10));
  });

  it("ReLU via SiLU(βs)/β stays within the known bound 0.2785/β per unit; GELU via β = 1.702 within 0.021", () => {
    const s = tf.linspace(-6, 6, 2001);
    const siluApprox = (beta: number) => tf.div(activate("silu", tf.mul(s, beta)), beta);
    for (const beta of [1, 4, 20]) {
      const e = maxAbs(siluApprox(beta), tf.relu(s));
      expect(e).toBeLessThanOrEqual(0.2785 / beta + 1e-6);
      expect(e).toBeGreaterThan(0.278 / beta - 1e-4);
    }
    expect(maxAbs(siluApprox(defaultBeta("gelu")), activate("gelu", s))).toBeLessThan(0.021);
    // In the converted heads: a one-unit ReLU MLP with w₂ = 1 is off by at most 0.2785/β.
    const one = { w1: tf.tensor2d([[1]]), b1: tf.tensor1d([0]), w2: tf.tensor2d([[1]]), b2: tf.tensor1d([0]) };
    const x = tf.reshape(tf.linspace(-3, 3, 8), [1, 8, 1]);
    const heads = mlpToAttentionHeads(one, { omega: 10, nCtx: 8, activation: "relu", beta: 10 });
    const e = maxAbs(tf.reshape(mlpViaHeads(heads, x), [-1, 1]), tf.reshape(tf.relu(x), [-1, 1]));
    expect(e).toBeLessThanOrEqual(0.02785 + 1e-5);
    disposeHeads(heads);
  });

  it("rejects bad options with a clear error", () => {
    const mlp = randomMlp(1, 2, 3);
    expect(() => mlpToAttentionHeads(mlp, { omega: 0, nCtx: 4 })).toThrow(/omega must be a positive number/);
    expect(() => mlpToAttentionHeads(mlp, { omega: 5, nCtx: 4, beta: 2 })).toThrow(/SiLU MLP is converted exactly/);
    expect(() => mlpToAttentionHeads({ ...mlp, w2: tf.zeros([2, 2]) }, { omega: 5, nCtx: 4 })).toThrow(/do not form an MLP/);
  });

  it("a mask-encoding head attends uniformly over the allowed positions, to within ~e^{−Ω}", () => {
    const layout = augmentedLayout(2, 5);
    const mask = [[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [0, 1, 1, 0, 0], [1, 0, 1, 1, 0], [0, 0, 0, 0, 1]];
    const stream = augmentStream(tf.zeros([1, 5, 2]), layout);
    const exact = mask.map((row) => row.map((v) => v / row.reduce((s, w) => s + w, 0)));
    const err = (omega: number) => {
      const head = maskHead(mask, omega, layout);
      const p = tf.slice(headPatterns(head, stream), [0, 0, 1, 1], [1, 1, 5, 5]);
      const e = maxAbs(tf.reshape(p, [5, 5]), tf.tensor2d(exact));
      disposeHeads(head);
      return e;
    };
    expect(err(20)).toBeLessThan(1e-6);
    expect(err(2)).toBeGreaterThan(0.05);
    expect(() => maskHead([[0]], 5, layout)).toThrow(/position 0 may see nothing/);
  });

  it("a whole SiLU transformer becomes attention-only with the same logits", () => {
    const cfg = transformerConfig({ vocabSize: 13, seqLen: 6, dModel: 8, nHeads: 2, nLayers: 2, dFF: 12, activation: "silu", initStd: 0.3, seed: 5 });
    const params = initTransformer(cfg);
    const tokens = tf.tensor2d([[1, 5, 2, 9, 0, 3], [4, 4, 7, 12, 1, 8]], [2, 6], "int32");
    const model = toAttentionOnly(params, { omega: 10 });
    expect(model.headCount).toBe(2 * 2 + 2 * 13);
    const ref = transformerForward(params, tokens).logits;
    expect(maxAbs(attentionOnlyForward(model, tokens), ref)).toBeLessThan(1e-4);
    disposeAttentionOnly(model);
    disposeParams(params);
    expect(() => toAttentionOnly(initTransformer(transformerConfig({ ...cfg, normPlacement: "post" })), { omega: 10 })).toThrow(/Pre-LN/);
  });
});

describe("fast weights", () => {
  let q: tf.Tensor, k: tf.Tensor, v: tf.Tensor;
  beforeAll(() => {
    const rng = createRng(9);
    [q, k, v] = [randomNormal(rng, [2, 7, 4]), randomNormal(rng, [2, 7, 4]), randomNormal(rng, [2, 7, 3])];
  });

  it("DPFP has output dimension 2νd, is non-negative, and ELU+1 is positive", () => {
    for (const nu of [1, 2, 3]) {
      const phi = applyFeatureMap(q, { kind: "dpfp", nu });
      expect(phi.shape).toEqual([2, 7, 2 * nu * 4]);
      expect(featureDim(4, { kind: "dpfp", nu })).toBe(2 * nu * 4);
      expect(tf.min(phi).dataSync()[0]).toBeGreaterThanOrEqual(0);
    }
    expect(tf.min(applyFeatureMap(q, { kind: "elu1" })).dataSync()[0]).toBeGreaterThan(0);
    // DPFP ν = 1 by hand on x = (1, −2): r = (1, 0, 0, 2); roll by 1 → (2, 1, 0, 0); product (2, 0, 0, 0).
    expect(Array.from(applyFeatureMap(tf.tensor1d([1, -2]), { kind: "dpfp", nu: 1 }).dataSync())).toEqual([2, 0, 0, 0]);
    expect(() => featureDim(4, { kind: "dpfp", nu: 0 })).toThrow(/ν must be an integer/);
  });

  it("parallel causal linear attention equals the sum-rule recurrence (to ~1e-5)", () => {
    for (const featureMap of [{ kind: "elu1" } as const, { kind: "dpfp", nu: 2 } as const]) {
      const parallel = linearAttention(q, k, v, { featureMap });
      const recurrent = fastWeightProgrammer(q, k, v, { featureMap, rule: "sum" });
      expect(recurrent.weights.shape).toEqual([2, 3, featureDim(4, featureMap)]);
      expect(maxAbs(parallel, recurrent.outputs)).toBeLessThan(1e-5);
    }
  });

  it("the sum rule's final W is Σ v ⊗ φ(k)", () => {
    const { weights } = fastWeightProgrammer(q, k, v, { featureMap: { kind: "elu1" }, rule: "sum" });
    const expected = tf.matMul(v, applyFeatureMap(k, { kind: "elu1" }), true, false);
    expect(maxAbs(weights, expected)).toBeLessThan(1e-5);
  });

  it("delta rule: β = 0 leaves W at zero; one key with β = 1 recovers its value exactly", () => {
    const zero = fastWeightProgrammer(q, k, v, { featureMap: { kind: "elu1" }, rule: "delta", beta: 0 });
    expect(tf.max(tf.abs(zero.weights)).dataSync()[0]).toBe(0);
    // One write with unit-length φ and β = 1: W φ(k) = v exactly. With the paper's sum normalisation,
    // W φ(k) = β·v·‖φ(k)‖² (a partial write), checked by hand from φ.
    const k1 = tf.slice(q, [0, 0, 0], [2, 1, 4]), v1 = tf.slice(v, [0, 0, 0], [2, 1, 3]);
    const one = fastWeightProgrammer(k1, k1, v1, { featureMap: { kind: "dpfp", nu: 1 }, rule: "delta", beta: 1, normalization: "l2" });
    expect(maxAbs(one.outputs, v1)).toBeLessThan(1e-5);
    const phi = applyFeatureMap(k1, { kind: "dpfp", nu: 1 });
    const unitSum = tf.div(phi, tf.sum(phi, -1, true));
    const squared = tf.sum(tf.square(unitSum), -1, true); // [2, 1, 1]
    const partial = fastWeightProgrammer(k1, k1, v1, { featureMap: { kind: "dpfp", nu: 1 }, rule: "delta", beta: 0.5 });
    expect(maxAbs(partial.outputs, tf.mul(tf.mul(v1, squared), 0.5))).toBeLessThan(1e-5);
    // Writing a key twice with β = 1 keeps only the second value (an overwrite).
    const kk = tf.concat([tf.slice(k, [0, 0, 0], [2, 1, 4]), tf.slice(k, [0, 0, 0], [2, 1, 4])], 1);
    const vv = tf.slice(v, [0, 0, 0], [2, 2, 3]);
    const twice = fastWeightProgrammer(kk, kk, vv, { featureMap: { kind: "elu1" }, rule: "delta", beta: 1, normalization: "l2" });
    expect(maxAbs(tf.slice(twice.outputs, [0, 1, 0], [2, 1, 3]), tf.slice(vv, [0, 1, 0], [2, 1, 3]))).toBeLessThan(1e-5);
    expect(() => fastWeightProgrammer(q, k, v, { featureMap: { kind: "elu1" }, rule: "delta", beta: tf.zeros([2, 3]) })).toThrow(/beta must be \[B, T\] = \[2, 7\]/);
  });

  it("softmax attention with one key returns its value; shape errors are clear", () => {
    expect(maxAbs(softmaxAttention(tf.slice(q, [0, 0, 0], [2, 1, 4]), tf.slice(k, [0, 0, 0], [2, 1, 4]), tf.slice(v, [0, 0, 0], [2, 1, 3])), tf.slice(v, [0, 0, 0], [2, 1, 3]))).toBeLessThan(1e-6);
    expect(() => linearAttention(q, tf.zeros([2, 6, 4]), v, { featureMap: { kind: "elu1" } })).toThrow(/must share their leading dimensions/);
  });

  it("associative retrieval batches: S distinct keys, the target is the latest value of the queried key", () => {
    const b = retrievalBatch(createRng(4), { batchSize: 3, pairs: 5, valueDim: 4, overwrites: 6 });
    expect(b.length).toBe(11);
    for (let n = 0; n < 3; n++) {
      const ks = Array.from(b.keys.subarray(n * 11, n * 11 + 11));
      expect(new Set(ks.slice(0, 5)).size).toBe(5);
      const last = ks.lastIndexOf(b.query[n]);
      expect(Array.from(b.target.subarray(n * 4, n * 4 + 4))).toEqual(Array.from(b.values.subarray((n * 11 + last) * 4, (n * 11 + last + 1) * 4)));
    }
    expect(Array.from(b.values).every((x) => Math.abs(Math.abs(x) - 0.5) < 1e-7)).toBe(true);
    const again = retrievalBatch(createRng(4), { batchSize: 3, pairs: 5, valueDim: 4, overwrites: 6 });
    expect(Array.from(again.keys)).toEqual(Array.from(b.keys));
    expect(() => retrievalBatch(createRng(1), { batchSize: 1, pairs: 0, valueDim: 2 })).toThrow(/pairs must be a positive integer/);
  });

  it("retrieval: predicting zeros scores 1, a model learns S = 4 keys, the same seed gives the same run", () => {
    const b = retrievalBatch(createRng(3), { batchSize: 8, pairs: 4, valueDim: 8 });
    expect(retrievalLoss(tf.zeros([8, 8]), b).dataSync()[0]).toBeCloseTo(1, 6);
    const model = initRetrievalModel({ kind: "softmax" }, { pairs: 4, keyDim: 8, seed: 1 });
    expect(retrievalReadout(model, b).shape).toEqual([8, 8]);
    disposeParams(model);
    const nTensors = tf.memory().numTensors;
    const opts = { attention: { kind: "softmax" } as const, pairs: 4, keyDim: 8, valueDim: 8, steps: 120, lr: 3e-2, batchSize: 16, seed: 2 };
    const a = trainRetrieval(opts), again = trainRetrieval(opts);
    expect(tf.memory().numTensors).toBe(nTensors);
    expect(a.losses).toEqual(again.losses);
    expect(a.losses[0]).toBeGreaterThan(0.3);
    expect(a.finalLoss).toBeLessThan(0.05);
    const delta = trainRetrieval({ ...opts, attention: { kind: "fast-weights", featureMap: { kind: "dpfp", nu: 1 }, rule: "delta" }, overwrites: 2, steps: 5 });
    expect(Number.isFinite(delta.finalLoss)).toBe(true);
    expect(() => trainRetrieval({ ...opts, attention: { kind: "fast-weights", featureMap: { kind: "dpfp", nu: 99 }, rule: "sum" } })).toThrow(/ν must be an integer/);
  });
});
