/**
 * MLPs as attention heads (Huben & Morris 2023): exact constructions, checked numerically.
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { ready } from "../../lib/engine";
import { createRng, randomNormal } from "../../lib/engine/rng";
import {
  attentionOnlyForward,
  augmentStream,
  augmentedLayout,
  defaultBeta,
  disposeAttentionOnly,
  disposeHeads,
  headPatterns,
  maskHead,
  mlpToAttentionHeads,
  mlpViaHeads,
  toAttentionOnly,
} from "../../lib/papers/06-attention-only";
import { maxAbsDifference } from "../../lib/metrics/stats";
import { disposeParams } from "../../lib/models/params";
import { activate } from "../../lib/models/ops";
import { initTransformer, transformerConfig, transformerForward } from "../../lib/models/transformer";

beforeAll(async () => {
  await ready({ backend: "cpu", quiet: true });
});

function randomMlp(seed: number, d: number, f: number) {
  const rng = createRng(seed);
  return {
    w1: randomNormal(rng, [d, f], 0.5),
    b1: randomNormal(rng, [f], 0.5),
    w2: randomNormal(rng, [f, d], 0.5),
    b2: randomNormal(rng, [d], 0.5),
  };
}
const mlpRef = (m: ReturnType<typeof randomMlp>, x: tf.Tensor, kind: "silu" | "relu" | "gelu") =>
  tf.tidy(() => tf.add(tf.matMul(activate(kind, tf.add(tf.matMul(tf.reshape(x, [-1, m.w1.shape[0]]), m.w1), m.b1)), m.w2), m.b2));

describe("MLP → attention heads", () => {
  it("the augmented stream has the bias token first, isToken/isBias flags and position one-hots", () => {
    const layout = augmentedLayout(2, 4);
    expect(layout.width).toBe(2 + 3 + 4);
    const a = augmentStream(
      tf.tensor3d([
        [
          [5, 6],
          [7, 8],
        ],
      ]),
      layout,
    ).arraySync()[0];
    expect(a[0]).toEqual([0, 0, 0, 1, 1, 0, 0, 0, 0]);
    expect(a[1]).toEqual([5, 6, 1, 0, 0, 1, 0, 0, 0]);
    expect(a[2]).toEqual([7, 8, 1, 0, 0, 0, 1, 0, 0]);
    expect(() => augmentStream(tf.zeros([1, 5, 2]), layout)).toThrow(/5 tokens exceed nCtx 4/);
  });

  it("a SiLU MLP converted at a good Ω equals the original to float32 precision (odd sizes)", () => {
    for (const [d, f, t] of [
      [3, 5, 7],
      [6, 11, 4],
    ]) {
      const mlp = randomMlp(d * 10 + f, d, f);
      const x = randomNormal(createRng(1), [2, t, d]);
      const heads = mlpToAttentionHeads(mlp, { omega: 10, nCtx: 8 });
      expect(heads.wq.shape).toEqual([f + 1, d + 3 + 8, 8 + 3]);
      const err = maxAbsDifference(tf.reshape(mlpViaHeads(heads, x), [-1, d]), mlpRef(mlp, x, "silu"));
      expect(err, `d ${d}, F ${f}`).toBeLessThan(2e-5);
      disposeHeads(heads);
    }
  });

  it("the error grows when Ω is too small (attention leaks to earlier tokens)", () => {
    const mlp = randomMlp(3, 4, 6);
    const x = randomNormal(createRng(2), [1, 8, 4]);
    const err = (omega: number) => {
      const heads = mlpToAttentionHeads(mlp, { omega, nCtx: 8 });
      const e = maxAbsDifference(tf.reshape(mlpViaHeads(heads, x), [-1, 4]), mlpRef(mlp, x, "silu"));
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
      const e = maxAbsDifference(siluApprox(beta), tf.relu(s));
      expect(e).toBeLessThanOrEqual(0.2785 / beta + 1e-6);
      expect(e).toBeGreaterThan(0.278 / beta - 1e-4);
    }
    expect(maxAbsDifference(siluApprox(defaultBeta("gelu")), activate("gelu", s))).toBeLessThan(0.021);
    // In the converted heads: a one-unit ReLU MLP with w₂ = 1 is off by at most 0.2785/β.
    const one = { w1: tf.tensor2d([[1]]), b1: tf.tensor1d([0]), w2: tf.tensor2d([[1]]), b2: tf.tensor1d([0]) };
    const x = tf.reshape(tf.linspace(-3, 3, 8), [1, 8, 1]);
    const heads = mlpToAttentionHeads(one, { omega: 10, nCtx: 8, activation: "relu", beta: 10 });
    const e = maxAbsDifference(tf.reshape(mlpViaHeads(heads, x), [-1, 1]), tf.reshape(tf.relu(x), [-1, 1]));
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
    const mask = [
      [1, 0, 0, 0, 0],
      [1, 1, 0, 0, 0],
      [0, 1, 1, 0, 0],
      [1, 0, 1, 1, 0],
      [0, 0, 0, 0, 1],
    ];
    const stream = augmentStream(tf.zeros([1, 5, 2]), layout);
    const exact = mask.map((row) => row.map((v) => v / row.reduce((s, w) => s + w, 0)));
    const err = (omega: number) => {
      const head = maskHead(mask, omega, layout);
      const p = tf.slice(headPatterns(head, stream), [0, 0, 1, 1], [1, 1, 5, 5]);
      const e = maxAbsDifference(tf.reshape(p, [5, 5]), tf.tensor2d(exact));
      disposeHeads(head);
      return e;
    };
    expect(err(20)).toBeLessThan(1e-6);
    expect(err(2)).toBeGreaterThan(0.05);
    expect(() => maskHead([[0]], 5, layout)).toThrow(/position 0 may see nothing/);
  });

  it("a whole SiLU transformer becomes attention-only with the same logits", () => {
    const cfg = transformerConfig({
      vocabSize: 13,
      seqLen: 6,
      dModel: 8,
      nHeads: 2,
      nLayers: 2,
      dFF: 12,
      activation: "silu",
      initStd: 0.3,
      seed: 5,
    });
    const params = initTransformer(cfg);
    const tokens = tf.tensor2d(
      [
        [1, 5, 2, 9, 0, 3],
        [4, 4, 7, 12, 1, 8],
      ],
      [2, 6],
      "int32",
    );
    const model = toAttentionOnly(params, { omega: 10 });
    expect(model.headCount).toBe(2 * 2 + 2 * 13);
    const ref = transformerForward(params, tokens).logits;
    expect(maxAbsDifference(attentionOnlyForward(model, tokens), ref)).toBeLessThan(1e-4);
    disposeAttentionOnly(model);
    disposeParams(params);
    expect(() => toAttentionOnly(initTransformer(transformerConfig({ ...cfg, normPlacement: "post" })), { omega: 10 })).toThrow(/Pre-LN/);
    expect(() => toAttentionOnly(initTransformer(transformerConfig({ ...cfg, activation: "linear" })), { omega: 10 })).toThrow(
      /got "linear"/,
    );
  });
});
