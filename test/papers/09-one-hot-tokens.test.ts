/**
 * The communication game (Tucker et al. 2021, App. A): Monte Carlo reward, the smooth surrogate and
 * its gradient, the KKT check at one-hot, projected ascent, codebook distances; Spearman.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { ready } from "../../lib/engine";
import {
  expectedReward,
  identityReward,
  kktCheck,
  minimumDistance,
  oneHotCodebook,
  optimiseCodebook,
  structuredReward,
  surrogateGradient,
} from "../../lib/papers/09-one-hot-tokens";
import { ranks, spearman } from "../../lib/metrics/stats";

beforeAll(async () => {
  await ready({ backend: "cpu", quiet: true });
});

describe("communication game", () => {
  it("expected reward is 1 as σ → 0 and 1/N-ish for a collapsed codebook; seeded", () => {
    expect(expectedReward(oneHotCodebook(4), { sigma: 1e-6, samples: 200 }).mean).toBe(1);
    const collapsed = Array.from({ length: 4 }, () => [0.5, 0.5]);
    expect(expectedReward(collapsed, { sigma: 0.1, samples: 200 }).mean).toBeCloseTo(0.25, 6); // ties decode to meaning 0
    const a = expectedReward(oneHotCodebook(3), { sigma: 0.5, samples: 300, seed: 4 });
    expect(expectedReward(oneHotCodebook(3), { sigma: 0.5, samples: 300, seed: 4 })).toEqual(a);
    expect(a.mean).toBeGreaterThan(1 / 3);
    expect(a.mean).toBeLessThan(1);
  });

  it("the one-hot codebook is a KKT point of the surrogate: every bound pushes outward", () => {
    const oh = oneHotCodebook(4);
    const { value, gradient } = surrogateGradient(oh, { sigma: 0.4, samples: 512 });
    expect(value).toBeGreaterThan(0.5);
    const kkt = kktCheck(oh, gradient);
    expect(kkt.upper).toBe(4);
    expect(kkt.lower).toBe(12);
    expect(kkt.holds).toBe(true);
    expect(kkt.minOutward).toBeGreaterThan(0);
    // A codebook pulled inward is not a KKT point: its free coordinates have a gradient.
    const inner = oh.map((r) => r.map((v) => (v ? 0.8 : 0.2)));
    const k2 = kktCheck(inner, surrogateGradient(inner, { sigma: 0.4 }).gradient);
    expect(k2.free).toBe(16);
    expect(k2.holds).toBe(false);
  });

  it("projected ascent returns a perturbed one-hot codebook to one-hot", () => {
    const start = oneHotCodebook(3).map((r) => r.map((v) => (v ? 0.85 : 0.1)));
    const { codebook, values } = optimiseCodebook(start, { sigma: 0.4, steps: 150, lr: 0.5 });
    codebook.forEach((r, i) => r.forEach((v, k) => expect(v).toBeCloseTo(i === k ? 1 : 0, 3)));
    expect(values[values.length - 1]).toBeGreaterThan(values[0]);
  });

  it("distances, rewards and errors", () => {
    expect(minimumDistance(oneHotCodebook(5))).toBeCloseTo(Math.SQRT2, 12);
    expect(identityReward(2)).toEqual([
      [1, 0],
      [0, 1],
    ]);
    expect(structuredReward(3)[0][2]).toBeCloseTo(Math.exp(-2), 12);
    expect(() => oneHotCodebook(4, 3)).toThrow(/need d ≥ 4/);
    expect(() =>
      expectedReward(
        [
          [0, 2],
          [1, 1],
        ],
        { sigma: 0.1 },
      ),
    ).toThrow(/coordinate 1 is 2, outside \[0, 1\]/);
    expect(() => expectedReward(oneHotCodebook(2), { sigma: 0.1, reward: [[1]] })).toThrow(/2×2/);
  });
});

describe("spearman", () => {
  it("is 1 for any monotone map, −1 for a reversing one; ties get average ranks", () => {
    const x = [0.3, -2, 5, 1, 7];
    expect(
      spearman(
        x,
        x.map((v) => Math.exp(v)),
      ),
    ).toBeCloseTo(1, 12);
    expect(
      spearman(
        x,
        x.map((v) => -(v ** 3)),
      ),
    ).toBeCloseTo(-1, 12);
    expect(ranks([10, 20, 20, 5])).toEqual([2, 3.5, 3.5, 1]);
    expect(() => spearman([1, 2], [1])).toThrow(/different lengths/);
  });
});
