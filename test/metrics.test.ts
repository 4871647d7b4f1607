import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { ready } from "../lib/engine";
import { naiveBayesSentences } from "../lib/metrics/naive-bayes";
import { differenceStandardError, linearFit, maxAbsDifference, mean, meanStd, perplexity, standardError, std } from "../lib/metrics/stats";

beforeAll(async () => {
  await ready({ backend: "cpu", quiet: true });
});

describe("stats", () => {
  it("mean, sample std", () => {
    expect(mean([2, 4, 4, 4, 5, 5, 7, 9])).toBe(5);
    expect(std([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(std([3])).toBe(0);
    expect(meanStd([1, 3])).toBe("2.000 ± 1.414 (n=2)");
    expect(() => mean([])).toThrow(/empty/);
  });

  it("least-squares line and R² (hand-computed)", () => {
    expect(linearFit([0, 1, 2], [1, 3, 5])).toEqual({ slope: 2, intercept: 1, r2: 1 });
    const f = linearFit([0, 1, 2], [1, 3, 2]);
    expect([f.slope, f.intercept, f.r2]).toEqual([0.5, 1.5, 0.25]);
  });

  it("standard errors of a mean and of a difference (hand-computed)", () => {
    // [1, 2, 3, 4]: s² = 5/3, SE = √(5/12); [2, 4]: s² = 2, SE = 1
    expect(standardError([1, 2, 3, 4])).toBeCloseTo(Math.sqrt(5 / 12), 12);
    expect(standardError([7])).toBe(0);
    expect(differenceStandardError([1, 2, 3, 4], [2, 4])).toBeCloseTo(Math.sqrt(5 / 12 + 1), 12);
    expect(differenceStandardError([2, 4], [1, 2, 3, 4])).toBe(differenceStandardError([1, 2, 3, 4], [2, 4]));
    expect(perplexity(Math.log(7))).toBeCloseTo(7, 12);
  });

  it("max absolute difference over tensors or arrays; NaN is never hidden; shapes must agree", () => {
    expect(maxAbsDifference([1, -2, 3], [1.5, 2, 3])).toBe(4);
    expect(maxAbsDifference([0, 0], [0, 0])).toBe(0);
    const a = tf.tensor2d([
        [1, 2],
        [3, 4],
      ]),
      b = tf.tensor2d([
        [1, 2.5],
        [2, 4],
      ]);
    expect(maxAbsDifference(a, b)).toBe(1);
    expect(maxAbsDifference(a, [1, 2, 3, 4])).toBe(0);
    expect(maxAbsDifference([1, NaN, 0], [1, 1, 0])).toBeNaN();
    const withNaN = tf.tensor1d([1, NaN, 0]),
      ones = tf.tensor1d([1, 1, 0]);
    expect(maxAbsDifference(withNaN, ones)).toBeNaN();
    tf.dispose([withNaN, ones]);
    expect(() => maxAbsDifference(a, tf.tensor1d([1, 2, 3, 4]))).toThrow(/shapes differ, \[2,2\] vs \[4\]/);
    expect(() => maxAbsDifference([1, 2], [1])).toThrow(/2 values vs 1/);
    tf.dispose([a, b]);
  });
});

describe("naive Bayes bag-of-words baseline", () => {
  // V = 3, α = 1. Class 0 saw words 0, 0, 1: P(w | 0) = (3, 2, 1)/6; class 1 saw 2, 2, 1: (1, 2, 3)/6; equal priors.
  const train = { ids: [Int32Array.of(0, 0, 1), Int32Array.of(2, 2, 1)], labels: [0, 1] };
  const ids = [Int32Array.of(0), Int32Array.of(2), Int32Array.of(1), Int32Array.of(0, 2, 2)];

  it("predicts by prior × word likelihoods (hand-computed): a tie goes to the first class", () => {
    const r = naiveBayesSentences(train, { ids, labels: [0, 1, 1, 1] }, 3);
    // [1]: 2/6 under both → tie → 0; [0, 2, 2]: (3·1·1) vs (1·3·3)/6³ → 1
    expect(r.predictions).toEqual([0, 1, 0, 1]);
    expect(r.accuracy).toBe(0.75);
  });

  it("smoothing decides unseen words; bad input is refused with the reason", () => {
    const unseen = naiveBayesSentences(
      { ids: [Int32Array.of(0), Int32Array.of(1), Int32Array.of(1)], labels: [0, 1, 1] },
      { ids: [Int32Array.of(2)], labels: [1] },
      3,
    );
    expect(unseen.predictions).toEqual([1]); // only the prior (2/3 for class 1) and the smoothed likelihoods (1/4 vs 1/5)… favour class 1: 1/3 · 1/4 < 2/3 · 1/5
    expect(() => naiveBayesSentences(train, { ids, labels: [0, 1, 1, 1] }, 3, { alpha: 0 })).toThrow(/alpha must be > 0/);
    expect(() => naiveBayesSentences({ ids: [Int32Array.of(5)], labels: [0] }, { ids, labels: [0, 1, 1, 1] }, 3)).toThrow(
      /token id 5 of training sentence 0 is outside 0…2/,
    );
    expect(() => naiveBayesSentences(train, { ids: [], labels: [] }, 3)).toThrow(/needs training and test sentences/);
  });
});
