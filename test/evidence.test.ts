/**
 * The evidence standard's library: intervals and tests against hand-computed values, n-gram
 * baselines by hand, training-quality gates, and claim records (format 2) whose verdicts follow
 * from the criterion, the interval, the control and the gates.
 */
import { describe, expect, it, vi } from "vitest";
import tQuantile from "@stdlib/stats-base-dists-t-quantile";
import {
  bootstrapInterval,
  detectableEffect,
  differenceInterval,
  equivalence,
  meanInterval,
  pairedInterval,
  pairedSampleSize,
  proportionInterval,
  spearmanTest,
} from "../lib/metrics/inference";
import { maskedNeighbourBaseline, ngramBaselines } from "../lib/metrics/ngram";
import { createRng } from "../lib/engine/rng";
import { ClaimFailed, type ClaimRecordV2, type ClaimSpecV2, claim, criterionText, judge, recordedClaims } from "../lib/notebook/claims";
import {
  baselineGate,
  chooseLearningRate,
  lateImprovement,
  plateauGate,
  rateGate,
  rateThenSeeds,
  sweepLearningRate,
} from "../lib/train/gates";

describe("intervals", () => {
  it("t interval of a mean (hand-computed: [1, 2, 3, 4] → 2.5 ± 3.1824·√(5/12))", () => {
    const i = meanInterval([1, 2, 3, 4]);
    expect(tQuantile(0.975, 3)).toBeCloseTo(3.182446, 5); // the table value
    expect(i.estimate).toBe(2.5);
    expect(i.se).toBeCloseTo(Math.sqrt(5 / 12), 12);
    expect(i.low).toBeCloseTo(2.5 - 3.182446 * Math.sqrt(5 / 12), 5);
    expect(i.high).toBeCloseTo(2.5 + 3.182446 * Math.sqrt(5 / 12), 5);
    expect(i.method).toBe("t interval over 4 values");
    expect(meanInterval([1, 2, 3, 4], 0.9).high).toBeLessThan(i.high);
    expect(() => meanInterval([3])).toThrow(/at least 2 values/);
    expect(() => meanInterval([1, NaN])).toThrow(/sample\[1\] is NaN/);
    expect(() => meanInterval([1, 2], 1)).toThrow(/level must be in \(0, 1\)/);
  });

  it("Welch interval of a difference: Welch–Satterthwaite degrees of freedom by hand", () => {
    // a = [1, 2, 3], b = [4, 6, 8]: s²_a/n = 1/3, s²_b/n = 4/3; ν = (5/3)² / ((1/3)²/2 + (4/3)²/2) = 2.9412
    const i = differenceInterval([1, 2, 3], [4, 6, 8]);
    const nu = (5 / 3) ** 2 / ((1 / 3) ** 2 / 2 + (4 / 3) ** 2 / 2);
    expect(nu).toBeCloseTo(2.941176, 5);
    expect(i.estimate).toBe(-4);
    expect(i.se).toBeCloseTo(Math.sqrt(5 / 3), 12);
    expect(i.high - i.estimate).toBeCloseTo(tQuantile(0.975, nu) * Math.sqrt(5 / 3), 10);
    expect(i.method).toContain("ν = 2.9");
    // antisymmetric
    const j = differenceInterval([4, 6, 8], [1, 2, 3]);
    expect([j.low, j.high]).toEqual([-i.high, -i.low]);
    // no spread: a point
    expect(differenceInterval([2, 2], [1, 1])).toMatchObject({ estimate: 1, low: 1, high: 1 });
  });

  it("paired interval = interval of the differences (hand-computed)", () => {
    const i = pairedInterval([2, 4, 6], [1, 1, 1]); // d = [1, 3, 5]: mean 3, s = 2, se = 2/√3, t₂ = 4.3027
    expect(i.estimate).toBe(3);
    expect(i.high - 3).toBeCloseTo(4.302653 * (2 / Math.sqrt(3)), 4);
    expect(() => pairedInterval([1, 2], [1])).toThrow(/2 values paired with 1/);
  });

  it("Wilson interval of a share (hand-computed; all successes → [n/(n + z²), 1])", () => {
    const z = 1.959964;
    const all = proportionInterval(30, 30);
    expect(all.estimate).toBe(1);
    expect(all.high).toBe(1);
    expect(all.low).toBeCloseTo(30 / (30 + z * z), 5);
    // 7 of 20: centre (0.35 + z²/40)/(1 + z²/20), half z·√(0.35·0.65/20 + z²/1600)/(1 + z²/20)
    const i = proportionInterval(7, 20);
    const denom = 1 + (z * z) / 20;
    expect(i.low).toBeCloseTo((0.35 + (z * z) / 40 - z * Math.sqrt((0.35 * 0.65) / 20 + (z * z) / 1600)) / denom, 5);
    expect(i.high).toBeCloseTo((0.35 + (z * z) / 40 + z * Math.sqrt((0.35 * 0.65) / 20 + (z * z) / 1600)) / denom, 5);
    // symmetric under successes ↔ failures
    const j = proportionInterval(13, 20);
    expect(j.low).toBeCloseTo(1 - i.high, 12);
    expect(proportionInterval(0, 10).low).toBe(0);
    for (const n of [1, 7, 60, 61, 80]) expect(proportionInterval(n, n).high).toBe(1); // never a hair below p̂ = 1
    expect(() => proportionInterval(11, 10)).toThrow(/successes must be an integer in \[0, 10\]/);
  });

  it("pairs a paired t-test needs (the tabled values: d_z = 0.5 → 34, d_z = 1 → 10 at 80% power, 5% level)", () => {
    expect(pairedSampleSize(0.5)).toBe(34);
    expect(pairedSampleSize(1)).toBe(10);
    // by hand at n = 34: 0.5·√34 − t₃₃ = 2.9155 − 2.0345 = 0.881 ≥ z₀.₈ = 0.8416; at n = 33: 2.8723 − 2.0369 = 0.835 < 0.8416
    const z = tQuantile(0.8, 1e9);
    expect(0.5 * Math.sqrt(34) - tQuantile(0.975, 33)).toBeGreaterThanOrEqual(z);
    expect(0.5 * Math.sqrt(33) - tQuantile(0.975, 32)).toBeLessThan(z);
    // more power or a smaller effect needs more pairs
    expect(pairedSampleSize(0.5, { power: 0.9 })).toBeGreaterThan(34);
    expect(pairedSampleSize(0.25)).toBeGreaterThan(4 * 30);
    expect(() => pairedSampleSize(0)).toThrow(/effect must be > 0/);
    expect(() => pairedSampleSize(0.5, { power: 0.3 })).toThrow(/power must be in \(0.5, 1\)/);
  });

  it("the effect n pairs detect is pairedSampleSize's inverse: (t_{n−1} + z_power)/√n", () => {
    const e = detectableEffect(34);
    expect(e).toBeCloseTo((tQuantile(0.975, 33) + tQuantile(0.8, 1e9)) / Math.sqrt(34), 12);
    expect(e).toBeCloseTo(0.4932, 3);
    for (const n of [5, 12, 34, 100]) {
      expect(pairedSampleSize(detectableEffect(n) * (1 + 1e-9))).toBe(n);
      expect(pairedSampleSize(detectableEffect(n) * 0.999)).toBeGreaterThan(n);
    }
    expect(() => detectableEffect(1)).toThrow(/n must be an integer ≥ 2/);
  });

  it("bootstrap: seeded (same seed, same interval); collapses on constant data; ≈ the normal interval on a large sample", () => {
    const rng = createRng(1);
    const xs = Array.from({ length: 500 }, () => rng.normal());
    const a = bootstrapInterval(xs, { seed: 3 }),
      b = bootstrapInterval(xs, { seed: 3 });
    expect(a).toEqual(b);
    const halfWidth = (a.high - a.low) / 2;
    const normalHalf = (1.96 * Math.sqrt(xs.reduce((s, x) => s + (x - a.estimate) ** 2, 0) / 499)) / Math.sqrt(500);
    expect(Math.abs(halfWidth / normalHalf - 1)).toBeLessThan(0.15);
    expect(bootstrapInterval([2, 2, 2], { seed: 1 })).toMatchObject({ estimate: 2, low: 2, high: 2 });
    expect(bootstrapInterval(xs, { seed: 3, statistic: (s) => Math.max(...s) }).high).toBe(Math.max(...xs));
    expect(() => bootstrapInterval(xs, { seed: 1, resamples: 10 })).toThrow(/resamples must be an integer ≥ 100/);
  });

  it("Spearman with a permutation p-value: monotone → p at its floor; independent → not small; seeded", () => {
    const x = Array.from({ length: 12 }, (_, i) => i);
    const mono = spearmanTest(
      x,
      x.map((v) => v ** 3),
      { seed: 1, permutations: 999 },
    );
    expect(mono.rho).toBe(1);
    expect(mono.p).toBeCloseTo(1 / 1000, 12); // no re-pairing of 12 values reaches ρ = 1 in 999 tries
    const rng = createRng(5);
    const noise = x.map(() => rng.normal());
    const ind = spearmanTest(x, noise, { seed: 2, permutations: 999 });
    expect(ind.p).toBeGreaterThan(0.05);
    expect(spearmanTest(x, noise, { seed: 2, permutations: 999 })).toEqual(ind);
    expect(() => spearmanTest([1, 2], [1, 2], { seed: 1 })).toThrow(/at least 3 pairs/);
  });

  it("equivalence against a margin named in advance", () => {
    expect(equivalence({ low: -0.01, high: 0.015 }, 0.02)).toBe("equivalent");
    expect(equivalence({ low: 0.03, high: 0.05 }, 0.02)).toBe("different");
    expect(equivalence({ low: -0.01, high: 0.03 }, 0.02)).toBe("inconclusive");
    expect(() => equivalence({ low: 0, high: 1 }, 0)).toThrow(/margin must be > 0/);
  });
});

describe("n-gram baselines", () => {
  it("unigram (add-one) and interpolated bigram by hand", () => {
    // train 0 1 0 1 0 1: c(0) = c(1) = 3, p_uni = 4/8 each; every 0 is followed by 1 and every 1 by 0.
    const b = ngramBaselines([0, 1, 0, 1, 0, 1], [0, 1, 0], 2);
    expect(b.unigram).toBeCloseTo(Math.log(2), 12);
    expect(b.lambda).toBe(0.99);
    expect(b.bigram).toBeCloseTo(-Math.log(0.99 + 0.01 * 0.5), 12);
    expect(b.tokens).toBe(2);
  });

  it("a bigram never beats… itself: on text with no pair structure it chooses little weight, and stays ≤ unigram + ε", () => {
    const rng = createRng(2);
    const train = Array.from({ length: 20000 }, () => rng.int(5));
    const valid = Array.from({ length: 5000 }, () => rng.int(5));
    const b = ngramBaselines(train, valid, 5);
    expect(b.unigram).toBeCloseTo(Math.log(5), 2);
    expect(b.lambda).toBe(0.5);
    expect(b.bigram).toBeLessThan(b.unigram + 0.01);
    expect(() => ngramBaselines([0, 5], [0, 1], 5)).toThrow(/trainIds\[1\] = 5 is not an id in 0…4/);
  });
});

describe("masked-LM n-gram baseline", () => {
  it("both neighbours, back-off at the edge and the copy rule, by hand", () => {
    // train 0 1 2 0 1 2 0 1 2 (V = 3, [MASK] = 3): p_uni = 4/12; p(1 | left 0) = p(1 | right 2) = p(0 | right 1) = 4/6;
    // the trigram (0, ·, 2) always has 1 in the middle, so λ₃ = 0.95 (the grid's largest; the bigram then gets 0) wins.
    const M = 3;
    const batch = (inputs: number[], weights: number[]) => ({ inputs, targets: [0, 1, 2], weights, seqLen: 3 });
    const b = maskedNeighbourBaseline(
      [0, 1, 2, 0, 1, 2, 0, 1, 2],
      [
        batch([0, M, 2], [0, 1, 0]), // masked, both neighbours: 0.95 · 1 + 0 · 2/3 + 0.05 · 1/3
        batch([0, 1, 2], [0, 1, 0]), // kept: ½ · 1 + ½ · the same
        batch([0, 2, 2], [0, 1, 0]), // replaced by a random token: ½ · 0 + ½ · the same
        batch([M, 1, 2], [1, 0, 0]), // the window's edge, masked: right neighbour only: 0.95 · 4/6 + 0.05 · 1/3
      ],
      { vocabSize: 3, maskId: M },
    );
    const ctx = 0.95 + 0.05 / 3;
    const expected = -(Math.log(ctx) + Math.log(0.5 + 0.5 * ctx) + Math.log(0.5 * ctx) + Math.log(0.95 * (4 / 6) + 0.05 / 3)) / 4;
    expect(b.lambda3).toBe(0.95);
    expect(b.tokens).toBe(4);
    expect(b.loss).toBeCloseTo(expected, 12);
    expect(() => maskedNeighbourBaseline([0, 1, 2], [batch([0, M, 2], [0, 0, 0])], { vocabSize: 3, maskId: M })).toThrow(
      /no scored positions/,
    );
    expect(() => maskedNeighbourBaseline([0, 1, 2], [], { vocabSize: 3, maskId: M, keepShare: 1 })).toThrow(
      /keepShare must be in \[0, 1\), got 1/,
    );
    expect(() => maskedNeighbourBaseline([0, 7], [], { vocabSize: 3, maskId: M })).toThrow(/trainIds\[1\] = 7 is not an id in 0…2/);
  });

  it("on text without structure it is no better than the unigram", () => {
    const rng = createRng(3);
    const train = Array.from({ length: 30000 }, () => rng.int(4));
    const inputs = Array.from({ length: 400 }, () => rng.int(4));
    const weights = inputs.map((_, i) => (i % 5 === 2 ? 1 : 0));
    const b = maskedNeighbourBaseline(
      train,
      [{ inputs: inputs.map((x, i) => (weights[i] ? 4 : x)), targets: inputs, weights, seqLen: 20 }],
      { vocabSize: 4, maskId: 4 },
    );
    expect(b.loss).toBeGreaterThan(Math.log(4) - 0.05);
    expect(b.loss).toBeLessThan(Math.log(4) + 0.1);
  });
});

describe("training-quality gates", () => {
  it("baseline gate: beats the bigram by the stated margin", () => {
    expect(baselineGate("arm", { valLoss: 2.0, bigram: 2.36, margin: 0.1 }).passed).toBe(true);
    expect(baselineGate("arm", { valLoss: 2.3, bigram: 2.36, margin: 0.1 })).toMatchObject({
      passed: false,
      detail: "val 2.300 vs bigram 2.360 − margin 0.1",
    });
    expect(baselineGate("arm", { valLoss: NaN, bigram: 2.36, margin: 0.1 }).passed).toBe(false);
  });

  it("plateau gate: relative improvement over the last 20% of training (hand-computed)", () => {
    const steps = [0, 200, 400, 600, 800, 1000];
    expect(lateImprovement(steps, [4, 3, 2.5, 2.2, 2.0, 1.9])).toBeCloseTo(0.1 / 2.0, 12); // from step 800
    expect(plateauGate("arm", { steps, losses: [4, 3, 2.5, 2.2, 2.0, 1.9], maxImprovement: 0.01 }).passed).toBe(false);
    expect(plateauGate("arm", { steps, losses: [4, 3, 2.5, 2.2, 2.0, 1.995], maxImprovement: 0.01 }).passed).toBe(true);
    expect(() => lateImprovement([0], [1])).toThrow(/at least 2 evaluations/);
  });

  it("learning-rate sweep: lowest validation score wins; diverged runs never do", () => {
    const sweep = sweepLearningRate([1e-3, 3e-3, 1e-2], (lr) => (lr === 1e-2 ? NaN : lr === 3e-3 ? 1.5 : 1.7));
    expect(sweep.best).toBe(3e-3);
    expect(sweep.scores.map((s) => s.lr)).toEqual([1e-3, 3e-3, 1e-2]);
    expect(() => sweepLearningRate([1e-3, 1e-2], () => NaN)).toThrow(/every rate diverged/);
    expect(() => sweepLearningRate([1e-3], () => 1)).toThrow(/at least 2 rates/);
  });
});

describe("learning-rate choice with the edge rule", () => {
  it("extends the grid outward while the best rate sits on an edge, at most maxExtensions times", () => {
    const tried: number[] = [];
    const bowl = (centre: number) => (lr: number) => {
      tried.push(lr);
      return (Math.log(lr) - Math.log(centre)) ** 2;
    };
    const inside = chooseLearningRate([1e-3, 3e-3, 1e-2], bowl(3e-3), { factor: 3, maxExtensions: 2 });
    expect([inside.best, inside.atEdge, inside.scores.length]).toEqual([3e-3, false, 3]);
    tried.length = 0;
    const up = chooseLearningRate([1e-3, 3e-3, 1e-2], bowl(3e-2), { factor: 3, maxExtensions: 2 });
    // 3e-2 wins but is then the top edge, so 9e-2 is tried too; 3e-2 stays best, now inside
    expect(tried.slice(3).map((x) => x.toPrecision(3))).toEqual(["0.0300", "0.0900"]);
    expect(up.best).toBeCloseTo(3e-2, 12);
    expect(up.atEdge).toBe(false);
    tried.length = 0;
    const down = chooseLearningRate([1e-3, 3e-3, 1e-2], bowl(1e-6), { factor: 3, maxExtensions: 2 });
    expect(tried.slice(3).map((x) => x.toPrecision(3))).toEqual(["0.000333", "0.000111"]);
    expect([down.atEdge, down.scores.length, down.scores[0].lr.toPrecision(3)]).toEqual([true, 5, "0.000111"]);
    expect(() => chooseLearningRate([1e-3, 1e-2], bowl(1e-3), { factor: 1, maxExtensions: 1 })).toThrow(/factor must be > 1/);
  });

  it("rateThenSeeds: chooses on the rate seed, trains fresh comparison seeds at that rate, releases the rest", () => {
    const calls: string[] = [];
    const released: string[] = [];
    type Run = { seed: number; lr: number; val: number };
    // validation loss is a bowl in log lr centred on 1e-2, plus a per-seed offset
    const train = (seed: number, lr: number): Run => {
      calls.push(`${seed}@${lr}`);
      return { seed, lr, val: (Math.log(lr) - Math.log(1e-2)) ** 2 + 0.01 * seed };
    };
    const fresh = rateThenSeeds({
      grid: [3e-3, 1e-2, 3e-2],
      factor: 3,
      maxExtensions: 2,
      rateSeed: 1,
      seeds: [2, 3, 4],
      train,
      score: (r) => r.val,
      release: (r) => released.push(`${r.seed}@${r.lr}`),
    });
    expect(calls).toEqual(["1@0.003", "1@0.01", "1@0.03", "2@0.01", "3@0.01", "4@0.01"]);
    expect([fresh.lr, fresh.atEdge]).toEqual([1e-2, false]);
    expect(fresh.runs.map((r) => [r.seed, r.lr])).toEqual([
      [2, 1e-2],
      [3, 1e-2],
      [4, 1e-2],
    ]);
    expect(fresh.rateRuns.map((r) => r.lr)).toEqual([3e-3, 1e-2, 3e-2]);
    expect(released).toEqual(["1@0.003", "1@0.01", "1@0.03"]); // none reused
    calls.length = 0;
    released.length = 0;
    const reused = rateThenSeeds({
      grid: [3e-3, 1e-2, 3e-2],
      factor: 3,
      maxExtensions: 2,
      rateSeed: 1,
      seeds: [1, 2],
      train,
      score: (r) => r.val,
      release: (r) => released.push(`${r.seed}@${r.lr}`),
    });
    expect(calls).toEqual(["1@0.003", "1@0.01", "1@0.03", "2@0.01"]);
    expect(reused.runs[0]).toBe(reused.rateRuns[1]); // the rate run at the chosen rate is the first comparison run
    expect(released).toEqual(["1@0.003", "1@0.03"]);
    expect(() =>
      rateThenSeeds({ grid: [1e-3, 1e-2], factor: 2, maxExtensions: 0, rateSeed: 1, seeds: [2, 2], train, score: (r) => r.val }),
    ).toThrow(/seeds repeat/);
    expect(() =>
      rateThenSeeds({ grid: [1e-3, 1e-2], factor: 2, maxExtensions: 0, rateSeed: 1, seeds: [], train, score: (r) => r.val }),
    ).toThrow(/at least one comparison seed/);
  });

  it("rateGate passes only when the chosen rate has a tried rate on both sides", () => {
    expect(rateGate("A", 1e-2, [3e-2, 1e-2, 3e-3]).passed).toBe(true);
    expect(rateGate("A", 3e-2, [3e-3, 1e-2, 3e-2]).passed).toBe(false);
    expect(rateGate("A", 3e-3, [3e-3, 1e-2, 3e-2])).toEqual({
      name: "A: learning rate inside the rates tried",
      passed: false,
      detail: "chose 0.003 of 0.003, 0.01, 0.03",
    });
    expect(() => rateGate("A", 5e-3, [3e-3, 1e-2])).toThrow(/not among the rates tried/);
  });
});

describe("claim records, format 2", () => {
  const base = (over: Partial<ClaimSpecV2>): ClaimSpecV2 => ({
    id: "t",
    paper: { citation: "A et al. 2020", where: "Fig. 1" },
    claim: "x is large",
    paperFigure: "x = 5",
    criterion: { kind: "above", threshold: 1, source: "the paper's Fig. 1 shows x > 1" },
    statistic: { name: "x", value: 2 },
    uncertainty: { low: 1.5, high: 2.5, level: 0.95, method: "t interval over 3 seeds" },
    n: 3,
    ...over,
  });
  const quiet = () => vi.spyOn(console, "log").mockImplementation(() => undefined);

  it("judges an interval against each kind of criterion", () => {
    expect(judge({ kind: "above", threshold: 1, source: "" }, 1.1, 2)).toBe("passes");
    expect(judge({ kind: "above", threshold: 1, source: "" }, 0.9, 2)).toBe("straddles");
    expect(judge({ kind: "above", threshold: 1, source: "" }, 0, 1)).toBe("fails");
    expect(judge({ kind: "below", threshold: 1, source: "" }, 0, 0.9)).toBe("passes");
    expect(judge({ kind: "within", margin: 0.1, source: "" }, -0.05, 0.05)).toBe("passes");
    expect(judge({ kind: "within", margin: 0.1, center: 1, source: "" }, 1.1, 1.3)).toBe("fails");
    expect(judge({ kind: "within", margin: 0.1, source: "" }, 0.05, 0.2)).toBe("straddles");
    expect(criterionText({ kind: "within", margin: 0.02, source: "" })).toBe("|x − 0| < 0.02");
    // numbers at four significant digits, a negative centre in brackets (no raw floats like −0.678071905…)
    expect(criterionText({ kind: "within", center: Math.log2(40 / 64), margin: 1, source: "" })).toBe("|x − (-0.6781)| < 1");
    expect(criterionText({ kind: "below", threshold: 1e-5, source: "" })).toBe("< 1e-5");
  });

  it("verdicts follow from the interval, the control and the gates; each non-reproduction names why", () => {
    const log = quiet();
    const v = (over: Partial<ClaimSpecV2>) => {
      claim(base(over));
      return recordedClaims().at(-1) as ClaimRecordV2;
    };
    expect(v({}).verdict).toBe("reproduced");
    expect(v({ uncertainty: { low: 0.5, high: 2.5, level: 0.95, method: "m" } })).toMatchObject({
      verdict: "inconclusive",
      reason: "x 2 [0.5, 2.5] straddles the criterion > 1",
    });
    expect(v({ statistic: { name: "x", value: 0.5 }, uncertainty: { low: 0.2, high: 0.8, level: 0.95, method: "m" } })).toMatchObject({
      verdict: "not reproduced",
      reason: "x 0.5 [0.2, 0.8] fails the criterion > 1",
    });
    const withControl = v({ control: { description: "untrained model", value: 3 } });
    expect(withControl.verdict).toBe("inconclusive");
    expect(withControl.reason).toMatch(/the control also passes \(untrained model: 3 against > 1\)/);
    expect(v({ control: { description: "untrained model", value: 0.2 } })).toMatchObject({
      verdict: "reproduced",
      control: { outcome: "fails" },
    });
    const gated = v({ gates: [{ name: "arm A beats the bigram", passed: false, detail: "val 2.4 vs bigram 2.36 − margin 0.1" }] });
    expect(gated).toMatchObject({
      verdict: "inconclusive",
      reason: "gate failed: arm A beats the bigram (val 2.4 vs bigram 2.36 − margin 0.1)",
    });
    // both reasons when a gate fails and the control passes
    expect(
      v({ control: { description: "untrained model", value: 3 }, gates: [{ name: "arm A beats the bigram", passed: false, detail: "d" }] })
        .reason,
    ).toBe("gate failed: arm A beats the bigram (d); and the control also passes (untrained model: 3 against > 1)");
    expect(v({ n: 1, uncertainty: undefined }).verdict).toBe("reproduced"); // a single exact check: a point
    log.mockRestore();
  });

  it("rejects incomplete records, naming what is missing", () => {
    const log = quiet();
    expect(() => claim(base({ uncertainty: undefined }))).toThrow(/n = 3 needs an uncertainty/);
    expect(() => claim(base({ statistic: { name: "x", value: 3 } }))).toThrow(/the statistic 3 lies outside its interval \[1.5, 2.5\]/);
    expect(() => claim(base({ criterion: { kind: "above", threshold: 1, source: "" } }))).toThrow(/needs a criterion with its source/);
    expect(() => claim(base({ n: 0 }))).toThrow(/n must be a positive integer/);
    log.mockRestore();
  });

  it("a required claim throws in full mode unless reproduced, never in smoke mode", () => {
    const log = quiet();
    expect(() => claim(base({ required: true, uncertainty: { low: 0.5, high: 2.5, level: 0.95, method: "m" } }))).toThrow(ClaimFailed);
    process.env.TA_SMOKE = "1";
    try {
      claim(base({ required: true, uncertainty: { low: 0.5, high: 2.5, level: 0.95, method: "m" } }));
      const r = recordedClaims().at(-1) as ClaimRecordV2;
      expect(r).toMatchObject({ smoke: true, verdict: "inconclusive", format: 2 });
    } finally {
      delete process.env.TA_SMOKE;
      log.mockRestore();
    }
  });
});
