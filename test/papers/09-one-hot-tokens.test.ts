/**
 * The communication game (Tucker et al. 2021, App. A): the Monte Carlo reward and its gradient
 * against closed forms and against finite differences on shared draws, the Bayes decoder, the KKT
 * check at one-hot (and at codebooks that are not strictly KKT), the smooth surrogate, projected
 * ascent, the Hamming code, and the order statistic with its permutation test and its calibration.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { ready } from "../../lib/engine";
import { pairedInterval } from "../../lib/metrics/inference";
import { ranks, spearman } from "../../lib/metrics/stats";
import {
  activeBounds,
  clusteredCodebook,
  expectedReward,
  hammingCodebook,
  identityReward,
  kktCheck,
  kktMargin,
  maxDeviation,
  meaningGaps,
  minimumDistance,
  oneHotCodebook,
  optimiseCodebook,
  orderCorrelation,
  orderPermutationTest,
  pairDistances,
  relabel,
  rewardDraws,
  rewardGradient,
  structuredReward,
  surrogateGradient,
  uniformCodebook,
} from "../../lib/papers/09-one-hot-tokens";

beforeAll(async () => {
  await ready({ backend: "cpu", quiet: true });
});

/** Standard normal CDF and density (Abramowitz & Stegun 7.1.26 for erf, |error| < 1.5e-7). */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}
const Phi = (x: number) => 0.5 * (1 + erf(x / Math.SQRT2));
const phi = (x: number) => Math.exp(-(x * x) / 2) / Math.sqrt(2 * Math.PI);

describe("the game's expected reward", () => {
  it("is 1 as σ → 0 and 1/N for a collapsed codebook; seeded; the mean of its draws", () => {
    expect(expectedReward(oneHotCodebook(4), { sigma: 1e-6, samples: 200 }).mean).toBe(1);
    const collapsed = Array.from({ length: 4 }, () => [0.5, 0.5]);
    expect(expectedReward(collapsed, { sigma: 0.1, samples: 200 }).mean).toBeCloseTo(0.25, 6); // ties decode to meaning 0
    const a = expectedReward(oneHotCodebook(3), { sigma: 0.5, samples: 300, seed: 4 });
    expect(expectedReward(oneHotCodebook(3), { sigma: 0.5, samples: 300, seed: 4 })).toEqual(a);
    const draws = rewardDraws(oneHotCodebook(3), { sigma: 0.5, samples: 300, seed: 4 });
    expect(draws.length).toBe(900);
    expect(draws.reduce((s, v) => s + v, 0) / 900).toBeCloseTo(a.mean, 12);
  });

  it("two tokens: E[R] = Φ(D/2σ) (hand formula), within 4 standard errors", () => {
    const c = [
      [0.2, 0.3, 0.1],
      [0.9, 0.6, 0.4],
    ];
    const D = Math.hypot(0.7, 0.3, 0.3);
    const r = expectedReward(c, { sigma: 0.3, samples: 40000, seed: 1 });
    expect(Math.abs(r.mean - Phi(D / 0.6))).toBeLessThan(4 * r.stderr);
  });
});

describe("the Bayes decoder (the listener's best response to R)", () => {
  it("is nearest-token decoding when R = I, draw by draw", () => {
    const c = uniformCodebook(5, 3, 9);
    const a = rewardDraws(c, { sigma: 0.4, samples: 3000, seed: 2 });
    const b = rewardDraws(c, { sigma: 0.4, samples: 3000, seed: 2, decoder: "bayes" });
    expect(Array.from(b)).toEqual(Array.from(a));
  });

  it("two tokens on a line, R = [[1, 0], [0.9, 1]]: the boundary moves to ½ + σ²·ln 10 (hand formula), within 4 standard errors", () => {
    const c = [[0], [1]];
    const reward = [
      [1, 0],
      [0.9, 1],
    ];
    const sigma = 0.4;
    // decode 0 when p(y | c₀)·1 + p(y | c₁)·0.9 > p(y | c₁)·1, i.e. p₀/p₁ > 0.1, i.e. y < ½ + σ² ln 10
    const b = 0.5 + sigma * sigma * Math.log(10);
    const exact = 0.5 * Phi(b / sigma) + 0.5 * (0.9 * Phi((b - 1) / sigma) + (1 - Phi((b - 1) / sigma)));
    const r = expectedReward(c, { sigma, reward, samples: 100000, seed: 3, decoder: "bayes" });
    expect(Math.abs(r.mean - exact)).toBeLessThan(4 * r.stderr);
    // nearest-token decoding (boundary ½) does worse, on the same draws
    const near = rewardDraws(c, { sigma, reward, samples: 100000, seed: 3 });
    const bay = rewardDraws(c, { sigma, reward, samples: 100000, seed: 3, decoder: "bayes" });
    expect(pairedInterval(bay, near).low).toBeGreaterThan(0);
  });

  it("does at least as well as nearest-token decoding for the structured reward; errors are named", () => {
    const oh = oneHotCodebook(6);
    const rs = structuredReward(6);
    const d = pairedInterval(
      rewardDraws(oh, { sigma: 0.8, reward: rs, samples: 20000, seed: 5, decoder: "bayes" }),
      rewardDraws(oh, { sigma: 0.8, reward: rs, samples: 20000, seed: 5 }),
    );
    expect(d.low).toBeGreaterThan(0);
    expect(() => expectedReward(oh, { sigma: 0, decoder: "bayes" })).toThrow(/Bayes decoder needs sigma > 0/);
    expect(() => expectedReward(oh, { sigma: 0.5, decoder: "map" as "bayes" })).toThrow(/decoder must be "nearest" or "bayes", got "map"/);
  });
});

describe("the gradient of the paper's objective (score function, R = I)", () => {
  it("two tokens: ∂E[R]/∂c₁ = φ(D/2σ)/(2σ)·(c₁ − c₀)/D = −∂E[R]/∂c₀, within 4 standard errors", () => {
    const c = [
      [0.2, 0.3, 0.1],
      [0.9, 0.6, 0.4],
    ];
    const sigma = 0.3;
    const diff = [0.7, 0.3, 0.3];
    const D = Math.hypot(...diff);
    const g = rewardGradient(c, { sigma, samples: 200000, seed: 2 });
    expect(Math.abs(g.value - Phi(D / (2 * sigma)))).toBeLessThan(0.01);
    for (let k = 0; k < 3; k++) {
      const exact = (phi(D / (2 * sigma)) / (2 * sigma)) * (diff[k] / D);
      expect(Math.abs(g.gradient[1][k] - exact)).toBeLessThan(4 * g.stderr[1][k]);
      expect(Math.abs(g.gradient[0][k] + exact)).toBeLessThan(4 * g.stderr[0][k]);
    }
  });

  it("matches finite differences of E[R] on shared noise draws at N = 3 in d = 4 and N = 4 in d = 3 (so moving the decoding regions adds nothing)", () => {
    const h = 0.02;
    for (const [n, d, seed] of [
      [3, 4, 21],
      [4, 3, 22],
    ]) {
      // strictly inside the box, so c ± h stays in it
      const c = uniformCodebook(n, d, seed).map((r) => r.map((v) => 0.2 + 0.6 * v));
      const sigma = 0.4;
      const g = rewardGradient(c, { sigma, samples: 200000, seed: seed + 100 });
      let resolved = 0;
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < d; k++) {
          const moved = (delta: number) => c.map((r, a) => r.map((v, b) => (a === i && b === k ? v + delta : v)));
          // the same seed: both codebooks see the same noise, so only draws whose decoding flips differ
          const plus = rewardDraws(moved(h), { sigma, samples: 200000, seed: seed + 200 });
          const minus = rewardDraws(moved(-h), { sigma, samples: 200000, seed: seed + 200 });
          const fd = pairedInterval(plus, minus);
          const [est, se] = [fd.estimate / (2 * h), (fd.se ?? 0) / (2 * h)];
          const both = Math.hypot(se, g.stderr[i][k]);
          // 4.5 standard errors: two-sided, Bonferroni over the 12 coordinates at about the 0.1% level
          expect(Math.abs(est - g.gradient[i][k]), `N = ${n}, d = ${d}, c[${i}][${k}]`).toBeLessThan(4.5 * both);
          if (Math.abs(g.gradient[i][k]) > 10 * both) resolved++;
        }
      }
      // the agreement means something: most components are far from 0 on this scale
      expect(resolved).toBeGreaterThanOrEqual((n * d) / 2);
    }
  });

  it("one-hot (N = d = 4) is a strict KKT point: margin > 0 with its simultaneous interval; pulled inward it is not", () => {
    const oh = oneHotCodebook(4);
    const g = rewardGradient(oh, { sigma: 0.5, samples: 20000, seed: 3 });
    const bounds = activeBounds(oh, g.gradient, g.stderr);
    expect(bounds.length).toBe(16);
    expect(bounds.filter((b) => b.at === 1).length).toBe(4);
    const m = kktMargin(oh, g.gradient, g.stderr, { samples: g.samples });
    expect([m.m, m.interior]).toEqual([16, 0]);
    expect(m.low).toBeGreaterThan(0);
    expect(kktCheck(oh, g.gradient).holds).toBe(true);
    const inner = oh.map((r) => r.map((v) => (v ? 0.8 : 0.2)));
    const gi = rewardGradient(inner, { sigma: 0.5, samples: 20000, seed: 3 });
    const mi = kktMargin(inner, gi.gradient, gi.stderr, { samples: gi.samples });
    expect(mi.interior).toBe(16);
    expect(mi.high).toBeLessThan(0);
  });

  it("with R = I every bound points outward at any codebook (other tokens all lie inward); a crowded vertex code is a worse strict optimum", () => {
    for (const seed of [1, 2]) {
      const c = uniformCodebook(5, 4, seed).map((r) => r.map((v) => (v < 0.3 ? 0 : v > 0.7 ? 1 : v)));
      const g = rewardGradient(c, { sigma: 0.5, samples: 20000, seed });
      const bounds = activeBounds(c, g.gradient, g.stderr);
      expect(bounds.length).toBeGreaterThan(5);
      for (const b of bounds) expect(b.outward).toBeGreaterThan(-4 * (b.se ?? 0));
    }
    // every coordinate has a token that differs there, so every bound is strictly active; two pairs only 1 apart
    const crowded = [
      [0, 0, 0, 0],
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 1, 1],
    ];
    const g = rewardGradient(crowded, { sigma: 0.5, samples: 20000, seed: 3 });
    expect(kktMargin(crowded, g.gradient, g.stderr, { samples: g.samples }).low).toBeGreaterThan(0);
    const diff = pairedInterval(
      rewardDraws(crowded, { sigma: 0.5, samples: 20000, seed: 4 }),
      rewardDraws(oneHotCodebook(4), { sigma: 0.5, samples: 20000, seed: 4 }),
    );
    expect(diff.high).toBeLessThan(0);
  });

  it("one-hot padded with an unused coordinate (N = 4 in d = 5) is KKT but not strictly: that coordinate's gradient is 0, its margin's interval holds 0", () => {
    const padded = oneHotCodebook(4, 5);
    const g = rewardGradient(padded, { sigma: 0.4, samples: 20000, seed: 6 });
    const m = kktMargin(padded, g.gradient, g.stderr, { samples: g.samples });
    expect(m.interior).toBe(0);
    expect(m.low).toBeLessThan(0);
    expect(m.high).toBeGreaterThan(0);
    // the four used coordinates of every token are strictly active on their own
    const used = activeBounds(padded, g.gradient, g.stderr).filter((b) => b.coordinate < 4);
    for (const b of used) expect(b.outward - m.t * (b.se ?? 0)).toBeGreaterThan(0);
  });

  it("the KKT margin and its simultaneous interval (hand case: Bonferroni t over 4 coordinates)", () => {
    const c = [
      [1, 0],
      [0.5, 0],
    ];
    const g = [
      [2, 3],
      [7, -4],
    ];
    const se = [
      [0.1, 0.1],
      [0.1, 0.1],
    ];
    // outward: 2 at (0,0), −3 at (0,1), 4 at (1,1); the interior (1,0) counts −|7|
    expect(activeBounds(c, g).map((b) => b.outward)).toEqual([2, -3, 4]);
    const m = kktMargin(c, g, se, { samples: 1e9 });
    expect(m.t).toBeCloseTo(2.497705, 4); // z at 1 − 0.05/8
    expect([m.estimate, m.m, m.interior]).toEqual([-7, 4, 1]);
    expect(m.low).toBeCloseTo(-7 - 0.2497705, 5);
    expect(m.high).toBeCloseTo(-7 + 0.2497705, 5);
  });
});

describe("the smooth surrogate and projected ascent", () => {
  it("one-hot is a KKT point of the surrogate too; a codebook pulled inward is not", () => {
    const oh = oneHotCodebook(4);
    const { value, gradient } = surrogateGradient(oh, { sigma: 0.4, samples: 512 });
    expect(value).toBeGreaterThan(0.5);
    const kkt = kktCheck(oh, gradient);
    expect([kkt.upper, kkt.lower]).toEqual([4, 12]);
    expect(kkt.holds).toBe(true);
    expect(kkt.minOutward).toBeGreaterThan(0);
    const inner = oh.map((r) => r.map((v) => (v ? 0.8 : 0.2)));
    const k2 = kktCheck(inner, surrogateGradient(inner, { sigma: 0.4 }).gradient);
    expect(k2.free).toBe(16);
    expect(k2.holds).toBe(false);
  });

  it("the surrogate is below the game's reward at one-hot (the listener guesses from the posterior)", () => {
    const oh = oneHotCodebook(4);
    const soft = surrogateGradient(oh, { sigma: 0.5, samples: 2000, seed: 1 }).value;
    const hard = expectedReward(oh, { sigma: 0.5, samples: 20000, seed: 1 });
    expect(soft).toBeLessThan(hard.mean - 4 * hard.stderr);
  });

  it("projected ascent returns a perturbed one-hot codebook to one-hot; the path starts at the start and ends at the result", () => {
    const start = oneHotCodebook(3).map((r) => r.map((v) => (v ? 0.85 : 0.1)));
    const { codebook, values, path } = optimiseCodebook(start, { sigma: 0.4, steps: 150, lr: 0.5, keepPath: true });
    expect(maxDeviation(codebook, oneHotCodebook(3))).toBeLessThan(1e-3);
    expect(values[values.length - 1]).toBeGreaterThan(values[0]);
    expect(path?.length).toBe(151);
    expect(path?.[0]).toEqual(start);
    expect(path?.[150]).toEqual(codebook);
  });
});

describe("codebooks", () => {
  it("the Hamming [8,4,4] words differ in ≥ 4 bits (so are ≥ 2 apart); one-hot tokens are √2 apart", () => {
    const all = hammingCodebook(15);
    for (let i = 0; i < all.length; i++)
      for (let j = i + 1; j < all.length; j++) expect(all[i].filter((v, k) => v !== all[j][k]).length).toBeGreaterThanOrEqual(4);
    expect(minimumDistance(hammingCodebook())).toBeCloseTo(2, 12);
    expect(hammingCodebook()[0]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(minimumDistance(oneHotCodebook(5))).toBeCloseTo(Math.SQRT2, 12);
    expect(() => hammingCodebook(16)).toThrow(/count must be 2–15/);
  });

  it("random and clustered starts are seeded and inside the box; clustered ones sit near the centre", () => {
    expect(uniformCodebook(4, 3, 7)).toEqual(uniformCodebook(4, 3, 7));
    const c = clusteredCodebook(8, 2, { spread: 0.01, seed: 1 });
    expect(c).toEqual(clusteredCodebook(8, 2, { spread: 0.01, seed: 1 }));
    expect(
      maxDeviation(
        c,
        Array.from({ length: 8 }, () => [0.5, 0.5]),
      ),
    ).toBeLessThan(0.05);
    expect(() => clusteredCodebook(2, 2, { spread: 0.6, seed: 1 })).toThrow(/spread must be in/);
  });

  it("rewards and errors", () => {
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
    expect(() => rewardGradient(oneHotCodebook(2), { sigma: 0.5, samples: 1, seed: 1 })).toThrow(/samples must be an integer ≥ 2/);
  });
});

describe("the order statistic and its permutation test", () => {
  // eighths: every difference is exact in floating point, so equal gaps give exactly equal distances
  const line = (n: number) => Array.from({ length: n }, (_, i) => [i / 8]);

  it("meanings in order on a line give ρ = 1; reversing the labels keeps it; pairs in a fixed order", () => {
    expect(meaningGaps(4)).toEqual([1, 2, 3, 1, 2, 1]);
    expect(pairDistances(line(4)).map((d) => d * 8)).toEqual([1, 2, 3, 1, 2, 1]);
    expect(orderCorrelation(line(8))).toBeCloseTo(1, 12);
    expect(orderCorrelation(relabel(line(8), [7, 6, 5, 4, 3, 2, 1, 0]))).toBeCloseTo(1, 12);
    // invariant to scaling and translating the code
    const moved = line(8).map(([x]) => [0.25 + 0.5 * x, 0.3]);
    expect(orderCorrelation(moved)).toBeCloseTo(1, 12);
    expect(() => relabel(line(3), [0, 0, 1])).toThrow(/not a permutation/);
  });

  it("ordered codes sit far above the shuffled-meaning null; the null is centred on 0; seeded", () => {
    const t = orderPermutationTest([line(8), line(8)], { permutations: 999, seed: 1 });
    expect(t.observed).toBeCloseTo(1, 12);
    expect(t.p).toBeCloseTo(1 / 1000, 12);
    expect(t.threshold).toBeLessThan(0.5);
    expect(Math.abs(t.null.reduce((s, v) => s + v, 0) / t.null.length)).toBeLessThan(0.02);
    expect(orderPermutationTest([line(8), line(8)], { permutations: 999, seed: 1 })).toEqual(t);
    // the same points, meanings shuffled: ρ drops to the null's range
    const shuffled = relabel(line(8), [3, 7, 0, 5, 1, 6, 2, 4]);
    expect(orderPermutationTest([shuffled], { permutations: 999, seed: 2 }).p).toBeGreaterThan(0.05);
  });

  it("is calibrated: on codes with no order (uniform random points) it rejects at the 5% level about 5% of the time", () => {
    // Under the null the observed ρ is exchangeable with the 99 shuffles, so 'observed above the 95th
    // percentile' (= p ≤ 0.05) has probability exactly 5/100. Repetitions: 1000 single codes and 400
    // means over 3 codes; tolerance ±3.5 binomial standard errors.
    for (const [reps, codes] of [
      [1000, 1],
      [400, 3],
    ]) {
      let above = 0,
        small = 0;
      for (let r = 0; r < reps; r++) {
        const cs = Array.from({ length: codes }, (_, k) => uniformCodebook(8, 2, 10000 + 10 * r + k));
        const t = orderPermutationTest(cs, { permutations: 99, seed: 20000 + r });
        if (t.observed > t.threshold) above++;
        if (t.p <= 0.05) small++;
        expect(t.observed > t.threshold).toBe(t.p <= 0.05);
      }
      const tol = 3.5 * Math.sqrt((0.05 * 0.95) / reps);
      expect(Math.abs(above / reps - 0.05), `${codes} code(s): ${above} of ${reps}`).toBeLessThan(tol);
      expect(small).toBe(above);
    }
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
