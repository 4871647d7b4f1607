import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { ready } from "../lib/engine";
import { gradientNorms, meanGradientNorms, perplexity, residualNorms } from "../lib/metrics/norms";
import { linearFit, mean, meanStd, std } from "../lib/metrics/stats";
import { variableFrom } from "../lib/models/params";

beforeAll(async () => {
  await ready({ backend: "cpu", quiet: true });
});

describe("norm metrics", () => {
  it("gradient norms are ‖∂L/∂W‖_F per variable (L = Σw² gives 2‖W‖)", () => {
    const params = { layers: [{ w: variableFrom(() => tf.tensor2d([[3, 0], [0, 4]])) }], b: variableFrom(() => tf.tensor1d([1, 1])) };
    const norms = gradientNorms(params, () => tf.add(tf.sum(tf.square(params.layers[0].w)), tf.mul(tf.sum(params.b), 0.5)) as tf.Scalar);
    expect(norms.get("layers.0.w")).toBeCloseTo(10, 5);
    expect(norms.get("b")).toBeCloseTo(Math.SQRT1_2, 5);
    const avg = meanGradientNorms(params, (i) => tf.mul(tf.sum(params.b), i + 1) as tf.Scalar, 3);
    expect(avg.get("b")).toBeCloseTo(Math.SQRT2 * 2, 5); // mean of √2·{1,2,3}
  });

  it("residual norms are the mean squared L2 norm per token", () => {
    const h = tf.tensor3d([[[3, 4], [0, 1]]]); // ‖·‖² = 25 and 1
    expect(residualNorms([h])[0]).toBeCloseTo(13, 5);
    expect(perplexity(Math.log(7))).toBeCloseTo(7, 12);
  });
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
});
