import { describe, expect, it } from "vitest";
import { createRng } from "../lib/engine/rng";

describe("createRng", () => {
  it("is deterministic per seed and differs across seeds", () => {
    const draw = (seed: number) => {
      const r = createRng(seed);
      return Array.from({ length: 5 }, () => r.uniform());
    };
    expect(draw(1)).toEqual(draw(1));
    expect(draw(1)).not.toEqual(draw(2));
    expect(draw(-7)).not.toEqual(draw(7));
  });

  it("uniform has mean 1/2 and variance 1/12; normal has mean 0 and variance 1", () => {
    const r = createRng(11);
    const n = 200_000;
    let su = 0,
      su2 = 0,
      sn = 0,
      sn2 = 0;
    for (let i = 0; i < n; i++) {
      const u = r.uniform(),
        z = r.normal();
      expect(u >= 0 && u < 1).toBe(true);
      su += u;
      su2 += u * u;
      sn += z;
      sn2 += z * z;
    }
    expect(su / n).toBeCloseTo(0.5, 2);
    expect(su2 / n - (su / n) ** 2).toBeCloseTo(1 / 12, 3);
    expect(sn / n).toBeCloseTo(0, 2);
    expect(sn2 / n).toBeCloseTo(1, 1);
  });

  it("int(n) covers [0, n) evenly and rejects a bad n", () => {
    const r = createRng(3);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70_000; i++) counts[r.int(7)] += 1;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    expect(() => r.int(0)).toThrow(/positive integer/);
    expect(() => createRng(1.5)).toThrow(/safe integer/);
  });

  it("fork gives reproducible streams that differ from the parent's", () => {
    const a = createRng(5).fork("data"),
      b = createRng(5).fork("data"),
      c = createRng(5).fork("init");
    const seq = (r: ReturnType<typeof createRng>) => [r.uniform(), r.uniform()];
    expect(seq(a)).toEqual(seq(b));
    expect(seq(createRng(5).fork("data"))).not.toEqual(seq(c));
  });

  it("shuffle is a permutation", () => {
    const xs = Array.from({ length: 50 }, (_, i) => i);
    const shuffled = createRng(9).shuffle(xs.slice());
    expect(shuffled).not.toEqual(xs);
    expect(shuffled.slice().sort((p, q) => p - q)).toEqual(xs);
  });
});
