/** LayerNorm, RMSNorm, pRMSNorm: hand-computed values, ε inside the root, invariances. */
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { ready } from "../lib/engine";
import { layerNorm, partialRmsNorm, partialUnits, rmsNorm } from "../lib/models/norms";
import { expectClose } from "./helpers";

beforeAll(async () => {
  await ready({ backend: "cpu", quiet: true });
});

const values = (t: tf.Tensor) => Array.from(t.dataSync());

describe("layerNorm", () => {
  it("matches a hand computation", () => {
    // x = [1,2,3,4]: μ = 2.5, σ² = 1.25; (x−μ)/√(1.25+1e-5) = ±0.44721, ±1.34163
    const y = layerNorm(tf.tensor2d([[1, 2, 3, 4]]), tf.tensor1d([1, 2, 1, 1]), tf.tensor1d([0, 0, 1, 0]));
    const s = 1 / Math.sqrt(1.25 + 1e-5);
    expectClose(values(y), [-1.5 * s, 2 * (-0.5 * s), 0.5 * s + 1, 1.5 * s], 1e-5);
  });

  it("is invariant to scaling and to shifting its input", () => {
    const x = tf.tensor2d([[0.3, -1.2, 2.5, 0.7, -0.1]]);
    const g = tf.tensor1d([1, 1, 1, 1, 1]),
      b = tf.tensor1d([0, 0, 0, 0, 0]);
    const y = values(layerNorm(x, g, b, 1e-12));
    expectClose(values(layerNorm(tf.mul(x, 7.5), g, b, 1e-12)), y, 1e-5);
    expectClose(values(layerNorm(tf.add(x, 3), g, b, 1e-12)), y, 1e-5);
  });
});

describe("rmsNorm", () => {
  it("matches a hand computation", () => {
    // x = [3,4]: mean x² = 12.5 → y = x / √(12.5 + 1e-5) · g
    const y = rmsNorm(tf.tensor2d([[3, 4]]), tf.tensor1d([1, 0.5]));
    const r = Math.sqrt(12.5 + 1e-5);
    expectClose(values(y), [3 / r, (0.5 * 4) / r], 1e-6);
  });

  it("puts ε inside the square root", () => {
    // For tiny inputs the two placements differ by 3×: x/√(x²+ε) vs x/(|x|+ε).
    const y = values(rmsNorm(tf.tensor2d([[1e-3, 1e-3]]), tf.tensor1d([1, 1]), 1e-5))[0];
    expect(y).toBeCloseTo(1e-3 / Math.sqrt(1e-6 + 1e-5), 4);
    expect(Math.abs(y - 1e-3 / (1e-3 + 1e-5))).toBeGreaterThan(0.5);
  });

  it("is invariant to re-scaling its input (and hence its incoming weights) but not to a shift", () => {
    const x = tf.tensor2d([[0.3, -1.2, 2.5, 0.7, -0.1]]);
    const g = tf.tensor1d([1, 2, 1, 0.5, 1]);
    const y = values(rmsNorm(x, g, 1e-12));
    expectClose(values(rmsNorm(tf.mul(x, 7.5), g, 1e-12)), y, 1e-5);
    const w = tf.tensor2d([
      [1, 0.5],
      [0.2, -1],
      [0.3, 0.3],
      [-0.7, 0.1],
      [0.5, 0.9],
    ]);
    const viaW = values(rmsNorm(tf.matMul(tf.tensor2d([[1, 2, 3, 4, 5]]), w), tf.tensor1d([1, 1]), 1e-12));
    const viaScaledW = values(rmsNorm(tf.matMul(tf.tensor2d([[1, 2, 3, 4, 5]]), tf.mul(w, 3)), tf.tensor1d([1, 1]), 1e-12));
    expectClose(viaScaledW, viaW, 1e-5);
    const shifted = values(rmsNorm(tf.add(x, 3), g, 1e-12));
    expect(Math.max(...shifted.map((v, i) => Math.abs(v - y[i])))).toBeGreaterThan(0.1);
  });
});

describe("partialRmsNorm", () => {
  it("estimates the RMS from the first ⌈p·d⌉ units only", () => {
    expect(partialUnits(128, 0.0625)).toBe(8);
    expect(partialUnits(10, 0.0625)).toBe(1);
    expect(() => partialUnits(10, 0)).toThrow(/\(0, 1\]/);
    const g = tf.ones([6]);
    const a = values(partialRmsNorm(tf.tensor2d([[3, 4, 1, 1, 1, 1]]), g, 2 / 6, 0));
    const b = values(partialRmsNorm(tf.tensor2d([[3, 4, 9, -9, 5, 0]]), g, 2 / 6, 0));
    const r = Math.sqrt(12.5);
    expectClose(a.slice(0, 2), [3 / r, 4 / r], 1e-6);
    expectClose(b.slice(0, 2), a.slice(0, 2), 1e-6); // units beyond k do not enter the statistic
    expect(b[2]).toBeCloseTo(9 / r, 5);
  });
});
