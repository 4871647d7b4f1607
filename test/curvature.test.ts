/** Sentence-trajectory curvature (Hosseini & Fedorenko 2023), surprisal, module ablation, Brown sentences. */
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { ready } from "../lib/engine";
import { createRng, normalArray } from "../lib/engine/rng";
import { curvatureByLayer, sentenceSurprisal, trajectoryCurvature } from "../lib/metrics/curvature";
import { initTransformer, transformerConfig, transformerForward } from "../lib/models/transformer";
import { brownSentences } from "../lib/data/brown";

beforeAll(async () => {
  await ready({ backend: "cpu", quiet: true });
});

describe("trajectoryCurvature", () => {
  it("straight line 0°, zigzag 180°, right-angle turn 90°", () => {
    expect(trajectoryCurvature([[0, 0], [1, 1], [2, 2], [3, 3]])).toBeCloseTo(0, 6);
    expect(trajectoryCurvature([[0, 0], [1, 0], [0, 0], [1, 0]])).toBeCloseTo(180, 6);
    expect(trajectoryCurvature([[0, 0], [1, 0], [1, 1]])).toBeCloseTo(90, 10);
    // Mixed: 90° then 0° → mean 45°.
    expect(trajectoryCurvature([[0, 0], [1, 0], [1, 1], [1, 2]])).toBeCloseTo(45, 10);
  });

  it("≈ 120° for i.i.d. Gaussian states in high dimension", () => {
    const d = 400, t = 60;
    const a = normalArray(createRng(3), t * d);
    const states = Array.from({ length: t }, (_, i) => Array.from(a.subarray(i * d, (i + 1) * d)));
    expect(Math.abs(trajectoryCurvature(states) - 120)).toBeLessThan(2);
  });

  it("is invariant to scaling and translation; accepts tensors; skips zero-length steps", () => {
    const s = [[0, 1, 2], [1, 3, 2], [4, 3, 0], [2, 2, 2], [5, 0, 1]];
    const base = trajectoryCurvature(s);
    expect(trajectoryCurvature(s.map((r) => r.map((v) => 3.5 * v + 7)))).toBeCloseTo(base, 10);
    expect(trajectoryCurvature(tf.tensor2d(s))).toBeCloseTo(base, 4);
    // A repeated state adds a zero step: the angles touching it are skipped, the rest kept.
    expect(trajectoryCurvature([[0, 0], [1, 0], [1, 0], [1, 1], [1, 2]])).toBeCloseTo(0, 10);
    expect(() => trajectoryCurvature([[0, 0], [1, 1]])).toThrow(/at least 3 rows/);
    expect(() => trajectoryCurvature([[1, 1], [1, 1], [1, 1]])).toThrow(/no two consecutive non-zero steps/);
  });

  it("per layer and sentence, respecting lengths", () => {
    const layer = tf.tensor3d([[[0, 0], [1, 0], [1, 1], [9, 9]], [[0, 0], [1, 1], [2, 2], [3, 3]]]);
    const c = curvatureByLayer([layer], [3, 4]);
    expect(c[0][0]).toBeCloseTo(90, 6);
    expect(c[0][1]).toBeCloseTo(0, 6);
  });
});

describe("surprisal and ablation", () => {
  it("surprisal of uniform logits is ln V per token; padding is ignored", () => {
    const logits = tf.zeros([2, 4, 5]);
    const tokens = tf.tensor2d([[1, 2, 3, 4], [0, 1, 0, 0]], [2, 4], "int32");
    const s = sentenceSurprisal(logits, tokens, [4, 2]);
    expect(s[0]).toBeCloseTo(Math.log(5), 6);
    expect(s[1]).toBeCloseTo(Math.log(5), 6);
  });

  it("ablating a module changes that layer's output and nothing before it; bad ablations are rejected", () => {
    const cfg = transformerConfig({ vocabSize: 11, seqLen: 6, dModel: 8, nHeads: 2, nLayers: 3, dFF: 16, initStd: 0.3, seed: 2 });
    const params = initTransformer(cfg);
    const x = tf.tensor2d([[1, 2, 3, 4, 5, 6]], [1, 6], "int32");
    const base = transformerForward(params, x, { captureHidden: true }).hidden!;
    for (const module of ["query", "key", "value", "mlp"] as const) {
      const h = transformerForward(params, x, { captureHidden: true, ablate: { layer: 1, module } }).hidden!;
      expect(Array.from(h[1].dataSync())).toEqual(Array.from(base[1].dataSync()));
      expect(Array.from(h[2].dataSync())).not.toEqual(Array.from(base[2].dataSync()));
    }
    // Zero queries (or keys): every position attends uniformly to its past.
    const { attention } = transformerForward(params, x, { captureAttention: true, ablate: { layer: 0, module: "query" } });
    const row = (attention![0].arraySync() as number[][][][])[0][0][3];
    row.slice(0, 4).forEach((p) => expect(p).toBeCloseTo(0.25, 6));
    expect(() => transformerForward(params, x, { ablate: { layer: 3, module: "mlp" } })).toThrow(/ablate.layer must be in 0…2/);
    expect(() => transformerForward(params, x, { ablate: { layer: 0, module: "gate" as never } })).toThrow(/ablate.module must be one of/);
  });
});

describe("Brown sentences", () => {
  it("a seeded sample within the length bounds", () => {
    const a = brownSentences({ count: 50, minLength: 20, maxLength: 60, seed: 1, genres: ["news"] });
    expect(a.length).toBe(50);
    expect(a.every((s) => s.length >= 20 && s.length <= 60)).toBe(true);
    expect(brownSentences({ count: 50, minLength: 20, maxLength: 60, seed: 1, genres: ["news"] })).toEqual(a);
    expect(() => brownSentences({ count: 10 ** 7, minLength: 20, maxLength: 60, seed: 1 })).toThrow(/asked for/);
  });
});
