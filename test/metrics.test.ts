import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { ready } from "../lib/engine";
import { gradientNorms, meanGradientNorms, perplexity, residualNorms } from "../lib/metrics/norms";
import { linearFit, mean, meanStd, std } from "../lib/metrics/stats";
import { variableFrom } from "../lib/models/params";
import { shiftInvariance, spatialLocality } from "../lib/metrics/spatial";
import { tileMosaic } from "../lib/notebook/plot";
import { createRng } from "../lib/engine/rng";

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

describe("spatial metrics of a token-mixing matrix on a patch grid", () => {
  const g = 5, n = g * g;
  const pos = (i: number) => [Math.floor(i / g), i % g];
  const build = (f: (dr: number, dc: number, i: number, j: number) => number) =>
    Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => f(pos(j)[0] - pos(i)[0], pos(j)[1] - pos(i)[1], i, j)));

  it("a convolution is exactly shift-invariant; unstructured noise is not", () => {
    const kernel = (dr: number, dc: number) => Math.cos(dr) + 0.3 * dc; // any function of the offset
    expect(shiftInvariance(build(kernel))).toBeCloseTo(1, 10);
    const rng = createRng(3);
    const noise = build(() => rng.normal());
    // Unstructured: R² ≈ (offsets − 1)/(entries − 1) = 80/624 ≈ 0.13 for a 5×5 grid.
    expect(shiftInvariance(noise)).toBeLessThan(0.3);
  });

  it("locality: uniform weights give ratio 1, nearest-neighbour weights about 1/3 of the mean distance", () => {
    const uniform = spatialLocality(build(() => 1));
    expect(uniform.ratio).toBeCloseTo(1, 12);
    // Mean distance between cells of a 5×5 grid, by hand: Σ over ordered pairs / 625.
    let s = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) s += Math.hypot(pos(i)[0] - pos(j)[0], pos(i)[1] - pos(j)[1]);
    expect(uniform.uniformDistance).toBeCloseTo(s / (n * n), 12);
    const neighbours = spatialLocality(build((dr, dc) => (Math.abs(dr) + Math.abs(dc) === 1 ? -2 : 0)));
    expect(neighbours.weightedDistance).toBeCloseTo(1, 12); // every weight is at distance 1 (sign ignored)
    expect(neighbours.ratio).toBeLessThan(0.5);
    expect(() => spatialLocality([[1, 2], [3, 4], [5, 6]])).toThrow(/W must be \[g², g²\]/);
  });

  it("tileMosaic lays tiles out with NaN gaps", () => {
    const m = tileMosaic([[[1, 2]], [[3, 4]], [[5, 6]]], 2);
    expect(m).toEqual([[1, 2, NaN, 3, 4], [NaN, NaN, NaN, NaN, NaN], [5, 6, NaN, NaN, NaN]]);
  });
});
