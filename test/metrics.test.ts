import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { ready } from "../lib/engine";
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
