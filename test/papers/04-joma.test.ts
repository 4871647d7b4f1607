/**
 * JoMA pieces: attention entropy (uniform, one-hot, causal ceiling), the toy dynamics (first step
 * by hand, monotone approach without overshoot, dip then rebound), the hierarchical generator and
 * the best-unit correlation, MLP capture, training probes.
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { ready } from "../../lib/engine";
import { createRng } from "../../lib/engine/rng";
import {
  attentionEntropy,
  attentionEntropyByPosition,
  attentionEntropyProbe,
  causalEntropyCeiling,
  dipAndRebound,
} from "../../lib/papers/04-joma";
import { bestUnitCorrelation, correlation } from "../../lib/metrics/stats";
import { entropyOf, jomaToyDynamics } from "../../lib/papers/04-joma";
import { createHierarchy, expand, hierarchyLmBatch, naiveBayesAccuracy, sampleHierarchy } from "../../lib/papers/04-joma";
import { latentCorrelations } from "../../lib/papers/04-joma";
import { disposeParams } from "../../lib/models/params";
import { activate } from "../../lib/models/ops";
import { initTransformer, transformerConfig, transformerForward, transformerLm } from "../../lib/models/transformer";
import { trainLanguageModel } from "../../lib/train/lm";
import { disposeBatches, lmEvalBatches } from "../../lib/data/batches";

beforeAll(async () => {
  await ready({ backend: "cpu", quiet: true });
});

describe("attention entropy", () => {
  it("is ln n for uniform rows and 0 for one-hot rows", () => {
    expect(attentionEntropy(tf.fill([2, 3, 5, 5], 0.2))).toBeCloseTo(Math.log(5), 6);
    expect(attentionEntropy(tf.oneHot(tf.tensor1d([0, 3, 1], "int32"), 4))).toBe(0);
    // Mixed rows average: [½, ½, 0] → ln 2 and [1, 0, 0] → 0.
    expect(
      attentionEntropy(
        tf.tensor2d([
          [0.5, 0.5, 0],
          [1, 0, 0],
        ]),
      ),
    ).toBeCloseTo(Math.log(2) / 2, 6);
  });

  it("uniform causal attention reaches the closed-form ceiling (1/T)·Σ ln i: 2.63 nats for T = 35", () => {
    const t = 35;
    const rows = Array.from({ length: t }, (_, i) => Array.from({ length: t }, (_, j) => (j <= i ? 1 / (i + 1) : 0)));
    const causal = tf.tensor3d([rows]);
    expect(attentionEntropy(causal)).toBeCloseTo(causalEntropyCeiling(t), 5);
    expect(causalEntropyCeiling(t)).toBeCloseTo(92.136176 / 35, 5); // ln(35!) = 92.136176
    expect(causalEntropyCeiling(1)).toBe(0);
    expect(
      attentionEntropyByPosition(causal)
        .slice(0, 3)
        .map((h) => +h.toFixed(6)),
    ).toEqual([0, +Math.log(2).toFixed(6), +Math.log(3).toFixed(6)]);
    // The official code's +1e-8 inside the log changes almost nothing, and never gives NaN.
    expect(Math.abs(attentionEntropy(causal, { eps: 1e-8 }) - attentionEntropy(causal))).toBeLessThan(1e-5);
    expect(() => causalEntropyCeiling(0)).toThrow(/positive integer/);
    expect(() => attentionEntropy(tf.tensor1d([1]))).toThrow(/expected \[..., queries, keys\]/);
  });
});

describe("JoMA toy dynamics", () => {
  it("first step by hand: equal v gives uniform softmax, v₁ = v₀ + η(μ − v₀)/M", () => {
    const r = jomaToyDynamics({ mu: [1, 2, 4], v0: 0.5, stepSize: 0.1, temperature: 2, iterations: 1 });
    expect(r.entropy[0]).toBeCloseTo(Math.log(3), 12);
    r.v[1].forEach((v, i) => expect(v).toBeCloseTo(0.5 + (0.1 * ([1, 2, 4][i] - 0.5)) / 3, 12));
  });

  it("moves every component monotonically toward μ without overshoot, and μ is a fixed point", () => {
    const r = jomaToyDynamics({ iterations: 3000 });
    for (let i = 0; i < r.mu.length; i++) {
      for (let s = 1; s < r.v.length; s++) {
        expect(r.v[s][i]).toBeGreaterThanOrEqual(r.v[s - 1][i]);
        expect(r.v[s][i]).toBeLessThanOrEqual(r.mu[i]);
      }
    }
    const still = jomaToyDynamics({ mu: [1, 2, 3], v0: 0, iterations: 0 });
    expect(still.v).toEqual([[0, 0, 0]]);
    const fixed = jomaToyDynamics({ mu: [2, 2, 2], v0: 2, iterations: 10 });
    expect(fixed.v[10]).toEqual([2, 2, 2]);
  });

  it("with the official settings, entropy dips below its start and then rebounds", () => {
    const r = jomaToyDynamics();
    const min = Math.min(...r.entropy);
    const at = r.entropy.indexOf(min);
    expect(r.entropy[0]).toBeCloseTo(Math.log(10), 6);
    expect(min).toBeLessThan(r.entropy[0] - 0.5);
    expect(at).toBeGreaterThan(0);
    expect(at).toBeLessThan(r.entropy.length - 1);
    expect(r.entropy[r.entropy.length - 1]).toBeGreaterThan(min + 0.2);
    expect(entropyOf([0.5, 0.5, 0])).toBeCloseTo(Math.log(2), 12);
    expect(() => jomaToyDynamics({ temperature: 0 })).toThrow(/temperature must be > 0/);
  });

  it("the linear case (constant drive): v grows without bound and the entropy only falls", () => {
    // first step by hand: v₁ = v₀ + η·μ/M (uniform softmax at equal v)
    const one = jomaToyDynamics({ mu: [1, 3], iterations: 1, drive: "constant" });
    expect(one.v[1][0]).toBeCloseTo(0.05 + (0.02 * 1) / 2, 12);
    expect(one.v[1][1]).toBeCloseTo(0.05 + (0.02 * 3) / 2, 12);
    const lin = jomaToyDynamics({ drive: "constant" });
    for (let t = 1; t < lin.entropy.length; t++) expect(lin.entropy[t]).toBeLessThanOrEqual(lin.entropy[t - 1] + 1e-12);
    expect(lin.v[lin.v.length - 1][9]).toBeGreaterThan(lin.mu[9]); // past μ: nothing stops it
    const r = dipAndRebound(
      lin.entropy.map((_, i) => i),
      lin.entropy,
    );
    expect(r.rebound).toBe(0);
    expect(r.dip).toBeCloseTo(lin.entropy[0] - lin.entropy[lin.entropy.length - 1], 12);
    expect(() => jomaToyDynamics({ drive: "linear" as never })).toThrow(/drive must be "saturating" or "constant"/);
  });
});

describe("dip and rebound of a training curve", () => {
  it("by hand: the largest rise above the running minimum, and the dip to that trough", () => {
    // falls to 1.0 at step 2, recovers to 1.6 at step 4, then falls below the first trough to 0.8
    const r = dipAndRebound([0, 1, 2, 3, 4, 5, 6], [2.0, 1.5, 1.0, 1.3, 1.6, 1.0, 0.8]);
    expect(r.rebound).toBeCloseTo(0.6, 12);
    expect([r.troughStep, r.peakStep]).toEqual([2, 4]);
    expect(r.dip).toBeCloseTo(1.0, 12);
    expect(r.min).toBe(0.8);
    expect(r.endAboveMin).toBe(0); // the old "end − global minimum" measure sees no rebound here
    const flat = dipAndRebound([0, 1, 2], [1, 1, 1]);
    expect([flat.dip, flat.rebound]).toEqual([0, 0]);
    const rise = dipAndRebound([0, 1], [1, 2]); // rises from the start: rebound 1, dip 0
    expect([rise.dip, rise.rebound, rise.troughStep, rise.peakStep]).toEqual([0, 1, 0, 1]);
    expect(() => dipAndRebound([0, 1], [1])).toThrow(/2 steps for 1 values/);
    expect(() => dipAndRebound([0, 1], [1, NaN])).toThrow(/finite/);
  });
});

describe("hierarchical generator (JoMA Table 1)", () => {
  const h = createHierarchy({ seed: 3 });

  it("builds distinct combinations per level, and classes expand into sorted, padded leaves", () => {
    expect(h.parts.map((level) => level.length)).toEqual([10, 20, 20]);
    for (const level of h.parts) expect(new Set(level.map((c) => c.join(","))).size).toBe(level.length);
    expect(h.parts[0].flat().every((id) => id >= 0 && id < 99)).toBe(true);
    const batch = sampleHierarchy(h, createRng(1), 400);
    expect(() => sampleHierarchy(h, createRng(1), 0)).toThrow("sampleHierarchy.batchSize: expected an integer ≥ 1, got 0");
    for (let b = 0; b < 400; b++) {
      const row = Array.from(batch.tokens.subarray(b * 30, (b + 1) * 30));
      const { active, leaves } = expand(h, batch.labels[b]);
      expect(row.slice(30 - leaves.length)).toEqual(leaves);
      expect(row.slice(0, 30 - leaves.length).every((id) => id === h.padId)).toBe(true);
      for (let l = 0; l < 3; l++) {
        const on = Array.from(batch.indicators[l].subarray(b * h.levels[l], (b + 1) * h.levels[l])).flatMap((v, k) => (v ? [k] : []));
        expect(on).toEqual(active[l]);
      }
    }
    // Every class appears; counts are roughly uniform (400 draws over 20 classes: 20 each on average).
    const counts = new Array(20).fill(0);
    for (const l of batch.labels) counts[l]++;
    expect(Math.min(...counts)).toBeGreaterThan(5);
    expect(() => createHierarchy({ levels: [10], combinations: [2, 2] })).toThrow(/same length/);
    expect(() => createHierarchy({ vocabSize: 5, levels: [10, 3], combinations: [2, 2] })).toThrow(/only 6 exist/);
  });

  it("stochastic latents: children kept with probability keep, distractors added, indicators = the active latents", () => {
    const hs = createHierarchy({ seed: 3, keep: 0.5, noise: 3 });
    expect(hs.parts).toEqual(h.parts); // the same tree: keep and noise only change the sampling
    const n = 2000;
    const batch = sampleHierarchy(hs, createRng(5), n);
    let kept = 0;
    let offered = 0;
    for (let b = 0; b < n; b++) {
      const on = (l: number) =>
        Array.from(batch.indicators[l].subarray(b * hs.levels[l], (b + 1) * hs.levels[l])).flatMap((v, k) => (v ? [k] : []));
      expect(on(2)).toEqual([batch.labels[b]]);
      for (let l = 1; l >= 0; l--) {
        const parents = on(l + 1);
        const children = new Set(parents.flatMap((k) => hs.parts[l + 1][k]));
        for (const k of on(l)) expect(children.has(k)).toBe(true); // active only below an active parent
        if (l === 1 && parents.length === 1) {
          offered += children.size;
          kept += on(l).length;
        }
      }
      const row = Array.from(batch.tokens.subarray(b * 30, (b + 1) * 30)).filter((id) => id !== hs.padId);
      const fromLatents = new Set(on(0).flatMap((k) => hs.parts[0][k]));
      expect(row.filter((id) => !fromLatents.has(id)).length).toBeLessThanOrEqual(3); // at most the 3 distractors
      expect(row.length).toBeGreaterThanOrEqual(3);
      expect(new Set(row).size).toBe(row.length); // distinct, sorted
      expect(row).toEqual([...row].sort((x, y) => x - y));
    }
    // keep = 1: every leaf of the class plus exactly 3 distractors
    const hn = createHierarchy({ seed: 3, noise: 3 });
    const nb = sampleHierarchy(hn, createRng(6), 50);
    for (let b = 0; b < 50; b++) {
      const row = Array.from(nb.tokens.subarray(b * 30, (b + 1) * 30)).filter((id) => id !== hn.padId);
      const leaves = expand(hn, nb.labels[b]).leaves;
      expect(row.length).toBe(leaves.length + 3);
      expect(leaves.every((id) => row.includes(id))).toBe(true);
    }
    // a class's two level-1 children are each kept with probability ½: 2000 classes, 4000 offers
    expect(kept / offered).toBeGreaterThan(0.46);
    expect(kept / offered).toBeLessThan(0.54);
    // keep = 1, noise = 0 draws no extra numbers: the deterministic generator's samples exactly
    expect(sampleHierarchy(createHierarchy({ seed: 3, keep: 1, noise: 0 }), createRng(1), 50)).toEqual(
      sampleHierarchy(h, createRng(1), 50),
    );
    expect(() => createHierarchy({ keep: 0 })).toThrow(/keep must be in \(0, 1\]/);
    expect(() => createHierarchy({ noise: 1.5 })).toThrow(/noise must be an integer/);
    expect(() => createHierarchy({ noise: 25 })).toThrow(/plus 25 noise, more than seqLen 30/);
  });

  it("naive Bayes on token presence: perfect on the deterministic generator, at chance on labels it cannot see", () => {
    const train = sampleHierarchy(h, createRng(7), 400);
    const test = sampleHierarchy(h, createRng(8), 200);
    expect(naiveBayesAccuracy(h, train, test)).toBe(1); // every class has its own set of leaves
    const shuffled = { ...train, labels: Int32Array.from(train.labels).reverse() }; // labels no longer match the tokens
    const acc = naiveBayesAccuracy(h, shuffled, test);
    expect(acc).toBeLessThan(0.2); // chance is 1/20
    const hs = createHierarchy({ seed: 3, keep: 0.5, noise: 6 });
    const hard = naiveBayesAccuracy(hs, sampleHierarchy(hs, createRng(9), 2000), sampleHierarchy(hs, createRng(10), 500));
    expect(hard).toBeGreaterThan(0.1);
    expect(hard).toBeLessThan(1);
  });

  it("as an LM batch: only the last position is scored, with target vocabSize + class", () => {
    const sample = sampleHierarchy(h, createRng(2), 5);
    const b = hierarchyLmBatch(h, sample);
    const targets = b.targets.arraySync() as number[][],
      weights = b.weights.arraySync() as number[][];
    expect(targets.map((row) => row[29])).toEqual(Array.from(sample.labels, (l) => 100 + l));
    expect(weights.flat().reduce((s, w) => s + w, 0)).toBe(5);
    expect(weights.map((row) => row[29])).toEqual([1, 1, 1, 1, 1]);
    tf.dispose(Object.values(b));
  });

  it("latent correlations: one value per layer and level, in [0, 1]", () => {
    const params = initTransformer(
      transformerConfig({ vocabSize: 120, seqLen: 30, dModel: 16, nHeads: 1, nLayers: 2, dFF: 32, activation: "relu", seed: 1 }),
    );
    const rows = latentCorrelations(params, h, sampleHierarchy(h, createRng(4), 200));
    expect(rows.length).toBe(2);
    for (const row of rows) {
      expect(row.length).toBe(3);
      for (const v of row) expect(v >= 0 && v <= 1).toBe(true);
    }
    disposeParams(params);
  });

  it("best-unit correlation: 1 for a unit equal to the latent, 0 for constant units", () => {
    expect(correlation([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(correlation([1, 1, 1], [2, 4, 6])).toBe(0);
    const latents = [
      [1, 0],
      [0, 1],
      [1, 1],
      [0, 0],
    ];
    const features = [
      [5, 1, 0],
      [5, 0, 1],
      [5, 1, 1],
      [5, 0, 0],
    ];
    expect(bestUnitCorrelation(features, latents).perLatent).toEqual([1, 1]);
    expect(
      bestUnitCorrelation(
        features.map((r) => [r[0]]),
        latents,
      ).mean,
    ).toBe(0);
  });
});

describe("capture and probes", () => {
  it("embeddingStd sets the scale of token and position embeddings (joma-word: 0.8)", () => {
    const std = (v: tf.Tensor) => Math.sqrt(tf.moments(v).variance.dataSync()[0]);
    const a = initTransformer(transformerConfig("joma-word", { seed: 1 }));
    expect(std(a.tokenEmbedding)).toBeCloseTo(0.8, 1);
    expect(std(a.positionEmbedding)).toBeCloseTo(0.8, 1);
    const b = initTransformer(transformerConfig("joma-word", { embeddingStd: 2, seed: 1 }));
    expect(std(b.tokenEmbedding)).toBeCloseTo(2, 1);
    const c = initTransformer(transformerConfig({ vocabSize: 50, seed: 1 }));
    expect(std(c.tokenEmbedding)).toBeCloseTo(0.02, 2); // default: GPT-2's initStd
    [a, b, c].forEach(disposeParams);
  });

  it("captures MLP activations [B, T, F]: ReLU outputs are non-negative and feed the block", () => {
    const params = initTransformer(transformerConfig("joma-word", { vocabSize: 20, seed: 1 }));
    const out = transformerForward(params, tf.tensor2d([[1, 2, 3, 4]], [1, 4], "int32"), { captureMlp: true });
    expect(out.mlp!.map((m) => m.shape)).toEqual([[1, 4, 64]]);
    expect(tf.min(out.mlp![0]).dataSync()[0]).toBeGreaterThanOrEqual(0);
    tf.dispose([out.logits, ...out.mlp!]);
    disposeParams(params);
  });

  it("the linear activation is the identity (additive, gradient 1, a separate tensor) and the model's MLP uses it", () => {
    const a = tf.tensor1d([-2, -0.5, 0, 1.5]);
    const b = tf.tensor1d([1, -1, 3, -4]);
    const additivity = (kind: "linear" | "relu") =>
      tf.tidy(() => tf.max(tf.abs(tf.sub(activate(kind, tf.add(a, b)), tf.add(activate(kind, a), activate(kind, b))))).dataSync()[0]);
    expect(additivity("linear")).toBe(0);
    expect(additivity("relu")).toBeGreaterThan(0.5); // the control: ReLU is not additive
    const y = activate("linear", a);
    expect(y).not.toBe(a);
    expect(Array.from(y.dataSync())).toEqual([-2, -0.5, 0, 1.5]);
    const g = tf.grad((u: tf.Tensor) => tf.sum(activate("linear", u)))(a);
    expect(Array.from(g.dataSync())).toEqual([1, 1, 1, 1]);
    const params = initTransformer(transformerConfig("joma-word", { vocabSize: 20, seed: 1, activation: "linear" }));
    const x = tf.tensor2d([[1, 2, 3, 4]], [1, 4], "int32");
    const out = transformerForward(params, x, { captureMlp: true });
    expect(tf.min(out.mlp![0]).dataSync()[0]).toBeLessThan(0); // negative hidden values pass through
    tf.dispose([a, b, y, g, x, out.logits, ...out.mlp!]);
    disposeParams(params);
  });

  it("trainLanguageModel records probes at step 0 and every N steps (attention entropy of a 1-head model)", () => {
    const ids = Array.from({ length: 3000 }, (_, i) => (i * 3) % 17);
    const valid = lmEvalBatches(ids, { batchSize: 4, seqLen: 10, maxBatches: 2 });
    const model = transformerLm(transformerConfig("joma-word", { vocabSize: 17, seqLen: 10, seed: 2 }));
    const run = trainLanguageModel({
      model,
      trainIds: ids,
      validIds: ids,
      steps: 6,
      lr: 1e-3,
      batchSize: 4,
      dataSeed: 1,
      evalEvery: 3,
      evalBatches: 1,
      probe: {
        every: 3,
        measure: attentionEntropyProbe(
          model.params,
          valid.map((b) => b.inputs),
        ),
      },
    });
    disposeParams(model.params);
    disposeBatches(valid);
    expect(run.probes.map((p) => p.step)).toEqual([0, 3, 6]);
    for (const p of run.probes) {
      expect(Object.keys(p.values)).toEqual(["layer 1"]);
      expect(p.values["layer 1"]).toBeGreaterThan(0);
      expect(p.values["layer 1"]).toBeLessThanOrEqual(causalEntropyCeiling(10) + 1e-6);
    }
  });
});
