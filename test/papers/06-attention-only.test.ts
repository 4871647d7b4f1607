/**
 * Attention-only transformers (Huben & Morris 2023): the constructions checked numerically —
 * hand-computed streams and heads, the float32 and float64 evaluators against each other, every
 * theorem's identity, and the controls that must break them.
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { ready } from "../../lib/engine";
import { createRng, randomNormal } from "../../lib/engine/rng";
import {
  type HeadStack,
  attentionOnlyForward,
  attentionOnlyStream,
  augmentStream,
  augmentedLayout,
  constantHead,
  headPatterns,
  headStack,
  linearMapHead,
  maskHead,
  mlpToHeads,
  mlpViaHeads,
  mlpViaHeads64,
  officialFfnError64,
  runHeads,
  runHeads64,
  runResidualLayers,
  separateMlpLayers,
  siluHeads,
  siluMlp64,
  toAttentionOnly,
  tokenColumns,
  transformerForward64,
} from "../../lib/papers/06-attention-only";
import { maxAbsDifference } from "../../lib/metrics/stats";
import { disposeParams } from "../../lib/models/params";
import { activate } from "../../lib/models/ops";
import { initTransformer, transformerConfig, transformerForward } from "../../lib/models/transformer";

beforeAll(async () => {
  await ready({ backend: "cpu", quiet: true });
});

function randomMlp(seed: number, d: number, f: number) {
  const rng = createRng(seed);
  return {
    w1: randomNormal(rng, [d, f], 0.5),
    b1: randomNormal(rng, [f], 0.5),
    w2: randomNormal(rng, [f, d], 0.5),
    b2: randomNormal(rng, [d], 0.5),
  };
}
type Mlp = ReturnType<typeof randomMlp>;
const mlpRef = (m: Mlp, x: tf.Tensor, kind: "silu" | "relu" | "gelu") =>
  tf.tidy(() => tf.add(tf.matMul(activate(kind, tf.add(tf.matMul(tf.reshape(x, [-1, m.w1.shape[0]]), m.w1), m.b1)), m.w2), m.b2));
/** max |a − b| / max |b|. */
const relError = (a: tf.Tensor, b: tf.Tensor) => maxAbsDifference(tf.reshape(a, b.shape), b) / tf.max(tf.abs(b)).dataSync()[0];

describe("the augmented stream and head stacks", () => {
  it("puts the bias token in row 0 and one-hot positions after the model columns", () => {
    const layout = augmentedLayout(2, 3);
    expect(layout).toEqual({ model: 2, nCtx: 3, width: 6, position: 2 });
    const x = tf.tensor3d([
      [
        [5, 6],
        [7, 8],
      ],
    ]);
    const a = augmentStream(x, layout);
    expect(a.arraySync()[0]).toEqual([
      [0, 0, 1, 0, 0, 0],
      [5, 6, 0, 1, 0, 0],
      [7, 8, 0, 0, 1, 0],
    ]);
    expect(tokenColumns(a, layout).arraySync()).toEqual(x.arraySync());
    expect(() => augmentStream(tf.zeros([1, 4, 2]), layout)).toThrow(/4 tokens exceed nCtx 3/);
  });

  it("runs a hand-computed head: logits (A W_Q)(A W_K)ᵀ, softmax, value, output", () => {
    // Width 2, two rows a₀ = (1, 0), a₁ = (0, 1); W_Q = W_K = I (K = 2) so logits = A Aᵀ = I;
    // V = A e₀ (the first column), W_O writes it to column 1. Row 1 sees rows 0 and 1 with logits 0 and 1.
    const s = headStack(1, 2, 2, 1);
    s.wq.set([1, 0, 0, 1]);
    s.wk.set([1, 0, 0, 1]);
    s.wv.set([1, 0]);
    s.wo.set([0, 1]);
    const rows = [
      [1, 0],
      [0, 1],
    ];
    const p1 = 1 / (1 + Math.E); // row 1's weight on row 0
    const want = [
      [0, 1], // row 0 sees only itself (causal), whose value is 1
      [0, p1],
    ];
    const out = runHeads([s], tf.tensor3d([rows]), { causal: true }).arraySync()[0];
    out.forEach((r, i) => r.forEach((v, c) => expect(v).toBeCloseTo(want[i][c], 6)));
    runHeads64([s], rows, { causal: true }).forEach((r, i) => r.forEach((v, c) => expect(v).toBeCloseTo(want[i][c], 14)));
    // Without the causal mask row 0 also sees row 1: weight 1/(1 + e) on it, whose value is 0.
    expect(runHeads64([s], rows, { causal: false })[0][1]).toBeCloseTo(Math.E / (1 + Math.E), 14);
  });

  it("float32 and float64 evaluators agree on random stacks (odd sizes), with and without the causal mask", () => {
    const rng = createRng(4);
    const make = (h: number, w: number, k: number, v: number): HeadStack => {
      const s = headStack(h, w, k, v);
      for (const a of [s.wq, s.wk, s.wv, s.wo]) a.set(randomNormal(rng, [a.length], 0.4).dataSync());
      return s;
    };
    const stacks = [make(3, 7, 5, 2), make(2, 7, 3, 1)];
    const rows = randomNormal(createRng(5), [6, 7]).arraySync() as number[][];
    for (const causal of [true, false]) {
      const f32 = runHeads(stacks, tf.tensor3d([rows]), { causal });
      const f64 = tf.tensor3d([runHeads64(stacks, rows, { causal }).map((r) => Array.from(r))]);
      expect(maxAbsDifference(f32, f64)).toBeLessThan(1e-5);
    }
  });

  it("a constant head adds b to every token row and nothing to the bias row (to within e^{−Ω} without the causal mask)", () => {
    const layout = augmentedLayout(3, 5);
    const a = augmentStream(randomNormal(createRng(1), [2, 4, 3]), layout);
    for (const causal of [true, false]) {
      const out = runHeads([constantHead([1, -2, 0.5], layout, 30)], a, { causal }).arraySync();
      for (const seq of out) {
        seq[0].forEach((v) => expect(Math.abs(v)).toBeLessThanOrEqual(causal ? 0 : 4 * Math.exp(-30) * 2));
        for (const row of seq.slice(1)) {
          row.slice(0, 3).forEach((v, c) => expect(v).toBeCloseTo([1, -2, 0.5][c], 6));
          expect(row.slice(3)).toEqual(new Array(layout.nCtx + 1).fill(0));
        }
      }
    }
  });

  it("a mask head (Theorem 9) attends uniformly over what an arbitrary mask allows, to within ~e^{−Ω}, with no built-in mask", () => {
    const layout = augmentedLayout(2, 6);
    const mask = [
      [1, 0, 0, 1, 0],
      [1, 1, 0, 0, 0],
      [0, 1, 1, 0, 1],
      [1, 0, 1, 1, 0],
      [0, 0, 0, 0, 1],
    ];
    const stream = augmentStream(tf.zeros([1, 5, 2]), layout);
    const exact = mask.map((row) => row.map((v) => v / row.reduce((s, w) => s + w, 0)));
    const err = (omega: number) => {
      const p = tf.reshape(headPatterns(maskHead(mask, omega, layout), stream, { causal: false }), [6, 6]).arraySync() as number[][];
      expect(1 - p[0][0]).toBeLessThan(5 * Math.exp(-omega) + 1e-7); // the bias row sees only itself
      expect(Math.max(...p.slice(1).map((r) => r[0]))).toBeLessThan(Math.exp(-omega) * 1.01); // no token sees it
      return maxAbsDifference(tf.tensor2d(p.slice(1).map((r) => r.slice(1))), tf.tensor2d(exact));
    };
    expect(err(20)).toBeLessThan(1e-6);
    expect(err(2)).toBeGreaterThan(0.05);
    expect(() => maskHead([[0]], 5, layout)).toThrow(/token 0 may see nothing/);
  });
});

describe("Theorem 3: an MLP layer as one head per unit", () => {
  it("a SiLU MLP converted at a good Ω equals the original to float32 precision (odd sizes, both margin forms)", () => {
    for (const [d, f, t] of [
      [3, 5, 7],
      [6, 11, 4],
    ]) {
      const mlp = randomMlp(d * 10 + f, d, f);
      const x = randomNormal(createRng(1), [2, t, d]) as tf.Tensor3D;
      for (const margin of ["allowed", "forbidden"] as const) {
        const stacks = mlpToHeads(mlp, { omega: 10, nCtx: 8, margin });
        expect([stacks[0].heads, stacks[0].width, stacks[0].qk, stacks[0].value]).toEqual([f, d + 9, 10, 1]);
        expect(stacks[1].heads).toBe(1); // b₂
        expect(relError(mlpViaHeads(stacks, x, { causal: true }), mlpRef(mlp, x, "silu")), `d ${d}, F ${f}, ${margin}`).toBeLessThan(2e-5);
      }
    }
  });

  it("leaks at small Ω; in float32 the paper's margin rounds at large Ω and the forbidden-entry margin does not", () => {
    const mlp = randomMlp(3, 4, 6);
    const x = randomNormal(createRng(2), [1, 8, 4]) as tf.Tensor3D;
    const ref = mlpRef(mlp, x, "silu");
    const err = (omega: number, margin: "allowed" | "forbidden" = "allowed") =>
      relError(mlpViaHeads(mlpToHeads(mlp, { omega, nCtx: 8, margin }), x, { causal: true }), ref);
    expect(err(1)).toBeGreaterThan(100 * err(10));
    expect(err(1e5)).toBeGreaterThan(10 * err(10));
    expect(err(1e5, "forbidden")).toBeLessThan(Math.max(2 * err(10, "forbidden"), 5e-7));
  });

  it("in float64 at the official Ω = 1000 it is within the official 1e-10; float32 is not", () => {
    const mlp = randomMlp(7, 5, 9);
    const x = randomNormal(createRng(3), [1, 6, 5]) as tf.Tensor3D;
    const rows = (x.arraySync() as number[][][])[0];
    const stacks = mlpToHeads(mlp, { omega: 1000, nCtx: 6 });
    const ref = siluMlp64(mlp, rows);
    const heads = mlpViaHeads64(stacks, rows, { causal: true });
    expect(Math.max(...heads.flatMap((r, i) => r.map((v, c) => Math.abs(v - ref[i][c]))))).toBeLessThan(1e-10);
    expect(maxAbsDifference(tf.reshape(mlpViaHeads(stacks, x, { causal: true }), [6, 5]), tf.tensor2d(ref))).toBeGreaterThan(1e-10);
    // The float64 reference is the float32 MLP to float32 precision.
    expect(maxAbsDifference(tf.tensor2d(ref), mlpRef(mlp, x, "silu"))).toBeLessThan(1e-5);
  });

  it("the official test (absolute error over the whole augmented output, no mask, float64): within 1e-10 at Ω = 1000, not at Ω = 5", () => {
    // The official setup in small: N(0, 1) weights, no biases.
    const rng = createRng(12);
    const mlp = { w1: randomNormal(rng, [6, 24]), b1: tf.zeros([24]), w2: randomNormal(rng, [24, 6]), b2: tf.zeros([6]) };
    const x = randomNormal(rng, [5, 6]).arraySync() as number[][];
    expect(officialFfnError64(mlp, x, { omega: 1000, causal: false })).toBeLessThan(1e-10);
    expect(officialFfnError64(mlp, x, { omega: 5, causal: false })).toBeGreaterThan(1e-6);
    // It is the token rows' error of mlpViaHeads64 when the bias row and positions are exact.
    const heads = mlpToHeads(mlp, { omega: 3, nCtx: 5 });
    const ref = siluMlp64(mlp, x);
    const tokensOnly = Math.max(...mlpViaHeads64(heads, x, { causal: true }).flatMap((r, i) => r.map((v, c) => Math.abs(v - ref[i][c]))));
    expect(officialFfnError64(mlp, x, { omega: 3, causal: true })).toBeGreaterThanOrEqual(tokensOnly);
    expect(() => officialFfnError64(mlp, [[1, 2]], { omega: 3, causal: true })).toThrow(/x must be \[T\]\[6\]/);
  });

  it("ReLU via SiLU(βs)/β stays within the bound 0.2785/β per unit; GELU via β = 1.702 within 0.021", () => {
    const s = tf.linspace(-6, 6, 120001);
    const siluOver = (beta: number) => tf.div(activate("silu", tf.mul(s, beta)), beta);
    for (const beta of [1, 4, 20]) expect(maxAbsDifference(siluOver(beta), tf.relu(s)) * beta).toBeCloseTo(0.27846, 4);
    expect(maxAbsDifference(siluOver(1.702), activate("gelu", s))).toBeCloseTo(0.02033, 4);
    // In the converted heads: a one-unit ReLU MLP with w₂ = 1 is off by at most 0.2785/β.
    const one = { w1: tf.tensor2d([[1]]), b1: tf.tensor1d([0]), w2: tf.tensor2d([[1]]), b2: tf.tensor1d([0]) };
    const x = tf.reshape(tf.linspace(-3, 3, 8), [1, 8, 1]) as tf.Tensor3D;
    const heads = mlpToHeads(one, { omega: 10, nCtx: 8, activation: "relu", beta: 10 });
    expect(
      maxAbsDifference(tf.reshape(mlpViaHeads(heads, x, { causal: true }), [-1, 1]), tf.reshape(tf.relu(x), [-1, 1])),
    ).toBeLessThanOrEqual(0.02785 + 1e-5);
  });

  it("rejects bad options with a clear error", () => {
    const mlp = randomMlp(1, 2, 3);
    expect(() => mlpToHeads(mlp, { omega: -1, nCtx: 4 })).toThrow(/omega must be a number ≥ 0/);
    expect(() => mlpToHeads(mlp, { omega: 5, nCtx: 4, beta: 2 })).toThrow(/SiLU MLP is converted exactly/);
    expect(() => mlpToHeads({ ...mlp, w2: tf.zeros([2, 2]) }, { omega: 5, nCtx: 4 })).toThrow(/do not form an MLP/);
    expect(() => mlpToHeads(mlp, { omega: 5, nCtx: 0 })).toThrow(/positive integers/);
  });
});

describe("Theorems 7–8: the linear maps and the activation as separate heads", () => {
  const layout = augmentedLayout(5, 7);
  let x: tf.Tensor3D, stream: tf.Tensor3D;
  beforeAll(() => {
    x = randomNormal(createRng(8), [2, 7, 5]) as tf.Tensor3D;
    stream = augmentStream(x, layout);
  });

  it("Theorem 7: one self-attending head with W_OV = W − I maps x to xW + b through the residual; without its margin it averages", () => {
    const w = randomNormal(createRng(9), [5, 5], 0.6).arraySync() as number[][];
    const b = [0.3, -0.1, 0, 0.7, -0.5];
    const want = tf.add(tf.matMul(tf.reshape(x, [-1, 5]), tf.tensor2d(w)), tf.tensor1d(b));
    const mapped = (omega: number) => runResidualLayers([[linearMapHead(w, b, layout, omega)]], stream, { causal: true });
    expect(relError(tokenColumns(mapped(10), layout), want)).toBeLessThan(1e-5);
    expect(relError(tokenColumns(mapped(0), layout), want)).toBeGreaterThan(0.1);
    // The bookkeeping is untouched: positions and the bias row.
    expect(maxAbsDifference(tf.slice(mapped(10), [0, 0, 5], [2, 8, 8]), tf.slice(stream, [0, 0, 5], [2, 8, 8]))).toBe(0);
    expect(tf.max(tf.abs(tf.slice(mapped(10), [0, 0, 0], [2, 1, 5]))).dataSync()[0]).toBe(0);
  });

  it("Theorem 8: one head per channel turns x_c into x_c σ(βx_c) through the residual and leaves the other channels alone", () => {
    for (const beta of [1, 4]) {
      const activated = tokenColumns(runResidualLayers([[siluHeads([1, 3, 4], layout, 10, beta)]], stream, { causal: true }), layout);
      const cols = tf.split(tf.reshape(x, [-1, 5]), 5, 1);
      const want = tf.concat(
        cols.map((c, k) => ([1, 3, 4].includes(k) ? tf.div(activate("silu", tf.mul(c, beta)), beta) : c)),
        1,
      );
      expect(maxAbsDifference(tf.reshape(activated, [-1, 5]), want)).toBeLessThan(1e-5);
    }
    expect(() => siluHeads([5], layout, 10)).toThrow(/model columns in 0…4/);
  });

  it("composed: linear head → F SiLU heads → linear head is the residual MLP block x + MLP(x), the hidden columns cleared", () => {
    const mlp = randomMlp(11, 5, 6);
    const { layers, layout: wide } = separateMlpLayers(mlp, { omega: 10, nCtx: 7 });
    expect(layers.map((l) => l.reduce((s, st) => s + st.heads, 0))).toEqual([1, 6, 1]);
    expect(wide.width).toBe(5 + 6 + 8);
    const a = augmentStream(tf.concat([x, tf.zeros([2, 7, 6])], 2), wide);
    const out = tf.reshape(tokenColumns(runResidualLayers(layers, a, { causal: true }), wide), [-1, 11]);
    const want = tf.add(tf.reshape(x, [-1, 5]), mlpRef(mlp, x, "silu"));
    expect(relError(tf.slice(out, [0, 0], [14, 5]), want)).toBeLessThan(1e-5);
    expect(tf.max(tf.abs(tf.slice(out, [0, 5], [14, 6]))).dataSync()[0]).toBeLessThan(1e-5);
  });
});

describe("Theorem 6: a whole Pre-LN transformer made attention-only", () => {
  /** A model whose norms and biases are far from their initial 1 and 0, so folding them is tested. */
  function randomModel(norm: "layer" | "rms", activation: "silu" | "gelu") {
    const cfg = transformerConfig({
      vocabSize: 13,
      seqLen: 7,
      dModel: 12,
      nHeads: 3,
      nLayers: 2,
      dFF: 10,
      activation,
      norm,
      initStd: 0.3,
      seed: 5,
    });
    const params = initTransformer(cfg);
    const rng = createRng(9);
    const jitter = (v: tf.Variable, around: number) => v.assign(tf.add(around, randomNormal(rng, v.shape, 0.3)));
    for (const b of params.blocks) {
      for (const n of [b.norm1, b.norm2]) {
        jitter(n.gain, 1);
        if (n.bias) jitter(n.bias, 0);
      }
      for (const v of [b.attn.bq, b.attn.bk, b.attn.bv, b.attn.bo, b.mlp.b1, b.mlp.b2]) jitter(v, 0);
    }
    if (params.finalNorm) jitter(params.finalNorm.gain, 1);
    return params;
  }
  let tokens: tf.Tensor2D;
  beforeAll(() => {
    tokens = tf.tensor2d(
      [
        [1, 5, 2, 9, 0, 3, 7],
        [4, 4, 7, 12, 1, 8, 2],
        [0, 1, 2, 3, 4, 5, 6],
      ],
      [3, 7],
      "int32",
    );
  });

  it("gives the same logits with the built-in causal mask and with the masks written in its weights (LayerNorm and RMSNorm)", () => {
    for (const norm of ["layer", "rms"] as const) {
      const params = randomModel(norm, "silu");
      const ref = transformerForward(params, tokens).logits;
      const model = toAttentionOnly(params, { omega: 10, maskOmega: 128 });
      expect(model.headCount).toBe(2 * (3 + 1 + 10 + 1));
      expect(model.layout.width).toBe(12 + 8);
      expect(relError(attentionOnlyForward(model, tokens), ref), norm).toBeLessThan(1e-5);
      expect(relError(attentionOnlyForward(model, tokens, { causal: false }), ref), norm).toBeLessThan(1e-5);
      disposeParams(params);
    }
  });

  it("the float64 forward of the source model is transformerForward to float32 precision (LayerNorm and RMSNorm)", () => {
    for (const norm of ["layer", "rms"] as const) {
      const params = randomModel(norm, "silu");
      const ref = transformerForward(params, tokens).logits;
      const f64 = tf.tensor3d(transformerForward64(params, tokens.arraySync() as number[][]));
      expect(relError(ref, f64), norm).toBeLessThan(1e-5);
      expect(relError(ref, f64), norm).toBeGreaterThan(0); // float32 does round
      disposeParams(params);
    }
    const gelu = randomModel("layer", "gelu");
    expect(() => transformerForward64(gelu, [[1, 2]])).toThrow(/silu or relu/);
    disposeParams(gelu);
  });

  it("shows every layer's input and normalised input to onLayer: the bias row's model columns 0 in both", () => {
    const params = randomModel("layer", "silu");
    const model = toAttentionOnly(params, { omega: 10, maskOmega: 128 });
    const seen: number[] = [];
    tf.dispose(
      attentionOnlyStream(model, tokens, {
        causal: false,
        onLayer: (l, a, n) => {
          seen.push(l);
          expect(a.shape).toEqual([3, 8, 20]);
          expect(tf.max(tf.abs(tf.slice(n, [0, 0, 0], [3, 1, 12]))).dataSync()[0]).toBe(0);
          expect(maxAbsDifference(tf.slice(n, [0, 0, 12], [3, 8, 8]), tf.slice(a, [0, 0, 12], [3, 8, 8]))).toBe(0);
        },
      }),
    );
    expect(seen).toEqual([0, 1, 2, 3]);
    disposeParams(params);
  });

  it("carries the bookkeeping: positions stay one-hot and the bias row stays exactly 0 through every layer", () => {
    const params = randomModel("layer", "silu");
    const model = toAttentionOnly(params, { omega: 10, maskOmega: 128 });
    for (const causal of [true, false]) {
      const stream = attentionOnlyStream(model, tokens, { causal });
      expect(maxAbsDifference(tf.slice(stream, [0, 0, 12], [3, 8, 8]), tf.tile(tf.reshape(tf.eye(8), [1, 8, 8]), [3, 1, 1]))).toBe(0);
      expect(tf.max(tf.abs(tf.slice(stream, [0, 0, 0], [3, 1, 12]))).dataSync()[0]).toBe(0);
    }
    disposeParams(params);
  });

  it("breaks where it should: a LayerNorm over the whole augmented row, a mask without margin, a leaky bias row", () => {
    const params = randomModel("layer", "silu");
    const ref = transformerForward(params, tokens).logits;
    const err = (o: Parameters<typeof toAttentionOnly>[1], causal = true) =>
      relError(attentionOnlyForward(toAttentionOnly(params, o), tokens, { causal }), ref);
    expect(err({ omega: 10, maskOmega: 128, normColumns: "full" })).toBeGreaterThan(0.1);
    expect(err({ omega: 10, maskOmega: 0 }, false)).toBeGreaterThan(0.1);
    // Leakage of e^{−21} into the bias row is harmless to the tokens but each norm multiplies it by 1/√ε.
    expect(err({ omega: 10, maskOmega: 21 }, false)).toBeGreaterThan(1e-4);
    expect(err({ omega: 10, maskOmega: 21 }, true)).toBeLessThan(1e-5);
    disposeParams(params);
  });

  it("leaks no tensors: a forward pass leaves the tensor count as it was", () => {
    const params = randomModel("layer", "silu");
    const model = toAttentionOnly(params, { omega: 10, maskOmega: 128 });
    const run = () => {
      tf.dispose(attentionOnlyForward(model, tokens, { causal: true }));
      tf.dispose(attentionOnlyForward(model, tokens, { causal: false }));
    };
    run(); // the causal-mask cache fills once
    const before = tf.memory().numTensors;
    run();
    expect(tf.memory().numTensors).toBe(before);
    disposeParams(params);
  });

  it("approximates a GELU model through SiLU(1.702 s)/1.702, and rejects what it cannot convert", () => {
    const params = randomModel("layer", "gelu");
    const ref = transformerForward(params, tokens).logits;
    const e = relError(attentionOnlyForward(toAttentionOnly(params, { omega: 10, maskOmega: 128, beta: 1.702 }), tokens), ref);
    expect(e).toBeGreaterThan(1e-4); // an approximation, not an identity
    expect(e).toBeLessThan(0.05);
    const cfg = params.config;
    expect(() =>
      toAttentionOnly(initTransformer(transformerConfig({ ...cfg, normPlacement: "post" })), { omega: 10, maskOmega: 128 }),
    ).toThrow(/Pre-LN/);
    expect(() =>
      toAttentionOnly(initTransformer(transformerConfig({ ...cfg, activation: "linear" })), { omega: 10, maskOmega: 128 }),
    ).toThrow(/got "linear"/);
    expect(() => toAttentionOnly(params, { omega: 10, maskOmega: Number.NaN })).toThrow(/maskOmega must be a number/);
    disposeParams(params);
  });
});
